//! `marquee-table [--queues] [--media] [--verify-sender]`: creates the table, with its indexes and
//! TTL, on a DynamoDB endpoint (the local AWS stand-in, or a real account for a deployment
//! made without SAM). With `--queues` it also creates the expiry and mail queues (each with
//! its dead-letter queue, as the template declares them) and prints `export` lines for
//! their URLs, so `eval "$(marquee-table --queues)"` configures a shell; with `--media`
//! it creates the media bucket (`<table>-media`) and prints its `export` line. With
//! `--verify-sender` it registers `MARQUEE_MAIL_FROM`'s address as an SES identity (on AWS
//! this sends a confirmation email; on the stand-in it is verified at once). Progress goes
//! to stderr, so only the exports reach stdout. Safe to run again.

use marquee::Config;
use std::process::ExitCode;

const USAGE: &str = "usage: marquee-table [--queues] [--media] [--verify-sender]";

pub fn main() -> ExitCode {
    let mut queues = false;
    let mut verify_sender = false;
    let mut media = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--queues" => queues = true,
            "--media" => media = true,
            "--verify-sender" => verify_sender = true,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::FAILURE;
            }
        }
    }
    crate::run_command("marquee-table", async move {
        let config = Config::from_lookup(|name| match name {
            // Only the names matter here; the backend's other settings are not demanded.
            "MARQUEE_BACKEND" => None,
            other => std::env::var(other).ok(),
        })?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        eprintln!("{}", create_table(&aws, &config.table_name).await?);
        if queues {
            for (variable, name) in [
                (
                    "MARQUEE_EXPIRY_QUEUE_URL",
                    format!("{}-expiry", config.table_name),
                ),
                (
                    "MARQUEE_MAIL_QUEUE_URL",
                    format!("{}-mail", config.table_name),
                ),
            ] {
                let url = create_queue(&aws, &name).await?;
                eprintln!("queue {name}: {url}");
                println!("export {variable}='{url}'");
            }
        }
        if media {
            let bucket = format!("{}-media", config.table_name);
            create_bucket(&aws, &bucket).await?;
            eprintln!("media bucket {bucket}");
            println!("export MARQUEE_MEDIA_BUCKET='{bucket}'");
        }
        if verify_sender {
            let address = sender_address(&config.mail_from);
            let registered = aws_sdk_sesv2::Client::new(&aws)
                .create_email_identity()
                .email_identity(address)
                .send()
                .await;
            match registered {
                Ok(_) => eprintln!("sender {address} registered"),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_already_exists_exception()) =>
                {
                    eprintln!("sender {address} already registered")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    })
}

async fn create_table(
    aws: &aws_config::SdkConfig,
    table: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let client = aws_sdk_dynamodb::Client::new(aws);
    let exists = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok();
    if exists {
        return Ok(format!("table {table} already exists"));
    }
    marquee::store::dynamo::create_table(&client, table).await?;
    Ok(format!("table {table} created"))
}

/// Creates `name` and its dead-letter queue `name-dlq` (five receives, then parked), or
/// finds them; answers the queue's URL.
async fn create_queue(
    aws: &aws_config::SdkConfig,
    name: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(aws);
    let dead_letters = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&dead_letters)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("the dead-letter queue has no ARN")?;
    let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": 5});
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .send()
        .await?
        .queue_url
        .ok_or("no queue URL")?;
    Ok(url)
}

/// Creates the bucket, or finds it.
async fn create_bucket(
    aws: &aws_config::SdkConfig,
    name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = aws_sdk_s3::config::Builder::from(aws);
    if aws.endpoint_url().is_some() {
        config = config.force_path_style(true);
    }
    let s3 = aws_sdk_s3::Client::from_conf(config.build());
    match s3.create_bucket().bucket(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().is_some_and(|e| {
                e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
            }) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The address in a `Name <address>` sender.
fn sender_address(from: &str) -> &str {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from.trim(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sender_address_is_read_out_of_a_named_sender() {
        assert_eq!(
            super::sender_address("Marquee <no-reply@marquee.local>"),
            "no-reply@marquee.local"
        );
        assert_eq!(super::sender_address(" a@b.test "), "a@b.test");
    }
}
