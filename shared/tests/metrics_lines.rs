//! Business and safety events are counted as CloudWatch Embedded Metric Format lines: one
//! namespace, no dimensions, one point per event, on the same output as the logs. A
//! viewer's journey (sign-up, sign-in, a failed one, a wrong code, an order, a checkout, a
//! forged and a real webhook, a mismatched payment, a refund, emails, a playback grant) and
//! an index sweep, read back from the lines. In a process of its own: it installs the
//! process's writer.

mod support;

use axum::http::{Method, StatusCode};
use marquee::metrics::{Metric, NAMESPACE};
use marquee::role::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::log::Captured;
use support::{Env, shop};

/// Each metric's total over the EMF lines written so far; every line is checked to be
/// well-formed EMF of our namespace, without dimensions.
fn totals(captured: &Captured) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for line in captured.lines().iter().filter(|l| l.get("_aws").is_some()) {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE, "{line}");
        assert_eq!(directive["Dimensions"], json!([[]]), "{line}");
        assert!(line["_aws"]["Timestamp"].is_u64(), "{line}");
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            let value = line[name]
                .as_u64()
                .unwrap_or_else(|| panic!("{name} in {line}"));
            *totals.entry(name.to_string()).or_default() += value;
        }
    }
    totals
}

/// What changed between two readings.
fn counted(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// [`counted`] without the emails, whose number depends on when the mail worker ran: the
/// rest, and how many emails went.
fn counted_apart_from_mail(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> (BTreeMap<String, u64>, u64) {
    let mut changes = counted(before, after);
    let emails = changes.remove(Metric::EmailsSent.name()).unwrap_or(0);
    (changes, emails)
}

fn expect(pairs: &[(Metric, u64)]) -> BTreeMap<String, u64> {
    pairs
        .iter()
        .map(|(m, n)| (m.name().to_string(), *n))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_viewer_s_journey_is_counted_event_by_event() {
    let captured = Captured::default();
    let writer = captured.clone();
    marquee::telemetry::install("info", move || writer.clone()).unwrap();
    let env = Env::embedded().await;
    let (showtime, movies) = shop(&env, 20).await;

    // An account: signed up, its activation emailed, signed in.
    let before = totals(&captured);
    let (token, _, email) = env.account("counted", Role::User).await;
    let (changes, emails) = counted_apart_from_mail(&before, &totals(&captured));
    assert_eq!(
        changes,
        expect(&[(Metric::SignUps, 1), (Metric::SignIns, 1)])
    );
    assert!(emails >= 1, "the activation link was emailed");

    // A wrong password, an unknown email, a wrong authenticator code.
    let before = totals(&captured);
    let (status, _) = env
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "not-the-password-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = env
        .post(
            "/auth/login",
            None,
            json!({"email": "nobody@example.com", "password": "x-y-z-1234567"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, setup) = env.post("/auth/mfa/totp", Some(&token), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let (status, _) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&token),
            json!({"code": "000000"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        counted(&before, &totals(&captured)),
        expect(&[(Metric::SignInFailures, 2), (Metric::MfaFailures, 1)])
    );

    // An order and its checkout; a forged delivery, then Stripe's, which settles it.
    let before = totals(&captured);
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[0]}))
        .await;
    env.post(
        "/cart/items",
        Some(&token),
        json!({"showtime_id": showtime, "quantity": 1}),
    )
    .await;
    let request = support::request(
        Method::POST,
        "/orders",
        Some(&token),
        None,
        &[("idempotency-key", "counted")],
    );
    let (status, _, placed) = support::call(&env.api, request).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let order_id = placed["id"].as_str().unwrap();
    let (status, started) = env
        .post(
            &format!("/orders/{order_id}/checkout"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session = support::checkout_session_id(&started);
    let (status, _) = env.webhook(r#"{"id":"evt_forged"}"#, "t=1,v1=00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let paid = support::session_object(&env, &session, order_id, "paid", "pi_counted").await;
    let (status, _) = env
        .stripe_event("evt_paid", "checkout.session.completed", paid)
        .await;
    assert_eq!(status, StatusCode::OK);
    // A paid session this order never opened: rejected (and refunded).
    let other = support::session_object(&env, "cs_not_ours", order_id, "paid", "pi_other").await;
    let (status, _) = env
        .stripe_event("evt_other", "checkout.session.completed", other)
        .await;
    assert_eq!(status, StatusCode::OK);
    env.run_mail_jobs().await;
    let (changes, emails) = counted_apart_from_mail(&before, &totals(&captured));
    assert_eq!(
        changes,
        expect(&[
            (Metric::OrdersPlaced, 1),
            (Metric::CheckoutsStarted, 1),
            (Metric::WebhookSignatureFailures, 1),
            (Metric::PaymentsSettled, 1),
            (Metric::PaymentsRejected, 1),
        ])
    );
    assert!(emails >= 1, "the receipt was emailed");

    // The buyer plays the movie bought: a stream slot.
    let before = totals(&captured);
    let clip = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/demo/clip.mp4"
    ))
    .unwrap();
    marquee::watching::media::attach(
        &env.app,
        &movies[0],
        marquee::catalog::media::MediaKind::Feature,
        clip,
    )
    .await
    .unwrap();
    let (status, _, body) = env
        .send(
            Method::POST,
            &format!("/movies/{}/playback", movies[0]),
            Some(&token),
            Some(json!({"kind": "feature"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        counted(&before, &totals(&captured)),
        expect(&[(Metric::PlaybackGrants, 1)])
    );

    // Stripe refunds the order in full.
    let before = totals(&captured);
    let refund: Value =
        json!({"object": "charge", "payment_intent": "pi_counted", "refunded": true});
    let (status, _) = env
        .stripe_event("evt_refund", "charge.refunded", refund)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (changes, _) = counted_apart_from_mail(&before, &totals(&captured));
    assert_eq!(changes, expect(&[(Metric::Refunds, 1)]));

    // 42 s on, an index sweep says how many movies waited (the purchase and refund above
    // marked the one bought) and how long each waited since its first unprojected change.
    env.clock.advance(time::Duration::seconds(42));
    let before = totals(&captured);
    let report = marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    assert!(report.projected >= 1);
    assert_eq!(
        counted(&before, &totals(&captured)),
        expect(&[
            (
                Metric::IndexBacklog,
                (report.projected + report.failed) as u64
            ),
            (Metric::ProjectionLagSeconds, 42 * report.projected as u64),
        ])
    );
}
