//! Test helpers: fresh tables on either backend, and the local AWS stand-in's address.
#![allow(dead_code, unused_imports, unused_macros)] // each test file uses its own part of the helpers

use marquee::store::Table;
use marquee::store::dynamo::{DynamoTable, create_table};
use marquee::store::sqlite::SqliteTable;
use std::sync::Arc;

/// The AWS stand-in (moto_server) the test script started. Tests never talk to real AWS:
/// without `AWS_ENDPOINT_URL` they stop here.
pub fn aws_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect(
        "AWS_ENDPOINT_URL is not set: run the suite with ./infra/test, which starts the local AWS stand-in",
    )
}

pub async fn aws_config() -> aws_config::SdkConfig {
    aws_endpoint();
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A unique name, so tests sharing one stand-in never see each other's data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

pub struct SqliteFixture {
    pub table: Arc<dyn Table>,
    _dir: tempfile::TempDir,
}

pub fn sqlite_table() -> SqliteFixture {
    let dir = tempfile::tempdir().unwrap();
    let table = SqliteTable::open(&dir.path().join("t.sqlite3")).unwrap();
    SqliteFixture {
        table: Arc::new(table),
        _dir: dir,
    }
}

pub async fn dynamo_table() -> Arc<dyn Table> {
    let config = aws_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = unique("contract");
    create_table(&client, &name).await.unwrap();
    Arc::new(DynamoTable::new(client, name))
}

/// Deletes a test's table from the stand-in once the test is done, so that the stand-in
/// (one process for the whole suite) does not hold every test's data to the end. Best
/// effort: a failure only costs memory.
pub fn drop_stand_in_table(name: &str) {
    let _ = http_request(
        "POST",
        &format!("{}/", aws_endpoint()),
        &[
            ("X-Amz-Target", "DynamoDB_20120810.DeleteTable"),
            ("Content-Type", "application/x-amz-json-1.0"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        &serde_json::json!({ "TableName": name }).to_string(),
    );
}

/// An S3 client of the stand-in (one host: path-style bucket addresses).
pub fn media_s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

/// A plain HTTP GET on loopback, for the stand-in's inspection endpoints.
pub fn http_get(url: &str) -> (u16, String) {
    http_request("GET", url, &[], "").expect("the stand-in answers")
}

/// A plain HTTP/1.0 request on loopback: status and body.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    http_exchange(method, url, headers, body).map(|(status, _, body)| (status, body))
}

/// An answer read off the wire: status, headers (names lower-cased) and body.
pub type RawAnswer = (u16, Vec<(String, String)>, String);

/// A plain HTTP/1.0 request on loopback.
pub fn http_exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<RawAnswer> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host)?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(stream, "{head}Content-Length: {}\r\n\r\n{body}", body.len())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, headers, body.to_string()))
}

/// An app on the embedded backend in a fresh data folder.
pub struct TestApp {
    pub app: marquee::App,
    pub dir: tempfile::TempDir,
}

pub async fn embedded_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let config = marquee::Config::from_lookup(|name| match name {
        "MARQUEE_DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    })
    .unwrap();
    TestApp {
        app: marquee::App::start(config).await.unwrap(),
        dir,
    }
}

/// Sends one request through a router and returns status, headers and the body as JSON
/// (or as a JSON string when it is not JSON).
pub async fn call(
    router: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> (
    axum::http::StatusCode,
    axum::http::HeaderMap,
    serde_json::Value,
) {
    use tower::ServiceExt;
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, headers, body)
}

pub fn get(path: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(path)
        .body(axum::body::Body::empty())
        .unwrap()
}

pub use env::Env;

pub mod faults;
pub mod gate;
pub mod hung;
pub mod log;
pub mod stripe_mock;

/// The webhook signing secret every test app is given.
pub const WEBHOOK_SECRET: &str = "whsec_test_marquee";

mod env {
    use super::*;
    use axum::http::{HeaderMap, Method, Request, StatusCode};
    use marquee::clock::ManualClock;
    use serde_json::Value;

    /// An app on either backend with a clock the test moves, and what it emailed.
    pub struct Env {
        pub app: marquee::App,
        pub api: axum::Router,
        pub clock: Arc<ManualClock>,
        pub aws: bool,
        pub dir: tempfile::TempDir,
        /// The Stripe stand-in this app talks to.
        pub stripe: super::stripe_mock::StripeMock,
        /// Run the mail worker after each request (as the deployed one runs promptly), so
        /// the emails a request owes are in the mailbox when it answers.
        pub mail_worker: bool,
    }

    const MAIL_FROM: &str = "no-reply@marquee.test";
    /// The password of every account [`Env::account`] makes.
    const PASSWORD: &str = "Velvet-Lantern-Orbit-42";

    impl Drop for Env {
        fn drop(&mut self) {
            if self.aws {
                super::drop_stand_in_table(&self.app.config.table_name);
            }
        }
    }

    impl Env {
        pub async fn embedded() -> Env {
            Self::start(false).await
        }

        pub async fn aws() -> Env {
            Self::start(true).await
        }

        pub async fn on(aws: bool) -> Env {
            Self::start(aws).await
        }

        async fn start(aws: bool) -> Env {
            Self::start_with(aws, Vec::new(), false).await
        }

        /// An app that is also served on a loopback port (`base`), with the simulated
        /// sign-in providers, and with `vars` set: sign-in providers are called over HTTP.
        pub async fn served(aws: bool, vars: Vec<(&str, String)>) -> Env {
            let vars = vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            Self::start_with(aws, vars, true).await
        }

        /// Sends this app's AWS calls (table, mail, queues) through `proxy`; the router is
        /// rebuilt on the changed app.
        pub async fn through(&mut self, proxy: &super::faults::FaultProxy) {
            let sdk = marquee::app::aws_sdk_config(&self.app.config)
                .await
                .unwrap();
            let dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk)
                .endpoint_url(&proxy.url)
                .build();
            self.app.table = Arc::new(DynamoTable::new(
                aws_sdk_dynamodb::Client::from_conf(dynamo),
                &self.app.config.table_name,
            ));
            let ses = aws_sdk_sesv2::config::Builder::from(&sdk)
                .endpoint_url(&proxy.url)
                .build();
            self.app.mailer = Arc::new(marquee::mail::SesMailer::new(
                aws_sdk_sesv2::Client::from_conf(ses),
                &self.app.config.mail_from,
            ));
            let sqs = aws_sdk_sqs::config::Builder::from(&sdk)
                .endpoint_url(&proxy.url)
                .build();
            let sqs = aws_sdk_sqs::Client::from_conf(sqs);
            let queue = |url: &Option<String>| -> Arc<dyn marquee::queue::Queue> {
                Arc::new(marquee::queue::SqsQueue::new(
                    sqs.clone(),
                    url.clone().unwrap_or_default(),
                ))
            };
            self.app.mail_queue = queue(&self.app.config.mail_queue_url);
            self.app.expiry_queue = queue(&self.app.config.expiry_queue_url);
            self.api = marquee::routes::router(self.app.clone(), |_| true);
        }

        /// Sends this app's Stripe calls through `proxy` (started in front of the Stripe
        /// mock); the router is rebuilt on the changed app.
        pub async fn stripe_through(&mut self) -> super::faults::FaultProxy {
            let proxy = super::faults::FaultProxy::start(&self.stripe.url).await;
            marquee::payments::gateway::wire(
                &self.app,
                Arc::new(
                    marquee::payments::stripe::StripeGateway::new(
                        "sk_test_marquee",
                        Some(&proxy.url),
                    )
                    .unwrap(),
                ),
            );
            self.api = marquee::routes::router(self.app.clone(), |_| true);
            proxy
        }

        /// The base URL the app is served on (see [`Env::served`]).
        pub fn base(&self) -> String {
            self.app.config.api_base_url().to_string()
        }

        async fn start_with(aws: bool, extra: Vec<(String, String)>, serve: bool) -> Env {
            let dir = tempfile::tempdir().unwrap();
            let stripe = super::stripe_mock::StripeMock::start().await;
            let mut vars = vec![
                (
                    "MARQUEE_STRIPE_SECRET_KEY".to_string(),
                    "sk_test_marquee".to_string(),
                ),
                ("MARQUEE_STRIPE_API_BASE".to_string(), stripe.url.clone()),
                (
                    "MARQUEE_STRIPE_WEBHOOK_SECRET".to_string(),
                    super::WEBHOOK_SECRET.to_string(),
                ),
                (
                    "MARQUEE_DATA_DIR".to_string(),
                    dir.path().display().to_string(),
                ),
                (
                    "MARQUEE_MAIL_FROM".to_string(),
                    format!("Marquee <{MAIL_FROM}>"),
                ),
                (
                    "MARQUEE_PUBLIC_URL".to_string(),
                    "https://cinema.test".to_string(),
                ),
                // The stand-in serves one request at a time to every test at once: bounds
                // for a loaded stand-in. The resilience and fault tests set short ones.
                ("MARQUEE_AWS_TIMEOUT_MS".to_string(), "15000".to_string()),
                (
                    "MARQUEE_REQUEST_TIMEOUT_MS".to_string(),
                    "30000".to_string(),
                ),
            ];
            if aws {
                let config = aws_config().await;
                let sqs = aws_sdk_sqs::Client::new(&config);
                let table = unique("accounts");
                create_table(&aws_sdk_dynamodb::Client::new(&config), &table)
                    .await
                    .unwrap();
                let expiry_queue = sqs.create_queue().queue_name(&table).send().await.unwrap();
                let mail_queue = sqs
                    .create_queue()
                    .queue_name(format!("{table}-mail"))
                    .send()
                    .await
                    .unwrap();
                aws_sdk_sesv2::Client::new(&config)
                    .create_email_identity()
                    .email_identity(MAIL_FROM)
                    .send()
                    .await
                    .unwrap();
                let bucket = unique("media");
                media_s3(&config)
                    .create_bucket()
                    .bucket(&bucket)
                    .send()
                    .await
                    .unwrap();
                let keys =
                    marquee::keys::SigningKeys::load_or_create(&dir.path().join("keys")).unwrap();
                let pem = std::fs::read_to_string(dir.path().join("keys/jwt-ed25519.pem")).unwrap();
                assert!(!keys.kid().is_empty());
                vars.extend([
                    ("MARQUEE_BACKEND".to_string(), "aws".to_string()),
                    ("MARQUEE_TABLE".to_string(), table),
                    (
                        "MARQUEE_EXPIRY_QUEUE_URL".to_string(),
                        expiry_queue.queue_url.unwrap(),
                    ),
                    (
                        "MARQUEE_MAIL_QUEUE_URL".to_string(),
                        mail_queue.queue_url.unwrap(),
                    ),
                    ("MARQUEE_JWT_PRIVATE_KEY".to_string(), pem),
                    ("MARQUEE_MEDIA_BUCKET".to_string(), bucket),
                    (
                        "MARQUEE_MFA_KEY".to_string(),
                        marquee::data_key::new_key_base64(),
                    ),
                ]);
            }
            let listener = if serve {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                vars.push((
                    "MARQUEE_API_URL".to_string(),
                    format!("http://{}", listener.local_addr().unwrap()),
                ));
                Some(listener)
            } else {
                None
            };
            vars.extend(extra);
            // An empty value unsets a variable, as in the process environment.
            let mut config = marquee::Config::from_lookup(|name| {
                vars.iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty())
            })
            .unwrap();
            config.simulated_oauth |= serve;
            let mut app = marquee::App::start(config).await.unwrap();
            let clock = Arc::new(ManualClock::starting_now());
            app.clock = clock.clone();
            let api = marquee::routes::router(app.clone(), |_| true);
            if let Some(listener) = listener {
                let served = marquee::routes::router(app.clone(), |_| true)
                    .merge(marquee::auth::oauth::simulated::router().with_state(app.clone()))
                    .merge(marquee::watching::local::router(app.clone()));
                tokio::spawn(async move { axum::serve(listener, served).await });
            }
            Env {
                app,
                api,
                clock,
                aws,
                dir,
                stripe,
                mail_worker: true,
            }
        }

        pub async fn send(
            &self,
            method: Method,
            path: &str,
            token: Option<&str>,
            body: Option<Value>,
        ) -> (StatusCode, HeaderMap, Value) {
            let answer = call(&self.api, super::request(method, path, token, body, &[])).await;
            if self.mail_worker {
                self.run_mail_jobs().await;
            }
            answer
        }

        pub async fn post(
            &self,
            path: &str,
            token: Option<&str>,
            body: Value,
        ) -> (StatusCode, Value) {
            let (status, _, body) = self.send(Method::POST, path, token, Some(body)).await;
            (status, body)
        }

        /// Delivers a Stripe event as Stripe would: signed now with the webhook secret.
        #[allow(dead_code)]
        pub async fn stripe_event(
            &self,
            id: &str,
            kind: &str,
            object: Value,
        ) -> (StatusCode, Value) {
            let payload = serde_json::json!({
                "id": id, "object": "event", "type": kind, "livemode": false,
                "data": {"object": object},
            })
            .to_string();
            let now = marquee::clock::Clock::now(self.clock.as_ref()).unix_timestamp();
            let signature = marquee::payments::signature::header(
                super::WEBHOOK_SECRET,
                now,
                payload.as_bytes(),
            );
            self.webhook(&payload, &signature).await
        }

        /// Posts a raw webhook delivery.
        #[allow(dead_code)]
        pub async fn webhook(&self, payload: &str, signature: &str) -> (StatusCode, Value) {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/webhooks/stripe")
                .header("stripe-signature", signature)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(payload.to_string()))
                .unwrap();
            let (status, _, body) = call(&self.api, request).await;
            (status, body)
        }

        pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
            let (status, _, body) = self.send(Method::GET, path, token, None).await;
            (status, body)
        }

        /// What the mail worker would do now: takes every queued mail job and runs it.
        /// Returns how many jobs ran.
        pub async fn run_mail_jobs(&self) -> usize {
            let bodies = match &self.app.local_queues {
                Some(queues) => queues.mail.take(1000),
                None => {
                    let url = self.app.config.mail_queue_url.clone().unwrap();
                    receive_all(&url).await
                }
            };
            let failed = marquee::background::mail_worker(&self.app, &bodies).await;
            assert!(failed.is_empty(), "mail jobs failed: {failed:?}");
            bodies.len()
        }

        /// A new active account with `role`, signed in: (access token, user id, email).
        #[allow(dead_code)]
        pub async fn account(
            &self,
            name: &str,
            role: marquee::role::Role,
        ) -> (String, String, String) {
            let email = format!(
                "{name}.{}@example.com",
                ulid::Ulid::new().to_string().to_lowercase()
            );
            let (status, body) = self
                .post(
                    "/auth/register",
                    None,
                    serde_json::json!({"email": email, "password": PASSWORD}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let user_id = body["id"].as_str().unwrap().to_string();
            let token = self.token_from_email(&email, "Activate");
            let (status, body) = self
                .post("/auth/activate", None, serde_json::json!({"token": token}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if role != marquee::role::Role::User {
                let write = marquee::store::Write::update(
                    marquee::accounts::user::key(&user_id),
                    marquee::store::Update::new()
                        .set("role", role.as_str())
                        .set(
                            marquee::store::Index::Gsi2.pk(),
                            marquee::accounts::user::role_partition(role),
                        ),
                );
                self.app.table.write(write).await.unwrap();
            }
            (self.sign_in(&email).await, user_id, email)
        }

        /// A new access token for an account made by [`Env::account`] (after the clock
        /// moved on, the earlier one may have expired).
        pub async fn sign_in(&self, email: &str) -> String {
            self.sign_in_as(email, PASSWORD).await
        }

        /// A new access token for `email` with `password`.
        pub async fn sign_in_as(&self, email: &str, password: &str) -> String {
            let (status, body) = self
                .post(
                    "/auth/login",
                    None,
                    serde_json::json!({"email": email, "password": password}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["access_token"].as_str().unwrap().to_string()
        }

        /// The bodies of every email sent to `to`, oldest first.
        pub fn emails_to(&self, to: &str) -> Vec<(String, String)> {
            if self.aws {
                let (_, body) = http_get(&format!("{}/moto-api/data.json", aws_endpoint()));
                let data: Value = serde_json::from_str(&body).unwrap();
                return data["ses"]["Message"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|m| m["destinations"]["ToAddresses"] == serde_json::json!([to]))
                    .map(|m| {
                        (
                            m["subject"].as_str().unwrap_or_default().to_string(),
                            m["body"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
            }
            let outbox = self.dir.path().join("outbox");
            let mut files: Vec<_> = std::fs::read_dir(&outbox)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
            files.sort();
            files
                .into_iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .filter(|text| text.contains(&format!("\nTo: {to}\n")))
                .map(|text| {
                    let subject = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Subject: "))
                        .unwrap_or_default()
                        .to_string();
                    (subject, text)
                })
                .collect()
        }

        /// The token in the newest email to `to` whose subject contains `subject`.
        pub fn token_from_email(&self, to: &str, subject: &str) -> String {
            let emails = self.emails_to(to);
            let (_, body) = emails
                .iter()
                .rev()
                .find(|(s, _)| s.contains(subject))
                .unwrap_or_else(|| panic!("no email {subject:?} to {to}: {emails:?}"));
            let start = body.find("token=").expect("a link with a token") + "token=".len();
            body[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        }
    }
}

/// Receives (and deletes) every message waiting on an SQS queue of the stand-in.
pub async fn receive_all(url: &str) -> Vec<String> {
    let config = aws_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for m in messages {
            bodies.push(m.body.unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Runs each named `async fn(Env)` twice: on the embedded backend (`embedded::`) and on
/// DynamoDB, SES and SQS of the stand-in (`dynamodb::`). The test file must import `Env`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Env::embedded().await).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs the AWS stand-in: ./infra/test starts it"]
                async fn $case() {
                    super::$case(super::Env::aws().await).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// A catalogue with one showtime of `seats` seats; its id and its movies.
pub async fn shop(env: &Env, seats: u16) -> (String, Vec<String>) {
    shop_of(env, seats, 3).await
}

/// [`shop`] with `movies` movies, all for sale.
pub async fn shop_of(env: &Env, seats: u16, movies: usize) -> (String, Vec<String>) {
    let seeded = marquee::catalog::demo::seed(&env.app, movies, 29)
        .await
        .unwrap();
    let (moderator, _, _) = env.account("mod", marquee::role::Role::Moderator).await;
    // The demo marks some movies unavailable at random (one in twenty): those are put on
    // sale, the rest left as they are (an edit is a projection's worth of writes).
    for movie in &seeded.movies {
        let (_, shown) = env.get(&format!("/movies/{movie}"), None).await;
        if shown["available"] == true {
            continue;
        }
        let (status, _, body) = env
            .send(
                axum::http::Method::PATCH,
                &format!("/movies/{movie}"),
                Some(&moderator),
                Some(serde_json::json!({"available": true})),
            )
            .await;
        assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    }
    let (_, cinema) = env
        .post(
            "/cinemas",
            Some(&moderator),
            serde_json::json!({"name": "Shinjuku Wald 9", "address": "3-15-15 Shinjuku",
                   "city": "Tokyo", "country": "JP", "time_zone": "Asia/Tokyo",
                   "screens": [{"number": 1, "seats": 200}]}),
        )
        .await;
    let starts = marquee::clock::Clock::now(env.clock.as_ref()) + time::Duration::days(1);
    let (status, showtime) = env
        .post(
            "/showtimes",
            Some(&moderator),
            serde_json::json!({"movie_id": seeded.movies[0], "cinema_id": cinema["id"], "screen": 1,
                   "starts_at": starts.format(&time::format_description::well_known::Rfc3339).unwrap(), "seats": seats,
                   "price": {"amount": 900, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{showtime}");
    (showtime["id"].as_str().unwrap().to_string(), seeded.movies)
}

/// The Stripe Checkout Session's id, the last segment of a checkout answer's `checkout_url`.
#[allow(dead_code)]
pub fn checkout_session_id(started: &serde_json::Value) -> String {
    let url = started["checkout_url"].as_str().expect("a checkout_url");
    url.rsplit('/').next().unwrap().to_string()
}

/// A JSON request as a client sends it: a bearer token, extra headers, a body.
pub fn request(
    method: axum::http::Method,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
    headers: &[(&str, &str)],
) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string())),
        None => request.body(axum::body::Body::empty()),
    }
    .unwrap()
}

/// The session Stripe would send in checkout.session.* events for an order, with what it
/// charged: the order's total as it stands.
#[allow(dead_code)]
pub async fn session_object(
    env: &Env,
    session_id: &str,
    order_id: &str,
    payment_status: &str,
    intent: &str,
) -> serde_json::Value {
    let total = marquee::orders::load(&env.app, order_id)
        .await
        .unwrap()
        .map(|order| order.total)
        .expect("an order of this app");
    paid_session(
        session_id,
        order_id,
        payment_status,
        intent,
        total.amount,
        &total.currency,
    )
}

/// A checkout session as Stripe sends it, charging `amount` of `currency`.
pub fn paid_session(
    session_id: &str,
    order_id: &str,
    payment_status: &str,
    intent: &str,
    amount: i64,
    currency: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": session_id, "object": "checkout.session", "client_reference_id": order_id,
        "metadata": {"order_id": order_id}, "payment_status": payment_status,
        "status": "complete", "payment_intent": intent,
        "amount_total": amount, "currency": currency.to_ascii_lowercase(),
    })
}

/// The `field` of every error in a problem body.
pub fn error_fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
