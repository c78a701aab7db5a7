//! The feature stacks, nested in the root one: each holds its routes' functions, each with
//! its least-privilege policy, log group, error alarm, and API route; the system stack
//! also holds the background jobs. One stack per feature keeps each far below
//! CloudFormation's resource limit (`infra/check-stacks` counts them after the transform).

use super::template::{given_condition, logical_id, secret_parameter};
use marquee::routes::{BACKGROUND, Background, Need, Route, SLICES, Trigger};
use marquee::store::Index;
use std::collections::BTreeSet;
use std::fmt::Write;

pub struct Stack {
    /// Its file is `stacks/<name>.yaml`, its resource in the root `<Name>Stack`.
    pub name: &'static str,
    pub summary: &'static str,
    /// The route table slice it deploys.
    pub slice: &'static str,
    /// Whether it also holds the background jobs.
    pub background: bool,
}

pub const STACKS: &[Stack] = &[
    Stack {
        name: "system",
        summary: "health, the API document and keys, and the background jobs",
        slice: "marquee::routes",
        background: true,
    },
    Stack {
        name: "accounts",
        summary: "sign-up, sign-in, sessions, two-step sign-in, providers, profiles, administration of accounts",
        slice: "marquee_accounts::routes",
        background: false,
    },
    Stack {
        name: "catalog",
        summary: "the catalogue, its reference records, engagement and progress",
        slice: "marquee_catalog::routes",
        background: false,
    },
    Stack {
        name: "commerce",
        summary: "carts, orders, Stripe Checkout and its webhook, refunds",
        slice: "marquee_commerce::routes",
        background: false,
    },
    Stack {
        name: "watching",
        summary: "media uploads and playback",
        slice: "marquee_watching::routes",
        background: false,
    },
];

/// Routes whose new versions take traffic gradually (the `GradualDeployment` parameter),
/// rolled back by their alarms: sign-in and refresh, checkout, the Stripe webhook, and
/// playback. Every other function deploys all at once.
pub const GRADUAL: [&str; 5] = [
    "auth-login",
    "auth-refresh",
    "orders-checkout",
    "stripe-webhook",
    "playback-start",
];

/// The alias a gradually deployed function's traffic goes through.
pub const ALIAS: &str = "live";

pub fn path(stack: &Stack) -> String {
    format!("stacks/{}.yaml", stack.name)
}

pub fn stack_id(stack: &Stack) -> String {
    let mut id = logical_id(stack.name);
    id.truncate(id.len() - "Function".len());
    id + "Stack"
}

/// The stack that deploys route `name`.
pub fn stack_of(name: &str) -> &'static Stack {
    STACKS
        .iter()
        .find(|stack| routes_of(stack).iter().any(|r| r.name == name))
        .unwrap_or_else(|| panic!("no stack deploys {name}"))
}

/// The output by which a feature stack names the function of route `name` to the root.
pub fn function_name_output(name: &str) -> String {
    logical_id(name) + "Name"
}

/// What a stack names to the root: the functions the root's dashboard reads by name.
fn outputs(stack: &Stack) -> String {
    let mut out = String::new();
    for route in routes_of(stack)
        .iter()
        .filter(|r| super::alarms::routes_on_dashboard().any(|name| name == r.name))
    {
        let _ = write!(
            out,
            "\n  {output}:\n    Description: The function of {name}, whose metrics the root's dashboard reads.\n    Value: !Ref {id}\n",
            output = function_name_output(route.name),
            name = route.name,
            id = logical_id(route.name),
        );
    }
    if out.is_empty() {
        out
    } else {
        format!("\nOutputs:{out}")
    }
}

pub fn routes_of(stack: &Stack) -> &'static [Route] {
    SLICES
        .iter()
        .find(|s| s.module == stack.slice)
        .unwrap_or_else(|| panic!("no slice {}", stack.slice))
        .routes
}

/// Where one `cargo lambda build` leaves every function's `bootstrap`, one folder each,
/// from a stack's folder; `sam deploy` zips and uploads each function's folder as it is.
pub const ARTIFACTS: &str = "../target/lambda";

/// An API function's timeout: above a request's own bound (`DEFAULT_REQUEST_TIMEOUT`), so
/// a slow dependency answers a 503 problem rather than a bare platform error.
pub const API_FUNCTION_TIMEOUT_SECS: u32 = 10;
/// A background function's timeout (a sweep or a queue batch).
pub const BACKGROUND_FUNCTION_TIMEOUT_SECS: u32 = 30;

/// A parameter of a feature stack: its declaration, and what the root passes for it.
struct Parameter {
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    from_root: &'static str,
}

const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "HttpApiId",
        kind: "String",
        description: "The HTTP API the routes join.",
        from_root: "!Ref HttpApi",
    },
    Parameter {
        name: "TableName",
        kind: "String",
        description: "The DynamoDB table.",
        from_root: "!Ref Table",
    },
    Parameter {
        name: "TableArn",
        kind: "String",
        description: "Its ARN.",
        from_root: "!GetAtt Table.Arn",
    },
    Parameter {
        name: "ExpiryQueueUrl",
        kind: "String",
        description: "The queue of expired items.",
        from_root: "!Ref ExpiryQueue",
    },
    Parameter {
        name: "ExpiryQueueArn",
        kind: "String",
        description: "Its ARN.",
        from_root: "!GetAtt ExpiryQueue.Arn",
    },
    Parameter {
        name: "MailQueueUrl",
        kind: "String",
        description: "The queue of mail jobs.",
        from_root: "!Ref MailQueue",
    },
    Parameter {
        name: "MailQueueArn",
        kind: "String",
        description: "Its ARN.",
        from_root: "!GetAtt MailQueue.Arn",
    },
    Parameter {
        name: "TableStreamArn",
        kind: "String",
        description: "The table's stream (new images).",
        from_root: "!GetAtt Table.StreamArn",
    },
    Parameter {
        name: "JobFailureQueueArn",
        kind: "String",
        description: "Where failed scheduled runs go.",
        from_root: "!GetAtt JobFailureQueue.Arn",
    },
    Parameter {
        name: "AlarmTopicArn",
        kind: "String",
        description: "The topic alarms notify.",
        from_root: "!Ref AlarmTopic",
    },
    Parameter {
        name: "MediaBucketName",
        kind: "String",
        description: "The bucket of media files.",
        from_root: "!Ref MediaBucket",
    },
    Parameter {
        name: "MediaBucketArn",
        kind: "String",
        description: "Its ARN.",
        from_root: "!GetAtt MediaBucket.Arn",
    },
    Parameter {
        name: "MediaCdnUrl",
        kind: "String",
        description: "The distribution that plays media.",
        from_root: "!Sub \"https://${MediaDistribution.DomainName}\"",
    },
    Parameter {
        name: "MediaKeyId",
        kind: "String",
        description: "The CloudFront key that verifies feature URLs.",
        from_root: "!Ref MediaSigningPublicKey",
    },
    Parameter {
        name: "MediaMaxUploadBytes",
        kind: "Number",
        description: "The largest media file (bytes).",
        from_root: "!Ref MediaMaxUploadBytes",
    },
    Parameter {
        name: "MailFrom",
        kind: "String",
        description: "Sender of every email.",
        from_root: "!Ref MailFrom",
    },
    Parameter {
        name: "MailIdentity",
        kind: "String",
        description: "The SES identity MailFrom sends as.",
        from_root: "!Ref MailIdentity",
    },
    Parameter {
        name: "PublicUrl",
        kind: "String",
        description: "Base URL of the web client.",
        from_root: "!Ref PublicUrl",
    },
    Parameter {
        name: "JwtPublicKey",
        kind: "String",
        description: "The public key that verifies access tokens.",
        from_root: "!Ref JwtPublicKey",
    },
    Parameter {
        name: "LogRetentionDays",
        kind: "Number",
        description: "Days logs are kept.",
        from_root: "!Ref LogRetentionDays",
    },
    Parameter {
        name: "GradualDeployment",
        kind: "String",
        description: "How critical routes take a new version.",
        from_root: "!Ref GradualDeployment",
    },
    Parameter {
        name: "CheckoutSuccessUrl",
        kind: "String",
        description: "Where Stripe sends a buyer after paying.",
        from_root: "!Ref CheckoutSuccessUrl",
    },
    Parameter {
        name: "CheckoutCancelUrl",
        kind: "String",
        description: "Where Stripe sends a buyer who turns back.",
        from_root: "!Ref CheckoutCancelUrl",
    },
    Parameter {
        name: "GoogleClientId",
        kind: "String",
        description: "Google's OAuth client id.",
        from_root: "!Ref GoogleClientId",
    },
    Parameter {
        name: "FacebookClientId",
        kind: "String",
        description: "Facebook's app id.",
        from_root: "!Ref FacebookClientId",
    },
    Parameter {
        name: "OAuthRedirects",
        kind: "String",
        description: "Client URLs a provider sign-in may return to.",
        from_root: "!Ref OAuthRedirects",
    },
    Parameter {
        name: "ApiBaseUrl",
        kind: "String",
        description: "This API's public base URL.",
        from_root: "!Ref ApiBaseUrl",
    },
    Parameter {
        name: "JwtPrivateKeySecretArn",
        kind: "String",
        description: "The secret of the token signing key.",
        from_root: "!Ref JwtPrivateKeySecretArn",
    },
    Parameter {
        name: "StripeSecretKeySecretArn",
        kind: "String",
        description: "The secret of Stripe's API key.",
        from_root: "!Ref StripeSecretKeySecretArn",
    },
    Parameter {
        name: "StripeWebhookSecretArn",
        kind: "String",
        description: "The secret of the webhook's signing secret.",
        from_root: "!Ref StripeWebhookSecretArn",
    },
    Parameter {
        name: "MfaDataKeySecretArn",
        kind: "String",
        description: "The secret of the TOTP data key.",
        from_root: "!Ref MfaDataKeySecretArn",
    },
    Parameter {
        name: "GoogleClientSecretArn",
        kind: "String",
        description: "The secret of Google's client secret (may be empty).",
        from_root: "!Ref GoogleClientSecretArn",
    },
    Parameter {
        name: "FacebookClientSecretArn",
        kind: "String",
        description: "The secret of Facebook's app secret (may be empty).",
        from_root: "!Ref FacebookClientSecretArn",
    },
    Parameter {
        name: "MediaPrivateKeySecretArn",
        kind: "String",
        description: "The secret of the media URL signing key.",
        from_root: "!Ref MediaPrivateKeySecretArn",
    },
];

/// The parameters a stack refers to (`!Ref Name`, `${Name}`) in its globals and its
/// resources, in the catalogue's order.
fn referenced(resources: &str) -> Vec<&'static Parameter> {
    PARAMETERS
        .iter()
        .filter(|p| {
            [GLOBALS, resources].iter().any(|text| {
                text.contains(&format!("!Ref {}\n", p.name))
                    || text.contains(&format!("!Ref {}]", p.name))
                    || text.contains(&format!("${{{}}}", p.name))
            })
        })
        .collect()
}

/// A stack's resource in the root template.
pub fn nested(out: &mut String, stack: &Stack) {
    let body = resources(stack);
    let _ = write!(
        out,
        "\n  {id}:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: {path}\n      Parameters:\n",
        id = stack_id(stack),
        path = path(stack),
    );
    for parameter in referenced(&body) {
        let _ = writeln!(out, "        {}: {}", parameter.name, parameter.from_root);
    }
}

/// A feature stack's template.
pub fn render(stack: &Stack) -> String {
    let body = resources(stack);
    let mut out = format!(
        "AWSTemplateFormatVersion: \"2010-09-09\"\nTransform: AWS::Serverless-2016-10-31\nDescription: >-\n  Marquee's {name} stack: {summary}. Nested in template.yaml, generated from the route\n  table by `cargo run -p marquee-infra --bin marquee-gen`: edit the generator, not this file.\n\nParameters:\n",
        name = stack.name,
        summary = stack.summary,
    );
    let used = referenced(&body);
    for parameter in &used {
        let _ = writeln!(
            out,
            "  {}:\n    Type: {}\n    Description: {}",
            parameter.name, parameter.kind, parameter.description
        );
    }
    let conditions: Vec<&str> = used
        .iter()
        .filter(|p| body.contains(&given_condition(p.name)))
        .map(|p| p.name)
        .collect();
    if !conditions.is_empty() {
        out.push_str("\nConditions:\n");
        for parameter in conditions {
            let _ = writeln!(
                out,
                "  {}: !Not [!Equals [!Ref {parameter}, \"\"]]",
                given_condition(parameter)
            );
        }
    }
    out.push_str(LINT_SUPPRESSIONS);
    out.push_str(GLOBALS);
    out.push_str("\nResources:");
    out.push_str(&body);
    out.push_str(&outputs(stack));
    out
}

const LINT_SUPPRESSIONS: &str = r#"
Metadata:
  cfn-lint:
    config:
      # Each function names its own log group, with a retention, in LoggingConfig; the rule
      # only recognises groups named /aws/lambda/<function name>.
      ignore_checks: [WS1004]
"#;

/// Every function: arm64, X-Ray tracing, JSON logs that Lambda filters by level, and the
/// settings every route reads.
const GLOBALS: &str = r#"
Globals:
  Function:
    Runtime: provided.al2023
    Architectures:
      - arm64
    Handler: bootstrap
    Tracing: Active
    LoggingConfig:
      LogFormat: JSON
      ApplicationLogLevel: INFO
      SystemLogLevel: WARN
    Environment:
      Variables:
        MARQUEE_BACKEND: aws
        MARQUEE_TABLE: !Ref TableName
        MARQUEE_EXPIRY_QUEUE_URL: !Ref ExpiryQueueUrl
        MARQUEE_MAIL_QUEUE_URL: !Ref MailQueueUrl
        MARQUEE_MAIL_FROM: !Ref MailFrom
        MARQUEE_PUBLIC_URL: !Ref PublicUrl
        MARQUEE_JWT_PUBLIC_KEY: !Ref JwtPublicKey
"#;

fn resources(stack: &Stack) -> String {
    let mut out = String::new();
    for route in routes_of(stack) {
        function(&mut out, route);
    }
    if stack.background {
        for background in BACKGROUND {
            background_function(&mut out, background);
        }
    }
    out
}

fn listed(actions: &[&str]) -> String {
    actions
        .iter()
        .map(|action| format!("                - {action}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn policy_statements(needs: &[Need]) -> Vec<String> {
    let mut statements = Vec::new();
    // Item actions name the table; queries name the table, its indexes, or both.
    let item_actions: Vec<&str> = needs
        .iter()
        .filter(|need| !matches!(need, Need::Query | Need::QueryIndexes))
        .filter_map(|need| need.table_action())
        .collect();
    if !item_actions.is_empty() {
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n{}\n              Resource: !Ref TableArn",
            listed(&item_actions)
        ));
    }
    let mut queried = Vec::new();
    if needs.contains(&Need::Query) {
        queried.push("                - !Ref TableArn");
    }
    if needs.contains(&Need::QueryIndexes) {
        queried.push("                - !Sub \"${TableArn}/index/*\"");
    }
    if !queried.is_empty() {
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n                - dynamodb:Query\n              Resource:\n{}",
            queried.join("\n")
        ));
    }
    if needs.contains(&Need::SendMail) {
        statements.push(
            "            - Effect: Allow\n              Action:\n                - ses:SendEmail\n              Resource: !Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}\"".into(),
        );
    }
    for (need, queue) in [
        (Need::SendExpiryQueue, "ExpiryQueueArn"),
        (Need::SendMailQueue, "MailQueueArn"),
    ] {
        if needs.contains(&need) {
            statements.push(format!(
                "            - Effect: Allow\n              Action:\n                - sqs:SendMessage\n              Resource: !Ref {queue}"
            ));
        }
    }
    let media_actions: Vec<&str> = needs.iter().filter_map(|n| n.media_action()).collect();
    if !media_actions.is_empty() {
        // Only the two folders media live in.
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n{}\n              Resource:\n                - !Sub \"${{MediaBucketArn}}/features/*\"\n                - !Sub \"${{MediaBucketArn}}/trailers/*\"",
            listed(&media_actions)
        ));
    }
    if needs.contains(&Need::QueryExpiryIndex) {
        statements.push(format!(
            "            - Effect: Allow\n              Action:\n                - dynamodb:Query\n              Resource: !Sub \"${{TableArn}}/index/{}\"",
            Index::Expiry.name()
        ));
    }
    // Each secret by its own ARN; an optional one only when it is given.
    for variable in needs.iter().flat_map(|n| n.secret_variables()) {
        let secret = secret_parameter(variable);
        let statement = format!(
            "Effect: Allow\n              Action:\n                - secretsmanager:GetSecretValue\n              Resource: !Ref {}",
            secret.parameter
        );
        statements.push(if secret.optional {
            format!(
                "            - !If\n              - {}\n              - {}\n              - !Ref AWS::NoValue",
                given_condition(secret.parameter),
                statement.replace("\n              ", "\n                ")
            )
        } else {
            format!("            - {statement}")
        });
    }
    statements
}

/// The variables of a function beyond the globals: its secrets' ARNs, and the settings of
/// what it alone uses.
fn variables(needs: &[Need]) -> String {
    let mut vars = String::new();
    for variable in needs.iter().flat_map(|n| n.secret_variables()) {
        let _ = writeln!(
            vars,
            "          {}: !Ref {}",
            marquee::secret_store::arn_variable(variable),
            secret_parameter(variable).parameter
        );
    }
    if needs.contains(&Need::OAuthClients) {
        vars.push_str(
            "          MARQUEE_GOOGLE_CLIENT_ID: !Ref GoogleClientId\n          MARQUEE_FACEBOOK_CLIENT_ID: !Ref FacebookClientId\n          MARQUEE_OAUTH_REDIRECTS: !Ref OAuthRedirects\n          MARQUEE_API_URL: !Ref ApiBaseUrl\n",
        );
    }
    if needs.contains(&Need::StripeKey) {
        vars.push_str(
            "          MARQUEE_CHECKOUT_SUCCESS_URL: !Ref CheckoutSuccessUrl\n          MARQUEE_CHECKOUT_CANCEL_URL: !Ref CheckoutCancelUrl\n",
        );
    }
    if needs.iter().any(|n| n.media_action().is_some()) {
        vars.push_str("          MARQUEE_MEDIA_BUCKET: !Ref MediaBucketName\n          MARQUEE_MEDIA_MAX_UPLOAD_BYTES: !Ref MediaMaxUploadBytes\n");
    }
    if needs.contains(&Need::MediaSigningKey) {
        vars.push_str("          MARQUEE_MEDIA_CDN_URL: !Ref MediaCdnUrl\n          MARQUEE_MEDIA_CDN_KEY_ID: !Ref MediaKeyId\n");
    }
    vars
}

fn environment_and_policies(out: &mut String, needs: &[Need]) {
    let vars = variables(needs);
    if !vars.is_empty() {
        let _ = write!(out, "      Environment:\n        Variables:\n{vars}");
    }
    let statements = policy_statements(needs);
    if !statements.is_empty() {
        let _ = write!(
            out,
            "      Policies:\n        - Version: \"2012-10-17\"\n          Statement:\n{}\n",
            statements.join("\n")
        );
    }
}

/// The part every function shares: its binary, description, sizing and log group.
fn function_header(out: &mut String, name: &str, description: &str, memory_mb: u32, timeout: u32) {
    let id = logical_id(name);
    let _ = write!(
        out,
        "
  {id}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {ARTIFACTS}/{name}/
      Description: \"{description}\"
      MemorySize: {memory_mb}
      Timeout: {timeout}
      LoggingConfig:
        LogGroup: !Ref {group}
",
        group = log_group_id(name),
    );
}

pub fn log_group_id(name: &str) -> String {
    logical_id(name).replace("Function", "Logs")
}

pub fn errors_alarm_id(name: &str) -> String {
    logical_id(name).replace("Function", "ErrorsAlarm")
}

/// A function's log group (kept `LogRetentionDays`), and its alarm: it failed (an error
/// or a timeout, not an answer such as a 5xx problem) in two minutes of five. For a
/// gradually deployed function the alarm watches the version being deployed, and rolls
/// it back.
fn log_group_and_alarm(out: &mut String, name: &str, gradual: bool) {
    let id = logical_id(name);
    let dimensions = if gradual {
        format!(
            "        - Name: FunctionName\n          Value: !Ref {id}\n        - Name: Resource\n          Value: !Sub \"${{{id}}}:{ALIAS}\"\n        - Name: ExecutedVersion\n          Value: !GetAtt {id}.Version.Version\n"
        )
    } else {
        format!("        - Name: FunctionName\n          Value: !Ref {id}\n")
    };
    let _ = write!(
        out,
        "
  {group}:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref LogRetentionDays

  {alarm}:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: \"{name} failed (an error or a timeout): see docs/operations.md, Function errors\"
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
{dimensions}      Statistic: Sum
      Period: 60
      EvaluationPeriods: 5
      DatapointsToAlarm: 2
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions:
        - !Ref AlarmTopicArn
      OKActions:
        - !Ref AlarmTopicArn
",
        group = log_group_id(name),
        alarm = errors_alarm_id(name),
    );
}

fn function(out: &mut String, route: &Route) {
    let description = format!(
        "{} {}: {}",
        route.method.as_str(),
        route.path,
        route.summary
    );
    let gradual = GRADUAL.contains(&route.name);
    function_header(
        out,
        route.name,
        &description,
        route.memory_mb,
        API_FUNCTION_TIMEOUT_SECS,
    );
    environment_and_policies(out, route.needs);
    let id = logical_id(route.name);
    let target = if gradual {
        let _ = write!(
            out,
            "      AutoPublishAlias: {ALIAS}\n      DeploymentPreference:\n        Type: !Ref GradualDeployment\n        Alarms:\n          - !Ref {}\n",
            errors_alarm_id(route.name)
        );
        format!("!Ref {id}.Alias")
    } else {
        format!("!GetAtt {id}.Arn")
    };
    log_group_and_alarm(out, route.name, gradual);
    let base = id.trim_end_matches("Function");
    let _ = write!(
        out,
        "
  {base}Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref HttpApiId
      IntegrationType: AWS_PROXY
      IntegrationUri: {target}
      PayloadFormatVersion: \"2.0\"

  {base}Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref HttpApiId
      RouteKey: \"{method} {path}\"
      Target: !Sub \"integrations/${{{base}Integration}}\"

  {base}Permission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: {target}
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub \"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{HttpApiId}}/*/{method}{arn_path}\"
",
        method = route.method.as_str(),
        path = route.path,
        // Path parameters are wildcards in an execute-api ARN.
        arn_path = arn_path(route.path),
    );
}

/// `/movies/{id}/comments` -> `/movies/*/comments`.
fn arn_path(path: &str) -> String {
    path.split('/')
        .map(|part| if part.starts_with('{') { "*" } else { part })
        .collect::<Vec<_>>()
        .join("/")
}

/// Stream records one invocation takes at most.
pub const STREAM_BATCH_SIZE: u32 = 100;
/// How long Lambda gathers stream records before it invokes: lists follow a change within
/// this and one projection.
pub const STREAM_BATCHING_WINDOW_SECS: u32 = 1;

fn background_function(out: &mut String, function: &Background) {
    assert!(
        !marquee::routes::reads_secrets(function.needs),
        "{}: background entries read no secrets",
        function.name
    );
    function_header(
        out,
        function.name,
        function.summary,
        256,
        BACKGROUND_FUNCTION_TIMEOUT_SECS,
    );
    environment_and_policies(out, function.needs);
    match function.trigger {
        Trigger::Schedule(expression) => {
            // A run that fails is retried twice, then kept on the job failure queue; an
            // event the schedule could not deliver goes there too.
            let _ = write!(
                out,
                "      EventInvokeConfig:\n        MaximumRetryAttempts: 2\n        DestinationConfig:\n          OnFailure:\n            Type: SQS\n            Destination: !Ref JobFailureQueueArn\n      Events:\n        Sweep:\n          Type: Schedule\n          Properties:\n            Schedule: {expression}\n            RetryPolicy:\n              MaximumRetryAttempts: 2\n              MaximumEventAgeInSeconds: 300\n            DeadLetterConfig:\n              Arn: !Ref JobFailureQueueArn\n"
            );
        }
        Trigger::ExpiryQueue | Trigger::MailQueue => {
            let queue = match function.trigger {
                Trigger::MailQueue => "MailQueueArn",
                _ => "ExpiryQueueArn",
            };
            let _ = write!(
                out,
                "      Events:\n        Queued:\n          Type: SQS\n          Properties:\n            Queue: !Ref {queue}\n            BatchSize: 10\n            FunctionResponseTypes:\n              - ReportBatchItemFailures\n"
            );
        }
        Trigger::TableStream => {
            // Only marked movies reach the function (the filter); a burst of clicks on one
            // movie arrives as one batch; a record that keeps failing is retried from where
            // it failed, then its batch goes to the job failure queue, and the sweep
            // reconciles it.
            let _ = write!(
                out,
                "      Events:\n        Changes:\n          Type: DynamoDB\n          Properties:\n            Stream: !Ref TableStreamArn\n            StartingPosition: LATEST\n            BatchSize: {STREAM_BATCH_SIZE}\n            MaximumBatchingWindowInSeconds: {STREAM_BATCHING_WINDOW_SECS}\n            FunctionResponseTypes:\n              - ReportBatchItemFailures\n            BisectBatchOnFunctionError: true\n            MaximumRetryAttempts: 5\n            MaximumRecordAgeInSeconds: 3600\n            DestinationConfig:\n              OnFailure:\n                Type: SQS\n                Destination: !Ref JobFailureQueueArn\n            FilterCriteria:\n              Filters:\n                - Pattern: '{filter}'\n",
                filter = marquee::catalog::index::stream_filter(),
            );
        }
    }
    log_group_and_alarm(out, function.name, false);
    if let Trigger::TableStream = function.trigger {
        let id = logical_id(function.name);
        let _ = write!(
            out,
            "
  {base}LagAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: \"{name} is over a minute behind the table's changes: see docs/operations.md, Stream lag\"
      Namespace: AWS/Lambda
      MetricName: IteratorAge
      Dimensions:
        - Name: FunctionName
          Value: !Ref {id}
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 5
      Threshold: 60000
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions:
        - !Ref AlarmTopicArn
",
            base = id.trim_end_matches("Function"),
            name = function.name,
        );
    }
    if let Trigger::Schedule(_) = function.trigger {
        let id = logical_id(function.name);
        let _ = write!(
            out,
            "
  {base}ScheduleAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: \"{name}'s schedule could not start it: see docs/operations.md, Schedule failures\"
      Namespace: AWS/Events
      MetricName: FailedInvocations
      Dimensions:
        - Name: RuleName
          Value: !Ref {id}Sweep
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions:
        - !Ref AlarmTopicArn
",
            base = id.trim_end_matches("Function"),
            name = function.name,
        );
    }
}

/// Every function's logical id, per stack: for the alarms and dashboard of the root.
pub fn function_names() -> BTreeSet<&'static str> {
    STACKS
        .iter()
        .flat_map(|stack| {
            routes_of(stack).iter().map(|r| r.name).chain(
                BACKGROUND
                    .iter()
                    .filter(|_| stack.background)
                    .map(|b| b.name),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wait_is_bounded_below_the_function_timeout() {
        use marquee::config::{DEFAULT_AWS_TIMEOUT, DEFAULT_REQUEST_TIMEOUT};
        let function = std::time::Duration::from_secs(API_FUNCTION_TIMEOUT_SECS.into());
        assert!(DEFAULT_REQUEST_TIMEOUT < function);
        // A handler's own calls end before the request's bound does.
        assert!(DEFAULT_AWS_TIMEOUT < DEFAULT_REQUEST_TIMEOUT);
        assert!(marquee::payments::stripe::ATTEMPT_TIMEOUT < DEFAULT_REQUEST_TIMEOUT);
        assert!(marquee::auth::oauth::http::CALL_TIMEOUT < DEFAULT_REQUEST_TIMEOUT);
    }

    #[test]
    fn every_slice_has_its_stack_and_every_gradual_route_exists() {
        for slice in SLICES {
            assert!(
                STACKS.iter().any(|s| s.slice == slice.module),
                "{}",
                slice.module
            );
        }
        for name in GRADUAL {
            assert!(marquee::routes::find(name).is_some(), "{name}");
        }
        assert_eq!(STACKS.iter().filter(|s| s.background).count(), 1);
    }

    #[test]
    fn execute_api_arns_wildcard_path_parameters() {
        assert_eq!(arn_path("/movies/{id}/comments"), "/movies/*/comments");
        assert_eq!(arn_path("/health"), "/health");
    }
}
