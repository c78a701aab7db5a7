//! The SES v2 and SQS adapters against the local AWS stand-in.

mod support;

use marquee::mail::{Mailer, SesMailer};
use marquee::notifications::{Template, render};
use marquee::queue::{Queue, SqsQueue};
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
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
