//! The SES v2 and SQS adapters against the local AWS stand-in, and the DynamoDB adapter's
//! capacity meter.

use crate::support;

use marquee::mail::{Mailer, SesMailer};
use marquee::notifications::{Template, render};
use marquee::queue::{Queue, SqsQueue};
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn ses_sends_the_rendered_email_to_the_recipient() {
    let config = support::aws_config().await;
    let client = aws_sdk_sesv2::Client::new(&config);
    let sender = format!("{}@marquee.test", support::unique("sender"));
    client
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let mailer = SesMailer::new(client, format!("Marquee <{sender}>"));
    let to = format!("{}@example.com", support::unique("viewer"));
    let token = support::unique("tok");
    let link = format!("http://127.0.0.1:3000/activate?token={token}");
    let email = render(
        Template::AccountActivation,
        &to,
        json!({"link": link, "email": to, "valid_hours": 24}),
    )
    .unwrap();
    mailer.send(&email).await.unwrap();

    let (status, body) =
        support::http_get(&format!("{}/moto-api/data.json", support::aws_endpoint()));
    assert_eq!(status, 200);
    let data: Value = serde_json::from_str(&body).unwrap();
    let sent = data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ours: Vec<&Value> = sent
        .iter()
        .filter(|m| m["destinations"]["ToAddresses"] == json!([to]))
        .collect();
    assert_eq!(ours.len(), 1, "exactly one message to {to} in {sent:?}");
    assert_eq!(ours[0]["subject"], "Activate your Marquee account");
    assert_eq!(ours[0]["source"], format!("Marquee <{sender}>"));
    // The HTML part carries the link (HTML-escaped, so look for its token).
    assert!(
        ours[0]["body"]
            .as_str()
            .unwrap()
            .contains(&format!("token={token}"))
    );
}

#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn ses_refuses_an_unverified_sender() {
    let config = support::aws_config().await;
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::new(&config),
        format!("{}@unverified.test", support::unique("nobody")),
    );
    let email = render(
        Template::AccountActivation,
        "v@example.com",
        json!({"link": "http://x", "email": "v@example.com", "valid_hours": 24}),
    )
    .unwrap();
    assert!(mailer.send(&email).await.is_err());
}

#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn sqs_delivers_every_message_of_a_large_batch() {
    let config = support::aws_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let url = client
        .create_queue()
        .queue_name(support::unique("expiry"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue = SqsQueue::new(client.clone(), &url);
    let bodies: Vec<String> = (0..23).map(|i| json!({"n": i}).to_string()).collect();
    queue.send_batch(&bodies).await.unwrap();

    let received: HashSet<String> = support::receive_all(&url).await.into_iter().collect();
    let sent: HashSet<String> = bodies.into_iter().collect();
    assert_eq!(received, sent);
}

#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn sqs_reports_a_missing_queue() {
    let config = support::aws_config().await;
    let client = aws_sdk_sqs::Client::new(&config);
    let queue = SqsQueue::new(
        client,
        format!(
            "{}/123456789012/{}",
            support::aws_endpoint(),
            support::unique("absent")
        ),
    );
    assert!(queue.send_batch(&["x".to_string()]).await.is_err());
}

/// Inside Lambda the SDK is configured from Lambda's variables only (no provider chains):
/// the credentials, region and endpoint override the test script sets reach each service.
#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn the_lambda_configuration_reaches_every_service_from_its_variables() {
    use marquee::store::{Key, Table, Write, entity_item};
    support::aws_endpoint();
    // The SDK's configuration takes only the AWS bound from ours.
    let config = marquee::Config::from_lookup(|_| None).unwrap();
    let sdk = marquee::app::lambda_sdk_config(&config).unwrap();
    assert_eq!(
        sdk.region().map(|r| r.as_ref().to_string()),
        std::env::var("AWS_REGION").ok()
    );

    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let name = support::unique("lambda-config");
    marquee::store::dynamo::create_table(&dynamo, &name)
        .await
        .unwrap();
    let table = marquee::store::dynamo::DynamoTable::new(dynamo, &name);
    let key = Key::new("LAMBDA#1", "RECORD");
    table
        .write(Write::put(entity_item("probe", &key, &json!({"n": 1}))))
        .await
        .unwrap();
    assert!(table.get(&key).await.unwrap().is_some());
    support::drop_stand_in_table(&name);

    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .create_queue()
        .queue_name(support::unique("lambda-config"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    SqsQueue::new(sqs.clone(), url.clone())
        .send_batch(&["probe".to_string()])
        .await
        .unwrap();
    let received = sqs.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(received.messages().len(), 1);

    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let sender = format!("{}@marquee.test", support::unique("sender"));
    ses.create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let to = format!("{}@example.com", support::unique("viewer"));
    let email = render(
        Template::AccountActivation,
        &to,
        json!({"link": "http://127.0.0.1:3000/activate?token=t", "email": to, "valid_hours": 24}),
    )
    .unwrap();
    SesMailer::new(ses, format!("Marquee <{sender}>"))
        .send(&email)
        .await
        .unwrap();
}

/// A metered DynamoDB adapter asks each call for the capacity it consumed, and adds it up:
/// read units for reads, write units for writes, an index's share under its name. The
/// stand-in's figures are placeholders (it does not size items), and it reports nothing for
/// UpdateItem and TransactWriteItems, so only the calls it reports are checked here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_metered_table_adds_up_the_capacity_each_call_consumed() {
    use marquee::store::counting::{CountingTable, Counts};
    use marquee::store::dynamo::{DynamoTable, create_table};
    use marquee::store::{Index, Key, Query, Table, Write};
    use std::sync::Arc;
    let config = support::aws_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let name = support::unique("metered");
    create_table(&client, &name).await.unwrap();
    let counts = Arc::new(Counts::default());
    let dynamo = DynamoTable::new(client, name.clone()).metered(counts.clone());
    let table = CountingTable::with_counts(Arc::new(dynamo), counts.clone());
    let key = Key::new("MOVIE#1", "RECORD");
    let item = json!({"PK": "MOVIE#1", "SK": "RECORD", "GSI1PK": "SHELF", "GSI1SK": "a"});

    table
        .write(Write::put(item.as_object().unwrap().clone()))
        .await
        .unwrap();
    let put = counts.take_consumed();
    assert!(put.table.write > 0.0 && put.table.read == 0.0, "{put:?}");

    table.get(&key).await.unwrap().unwrap();
    let got = counts.take_consumed();
    assert!(got.table.read > 0.0 && got.table.write == 0.0, "{got:?}");

    let page = table.query(&Query::on(Index::Gsi1, "SHELF")).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let queried = counts.take_consumed();
    let on_index = queried.indexes.get(Index::Gsi1.name()).copied();
    assert!(
        on_index.is_some_and(|u| u.read > 0.0 && u.write == 0.0),
        "{queried:?}"
    );

    table.batch_get(std::slice::from_ref(&key)).await.unwrap();
    let batch_read = counts.take_consumed();
    assert!(batch_read.table.read > 0.0, "{batch_read:?}");

    table.batch_write(vec![Write::delete(key)]).await.unwrap();
    let batch_written = counts.take_consumed();
    assert!(
        batch_written.table.write > 0.0 && batch_written.table.read == 0.0,
        "{batch_written:?}"
    );
    support::drop_stand_in_table(&name);
}

/// Reads that may lag ask DynamoDB for eventually consistent reads (half the units); the
/// others stay strongly consistent. Seen in the requests themselves, through the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn only_eventual_reads_drop_strong_consistency() {
    use marquee::store::dynamo::{DynamoTable, create_table};
    use marquee::store::{Key, Table, Write};
    let proxy = support::faults::FaultProxy::start(&support::aws_endpoint()).await;
    let config = support::aws_config().await;
    let name = support::unique("consistency");
    create_table(&aws_sdk_dynamodb::Client::new(&config), &name)
        .await
        .unwrap();
    let through = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url(&proxy.url)
        .build();
    let table = DynamoTable::new(aws_sdk_dynamodb::Client::from_conf(through), name.clone());
    let key = Key::new("MOVIE#1", "RECORD");
    let item = json!({"PK": "MOVIE#1", "SK": "RECORD", "title": "Out of the Past"});
    table
        .write(Write::put(item.as_object().unwrap().clone()))
        .await
        .unwrap();

    let keys = std::slice::from_ref(&key);
    assert_eq!(
        table.get(&key).await.unwrap().unwrap()["title"],
        "Out of the Past"
    );
    assert_eq!(
        table.get_eventual(&key).await.unwrap().unwrap()["title"],
        "Out of the Past"
    );
    assert_eq!(table.batch_get(keys).await.unwrap().len(), 1);
    assert_eq!(table.batch_get_eventual(keys).await.unwrap().len(), 1);

    let gets: Vec<Value> = proxy
        .forwarded("GetItem")
        .into_iter()
        .map(|body| body["ConsistentRead"].clone())
        .collect();
    assert_eq!(gets, [json!(true), json!(false)]);
    let batch_gets: Vec<Value> = proxy
        .forwarded("BatchGetItem")
        .into_iter()
        .map(|body| body["RequestItems"][&name]["ConsistentRead"].clone())
        .collect();
    assert_eq!(batch_gets, [json!(true), json!(false)]);
    support::drop_stand_in_table(&name);
}
