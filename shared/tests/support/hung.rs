//! A hung dependency: a TCP port that accepts connections and never answers.

use marquee::store::dynamo::DynamoTable;
use std::sync::Arc;

/// A TCP port that accepts connections and never answers: a hung dependency.
pub async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

/// An app on the AWS backend whose table calls go to a hung endpoint, with `vars` set.
pub async fn with_hung_table(vars: &[(&str, &str)]) -> (marquee::App, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let keys = marquee::keys::SigningKeys::load_or_create(dir.path()).unwrap();
    let public = keys.public_pem();
    let mut all: Vec<(String, String)> = vec![
        ("MARQUEE_BACKEND".into(), "aws".into()),
        (
            "MARQUEE_EXPIRY_QUEUE_URL".into(),
            "http://127.0.0.1:9/q".into(),
        ),
        (
            "MARQUEE_MAIL_QUEUE_URL".into(),
            "http://127.0.0.1:9/m".into(),
        ),
        ("MARQUEE_JWT_PUBLIC_KEY".into(), public),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = marquee::Config::from_lookup(|name| {
        all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let sdk = marquee::app::aws_sdk_config(&config).await.unwrap();
    let hung = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(black_hole().await)
        .build();
    let mut app = marquee::App::start(config).await.unwrap();
    app.table = Arc::new(DynamoTable::new(
        aws_sdk_dynamodb::Client::from_conf(hung),
        "marquee",
    ));
    let router = marquee::routes::router(app.clone(), |_| true);
    (app, router)
}
