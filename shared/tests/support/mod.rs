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
