//! Checkout, the Stripe webhook, refunds, payment history and the staff views, through the
//! full router on both backends, with Stripe stood in for by an HTTP mock that checks what
//! it receives.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::role::Role;
use serde_json::{Value, json};
use support::{Env, shop};

async fn order(env: &Env, token: &str, key: &str) -> Value {
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/orders")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", key)
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, _, body) = support::call(&env.api, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn checkout(env: &Env, token: &str, id: &str) -> (StatusCode, Value) {
    env.post(&format!("/orders/{id}/checkout"), Some(token), json!({}))
        .await
}

/// Checks the order out; the Stripe session's id.
async fn checked_out(env: &Env, token: &str, id: &str) -> String {
    let (status, started) = checkout(env, token, id).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    support::checkout_session_id(&started)
}

async fn order_now(env: &Env, token: &str, id: &str) -> Value {
    env.get(&format!("/orders/{id}"), Some(token)).await.1
}

async fn seats_left(env: &Env, showtime: &str) -> i64 {
    env.get(&format!("/showtimes/{showtime}"), None).await.1["seats_left"]
        .as_i64()
        .unwrap()
}

fn receipts(env: &Env, email: &str, subject: &str) -> usize {
    env.emails_to(email)
        .iter()
        .filter(|(s, _)| s.contains(subject))
        .count()
}

/// The email to `email` whose subject names `subject`.
fn email_about(env: &Env, email: &str, subject: &str) -> String {
    env.emails_to(email)
        .into_iter()
        .find(|(s, _)| s.contains(subject))
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("no email about {subject} to {email}"))
}

/// When and where a showtime is, as its emails say it on a Tokyo clock ("Tue 8 Dec 2026,
/// 23:00 JST at Shinjuku Wald 9").
fn showing_in_tokyo(showtime: &Value) -> String {
    use time::format_description::well_known::Rfc3339;
    let starts = time::OffsetDateTime::parse(showtime["starts_at"].as_str().unwrap(), &Rfc3339)
        .unwrap()
        .to_offset(time::macros::offset!(+9));
    let format = time::macros::format_description!(
        "[weekday repr:short] [day padding:none] [month repr:short] [year], [hour]:[minute] JST"
    );
    format!(
        "{} at {}",
        starts.format(format).unwrap(),
        showtime["cinema_name"].as_str().unwrap()
    )
}

/// A buyer with a movie and two tickets to see it in an order: (token, user id, email,
/// order, showtime, movie).
async fn buyer_with_order(env: &Env) -> (String, String, String, Value, String, String) {
    let (showtime, movies) = shop(env, 20).await;
    let (token, user_id, email) = env.account("buyer", Role::User).await;
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[0]}))
        .await;
    env.post(
        "/cart/items",
        Some(&token),
        json!({"showtime_id": showtime, "quantity": 2}),
    )
    .await;
    let placed = order(env, &token, "journey").await;
    (token, user_id, email, placed, showtime, movies[0].clone())
}

async fn the_purchase_journey_from_checkout_to_refund(env: Env) {
    let (token, user_id, email, placed, showtime, movie) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let total = placed["total"]["amount"].as_i64().unwrap();
    assert_eq!(seats_left(&env, &showtime).await, 18);

    // Checkout: a Stripe Checkout Session made from the order.
    let (status, started) = checkout(&env, &token, id).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let url = started["checkout_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://checkout.stripe.test/c/pay/cs_test_"),
        "{url}"
    );
    let session_id = url.rsplit('/').next().unwrap().to_string();
    let sent = env.stripe.requests();
    assert_eq!(sent.len(), 1);
    let create = &sent[0];
    assert_eq!(
        (create.method.as_str(), create.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(
        create.authorization.as_deref(),
        Some("Bearer sk_test_marquee")
    );
    let payment_id = create.field("metadata[payment_id]").unwrap().to_string();
    assert_eq!(
        create.field("payment_intent_data[metadata][payment_id]"),
        Some(payment_id.as_str())
    );
    assert_eq!(
        create.idempotency_key.as_deref(),
        Some(format!("checkout-{payment_id}").as_str())
    );
    assert_eq!(create.field("mode"), Some("payment"));
    assert_eq!(create.field("client_reference_id"), Some(id));
    assert_eq!(create.field("metadata[order_id]"), Some(id));
    assert_eq!(
        create.field("payment_intent_data[metadata][order_id]"),
        Some(id)
    );
    assert_eq!(create.field("customer_email"), Some(email.as_str()));
    assert_eq!(
        create.field("success_url"),
        Some(format!("https://cinema.test/#/orders/{id}?checkout=success").as_str())
    );
    assert_eq!(
        create.field("cancel_url"),
        Some(format!("https://cinema.test/#/orders/{id}?checkout=canceled").as_str())
    );
    let expires_at: i64 = create.field("expires_at").unwrap().parse().unwrap();
    let now = marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp();
    assert!(
        (1800..=1900).contains(&(expires_at - now)),
        "{expires_at} vs {now}"
    );
    let lines = placed["lines"].as_array().unwrap();
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(
            create.field(&format!("line_items[{n}][price_data][unit_amount]")),
            Some(line["unit_price"]["amount"].to_string().as_str())
        );
        assert_eq!(
            create.field(&format!("line_items[{n}][price_data][currency]")),
            Some("eur")
        );
        assert_eq!(
            create.field(&format!("line_items[{n}][quantity]")),
            Some(line["quantity"].to_string().as_str())
        );
    }
    // Checking out again while the page is open hands back the same page.
    let (status, again) = checkout(&env, &token, id).await;
    assert_eq!(
        (status, &again["checkout_url"]),
        (StatusCode::OK, &started["checkout_url"])
    );
    assert_eq!(env.stripe.requests().len(), 1);
    // Coming back from the page changes nothing: only verified events do.
    assert_eq!(order_now(&env, &token, id).await["status"], "pending");
    // Others' orders do not exist for a buyer.
    let (stranger, _, _) = env.account("stranger", Role::User).await;
    assert_eq!(checkout(&env, &stranger, id).await.0, StatusCode::NOT_FOUND);
    // While Stripe completes the payment, the order cannot be canceled (Stripe refuses to
    // expire the session, and that refusal is the answer).
    env.stripe.complete(&session_id);
    let (status, problem) = env
        .post(&format!("/orders/{id}/cancel"), Some(&token), json!({}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("payment_in_progress")),
        "{problem}"
    );
    assert_eq!(order_now(&env, &token, id).await["status"], "pending");

    // A bad signature is refused and stores nothing: the same event id works after.
    let completed = support::session_object(&env, &session_id, id, "paid", "pi_journey").await;
    let payload = json!({"id": "evt_paid", "type": "checkout.session.completed",
                         "data": {"object": completed}})
    .to_string();
    let (status, _) = env.webhook(&payload, "t=1,v1=00").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let now = marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp();
    let forged = marquee::payments::signature::header("whsec_other", now, payload.as_bytes());
    assert_eq!(
        env.webhook(&payload, &forged).await.0,
        StatusCode::BAD_REQUEST
    );
    let stale = marquee::payments::signature::header(
        support::WEBHOOK_SECRET,
        now - 301,
        payload.as_bytes(),
    );
    assert_eq!(
        env.webhook(&payload, &stale).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(order_now(&env, &token, id).await["status"], "pending");

    let (status, body) = env
        .stripe_event("evt_paid", "checkout.session.completed", completed.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let paid = order_now(&env, &token, id).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["payment_intent"], "pi_journey");
    assert_eq!(seats_left(&env, &showtime).await, 18);
    let (_, owned) = env.get("/me/purchases", Some(&token)).await;
    assert_eq!(owned["items"][0]["id"], movie.as_str(), "{owned}");
    let (_, cart) = env.get("/cart", Some(&token)).await;
    assert_eq!(cart["items"], json!([]), "bought items leave the cart");
    assert_eq!(receipts(&env, &email, "receipt"), 1);
    let mail = email_about(&env, &email, "receipt");
    assert!(mail.contains(id), "{mail}");
    // The tickets' line says when and where, as the order kept them.
    let (_, shown) = env.get(&format!("/showtimes/{showtime}"), None).await;
    let ticket_line = paid["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "ticket")
        .unwrap();
    assert_eq!(ticket_line["starts_at"], shown["starts_at"], "{paid}");
    assert_eq!(ticket_line["cinema"], shown["cinema_name"], "{paid}");
    assert_eq!(ticket_line["time_zone"], "Asia/Tokyo", "{paid}");
    // In the cinema's time: Tokyo keeps UTC+9 all year.
    let at = showing_in_tokyo(&shown);
    assert!(
        mail.contains("(tickets, ") && mail.contains(&at),
        "{at} in {mail}"
    );
    // Delivered again: nothing changes, no second receipt.
    assert_eq!(
        env.stripe_event("evt_paid", "checkout.session.completed", completed)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(receipts(&env, &email, "receipt"), 1);

    // Payment history.
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"].as_array().unwrap().len(), 1, "{payments}");
    assert_eq!(payments["items"][0]["status"], "succeeded");
    assert_eq!(payments["items"][0]["order_id"], id);
    assert_eq!(payments["items"][0]["amount"]["amount"], total);

    // Refund: asked with a reason by the owner only, approved by an admin.
    let path = format!("/orders/{id}/refund");
    let (status, problem) = env.post(&path, Some(&token), json!({"reason": "  "})).await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason".to_string()])
    );
    let (status, _) = env.post(&path, Some(&token), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = env
        .post(&path, Some(&stranger), json!({"reason": "mine"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, asked) = env
        .post(&path, Some(&token), json!({"reason": "Wrong movie"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert_eq!(asked["status"], "refund_requested");
    assert_eq!(asked["refund"]["reason"], "Wrong movie");
    let (status, _) = env
        .post(&path, Some(&token), json!({"reason": "again"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (admin, _, _) = env.account("admin", Role::Admin).await;
    let approve = format!("/admin/orders/{id}/refund");
    let (status, approved) = env.post(&approve, Some(&admin), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{approved}");
    assert_eq!(
        approved["status"], "refund_requested",
        "the event completes it"
    );
    let refund = env
        .stripe
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/refunds")
        .unwrap();
    assert_eq!(refund.field("payment_intent"), Some("pi_journey"));
    assert_eq!(refund.field("amount"), Some(total.to_string().as_str()));
    assert_eq!(
        refund.idempotency_key.as_deref(),
        Some(format!("refund-{id}").as_str())
    );
    // Approved twice: Stripe's idempotency gives the same refund.
    let (_, twice) = env.post(&approve, Some(&admin), json!({})).await;
    assert_eq!(
        twice["refund"]["refund_id"],
        approved["refund"]["refund_id"]
    );

    let refunded = json!({"id": "ch_1", "object": "charge", "payment_intent": "pi_journey",
                          "amount": total, "amount_refunded": total, "refunded": true});
    let (status, _) = env
        .stripe_event("evt_refund", "charge.refunded", refunded.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order_now(&env, &token, id).await["status"], "refunded");
    let (_, owned) = env.get("/me/purchases", Some(&token)).await;
    assert_eq!(owned["items"], json!([]), "access is revoked");
    let (_, got) = env
        .get(&format!("/me/marks?ids={movie}"), Some(&token))
        .await;
    assert_eq!(got["items"][0]["purchased"], false, "{got}");
    assert_eq!(
        seats_left(&env, &showtime).await,
        20,
        "refunded tickets free their seats"
    );
    let (delivered, answer) = env
        .stripe_event("evt_refund", "charge.refunded", refunded)
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(receipts(&env, &email, "refund"), 1);
    // The refund's email names the showtime its void tickets were for.
    let (_, shown) = env.get(&format!("/showtimes/{showtime}"), None).await;
    let mail = email_about(&env, &email, "refund");
    let at = format!("{})", showing_in_tokyo(&shown));
    assert!(
        mail.contains("(tickets, ") && mail.contains(&at),
        "{at} in {mail}"
    );
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"][0]["status"], "refunded");

    // Staff views.
    let (moderator, _, _) = env.account("staff", Role::Moderator).await;
    let (status, list) = env
        .get(
            &format!("/admin/orders?user={user_id}&status=refunded"),
            Some(&moderator),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = env
        .get(
            &format!("/admin/orders?user={user_id}&status=paid"),
            Some(&moderator),
        )
        .await;
    assert_eq!(list["items"], json!([]));
    let (_, list) = env
        .get("/admin/orders?status=refunded", Some(&moderator))
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == id)
    );
    let today = marquee::clock::Clock::now(env.clock.as_ref()).date();
    let (_, list) = env
        .get(
            &format!("/admin/payments?user={user_id}&from={today}&to={today}"),
            Some(&moderator),
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let yesterday = today.previous_day().unwrap();
    let (_, list) = env
        .get(
            &format!("/admin/payments?user={user_id}&to={yesterday}"),
            Some(&moderator),
        )
        .await;
    assert_eq!(list["items"], json!([]));
    for bad in [
        "status=lost",
        "from=yesterday",
        &format!("from={today}&to={yesterday}"),
    ] {
        let (status, _) = env
            .get(&format!("/admin/orders?{bad}"), Some(&moderator))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, sales) = env.get("/admin/sales", Some(&moderator)).await;
    assert_eq!(status, StatusCode::OK, "{sales}");
    assert_eq!(sales["total"]["refunded"], total, "{sales}");
    assert_eq!(sales["total"]["revenue"], 0);
    // A refunded order is counted as one, apart from the paid ones.
    assert_eq!(
        (
            sales["total"]["orders"].as_i64(),
            sales["total"]["refunded_orders"].as_i64()
        ),
        (Some(0), Some(1)),
        "{sales}"
    );
}

async fn sales_count_revenue_and_units_by_day_and_movie(env: Env) {
    let (token, _, _, placed, _, movie) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let session_id = checked_out(&env, &token, id).await;
    let (delivered, answer) = env
        .stripe_event(
            "evt_sale",
            "checkout.session.completed",
            support::session_object(&env, &session_id, id, "paid", "pi_sale").await,
        )
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    let (moderator, _, _) = env.account("staff", Role::Moderator).await;
    let (_, sales) = env.get("/admin/sales", Some(&moderator)).await;
    let total = placed["total"]["amount"].as_i64().unwrap();
    assert_eq!(sales["total"]["revenue"], total, "{sales}");
    assert_eq!(sales["total"]["units"], 3, "one movie and two tickets");
    assert_eq!(sales["total"]["tickets"], 2);
    assert_eq!(sales["total"]["orders"], 1);
    assert_eq!(sales["total"]["refunded_orders"], 0);
    assert_eq!(sales["by_day"].as_array().unwrap().len(), 1);
    assert_eq!(sales["by_day"][0]["revenue"], total);
    let by_movie = sales["by_movie"].as_array().unwrap();
    let bought = by_movie
        .iter()
        .find(|m| m["movie_id"] == movie.as_str())
        .unwrap();
    // The movie and two tickets to see it, in one order.
    assert_eq!(
        (
            bought["units"].as_i64(),
            bought["tickets"].as_i64(),
            bought["orders"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(bought["revenue"], total);
    let (status, _) = env
        .get(
            "/admin/sales?from=2020-01-01&to=2026-01-01",
            Some(&moderator),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "over a year");
}

async fn a_changed_price_needs_confirmation_before_checkout(env: Env) {
    let (_, movies) = shop(&env, 20).await;
    let (token, _, _) = env.account("buyer", Role::User).await;
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[2]}))
        .await;
    let placed = order(&env, &token, "reprice").await;
    let id = placed["id"].as_str().unwrap();
    let (moderator, _, _) = env.account("mod2", Role::Moderator).await;
    let (status, _, body) = env
        .send(
            Method::PATCH,
            &format!("/movies/{}", movies[2]),
            Some(&moderator),
            Some(json!({"price": {"amount": 1234, "currency": "EUR"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, problem) = checkout(&env, &token, id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "order_changed");
    assert_eq!(problem["new_total"]["amount"], 1234);
    assert!(
        env.stripe.requests().is_empty(),
        "no session before the buyer confirms"
    );
    assert_eq!(
        order_now(&env, &token, id).await["total"],
        placed["total"],
        "unchanged until confirmed"
    );
    let (status, started) = checkout(&env, &token, id).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["total"]["amount"], 1234);
    assert_eq!(order_now(&env, &token, id).await["total"]["amount"], 1234);
    let create = &env.stripe.requests()[0];
    assert_eq!(
        create.field("line_items[0][price_data][unit_amount]"),
        Some("1234")
    );
    // Not pending: no checkout.
    let (status, _) = env
        .post(&format!("/orders/{id}/cancel"), Some(&token), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        env.stripe
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/expire")),
        "the open session is ended at Stripe"
    );
    let (status, problem) = checkout(&env, &token, id).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_pending"))
    );
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"][0]["status"], "canceled");
}

async fn a_lapsing_page_is_replaced_and_its_expiry_ends_nothing(env: Env) {
    let (token, _, email, placed, showtime, _) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let first = checked_out(&env, &token, id).await;
    // Half a minute before the page lapses, checking out makes a new page and closes the
    // old one at Stripe.
    env.clock.advance(time::Duration::seconds(
        marquee::orders::checkout::SESSION_SECS - 30,
    ));
    let token = env.sign_in(&email).await;
    let second = checked_out(&env, &token, id).await;
    assert_ne!(first, second);
    assert!(
        env.stripe
            .requests()
            .iter()
            .any(|r| r.path == format!("/v1/checkout/sessions/{first}/expire"))
    );
    let (_, payments) = env.get("/payments", Some(&token)).await;
    let statuses: Vec<&str> = payments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["pending", "canceled"], "{payments}");
    // Stripe's expiry event for the old page, whenever it comes, ends nothing.
    let expired = json!({"id": first, "object": "checkout.session", "client_reference_id": id,
                         "metadata": {"order_id": id}, "status": "expired"});
    let (delivered, answer) = env
        .stripe_event("evt_first_expired", "checkout.session.expired", expired)
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(order_now(&env, &token, id).await["status"], "pending");
    assert_eq!(seats_left(&env, &showtime).await, 18);
    // The new page is paid: the order is paid once.
    let (delivered, answer) = env
        .stripe_event(
            "evt_second_paid",
            "checkout.session.completed",
            support::session_object(&env, &second, id, "paid", "pi_second").await,
        )
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(order_now(&env, &token, id).await["status"], "paid");
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"][0]["status"], "succeeded");
}

/// A mail service that is down.
struct MailDown;

#[async_trait::async_trait]
impl marquee::mail::Mailer for MailDown {
    async fn send(&self, _: &marquee::mail::Email) -> Result<(), marquee::mail::MailError> {
        Err(marquee::mail::MailError("the mail service is down".into()))
    }
}

async fn a_receipt_that_could_not_be_sent_goes_out_with_the_retry(env: Env) {
    let (token, _, email, placed, _, _) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let session_id = checked_out(&env, &token, id).await;
    let payload = json!({"id": "evt_retry", "type": "checkout.session.completed",
        "data": {"object": support::session_object(&env, &session_id, id, "paid", "pi_retry").await}})
    .to_string();
    let now = marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp();
    let signature =
        marquee::payments::signature::header(support::WEBHOOK_SECRET, now, payload.as_bytes());
    let mut down = env.app.clone();
    down.mailer = std::sync::Arc::new(MailDown);
    let api_down = marquee::routes::router(down, |_| true);
    let request = axum::http::Request::post("/webhooks/stripe")
        .header("stripe-signature", &signature)
        .body(axum::body::Body::from(payload.clone()))
        .unwrap();
    let (status, _, _) = support::call(&api_down, request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "Stripe will retry");
    assert_eq!(order_now(&env, &token, id).await["status"], "paid");
    assert_eq!(receipts(&env, &email, "receipt"), 0);
    // Stripe's retry of the same event: the order is not paid twice, the receipt goes out.
    assert_eq!(env.webhook(&payload, &signature).await.0, StatusCode::OK);
    assert_eq!(receipts(&env, &email, "receipt"), 1);
    assert_eq!(env.webhook(&payload, &signature).await.0, StatusCode::OK);
    assert_eq!(receipts(&env, &email, "receipt"), 1);
}

async fn a_lapsed_order_cannot_be_checked_out(env: Env) {
    let (_, _, email, placed, _, _) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    env.clock.advance(time::Duration::minutes(31));
    let token = env.sign_in(&email).await;
    let (status, problem) = checkout(&env, &token, id).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("order_lapsed"))
    );
    assert!(env.stripe.requests().is_empty());
}

async fn failed_expired_late_and_unknown_events(env: Env) {
    let (token, _, _, placed, showtime, _) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let session_id = checked_out(&env, &token, id).await;

    let declined = json!({"id": "pi_late", "object": "payment_intent", "metadata": {"order_id": id},
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}});
    let (status, _) = env
        .stripe_event("evt_declined", "payment_intent.payment_failed", declined)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"][0]["status"], "failed");
    assert_eq!(
        payments["items"][0]["hint"],
        "Your card was declined. Try a different payment method."
    );
    assert_eq!(
        order_now(&env, &token, id).await["status"],
        "pending",
        "the buyer may try again"
    );

    // A delayed method that fails later says so too.
    let async_failed = support::session_object(&env, &session_id, id, "unpaid", "pi_late").await;
    let (delivered, answer) = env
        .stripe_event(
            "evt_async_failed",
            "checkout.session.async_payment_failed",
            async_failed,
        )
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(
        payments["items"][0]["hint"],
        "The payment did not go through; try a different payment method"
    );
    assert_eq!(order_now(&env, &token, id).await["status"], "pending");

    // Unpaid completion (a delayed method): the order waits.
    let (delivered, answer) = env
        .stripe_event(
            "evt_unpaid",
            "checkout.session.completed",
            support::session_object(&env, &session_id, id, "unpaid", "pi_late").await,
        )
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(order_now(&env, &token, id).await["status"], "pending");
    let (status, _) = env
        .stripe_event("evt_other", "customer.created", json!({"id": "cus_1"}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "events of no interest are acknowledged"
    );

    let expired = json!({"id": session_id, "object": "checkout.session", "client_reference_id": id,
                         "metadata": {"order_id": id}, "status": "expired", "payment_status": "unpaid"});
    let (delivered, answer) = env
        .stripe_event("evt_expired", "checkout.session.expired", expired)
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(order_now(&env, &token, id).await["status"], "expired");
    assert_eq!(
        seats_left(&env, &showtime).await,
        20,
        "the hold is released"
    );
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"][0]["status"], "canceled");

    // A payment that lands after the order ended is paid back, not sold.
    let (delivered, answer) = env
        .stripe_event(
            "evt_late",
            "checkout.session.async_payment_succeeded",
            support::session_object(&env, &session_id, id, "paid", "pi_late").await,
        )
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(order_now(&env, &token, id).await["status"], "expired");
    let refund = env
        .stripe
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/refunds")
        .expect("refunded");
    assert_eq!(refund.field("payment_intent"), Some("pi_late"));
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"][0]["status"], "refunded", "{payments}");
    assert_eq!(seats_left(&env, &showtime).await, 20);
}

/// The buyer's security events of `kind`.
async fn security_events(env: &Env, token: &str, kind: &str) -> usize {
    let (_, events) = env.get("/me/security-events?limit=100", Some(token)).await;
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .count()
}

async fn a_payment_that_does_not_match_its_order_pays_nothing(env: Env) {
    let (token, _, _, placed, showtime, _) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let session_id = checked_out(&env, &token, id).await;
    let total = placed["total"]["amount"].as_i64().unwrap();
    let currency = placed["total"]["currency"].as_str().unwrap();
    // Another Stripe product whose buyer chose our order's id (a payment link takes
    // client_reference_id from its URL), our session paid short, and in another currency.
    let mismatched = [
        (
            "evt_link",
            support::paid_session("cs_link", id, "paid", "pi_link", 100, currency),
        ),
        (
            "evt_short",
            support::paid_session(&session_id, id, "paid", "pi_short", total - 1, currency),
        ),
        (
            "evt_usd",
            support::paid_session(&session_id, id, "paid", "pi_usd", total, "usd"),
        ),
    ];
    for (event, object) in mismatched {
        let (status, body) = env
            .stripe_event(event, "checkout.session.completed", object)
            .await;
        assert_eq!(status, StatusCode::OK, "{event}: {body}");
        assert_eq!(
            order_now(&env, &token, id).await["status"],
            "pending",
            "{event}"
        );
    }
    let refunded: Vec<(Value, Value)> = env
        .stripe
        .refunds()
        .iter()
        .map(|r| (r["payment_intent"].clone(), r["amount"].clone()))
        .collect();
    assert_eq!(
        refunded,
        [
            (json!("pi_link"), json!(100)),
            (json!("pi_short"), json!(total - 1)),
            (json!("pi_usd"), json!(total)),
        ],
        "the money that moved goes back"
    );
    assert_eq!(security_events(&env, &token, "payment_rejected").await, 3);
    assert_eq!(
        seats_left(&env, &showtime).await,
        18,
        "the order still holds its seats"
    );
    // A paid session that names no order of ours is paid back too.
    let (status, _) = env
        .stripe_event(
            "evt_stray",
            "checkout.session.completed",
            support::paid_session(
                "cs_stray",
                "01J0000000000000000000NONE",
                "paid",
                "pi_stray",
                500,
                "eur",
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.stripe.refunds().last().unwrap()["payment_intent"],
        "pi_stray"
    );
    // The order's own session, for its total, pays it.
    let paid = support::session_object(&env, &session_id, id, "paid", "pi_real").await;
    let (delivered, answer) = env
        .stripe_event("evt_real", "checkout.session.completed", paid)
        .await;
    assert_eq!(delivered, StatusCode::OK, "{answer}");
    assert_eq!(order_now(&env, &token, id).await["status"], "paid");
    assert_eq!(
        env.stripe.refunds().len(),
        4,
        "nothing of the real payment goes back"
    );
}

async fn checking_out_again_cannot_hold_seats_past_the_deadline(env: Env) {
    let (_, _, email, placed, showtime, _) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap();
    let created = marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp();
    let deadline = created + marquee::orders::checkout::MAX_HOLD_SECS;
    let mut last_lapse = 0;
    // Near the end of each page, a new page; until no new one may open.
    let mut pages = 0;
    loop {
        let token = env.sign_in(&email).await;
        let (status, started) = checkout(&env, &token, id).await;
        if status != StatusCode::OK {
            assert_eq!(
                (status, started["code"].as_str()),
                (StatusCode::CONFLICT, Some("hold_ended")),
                "{started}"
            );
            break;
        }
        pages += 1;
        let expires_at = started["expires_at"].as_i64().unwrap();
        assert!(
            expires_at <= deadline,
            "page {pages} is open past the deadline"
        );
        last_lapse = order_now(&env, &token, id).await["expires_at"]
            .as_i64()
            .unwrap();
        let now = marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp();
        env.clock
            .advance(time::Duration::seconds(expires_at - now - 30));
        assert!(pages < 10, "checkout keeps extending the hold");
    }
    assert!(
        pages >= 2,
        "checking out again is allowed within the deadline"
    );
    assert!(
        last_lapse <= deadline + 15 * 60,
        "{last_lapse} vs {deadline}"
    );
    assert_eq!(seats_left(&env, &showtime).await, 18);
}

async fn twenty_concurrent_deliveries_change_the_order_once(env: Env) {
    let (token, _, email, placed, _, movie) = buyer_with_order(&env).await;
    let id = placed["id"].as_str().unwrap().to_string();
    let session_id = checked_out(&env, &token, &id).await;
    let env = std::sync::Arc::new(env);
    let deliveries = 20;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..deliveries {
        let env = env.clone();
        let object = support::session_object(&env, &session_id, &id, "paid", "pi_many").await;
        tasks.spawn(async move {
            env.stripe_event("evt_many", "checkout.session.completed", object)
                .await
                .0
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(order_now(&env, &token, &id).await["status"], "paid");
    assert_eq!(receipts(&env, &email, "receipt"), 1, "one email");
    let record = env
        .app
        .table
        .get(&marquee::catalog::index::record_key(&movie))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record["purchase_count"], 1, "one grant counted");
    let (_, payments) = env.get("/payments", Some(&token)).await;
    assert_eq!(payments["items"].as_array().unwrap().len(), 1);
}

support::on_both_backends!(
    the_purchase_journey_from_checkout_to_refund,
    sales_count_revenue_and_units_by_day_and_movie,
    a_changed_price_needs_confirmation_before_checkout,
    a_lapsing_page_is_replaced_and_its_expiry_ends_nothing,
    a_lapsed_order_cannot_be_checked_out,
    a_receipt_that_could_not_be_sent_goes_out_with_the_retry,
    failed_expired_late_and_unknown_events,
    a_payment_that_does_not_match_its_order_pays_nothing,
    checking_out_again_cannot_hold_seats_past_the_deadline,
    twenty_concurrent_deliveries_change_the_order_once,
);
