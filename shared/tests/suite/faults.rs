//! Fault injection on the AWS adapters: a proxy between them and the stand-in spoils one
//! operation at a time (throttling, internal errors, hangs, dropped connections, SES
//! throttling). Each write path must leave all-or-nothing state, answer a clear 503 within
//! its bound, converge when retried (same key, same result), and lose or double no email.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::role::Role;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Env;
use support::faults::{Fault, FaultProxy};

const PASSWORD: &str = "Velvet-Lantern-Orbit-42";

/// An app on the stand-in whose AWS calls pass the proxy; each call bounded by 2 s (room
/// for a throttled attempt and its retry on a stand-in that serves one request at a time
/// to several tests).
async fn behind_a_proxy() -> (Env, FaultProxy) {
    let mut env = Env::served(true, vec![("MARQUEE_AWS_TIMEOUT_MS", "2000".to_string())]).await;
    let proxy = FaultProxy::start(&support::aws_endpoint()).await;
    env.through(&proxy).await;
    (env, proxy)
}

/// One row of the fault matrix, printed for the record (`-- --nocapture`).
fn matrix_row(path: &str, fault: &Fault, outcome: impl std::fmt::Display, took: Duration) {
    eprintln!(
        "fault matrix | {path} | {fault:?} | {outcome} | {} ms",
        took.as_millis()
    );
}

fn unique_email(name: &str) -> String {
    format!(
        "{name}.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

async fn register(env: &Env, email: &str) -> (StatusCode, Value, Duration) {
    let started = Instant::now();
    let (status, body) = env
        .post(
            "/auth/register",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    (status, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn sign_up_is_all_or_nothing_under_every_fault_and_converges_on_retry() {
    let (mut env, proxy) = behind_a_proxy().await;

    // One throttled attempt: the SDK's own retry absorbs it.
    proxy.inject("TransactWriteItems", Fault::Throttling, 1);
    let email = unique_email("once");
    let (status, body, _) = register(&env, &email).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(proxy.spoiled("TransactWriteItems"), 1);
    assert_eq!(env.emails_to(&email).len(), 1, "one activation email");

    // A latency spike within the attempt's bound (0.8 s here) is only slower.
    proxy.inject(
        "TransactWriteItems",
        Fault::Delay(Duration::from_millis(400)),
        1,
    );
    let email = unique_email("slow");
    let (status, body, took) = register(&env, &email).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    matrix_row(
        "sign-up",
        &Fault::Delay(Duration::from_millis(400)),
        status,
        took,
    );
    assert!(
        took >= Duration::from_millis(400),
        "the spike was served: {took:?}"
    );
    assert_eq!(env.emails_to(&email).len(), 1, "one activation email");

    // Faults that outlast the retries: a clear 503, nothing written, then a retry works.
    for fault in [
        Fault::ThroughputExceeded,
        Fault::InternalServerError,
        Fault::Hang,
        Fault::Drop,
    ] {
        proxy.clear();
        proxy.inject("TransactWriteItems", fault.clone(), 100);
        let email = unique_email("fault");
        let (status, body, took) = register(&env, &email).await;
        matrix_row("sign-up", &fault, status, took);
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{fault:?}: {body}"
        );
        assert!(
            took < Duration::from_secs(8),
            "{fault:?}: ended within the bound, took {took:?}"
        );
        proxy.clear();
        assert!(
            marquee::accounts::user::find_by_email(&env.app, &email)
                .await
                .unwrap()
                .is_none(),
            "{fault:?}: no account"
        );
        assert!(env.emails_to(&email).is_empty(), "{fault:?}: no email");
        let (status, body, _) = register(&env, &email).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{fault:?}: the retry converges: {body}"
        );
        assert_eq!(env.emails_to(&email).len(), 1, "{fault:?}: one email");
    }

    // SES throttles: once is absorbed by the SDK's retry; longer, the mail worker's retry
    // (the queue redelivering) sends it once SES takes mail again, and only once.
    env.mail_worker = false;
    let mail_queue = env.app.config.mail_queue_url.clone().unwrap();
    proxy.inject("outbound-emails", Fault::SesThrottling, 1);
    let email = unique_email("ses-once");
    register(&env, &email).await;
    let messages = support::receive_all(&mail_queue).await;
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    assert_eq!(env.emails_to(&email).len(), 1);
    proxy.inject("outbound-emails", Fault::SesThrottling, 100);
    let email = unique_email("ses-long");
    let (status, _, _) = register(&env, &email).await;
    assert_eq!(status, StatusCode::CREATED);
    let messages = support::receive_all(&mail_queue).await;
    assert_eq!(
        marquee::background::mail_worker(&env.app, &messages).await,
        vec![0]
    );
    assert!(env.emails_to(&email).is_empty());
    proxy.clear();
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    assert!(
        marquee::background::mail_worker(&env.app, &messages)
            .await
            .is_empty()
    );
    assert_eq!(env.emails_to(&email).len(), 1, "sent on the retry, once");
    assert!(proxy.spoiled("outbound-emails") >= 2);
}

/// A buyer with a movie (and, with `seats`, that many tickets) in the cart: (access token,
/// email, the showtime, the catalogue's movies).
async fn buyer_with_cart(
    env: &Env,
    name: &str,
    seats: Option<u8>,
) -> (String, String, String, Vec<String>) {
    let (showtime, movies) = support::shop(env, 20).await;
    let (token, _, email) = env.account(name, Role::User).await;
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[0]}))
        .await;
    if let Some(quantity) = seats {
        env.post(
            "/cart/items",
            Some(&token),
            json!({"showtime_id": showtime, "quantity": quantity}),
        )
        .await;
    }
    (token, email, showtime, movies)
}

async fn place(env: &Env, token: &str, key: &str) -> (StatusCode, Value) {
    let request = axum::http::Request::post("/orders")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", key)
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, body) = support::call(&env.api, request).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn an_order_is_whole_or_absent_under_faults_and_its_key_converges() {
    let (env, proxy) = behind_a_proxy().await;
    let (token, _, showtime, _) = buyer_with_cart(&env, "olga", Some(3)).await;
    let seats = |env: &Env| {
        let showtime = showtime.clone();
        let api = env.api.clone();
        async move {
            let (_, _, body) =
                support::call(&api, support::get(&format!("/showtimes/{showtime}"))).await;
            body["seats_left"].as_i64().unwrap()
        }
    };
    for fault in [Fault::InternalServerError, Fault::Hang, Fault::Drop] {
        proxy.inject("TransactWriteItems", fault.clone(), 100);
        let started = Instant::now();
        let (status, body) = place(&env, &token, "k-1").await;
        matrix_row("order", &fault, status, started.elapsed());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{fault:?}: {body}");
        assert!(started.elapsed() < Duration::from_secs(8), "{fault:?}");
        proxy.clear();
        let (_, list) = env.get("/orders", Some(&token)).await;
        assert_eq!(list["items"], json!([]), "{fault:?}: no order");
        assert_eq!(seats(&env).await, 20, "{fault:?}: no seats held");
    }
    let (status, first) = place(&env, &token, "k-1").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(seats(&env).await, 17);
    // A response lost on the way back (the client retries with its key): the same order.
    let (status, again) = place(&env, &token, "k-1").await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &first["id"]));
    assert_eq!(seats(&env).await, 17, "held once");
    let (status, _, _) = env
        .send(
            Method::POST,
            &format!("/orders/{}/cancel", first["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A buyer whose order (a movie, two tickets) has its checkout open: (access token, email,
/// order id, the `checkout.session.completed` event that pays it).
async fn in_checkout(env: &Env, name: &str) -> (String, String, String, Value) {
    let (token, email, _, _) = buyer_with_cart(env, name, Some(2)).await;
    let (status, placed) = place(env, &token, &format!("{name}-order")).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let id = placed["id"].as_str().unwrap().to_string();
    let (status, started) = env
        .post(&format!("/orders/{id}/checkout"), Some(&token), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let session = support::checkout_session_id(&started);
    let completed =
        support::session_object(env, &session, &id, "paid", &format!("pi_{name}")).await;
    (token, email, id, completed)
}

/// How many emails to `to` have `about` in their subject.
fn mails_about(env: &Env, to: &str, about: &str) -> usize {
    env.emails_to(to)
        .iter()
        .filter(|(subject, _)| subject.contains(about))
        .count()
}

/// Settling a payment while the table fails: each delivery that fails answers 5xx and
/// changes nothing, so Stripe delivers again; the first that gets through pays the order
/// once and sends one receipt, and later ones change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn webhook_settlement_converges_through_redeliveries() {
    let (env, proxy) = behind_a_proxy().await;
    let (token, email, id, completed) = in_checkout(&env, "pavel").await;
    let receipts = |env: &Env| mails_about(env, &email, "receipt");
    for fault in [Fault::InternalServerError, Fault::Hang, Fault::Drop] {
        proxy.inject("TransactWriteItems", fault.clone(), 100);
        let started = Instant::now();
        let (status, body) = env
            .stripe_event(
                "evt_faults",
                "checkout.session.completed",
                completed.clone(),
            )
            .await;
        matrix_row("webhook settlement", &fault, status, started.elapsed());
        assert!(status.is_server_error(), "{fault:?}: {status} {body}");
        proxy.clear();
        let (_, now) = env.get(&format!("/orders/{id}"), Some(&token)).await;
        assert_eq!(now["status"], "pending", "{fault:?}: nothing settled");
        assert_eq!(receipts(&env), 0, "{fault:?}: no receipt");
    }
    for _ in 0..2 {
        let (status, body) = env
            .stripe_event(
                "evt_faults",
                "checkout.session.completed",
                completed.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, paid) = env.get(&format!("/orders/{id}"), Some(&token)).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(receipts(&env), 1, "one receipt");
    let (_, owned) = env.get("/me/purchases", Some(&token)).await;
    assert_eq!(owned["items"].as_array().unwrap().len(), 1);
}

/// Stripe refusing a request itself (a 4xx other than 429) is its word: the checkout
/// answers 502 `payment_provider_refused` with Stripe's reason, and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_stripe_refuses_answers_502_with_its_reason() {
    let mut env = Env::served(false, Vec::new()).await;
    let stripe = env.stripe_through().await;
    let (token, _, _, _) = buyer_with_cart(&env, "rita", None).await;
    let (_, placed) = place(&env, &token, "refused-1").await;
    let id = placed["id"].as_str().unwrap();
    stripe.inject("sessions", Fault::StripeRefusal, 1);
    let (status, body) = env
        .post(&format!("/orders/{id}/checkout"), Some(&token), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at least 50 cents"),
        "{body}"
    );
    let (_, order) = env.get(&format!("/orders/{id}"), Some(&token)).await;
    assert!(order["checkout"].is_null(), "{order}");
}

/// Checkout while Stripe fails (server errors, a hang, a dropped connection, an answer lost
/// after Stripe acted): a clear 503 within the bound, nothing stored for the failed call,
/// every attempt asks Stripe for the same session (one idempotency key), so the session
/// a lost answer made is the one the next checkout gets, and a further checkout reuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn checkout_under_stripe_faults_stores_nothing_and_converges() {
    let mut env = Env::served(true, Vec::new()).await;
    let stripe = env.stripe_through().await;
    let (token, _, _, _) = buyer_with_cart(&env, "quinn", None).await;
    let (status, placed) = place(&env, &token, "stripe-1").await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let id = placed["id"].as_str().unwrap().to_string();
    let creations = |env: &Env| {
        env.stripe
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/checkout/sessions")
            .collect::<Vec<_>>()
    };
    for fault in [
        Fault::StripeServerError,
        Fault::Hang,
        Fault::Drop,
        Fault::LoseAnswer,
    ] {
        stripe.inject("sessions", fault.clone(), 100);
        let started = Instant::now();
        let (status, body) = env
            .post(&format!("/orders/{id}/checkout"), Some(&token), json!({}))
            .await;
        matrix_row("checkout (Stripe)", &fault, status, started.elapsed());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{fault:?}: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{fault:?}: {:?}",
            started.elapsed()
        );
        stripe.clear();
        let (_, order) = env.get(&format!("/orders/{id}"), Some(&token)).await;
        assert_eq!(order["status"], "pending", "{fault:?}");
        assert!(
            order["checkout"].is_null(),
            "{fault:?}: no session kept: {order}"
        );
    }
    assert_eq!(
        creations(&env).len(),
        1,
        "Stripe made a session only when the lost answer's request reached it"
    );
    let (status, opened) = env
        .post(&format!("/orders/{id}/checkout"), Some(&token), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    let (status, again) = env
        .post(&format!("/orders/{id}/checkout"), Some(&token), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again["checkout_url"], opened["checkout_url"],
        "the open page is reused"
    );
    let keys: std::collections::HashSet<Option<String>> = creations(&env)
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "every attempt asked for the same session: {keys:?}"
    );
    assert!(keys.iter().all(Option::is_some));
    assert_eq!(stripe.spoiled("sessions"), 4);
}

/// Approving a refund while Stripe or the table fails: each failed approval is a clear 503
/// within the bound that leaves the order asking; a refund Stripe made but whose answer was
/// lost, or that could not be noted, is found again by the retry (one idempotency key per
/// order), so the buyer is refunded exactly once and told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn refund_approval_under_faults_refunds_once() {
    let (mut env, table) = behind_a_proxy().await;
    let stripe = env.stripe_through().await;
    let (token, email, id, completed) = in_checkout(&env, "rosa").await;
    let (status, body) = env
        .stripe_event("evt_rosa_paid", "checkout.session.completed", completed)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, asked) = env
        .post(
            &format!("/orders/{id}/refund"),
            Some(&token),
            json!({"reason": "Bought twice"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    let (admin, _, _) = env.account("refunder", Role::Admin).await;
    let approve = format!("/admin/orders/{id}/refund");
    let cases = [
        ("stripe", Fault::StripeServerError),
        ("stripe", Fault::Hang),
        ("stripe", Fault::Drop),
        ("stripe", Fault::LoseAnswer),
        ("table", Fault::InternalServerError),
        ("table", Fault::Hang),
    ];
    for (at, fault) in cases {
        match at {
            "stripe" => stripe.inject("refunds", fault.clone(), 100),
            _ => table.inject("UpdateItem", fault.clone(), 100),
        }
        let started = Instant::now();
        let (status, body) = env.post(&approve, Some(&admin), json!({})).await;
        let took = started.elapsed();
        matrix_row(&format!("refund approval ({at})"), &fault, status, took);
        stripe.clear();
        table.clear();
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{at} {fault:?}: {body}"
        );
        assert!(
            took < Duration::from_secs(8),
            "{at} {fault:?}: took {took:?}"
        );
        let now = order_of(&env, &token, &id).await;
        assert_eq!(now["status"], "refund_requested", "{at} {fault:?}: {now}");
        assert!(
            now["refund"]["refund_id"].is_null(),
            "{at} {fault:?}: not noted: {now}"
        );
    }
    // Stripe took the refund when its answer was lost; the table fault came after.
    assert_eq!(env.stripe.refunds().len(), 1, "one refund made so far");

    let (status, approved) = env.post(&approve, Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{approved}");
    let refunds = env.stripe.refunds();
    assert_eq!(refunds.len(), 1, "the retries found the same refund");
    assert_eq!(approved["refund"]["refund_id"], refunds[0]["id"]);

    let charge = json!({"id": "ch_rosa", "object": "charge", "payment_intent": "pi_rosa",
                        "amount": approved["total"]["amount"],
                        "amount_refunded": approved["total"]["amount"], "refunded": true});
    for _ in 0..2 {
        let (status, body) = env
            .stripe_event("evt_rosa_refund", "charge.refunded", charge.clone())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(order_of(&env, &token, &id).await["status"], "refunded");
    assert_eq!(mails_about(&env, &email, "refund"), 1, "told once");
}

async fn order_of(env: &Env, token: &str, id: &str) -> Value {
    env.get(&format!("/orders/{id}"), Some(token)).await.1
}

/// The likes on a movie's card in the catalogue's first page (`None`: not listed).
async fn shelved_likes(env: &Env, movie: &str) -> Option<i64> {
    let (_, page) = env.get("/movies?limit=100", None).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|card| card["id"] == movie)
        .map(|card| card["likes"].as_i64().unwrap())
}

/// The catalogue's projection sweep while the table fails: the sweep ends within the bound
/// and reports the movie as failed, the shelves keep their previous state and the movie
/// stays marked; the next sweep (no lease left to wait out) brings the shelves in line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn the_projection_sweep_fails_whole_and_the_next_one_converges() {
    let (env, proxy) = behind_a_proxy().await;
    let seeded = marquee::catalog::demo::seed(&env.app, 2, 8).await.unwrap();
    let movie = seeded.movies[0].clone();
    let (token, _, _) = env.account("liker", Role::User).await;
    let (status, _, body) = env
        .send(
            Method::PUT,
            &format!("/movies/{movie}/reaction"),
            Some(&token),
            Some(json!({"value": "like"})),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert_eq!(
        shelved_likes(&env, &movie).await,
        Some(0),
        "the shelf waits for the sweep"
    );

    for (operation, fault) in [
        ("BatchWriteItem", Fault::InternalServerError),
        ("BatchWriteItem", Fault::Hang),
        ("BatchWriteItem", Fault::Drop),
        ("BatchGetItem", Fault::ThroughputExceeded),
    ] {
        proxy.inject(operation, fault.clone(), 100);
        let started = Instant::now();
        let report = marquee::background::catalog_indexer(&env.app, 100).await;
        let took = started.elapsed();
        proxy.clear();
        let report = report.unwrap();
        matrix_row(
            &format!("projection sweep ({operation})"),
            &fault,
            format!("{report:?}"),
            took,
        );
        assert_eq!(
            (report.projected, report.failed),
            (0, 1),
            "{operation} {fault:?}: {report:?}"
        );
        assert!(
            took < Duration::from_secs(10),
            "{operation} {fault:?}: took {took:?}"
        );
        assert_eq!(
            shelved_likes(&env, &movie).await,
            Some(0),
            "{operation} {fault:?}: shelves as before"
        );
    }
    let report = marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    assert_eq!((report.projected, report.failed), (1, 0), "{report:?}");
    assert_eq!(shelved_likes(&env, &movie).await, Some(1));
    let again = marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    assert_eq!(
        (again.projected, again.failed),
        (0, 0),
        "nothing left marked"
    );
}

/// A large batch write, and a large batch read, send their calls together: held at the
/// proxy a while each, as many as the adapter allows are under way at once; and every write
/// lands, every item is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn batch_calls_go_out_together() {
    use marquee::store::dynamo::{BATCH_CALLS_IN_FLIGHT, BATCH_GET_LIMIT, BATCH_WRITE_LIMIT};
    use marquee::store::{Key, Query, Write, entity_item};
    const { assert!(BATCH_CALLS_IN_FLIGHT > 1) };
    let (env, proxy) = behind_a_proxy().await;
    let calls = BATCH_CALLS_IN_FLIGHT + 2;
    let keys: Vec<Key> = (0..calls * BATCH_WRITE_LIMIT)
        .map(|i| Key::new("PROBE#together", format!("N#{i:04}")))
        .collect();
    let writes: Vec<Write> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| Write::put(entity_item("probe", key, &json!({ "n": i }))))
        .collect();
    proxy.inject(
        "BatchWriteItem",
        Fault::Delay(Duration::from_millis(300)),
        calls,
    );
    env.app.table.batch_write(writes).await.unwrap();
    assert_eq!(
        proxy.peak_in_flight("BatchWriteItem"),
        BATCH_CALLS_IN_FLIGHT
    );
    let stored = env
        .app
        .table
        .query(&Query::partition("PROBE#together").limit(1000))
        .await
        .unwrap();
    assert_eq!(stored.items.len(), keys.len());

    let reads = keys.len().div_ceil(BATCH_GET_LIMIT);
    proxy.inject(
        "BatchGetItem",
        Fault::Delay(Duration::from_millis(300)),
        reads,
    );
    let found = env.app.table.batch_get(&keys).await.unwrap();
    assert_eq!(found.len(), keys.len());
    assert_eq!(
        proxy.peak_in_flight("BatchGetItem"),
        reads.min(BATCH_CALLS_IN_FLIGHT)
    );
}
