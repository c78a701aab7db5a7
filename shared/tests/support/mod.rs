//! Test helpers: fresh tables on either backend, and the local AWS stand-in's address.
#![allow(dead_code)] // each test file uses its own part of the helpers

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

/// A plain HTTP GET on loopback, for the stand-in's inspection endpoints.
pub fn http_get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
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
