//! `marquee-table`: creates the table, with its indexes and TTL, on a DynamoDB endpoint
//! (the local AWS stand-in, or a real account for a deployment made without SAM).

use marquee::Config;
use std::process::ExitCode;

pub fn main() -> ExitCode {
    crate::run_command("marquee-table", async {
        println!("{}", create().await?);
        Ok(())
    })
}

async fn create() -> Result<String, Box<dyn std::error::Error>> {
    let config = Config::from_lookup(|name| match name {
        // The queue is irrelevant here; don't demand it.
        "MARQUEE_BACKEND" => None,
        other => std::env::var(other).ok(),
    })?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let exists = client
        .describe_table()
        .table_name(&config.table_name)
        .send()
        .await
        .is_ok();
    if exists {
        return Ok(format!("table {} already exists", config.table_name));
    }
    marquee::store::dynamo::create_table(&client, &config.table_name).await?;
    Ok(format!("table {} created", config.table_name))
}
