//! Route table <-> function binaries <-> SAM functions (in the feature stacks) and their
//! API routes <-> sample events <-> `cargo lambda watch` router: one to one, and each
//! sample event answered by its own function.

use marquee::routes::{self, BACKGROUND, Need, ROUTES, Trigger};
use marquee_infra::generate;
use std::collections::BTreeSet;
use std::path::Path;
use yaml_rust2::YamlLoader;

type Endpoints = BTreeSet<(String, String, String)>;

fn route_table() -> Endpoints {
    ROUTES
        .iter()
        .map(|r| {
            (
                r.name.to_string(),
                r.method.as_str().to_string(),
                r.path.to_string(),
            )
        })
        .collect()
}

fn root() -> std::path::PathBuf {
    generate::workspace_root()
}

/// A SAM function's binary: the folder its code is deployed from, where one
/// `cargo lambda build` leaves that binary's `bootstrap`.
fn binary_of(resource: &yaml_rust2::Yaml) -> Option<&str> {
    resource["Properties"]["CodeUri"]
        .as_str()?
        .strip_prefix("../target/lambda/")?
        .strip_suffix('/')
}

/// The resources of every feature stack the root template nests, by logical id.
fn stack_resources() -> Vec<(String, yaml_rust2::Yaml)> {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("template.yaml is YAML");
    let mut all = Vec::new();
    for (_, resource) in docs[0]["Resources"].as_hash().expect("Resources") {
        if resource["Type"].as_str() != Some("AWS::Serverless::Application") {
            continue;
        }
        let location = resource["Properties"]["Location"].as_str().unwrap();
        let text = std::fs::read_to_string(root().join(location)).unwrap();
        let stack = YamlLoader::load_from_str(&text).expect("a stack is YAML");
        for (id, resource) in stack[0]["Resources"].as_hash().expect("Resources") {
            all.push((id.as_str().unwrap().to_string(), resource.clone()));
        }
    }
    all
}

/// Every SAM function of the stacks.
fn functions() -> Vec<yaml_rust2::Yaml> {
    stack_resources()
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(_, r)| r)
        .collect()
}

/// A policy statement; an optional one is `!If [condition, statement, !Ref AWS::NoValue]`.
fn statement_of(statement: &yaml_rust2::Yaml) -> &yaml_rust2::Yaml {
    match statement.as_vec() {
        Some(conditional) => &conditional[1],
        None => statement,
    }
}

#[test]
fn generated_files_are_up_to_date() {
    let diffs = generate::differences(&root());
    assert!(
        diffs.is_empty(),
        "{}\nrun `cargo run -p marquee-infra --bin marquee-gen`",
        diffs.join("\n")
    );
}

#[test]
fn every_route_has_exactly_one_sam_function_with_its_api_route() {
    let resources = stack_resources();
    let by_id = |id: &str| -> &yaml_rust2::Yaml {
        &resources
            .iter()
            .find(|(i, _)| i == id)
            .unwrap_or_else(|| panic!("no resource {id}"))
            .1
    };
    let mut functions = Endpoints::new();
    let mut background = BTreeSet::new();
    for (id, resource) in &resources {
        match resource["Type"].as_str() {
            Some("AWS::ApiGatewayV2::Route") => {
                let (method, path) = resource["Properties"]["RouteKey"]
                    .as_str()
                    .unwrap()
                    .split_once(' ')
                    .unwrap();
                let integration = resource["Properties"]["Target"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("integrations/${")
                    .and_then(|t| t.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("{id} targets an integration"));
                let integration = &by_id(integration)["Properties"];
                assert_eq!(integration["IntegrationType"].as_str(), Some("AWS_PROXY"));
                // `XFunction.Arn`, or `XFunction.Alias` for a gradually deployed one.
                let function = integration["IntegrationUri"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap();
                let binary = binary_of(by_id(function)).expect("each function names its binary");
                let added =
                    functions.insert((binary.to_string(), method.to_string(), path.to_string()));
                assert!(added, "{binary} routed twice");
            }
            Some("AWS::Serverless::Function") => {
                let binary = binary_of(resource).expect("each function names its binary");
                let Some(events) = resource["Properties"]["Events"].as_hash() else {
                    assert!(routes::find(binary).is_some(), "{binary} has no trigger");
                    continue;
                };
                assert_eq!(events.len(), 1, "{binary} has one event");
                let (_, event) = events.iter().next().unwrap();
                let kind = event["Type"].as_str().expect("a typed event");
                let function = BACKGROUND
                    .iter()
                    .find(|b| b.name == binary)
                    .unwrap_or_else(|| panic!("{binary} ({kind}) is no background function"));
                let expected = match function.trigger {
                    Trigger::Schedule(_) => "Schedule",
                    Trigger::ExpiryQueue | Trigger::MailQueue => "SQS",
                    Trigger::TableStream => "DynamoDB",
                };
                assert_eq!(kind, expected, "{binary}'s trigger");
                assert!(
                    background.insert(binary.to_string()),
                    "{binary} declared twice"
                );
            }
            _ => {}
        }
    }
    assert_eq!(functions, route_table());
    let expected: BTreeSet<String> = BACKGROUND.iter().map(|b| b.name.to_string()).collect();
    assert_eq!(background, expected);
}

fn every_function_name() -> BTreeSet<String> {
    ROUTES
        .iter()
        .map(|r| r.name)
        .chain(BACKGROUND.iter().map(|b| b.name))
        .map(str::to_string)
        .collect()
}

/// A route's binary names its slice's constant (so it links only that route) and serves it.
fn route_entry(name: &str) -> Vec<String> {
    let slice = routes::SLICES
        .iter()
        .find(|slice| slice.routes.iter().any(|r| r.name == name))
        .unwrap_or_else(|| panic!("{name} is in no slice"));
    vec![
        format!(
            "use {}::{} as ROUTE;",
            slice.module,
            routes::constant_name(name)
        ),
        // Only a function that reads secrets links the Secrets Manager client.
        if routes::reads_secrets(routes::find(name).unwrap().needs) {
            "marquee::lambda::serve_with_secrets(ROUTE, ".to_string()
        } else {
            "marquee::lambda::serve(ROUTE, ".to_string()
        },
    ]
}

/// Each adapter a function may add, and whether its needs call for it.
fn adapters_of(name: &str) -> Vec<(String, bool)> {
    let needs = routes::find(name)
        .map(|r| r.needs)
        .or_else(|| BACKGROUND.iter().find(|b| b.name == name).map(|b| b.needs))
        .unwrap();
    let wired = routes::wiring(needs);
    routes::ADAPTERS
        .iter()
        .map(|adapter| (format!(".{adapter}()"), wired.contains(adapter)))
        .collect()
}

#[test]
fn every_route_has_exactly_one_thin_binary() {
    let dir = root().join("functions/src/bin");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let source = std::fs::read_to_string(&path).unwrap();
        let entries = match BACKGROUND.iter().find(|b| b.name == name) {
            Some(function) => vec![format!("marquee::lambda::{}(|app| app", function.entry)],
            None => route_entry(&name),
        };
        for entry in entries {
            assert!(
                source.contains(&entry),
                "{} must hold {entry}",
                path.display()
            );
        }
        for (adapter, wanted) in adapters_of(&name) {
            assert_eq!(
                source.contains(&adapter),
                wanted,
                "{}: {adapter} exactly when its needs call for it",
                path.display()
            );
        }
        names.insert(name);
    }
    assert_eq!(names, every_function_name());
}

#[test]
fn the_watch_router_in_cargo_metadata_maps_real_paths_to_functions() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let router = meta["metadata"]["lambda"]["watch"]["router"]
        .as_object()
        .expect("workspace.metadata.lambda.watch.router");
    let mut mapped = Endpoints::new();
    for (path, functions) in router {
        for f in functions.as_array().unwrap() {
            mapped.insert((
                f["function"].as_str().unwrap().to_string(),
                f["method"].as_str().unwrap().to_string(),
                path.clone(),
            ));
        }
    }
    assert_eq!(mapped, route_table());
}

async fn app(data_dir: &Path) -> marquee::App {
    let dir = data_dir.to_str().unwrap().to_string();
    let config =
        marquee::Config::from_lookup(|name| (name == "MARQUEE_DATA_DIR").then(|| dir.clone()))
            .unwrap();
    marquee::App::start(config).await.unwrap()
}

/// The status, and whether the route's handler (not the router's fallback) answered.
async fn answer(event: &str, route: &'static routes::Route, data_dir: &Path) -> (u16, bool) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let app = app(data_dir).await;
    let function = routes::router(app, |r| r.name == route.name);
    let response = function.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let fallback = String::from_utf8_lossy(&body).contains("No route matches this path");
    (status, !fallback)
}

#[tokio::test]
async fn every_sample_event_is_answered_by_its_own_function() {
    let dir = root().join("events");
    let data = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let event = std::fs::read_to_string(&path).unwrap();
        seen.insert(name.clone());
        if let Some(function) = BACKGROUND.iter().find(|b| b.name == name) {
            check_background_event(function.trigger, &event, data.path()).await;
            continue;
        }
        let route =
            routes::find(&name).unwrap_or_else(|| panic!("{} matches no route", path.display()));
        let json: serde_json::Value = serde_json::from_str(&event).unwrap();
        assert_eq!(
            json["routeKey"],
            format!("{} {}", route.method.as_str(), route.path)
        );
        // Reaching the handler is what counts: sample events carry no token or body, so
        // signed-in routes answer 401 and the others their own validation answer.
        let (status, reached) = answer(&event, route, data.path()).await;
        assert!(reached, "{name}'s sample event did not reach its route");
        if route.access == marquee::http::guard::Access::Public {
            // A sample id names nothing, so a read may answer 404 from its handler.
            assert!(
                status == route.status || [400, 404, 415, 422].contains(&status),
                "{name}'s sample event answered {status}"
            );
        } else {
            assert_eq!(status, 401, "{name}'s sample event has no token");
        }
    }
    assert_eq!(seen, every_function_name(), "one sample event per function");
}

async fn check_background_event(trigger: Trigger, event: &str, data_dir: &Path) {
    match trigger {
        Trigger::Schedule(_) => {
            let json: serde_json::Value = serde_json::from_str(event).unwrap();
            assert_eq!(json["source"], "aws.events");
        }
        Trigger::TableStream => {
            let stream: marquee::lambda::StreamEvent = serde_json::from_str(event).unwrap();
            assert_eq!(
                stream.records[0].movie().as_deref(),
                Some(marquee_infra::generate::SAMPLE_ID)
            );
            let app = app(data_dir).await;
            // The sample movie does not exist: nothing awaits projection, nothing fails.
            let answer = marquee::lambda::handle_stream_batch(&app, &stream).await;
            assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
        }
        Trigger::ExpiryQueue | Trigger::MailQueue => {
            let sqs: aws_lambda_events::sqs::SqsEvent = serde_json::from_str(event).unwrap();
            let bodies: Vec<String> = sqs
                .records
                .iter()
                .map(|r| r.body.clone().unwrap())
                .collect();
            let app = app(data_dir).await;
            let failed = match trigger {
                Trigger::MailQueue => marquee::background::mail_worker(&app, &bodies).await,
                _ => marquee::background::expiry_worker(&app, &bodies).await,
            };
            assert!(failed.is_empty(), "the sample message is handled");
        }
    }
}

/// Least privilege: a function's environment and policy carry exactly what its table entry
/// needs; the private signing key reaches only the functions that issue tokens, the Stripe
/// key only those that call Stripe, the webhook secret only the webhook.
#[test]
fn each_function_is_granted_exactly_what_it_needs() {
    let needs_of = |binary: &str| -> &'static [Need] {
        routes::find(binary)
            .map(|r| r.needs)
            .or_else(|| {
                BACKGROUND
                    .iter()
                    .find(|b| b.name == binary)
                    .map(|b| b.needs)
            })
            .unwrap_or_else(|| panic!("{binary} is unknown"))
    };
    let mut issuers = BTreeSet::new();
    let mut stripe_callers = BTreeSet::new();
    let mut code_checkers = BTreeSet::new();
    let mut provider_secret_holders = BTreeSet::new();
    let mut media_signers = BTreeSet::new();
    for resource in &functions() {
        let binary = binary_of(resource).unwrap();
        let needs = needs_of(binary);
        let props = &resource["Properties"];
        // No secret in any environment: only the ARNs of the secrets it reads, each of
        // which its policy, and no other, lets it read.
        let variables = &props["Environment"]["Variables"];
        for variable in marquee::secret_store::SECRET_VARIABLES {
            assert!(
                variables[variable].is_badvalue(),
                "{binary}: {variable} in plain text"
            );
        }
        let secret_arns: BTreeSet<String> = variables
            .as_hash()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
            .filter(|(k, _)| k.ends_with("_SECRET_ARN"))
            .map(|(_, v)| v.to_string())
            .collect();
        let readable: BTreeSet<String> = props["Policies"]
            .as_vec()
            .into_iter()
            .flatten()
            .flat_map(|p| p["Statement"].as_vec().unwrap().iter().map(statement_of))
            .filter(|s| {
                s["Action"]
                    .as_vec()
                    .unwrap()
                    .iter()
                    .any(|a| a.as_str() == Some("secretsmanager:GetSecretValue"))
            })
            .map(|s| s["Resource"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(secret_arns, readable, "{binary}: the secrets it may read");
        let has_key =
            !props["Environment"]["Variables"]["MARQUEE_JWT_PRIVATE_KEY_SECRET_ARN"].is_badvalue();
        assert_eq!(
            has_key,
            needs.contains(&Need::SigningKey),
            "{binary}: private key"
        );
        if has_key {
            issuers.insert(binary.to_string());
        }
        let has_stripe_key = !variables["MARQUEE_STRIPE_SECRET_KEY_SECRET_ARN"].is_badvalue();
        assert_eq!(
            has_stripe_key,
            needs.contains(&Need::StripeKey),
            "{binary}: Stripe key"
        );
        if has_stripe_key {
            stripe_callers.insert(binary.to_string());
        }
        let has_media_key = !variables["MARQUEE_MEDIA_CDN_PRIVATE_KEY_SECRET_ARN"].is_badvalue();
        assert_eq!(
            has_media_key,
            needs.contains(&Need::MediaSigningKey),
            "{binary}: media URL key"
        );
        if has_media_key {
            media_signers.insert(binary.to_string());
        }
        assert_eq!(
            !variables["MARQUEE_MEDIA_BUCKET"].is_badvalue(),
            needs.iter().any(|n| n.media_action().is_some()),
            "{binary}: media bucket"
        );
        let has_data_key = !variables["MARQUEE_MFA_KEY_SECRET_ARN"].is_badvalue();
        assert_eq!(
            has_data_key,
            needs.contains(&Need::MfaKey),
            "{binary}: MFA data key"
        );
        if has_data_key {
            code_checkers.insert(binary.to_string());
        }
        assert_eq!(
            !variables["MARQUEE_GOOGLE_CLIENT_ID"].is_badvalue(),
            needs.contains(&Need::OAuthClients),
            "{binary}: provider client ids"
        );
        let has_provider_secrets =
            !variables["MARQUEE_GOOGLE_CLIENT_SECRET_SECRET_ARN"].is_badvalue();
        assert_eq!(
            has_provider_secrets,
            !variables["MARQUEE_FACEBOOK_CLIENT_SECRET_SECRET_ARN"].is_badvalue()
        );
        assert_eq!(
            has_provider_secrets,
            needs.contains(&Need::OAuthSecrets),
            "{binary}: provider secrets"
        );
        if has_provider_secrets {
            provider_secret_holders.insert(binary.to_string());
        }
        assert_eq!(
            !variables["MARQUEE_STRIPE_WEBHOOK_SECRET_SECRET_ARN"].is_badvalue(),
            needs.contains(&Need::StripeWebhookSecret),
            "{binary}: webhook secret"
        );
        let mut actions = BTreeSet::new();
        for policy in props["Policies"]
            .as_vec()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            for statement in policy["Statement"].as_vec().unwrap() {
                for action in statement_of(statement)["Action"].as_vec().unwrap() {
                    actions.insert(action.as_str().unwrap().to_string());
                }
            }
        }
        let granted = |a: &str| actions.contains(a);
        let mut table_actions: BTreeSet<String> = needs
            .iter()
            .filter_map(|need| need.table_action())
            .map(String::from)
            .collect();
        if needs.contains(&Need::QueryExpiryIndex) {
            table_actions.insert("dynamodb:Query".into());
        }
        assert_eq!(
            actions
                .iter()
                .filter(|a| a.starts_with("dynamodb:"))
                .cloned()
                .collect::<BTreeSet<_>>(),
            table_actions,
            "{binary}: table actions"
        );
        assert_eq!(
            granted("ses:SendEmail"),
            needs.contains(&Need::SendMail),
            "{binary}: mail"
        );
        assert_eq!(
            granted("sqs:SendMessage"),
            needs.contains(&Need::SendExpiryQueue) || needs.contains(&Need::SendMailQueue),
            "{binary}: queue"
        );
        assert!(
            actions
                .iter()
                .all(|a| !a.ends_with('*') && a != "dynamodb:Scan"),
            "{binary}: no wildcards, no Scan: {actions:?}"
        );
    }
    assert_eq!(
        issuers,
        BTreeSet::from(
            [
                "auth-login",
                "auth-mfa-verify",
                "auth-oauth-exchange",
                "auth-refresh"
            ]
            .map(String::from)
        )
    );
    assert_eq!(
        media_signers,
        BTreeSet::from(["playback-start".to_string()]),
        "only playback-start signs feature URLs"
    );
    assert_eq!(
        provider_secret_holders,
        BTreeSet::from(["auth-oauth-callback".to_string()]),
        "only the code exchange holds the providers' secrets"
    );
    // Only where codes are set or checked: never where a seed is not needed.
    assert_eq!(
        code_checkers,
        BTreeSet::from(
            [
                "auth-mfa-confirm",
                "auth-mfa-disable",
                "auth-mfa-recovery-codes",
                "auth-mfa-setup",
                "auth-mfa-verify",
                "auth-password-change",
            ]
            .map(String::from)
        )
    );
    assert_eq!(
        stripe_callers,
        BTreeSet::from(
            [
                "admin-orders-refund",
                "orders-cancel",
                "orders-checkout",
                "stripe-webhook"
            ]
            .map(String::from)
        )
    );
}

/// A statement's resources, as text (a `!Ref`'s or `!Sub`'s argument).
fn resources_of(resource: &yaml_rust2::Yaml) -> Vec<&str> {
    match resource.as_vec() {
        Some(list) => list.iter().flat_map(resources_of).collect(),
        None => vec![resource.as_str().expect("a resource is named by text")],
    }
}

/// The actions a SAM function's policy grants; queue sends name their queue
/// (`sqs:SendMessage@MailQueue`), and queries whether they read the table or its
/// indexes, as [`marquee::usage`] records them.
fn granted_actions(resource: &yaml_rust2::Yaml) -> BTreeSet<String> {
    let mut granted = BTreeSet::new();
    let policies = resource["Properties"]["Policies"].as_vec();
    for policy in policies.map(Vec::as_slice).unwrap_or_default() {
        for statement in policy["Statement"].as_vec().unwrap() {
            let statement = statement_of(statement);
            for action in statement["Action"].as_vec().unwrap() {
                let action = action.as_str().unwrap();
                if action.starts_with("sqs:") {
                    let queue = statement["Resource"].as_str().unwrap();
                    let queue = queue.strip_suffix("Arn").unwrap();
                    granted.insert(format!("{action}@{queue}"));
                } else if action == "dynamodb:Query" {
                    // On the table, on indexes, or both, as `marquee::usage` tells them apart.
                    for resource in resources_of(&statement["Resource"]) {
                        granted.insert(if resource.contains("/index/") {
                            marquee::usage::QUERY_ON_INDEX.to_string()
                        } else {
                            action.to_string()
                        });
                    }
                } else if action.starts_with("secretsmanager:") {
                    // Read at a cold start, before any route runs: held to the function's
                    // needs by each_function_is_granted_exactly_what_it_needs.
                } else {
                    granted.insert(action.to_string());
                }
            }
        }
    }
    granted
}

/// Every function's policy against what it was seen doing: `./infra/test` runs the whole
/// suite, README's AWS recipe, the contract check and the fuzzer with
/// `MARQUEE_USAGE_LOG` set, then this test, which reads the log they appended to.
#[test]
#[ignore = "reads the usage log of a whole ./infra/test run; ./infra/test runs it last"]
fn every_function_is_granted_exactly_the_actions_it_was_seen_performing() {
    let log_path = std::env::var(marquee::usage::LOG_VARIABLE)
        .expect("MARQUEE_USAGE_LOG names the usage log of the runs before this one");
    let log = std::fs::read_to_string(&log_path)
        .unwrap_or_else(|e| panic!("reading the usage log {log_path}: {e}"));
    let mut seen: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
    let mut answered: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for line in log.lines() {
        let (function, action) = line.split_once(' ').expect("`function action` lines");
        if action.starts_with("answered:") {
            answered.entry(function).or_default().insert(action);
        } else {
            seen.entry(function).or_default().insert(action.to_string());
        }
    }
    // Every route succeeded at least once on each backend: a route no test reaches would
    // otherwise keep grants that nothing checked.
    let untried: Vec<String> = marquee::routes::ROUTES
        .iter()
        .flat_map(|route| {
            let got = answered.get(route.name).cloned().unwrap_or_default();
            [
                marquee::usage::ANSWERED_EMBEDDED,
                marquee::usage::ANSWERED_AWS,
            ]
            .into_iter()
            .filter(move |wanted| !got.contains(wanted))
            .map(move |wanted| format!("{} never {wanted}", route.name))
        })
        .collect();
    let mut functions = BTreeSet::new();
    let mut wrong = Vec::new();
    let resources = self::functions();
    for resource in &resources {
        let binary = binary_of(resource).unwrap();
        functions.insert(binary);
        let granted = granted_actions(resource);
        let used = seen.get(binary).cloned().unwrap_or_default();
        let unused: Vec<_> = granted.difference(&used).collect();
        let lacking: Vec<_> = used.difference(&granted).collect();
        if !unused.is_empty() || !lacking.is_empty() {
            wrong.push(format!(
                "{binary}: granted but never used {unused:?}; used but not granted {lacking:?}"
            ));
        }
    }
    let unknown: Vec<_> = seen.keys().filter(|f| !functions.contains(*f)).collect();
    assert!(unknown.is_empty(), "usage of no SAM function: {unknown:?}");
    assert!(
        wrong.is_empty() && untried.is_empty(),
        "policies differ from what the functions did (their needs in the route table):\n{}\n\
         routes that no run saw succeed:\n{}",
        wrong.join("\n"),
        untried.join("\n")
    );
}

/// Every function logs JSON at INFO into a log group of its own, kept `LogRetentionDays`,
/// is traced by X-Ray, and has an errors alarm on the alarm topic; the five critical
/// routes take new versions gradually through the alias `live`, which their API
/// integration and permission name, and their alarm (watching that alias's new version)
/// rolls a deployment back. Every other function deploys all at once.
#[test]
fn every_function_is_logged_traced_alarmed_and_critical_routes_deploy_gradually() {
    use marquee_infra::generate::stack::{ALIAS, GRADUAL, STACKS, path};
    let mut gradual = BTreeSet::new();
    for stack in STACKS {
        let text = std::fs::read_to_string(root().join(path(stack))).unwrap();
        let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
        let globals = &doc["Globals"]["Function"];
        assert_eq!(
            globals["Tracing"].as_str(),
            Some("Active"),
            "{}",
            stack.name
        );
        assert_eq!(globals["LoggingConfig"]["LogFormat"].as_str(), Some("JSON"));
        assert_eq!(
            globals["LoggingConfig"]["ApplicationLogLevel"].as_str(),
            Some("INFO")
        );
        let resources = doc["Resources"].as_hash().unwrap();
        let resource = |id: &str| {
            resources
                .iter()
                .find(|(k, _)| k.as_str() == Some(id))
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("{}: no {id}", stack.name))
        };
        for (id, function) in resources {
            if function["Type"].as_str() != Some("AWS::Serverless::Function") {
                continue;
            }
            let id = id.as_str().unwrap();
            let binary = binary_of(function).unwrap();
            let props = &function["Properties"];
            let group = resource(props["LoggingConfig"]["LogGroup"].as_str().unwrap());
            assert_eq!(group["Type"].as_str(), Some("AWS::Logs::LogGroup"));
            assert_eq!(
                group["Properties"]["RetentionInDays"].as_str(),
                Some("LogRetentionDays"),
                "{binary}"
            );
            let alarm = resource(&id.replace("Function", "ErrorsAlarm"));
            assert_eq!(alarm["Properties"]["MetricName"].as_str(), Some("Errors"));
            assert_eq!(
                alarm["Properties"]["AlarmActions"][0].as_str(),
                Some("AlarmTopicArn")
            );
            let dimensions: Vec<(&str, &str)> = alarm["Properties"]["Dimensions"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|d| (d["Name"].as_str().unwrap(), d["Value"].as_str().unwrap()))
                .collect();
            if props["AutoPublishAlias"].is_badvalue() {
                assert!(props["DeploymentPreference"].is_badvalue(), "{binary}");
                assert_eq!(dimensions, vec![("FunctionName", id)], "{binary}");
                continue;
            }
            gradual.insert(binary.to_string());
            assert_eq!(props["AutoPublishAlias"].as_str(), Some(ALIAS));
            let preference = &props["DeploymentPreference"];
            assert_eq!(preference["Type"].as_str(), Some("GradualDeployment"));
            assert_eq!(
                preference["Alarms"][0].as_str(),
                Some(id.replace("Function", "ErrorsAlarm").as_str()),
                "{binary}: its alarm rolls it back"
            );
            assert!(
                dimensions.contains(&("ExecutedVersion", &format!("{id}.Version.Version"))),
                "{binary}: the alarm watches the version being deployed: {dimensions:?}"
            );
            let base = id.trim_end_matches("Function");
            let alias = format!("{id}.Alias");
            assert_eq!(
                resource(&format!("{base}Integration"))["Properties"]["IntegrationUri"].as_str(),
                Some(alias.as_str()),
                "{binary}: the API calls the alias"
            );
            assert_eq!(
                resource(&format!("{base}Permission"))["Properties"]["FunctionName"].as_str(),
                Some(alias.as_str())
            );
        }
    }
    assert_eq!(gradual, GRADUAL.iter().map(|s| s.to_string()).collect());
}

#[test]
fn the_api_cdn_keeps_exactly_the_public_reads() {
    use marquee::http::guard::Access;
    use marquee::routes::{Caching, Method};
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let resources = &doc["Resources"];
    let config = &resources["ApiDistribution"]["Properties"]["DistributionConfig"];
    // Everything the API does not serve is the web app's, from its bucket.
    assert_eq!(
        config["DefaultCacheBehavior"]["TargetOriginId"].as_str(),
        Some("web")
    );
    assert_eq!(config["DefaultRootObject"].as_str(), Some("index.html"));
    let key = &resources["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"];
    assert_eq!(
        key["HeadersConfig"]["HeaderBehavior"].as_str(),
        Some("none")
    );
    assert_eq!(
        key["CookiesConfig"]["CookieBehavior"].as_str(),
        Some("none")
    );
    let behaviours = config["CacheBehaviors"].as_vec().unwrap();
    // CloudFront's default quota of cache behaviours per distribution.
    assert!(behaviours.len() <= 25, "{} behaviours", behaviours.len());
    let mut api = Vec::new();
    let mut prefixes = Vec::new();
    for b in behaviours {
        let pattern = b["PathPattern"].as_str().unwrap();
        assert_eq!(b["TargetOriginId"].as_str(), Some("api"));
        let prefix = pattern
            .strip_suffix('*')
            .unwrap_or_else(|| panic!("{pattern}: a prefix pattern"))
            .to_string();
        // Everything else passes through, kept by nobody.
        if b["CachePolicyId"].as_str() != Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad") {
            prefixes.push(prefix.clone());
        }
        api.push(prefix);
    }
    for route in ROUTES.iter() {
        assert!(
            api.iter().any(|p| route.path.starts_with(p.as_str())),
            "{}: every route reaches the API, not the web app's bucket",
            route.name
        );
    }
    for file in ["/", "/index.html", "/app/main.js", "/favicon.svg"] {
        assert!(
            !api.iter().any(|p| file.starts_with(p.as_str())),
            "{file}: the web app's files come from its bucket"
        );
    }
    assert!(!prefixes.is_empty());
    for route in ROUTES.iter() {
        let kept = prefixes.iter().any(|p| route.path.starts_with(p.as_str()));
        let public = matches!(route.caching, Caching::Public { .. });
        if public {
            assert!(
                route.method == Method::Get && route.access == Access::Public && kept,
                "{}: a cached route is a public GET under a cached pattern",
                route.name
            );
        } else if route.method == Method::Get {
            assert!(
                !kept,
                "{}: a GET under a cached pattern must be a public read",
                route.name
            );
        }
    }
}
