//! Bounded waits and honest failures: a dependency that hangs (accepts connections, never
//! answers) yields a 503 problem with `Retry-After` within the bound, never a hang; a
//! request that outlasts its own bound answers 503 `timeout`; data that cannot be decoded
//! is a 500, not an invitation to retry; every request writes its completion line, also
//! when it times out or its client goes away.

use crate::support;

use support::hung::with_hung_table;

use axum::http::StatusCode;
use marquee::role::Role;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_hung_table_answers_503_with_retry_after_within_the_bound() {
    support::aws_endpoint();
    let (_, router) = with_hung_table(&[("MARQUEE_AWS_TIMEOUT_MS", "600")]).await;
    let started = Instant::now();
    let (status, headers, body) =
        support::call(&router, support::get("/movies/01J0000000000000000000MOVIE")).await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["retry-after"], "1");
    // The bound is 0.6 s; the margin only absorbs a loaded machine.
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_request_that_outlasts_its_own_bound_answers_503_timeout() {
    support::aws_endpoint();
    let (_, router) = with_hung_table(&[
        ("MARQUEE_AWS_TIMEOUT_MS", "20000"),
        ("MARQUEE_REQUEST_TIMEOUT_MS", "300"),
    ])
    .await;
    let started = Instant::now();
    let (status, headers, body) = support::call(&router, support::get("/genres")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("timeout")),
        "{body}"
    );
    assert_eq!(headers["retry-after"], "1");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The process is still healthy: routes without the table answer at once.
    let (status, _, _) = support::call(&router, support::get("/health")).await;
    assert_eq!(status, StatusCode::OK);
}

/// A record the code cannot read is a 500 `internal` (logged with its key), on both
/// backends; a retry would not fix it.
async fn undecodable_data_is_a_500_not_an_invitation_to_retry(env: Env) {
    let (token, user_id, _) = env.account("zoe", Role::User).await;
    env.app
        .table
        .write(marquee::store::Write::update(
            marquee::accounts::user::key(&user_id),
            marquee::store::Update::new().set("created_at", "not a number"),
        ))
        .await
        .unwrap();
    let (status, headers, body) = env
        .send(axum::http::Method::GET, "/me", Some(&token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("internal")),
        "{body}"
    );
    assert!(headers.get("retry-after").is_none());
    assert!(
        body.get("detail").is_none(),
        "nothing of the record leaks: {body}"
    );
}

/// A mail service that can be made to refuse, for the embedded backend (the local outbox
/// failing); on the AWS stand-in, SES itself refuses a sender that is not verified.
struct Refusing {
    inner: Arc<dyn marquee::mail::Mailer>,
    refusing: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl marquee::mail::Mailer for Refusing {
    async fn send(&self, email: &marquee::mail::Email) -> Result<(), marquee::mail::MailError> {
        if self.refusing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(marquee::mail::MailError(
                "the outbox is not writable".into(),
            ));
        }
        self.inner.send(email).await
    }
}

/// Verifies (or un-verifies) `sender` at the stand-in's SES, which refuses to send from an
/// unverified address.
async fn sender_identity(sender: &str, verified: bool) {
    let config = support::aws_config().await;
    let ses = aws_sdk_sesv2::Client::new(&config);
    if verified {
        ses.create_email_identity()
            .email_identity(sender)
            .send()
            .await
            .unwrap();
    } else {
        // Never verified is as good.
        let _ = ses
            .delete_email_identity()
            .email_identity(sender)
            .send()
            .await;
    }
}

/// The mail service fails: every email a change owes survives, goes out once it works
/// again (the queue's retry, or the sweep when the queue message was lost), and only once.
async fn no_email_is_lost_when_the_mail_service_refuses(mut env: Env) {
    // A comment to answer later, while the mail service refuses.
    let seeded = marquee::catalog::demo::seed(&env.app, 1, 7).await.unwrap();
    let movie = &seeded.movies[0];
    let (author, _, author_email) = env.account("author", Role::User).await;
    let comments = format!("/movies/{movie}/comments");
    let (status, first) = env
        .post(
            &comments,
            Some(&author),
            serde_json::json!({"text": "Loved it"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // On the stand-in, a sender of this test's own: no other test verifies it meanwhile.
    let sender = format!(
        "no-reply-{}@marquee.test",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let inner: Arc<dyn marquee::mail::Mailer> = if env.aws {
        let config = support::aws_config().await;
        Arc::new(marquee::mail::SesMailer::new(
            aws_sdk_sesv2::Client::new(&config),
            &sender,
        ))
    } else {
        env.app.mailer.clone()
    };
    let refusing = Arc::new(Refusing {
        inner,
        refusing: false.into(),
    });
    env.app.mailer = refusing.clone();
    env.mail_worker = false;
    let mail_down = |down: bool| {
        let refusing = refusing.clone();
        let (aws, sender) = (env.aws, sender.clone());
        async move {
            if aws {
                sender_identity(&sender, !down).await;
            } else {
                refusing
                    .refusing
                    .store(down, std::sync::atomic::Ordering::SeqCst);
            }
        }
    };
    let queued = |env: &Env| {
        let aws = env.aws;
        let local = env.app.local_queues.clone();
        let url = env.app.config.mail_queue_url.clone();
        async move {
            match local {
                Some(queues) => queues.mail.take(100),
                None if aws => support::receive_all(url.as_deref().unwrap()).await,
                None => Vec::new(),
            }
        }
    };

    mail_down(true).await;
    let email = format!(
        "ida.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let (status, _) = env
        .post(
            "/auth/register",
            None,
            serde_json::json!({"email": email, "password": "Velvet-Lantern-Orbit-42"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the account exists whatever the mail service does"
    );
    let messages = queued(&env).await;
    assert_eq!(messages.len(), 1, "the owed activation email is queued");
    let failed = marquee::background::mail_worker(&env.app, &messages).await;
    assert_eq!(failed, vec![0], "the worker reports it for a retry");
    assert!(env.emails_to(&email).is_empty());

    // The queue redelivers it once the mail service is back: one email.
    mail_down(false).await;
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    let token = env.token_from_email(&email, "Activate");
    assert_eq!(env.emails_to(&email).len(), 1);
    // A second delivery of the same message (SQS delivers at least once) sends nothing.
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    assert_eq!(env.emails_to(&email).len(), 1, "sent once");
    let (status, _) = env
        .post("/auth/activate", None, serde_json::json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // A notice whose queue message is lost: the sweep finds the owed email and queues it.
    mail_down(true).await;
    let access = env.sign_in(&email).await;
    let (_, setup) = env
        .post("/auth/mfa/totp", Some(&access), serde_json::json!({}))
        .await;
    let totp = totp_rs::Totp::from_url(setup["otpauth_uri"].as_str().unwrap()).unwrap();
    let now = marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp();
    let (status, _) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&access),
            serde_json::json!({"code": totp.generate(now as u64).to_string()}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "MFA turns on whatever the mail service does"
    );
    let lost = queued(&env).await;
    assert_eq!(lost.len(), 1);
    mail_down(false).await;
    env.clock.advance(time::Duration::minutes(3));
    marquee::background::expiry_scheduler(&env.app)
        .await
        .unwrap();
    let due = match &env.app.local_queues {
        Some(queues) => queues.expiry.take(100),
        None => support::receive_all(env.app.config.expiry_queue_url.as_deref().unwrap()).await,
    };
    assert!(
        marquee::background::expiry_worker(&env.app, &due)
            .await
            .is_empty()
    );
    let rescued = queued(&env).await;
    assert_eq!(rescued.len(), 1, "the sweep queued the owed email again");
    assert!(
        marquee::background::mail_worker(&env.app, &rescued)
            .await
            .is_empty()
    );
    let notices: Vec<String> = env
        .emails_to(&email)
        .into_iter()
        .map(|(subject, _)| subject)
        .filter(|s| s == "Two-step sign-in is on")
        .collect();
    assert_eq!(notices.len(), 1, "the notice went out once");
    // The lost message turning up late sends nothing more.
    assert!(
        marquee::background::mail_worker(&env.app, &lost)
            .await
            .is_empty()
    );
    assert_eq!(
        env.emails_to(&email)
            .iter()
            .filter(|(s, _)| s == "Two-step sign-in is on")
            .count(),
        1
    );

    // A reply while the mail service refuses: the reply stands, its email is owed with it
    // and goes out once the service is back.
    mail_down(true).await;
    let (status, reply) = env
        .post(
            &comments,
            Some(&access),
            serde_json::json!({"text": "Me too", "parent_id": first["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let messages = queued(&env).await;
    assert_eq!(messages.len(), 1, "the owed reply email is queued");
    assert_eq!(
        marquee::background::mail_worker(&env.app, &messages).await,
        vec![0]
    );
    mail_down(false).await;
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    let replies = |env: &Env| {
        env.emails_to(&author_email)
            .iter()
            .filter(|(s, _)| s.contains("replied to your comment"))
            .count()
    };
    assert_eq!(replies(&env), 1, "the reply email went out once");
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    assert_eq!(replies(&env), 1);
}

support::on_both_backends!(
    undecodable_data_is_a_500_not_an_invitation_to_retry,
    no_email_is_lost_when_the_mail_service_refuses,
);
