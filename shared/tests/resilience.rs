//! Bounded waits and honest failures: a dependency that hangs (accepts connections, never
//! answers) yields a 503 problem with `Retry-After` within the bound, never a hang; a
//! request that outlasts its own bound answers 503 `timeout`; data that cannot be decoded
//! is a 500, not an invitation to retry; every request writes its completion line, also
//! when it times out or its client goes away.

mod support;

use support::hung::with_hung_table;

use axum::http::StatusCode;
use marquee::accounts::Role;
use std::time::{Duration, Instant};
use support::Env;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
        body["detail"].is_null(),
        "nothing of the record leaks: {body}"
    );
}

support::on_both_backends!(undecodable_data_is_a_500_not_an_invitation_to_retry);
