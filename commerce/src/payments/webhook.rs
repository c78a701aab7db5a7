//! `stripe-webhook`: Stripe's events, verified on the raw body, each acted on once.
//!
//! An event is claimed (`STRIPE_EVENT#<id>`) in the same transaction as the change it
//! makes, so a repeat, concurrent or late delivery changes nothing twice, and a failed one
//! leaves nothing half done for the provider's retry. Emails an event owes are kept as
//! notices on the order and sent after the change commits (see `orders::notices`); every
//! delivery that concerns the order sends what is still owed.

use super::signature;
use crate::expiry;
use crate::orders::{notices, settle};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use marquee_core::app::App;
use marquee_core::http::problem::Problem;
use marquee_core::store::{Condition, Key, Write, entity_item};
use serde_json::Value;

/// How long event ids are remembered (Stripe retries for three days).
const REMEMBER_SECS: i64 = 30 * 24 * 3600;

fn event_key(id: &str) -> Key {
    Key::new(format!("STRIPE_EVENT#{id}"), "RECORD")
}

/// `POST /webhooks/stripe`.
pub async fn receive(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    process(&app, signature, &body).await?;
    Ok(StatusCode::OK)
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, field| v.get(field))?
        .as_str()
}

/// Verifies one delivery and acts on it.
pub async fn process(app: &App, signature: Option<&str>, body: &[u8]) -> Result<(), Problem> {
    let Some(secret) = app.config.stripe_webhook_secret.as_deref() else {
        tracing::error!("a Stripe event arrived but MARQUEE_STRIPE_WEBHOOK_SECRET is not set");
        return Err(Problem::unavailable());
    };
    let now = app.clock.now().unix_timestamp();
    signature::verify(secret, signature.unwrap_or_default(), body, now).map_err(|e| {
        tracing::warn!(error = %e, "refused a webhook delivery");
        marquee_core::metrics::count(marquee_core::metrics::Metric::WebhookSignatureFailures);
        Problem::bad_request(format!("Invalid Stripe-Signature: {e}"))
    })?;
    let event: Value =
        serde_json::from_slice(body).map_err(|_| Problem::bad_request("The event is not JSON"))?;
    let (Some(id), Some(kind)) = (text(&event, &["id"]), text(&event, &["type"])) else {
        return Err(Problem::bad_request("The event has no id or type"));
    };
    let object = event
        .get("data")
        .and_then(|d| d.get("object"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut claim = entity_item(
        "stripe_event",
        &event_key(id),
        &serde_json::json!({"type": kind, "received_at": now}),
    );
    expiry::stamp(&mut claim, now + REMEMBER_SECS);
    let claim = Write::put(claim).when(Condition::NotExists);
    let order_id = text(&object, &["metadata", "order_id"])
        .or_else(|| text(&object, &["client_reference_id"]))
        .map(str::to_string);
    let seen = app.table.get(&event_key(id)).await?.is_some();
    let order_id = if seen {
        tracing::info!(event = id, kind, "event already handled");
        order_id
    } else {
        tracing::info!(event = id, kind, "handling event");
        act(app, kind, &object, order_id, claim).await?
    };
    if let Some(order_id) = order_id {
        notices::deliver(app, &order_id).await?;
    }
    Ok(())
}

/// Acts on a new event; returns the order it concerns.
async fn act(
    app: &App,
    kind: &str,
    object: &Value,
    order_id: Option<String>,
    claim: Write,
) -> Result<Option<String>, Problem> {
    let session_id = text(object, &["id"]).unwrap_or_default();
    // Our payment record, named in the metadata of the session and of its payment intent.
    let payment_id = text(object, &["metadata", "payment_id"]);
    match (kind, order_id) {
        (
            "checkout.session.completed" | "checkout.session.async_payment_succeeded",
            Some(order_id),
        ) => {
            // A delayed method (a bank debit) completes the session unpaid; the order waits
            // for async_payment_succeeded or _failed.
            if text(object, &["payment_status"]) == Some("paid") {
                let paid = settle::PaidSession {
                    session_id,
                    payment_id,
                    payment_intent: text(object, &["payment_intent"]).unwrap_or_default(),
                    amount_total: object.get("amount_total").and_then(Value::as_i64),
                    currency: text(object, &["currency"]),
                };
                settle::paid(app, &order_id, &paid, claim).await?;
            } else {
                settle::record_only(app, claim).await?;
            }
            Ok(Some(order_id))
        }
        ("checkout.session.async_payment_failed", Some(order_id)) => {
            settle::payment_failed(
                app,
                &order_id,
                payment_id,
                "The payment did not go through; try a different payment method".into(),
                claim,
            )
            .await?;
            Ok(Some(order_id))
        }
        ("checkout.session.expired", Some(order_id)) => {
            settle::session_expired(app, &order_id, session_id, payment_id, claim).await?;
            Ok(Some(order_id))
        }
        ("payment_intent.payment_failed", Some(order_id)) => {
            let message = text(object, &["last_payment_error", "message"])
                .unwrap_or("The payment was declined.");
            let hint = format!("{message} Try a different payment method.");
            settle::payment_failed(app, &order_id, payment_id, hint, claim).await?;
            Ok(Some(order_id))
        }
        ("charge.refunded", _) => {
            let intent = text(object, &["payment_intent"]).unwrap_or_default();
            let full = object.get("refunded").and_then(Value::as_bool) == Some(true);
            if full && !intent.is_empty() {
                Ok(settle::refunded(app, intent, claim).await?)
            } else {
                settle::record_only(app, claim).await?;
                Ok(None)
            }
        }
        _ => {
            settle::record_only(app, claim).await?;
            Ok(None)
        }
    }
}
