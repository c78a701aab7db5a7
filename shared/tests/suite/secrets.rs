//! A deployed function's secrets come from Secrets Manager (moto's here) by the ARNs in
//! its environment, read once as it starts: the configuration and the app it opens hold
//! them, its environment never does.

use crate::support;
use std::collections::HashMap;

async fn put_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    client
        .create_secret()
        .name(support::unique("marquee-secret"))
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_function_reads_each_secret_its_environment_names_by_arn() {
    support::aws_endpoint();
    let sdk = support::aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let dir = std::env::temp_dir().join(support::unique("secret-keys"));
    let keys = marquee::keys::SigningKeys::load_or_create(&dir).unwrap();
    let private_pem = std::fs::read_to_string(dir.join("jwt-ed25519.pem")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let mfa_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let environment: HashMap<String, String> = [
        ("MARQUEE_BACKEND", "aws".to_string()),
        ("MARQUEE_EXPIRY_QUEUE_URL", "http://queue/expiry".into()),
        ("MARQUEE_MAIL_QUEUE_URL", "http://queue/mail".into()),
        (
            "MARQUEE_JWT_PRIVATE_KEY_SECRET_ARN",
            put_secret(&secrets, &private_pem).await,
        ),
        (
            "MARQUEE_STRIPE_SECRET_KEY_SECRET_ARN",
            put_secret(&secrets, "sk_test_from_the_store").await,
        ),
        (
            "MARQUEE_MFA_KEY_SECRET_ARN",
            put_secret(&secrets, mfa_key).await,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let lookup = |name: &str| environment.get(name).cloned();

    let config = marquee::Config::from_lookup(lookup).unwrap();
    assert_eq!(
        config.stripe_secret_key, None,
        "nothing secret in the environment"
    );
    let sdk = marquee::app::lambda_sdk_config(&config).unwrap();
    let config = marquee::lambda::with_secrets(config, &sdk, lookup)
        .await
        .unwrap();
    assert_eq!(
        config.stripe_secret_key.as_deref(),
        Some("sk_test_from_the_store")
    );
    assert_eq!(config.mfa_key.as_deref(), Some(mfa_key));
    assert_eq!(
        config.stripe_webhook_secret, None,
        "a secret not named is not read"
    );
    assert!(!format!("{config:?}").contains("sk_test_from_the_store"));

    // The app it opens signs with the key from the store.
    let app = marquee::App::open_in_lambda_with(config, sdk).unwrap();
    assert_eq!(app.keys.kid(), keys.kid());
    assert!(app.keys.private_pkcs8().is_some());
    assert!(app.mfa_key.is_some());
}

#[tokio::test]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_missing_or_empty_secret_stops_the_start_with_its_variable_named() {
    support::aws_endpoint();
    let sdk = support::aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let empty = put_secret(&secrets, " ").await;
    let gone = format!("{}-gone", put_secret(&secrets, "x").await);
    for (arn, says) in [
        (empty, "has no text value"),
        (gone, "MARQUEE_STRIPE_SECRET_KEY_SECRET_ARN"),
    ] {
        let lookup =
            |name: &str| (name == "MARQUEE_STRIPE_SECRET_KEY_SECRET_ARN").then(|| arn.clone());
        let config = marquee::Config::from_lookup(lookup).unwrap();
        let error = marquee::lambda::with_secrets(config, &sdk, lookup)
            .await
            .unwrap_err();
        assert!(error.0.contains(says), "{error:?}");
    }
}

#[tokio::test]
async fn without_secret_arns_nothing_is_read() {
    // No stand-in is needed: no call is made (an unreachable endpoint would fail one).
    let config = marquee::Config::from_lookup(|_| None).unwrap();
    let before = format!("{config:?}");
    let sdk = marquee::app::lambda_sdk_config(&config).unwrap();
    let config = marquee::lambda::with_secrets(config, &sdk, |_| None)
        .await
        .unwrap();
    assert_eq!(format!("{config:?}"), before);
}
