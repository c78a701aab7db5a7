//! The provider stand-in for working offline (embedded backend, no Stripe key): a checkout
//! "session" is a local page with Pay, Decline and Cancel buttons, and each button sends the
//! event Stripe would send, signed with the webhook secret, to the same webhook handler.
//! Expiring a session and refunding send theirs through an in-process queue that the local
//! server drains into the handler, as Stripe's deliveries would arrive.
//!
//! Sessions: `SIMULATED_CHECKOUT#<id>` / `RECORD`.

use super::gateway::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, RefundRequest,
};
use super::{signature, webhook};
use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use marquee_catalog::catalog::movies::Price;
use marquee_core::app::App;
use marquee_core::config::Config;
use marquee_core::http::Path;
use marquee_core::http::problem::Problem;
use marquee_core::pages;
use marquee_core::queue::{MemoryQueue, Queue};
use marquee_core::store::{Condition, Key, Table, Update, Write, entity_item, from_entity_item};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

/// The signed events the simulated provider sends, made on first use when it is on (no
/// Stripe key, simulated checkout configured); the local server drains them.
pub fn deliveries(app: &App) -> Option<Arc<MemoryQueue>> {
    let config = &app.config;
    let on = config.stripe_secret_key.is_none() && config.simulated_checkout;
    app.feature(|_| Deliveries(on.then(|| Arc::new(MemoryQueue::new()))))
        .0
        .clone()
}

struct Deliveries(Option<Arc<MemoryQueue>>);

pub struct SimulatedGateway {
    table: Arc<dyn Table>,
    api_url: String,
    secret: String,
    deliveries: Arc<MemoryQueue>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    id: String,
    order_id: String,
    payment_id: String,
    currency: String,
    lines: Vec<(String, i64, u16)>,
    total: i64,
    success_url: String,
    cancel_url: String,
    expires_at: i64,
    /// open, complete or expired.
    status: String,
    payment_intent: String,
}

fn session_key(id: &str) -> Key {
    Key::new(format!("SIMULATED_CHECKOUT#{id}"), "RECORD")
}

/// A queued delivery: what Stripe would POST.
#[derive(Serialize, Deserialize)]
struct Delivery {
    signature: String,
    payload: String,
    #[serde(default)]
    attempts: u32,
}

/// Deliveries tried before one is given up (Stripe tries for days; locally, seconds).
const DELIVERY_ATTEMPTS: u32 = 5;

/// An event as Stripe shapes it.
fn event(id: &str, kind: &str, object: Value, now: i64) -> String {
    json!({
        "id": id,
        "object": "event",
        "type": kind,
        "created": now,
        "livemode": false,
        "data": {"object": object},
    })
    .to_string()
}

impl SimulatedGateway {
    pub fn new(table: Arc<dyn Table>, config: &Config, deliveries: Arc<MemoryQueue>) -> Self {
        Self {
            table,
            api_url: config.api_base_url().to_string(),
            secret: config.stripe_webhook_secret.clone().unwrap_or_default(),
            deliveries,
        }
    }

    async fn send_later(&self, payload: String) -> Result<(), GatewayError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let delivery = Delivery {
            signature: signature::header(&self.secret, now, payload.as_bytes()),
            payload,
            attempts: 0,
        };
        let body = serde_json::to_string(&delivery)
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        self.deliveries
            .send_batch(&[body])
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }

    async fn session(&self, id: &str) -> Result<Option<Session>, GatewayError> {
        match self.table.get(&session_key(id)).await {
            Ok(Some(item)) => from_entity_item("simulated_checkout", item)
                .map(Some)
                .map_err(|e| GatewayError::Unavailable(e.to_string())),
            Ok(None) => Ok(None),
            Err(e) => Err(GatewayError::Unavailable(e.to_string())),
        }
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let id = format!("cs_sim_{}", ulid::Ulid::new());
        let session = Session {
            id: id.clone(),
            order_id: request.order_id.clone(),
            payment_id: request.payment_id.clone(),
            currency: request.currency.clone(),
            lines: request
                .lines
                .iter()
                .map(|l| (l.name.clone(), l.unit_amount, l.quantity))
                .collect(),
            total: request
                .lines
                .iter()
                .map(|l| l.unit_amount * i64::from(l.quantity))
                .sum(),
            success_url: request.success_url.clone(),
            cancel_url: request.cancel_url.clone(),
            expires_at: request.expires_at,
            status: "open".into(),
            payment_intent: format!("pi_sim_{}", ulid::Ulid::new()),
        };
        self.table
            .write(Write::put(entity_item(
                "simulated_checkout",
                &session_key(&id),
                &session,
            )))
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(CheckoutSession {
            url: format!("{}/checkout/simulated/{id}", self.api_url),
            id,
        })
    }

    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError> {
        let Some(session) = self.session(session_id).await? else {
            return Err(GatewayError::Refused("No such checkout session".into()));
        };
        let expired = self
            .table
            .write(
                Write::update(
                    session_key(session_id),
                    Update::new().set("status", "expired"),
                )
                .when(Condition::eq("status", "open")),
            )
            .await;
        match expired {
            Ok(_) => {}
            Err(marquee_core::store::StoreError::ConditionFailed)
                if session.status == "expired" =>
            {
                return Ok(());
            }
            Err(marquee_core::store::StoreError::ConditionFailed) => {
                return Err(GatewayError::Refused(
                    "Only a checkout session in status open can be expired".into(),
                ));
            }
            Err(e) => return Err(GatewayError::Unavailable(e.to_string())),
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.send_later(event(
            &format!("evt_sim_{session_id}_expired"),
            "checkout.session.expired",
            session_object(&session, "expired", "unpaid"),
            now,
        ))
        .await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError> {
        let refund_id = format!("re_sim_{}", request.idempotency_key);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.send_later(event(
            &format!("evt_sim_{refund_id}"),
            "charge.refunded",
            json!({
                "id": format!("ch_sim_{}", request.payment_intent),
                "object": "charge",
                "payment_intent": request.payment_intent,
                "amount": request.amount,
                "amount_refunded": request.amount,
                "currency": request.currency.to_ascii_lowercase(),
                "refunded": true,
                "metadata": {"order_id": request.order_id},
            }),
            now,
        ))
        .await?;
        Ok(refund_id)
    }
}

fn session_object(session: &Session, status: &str, payment_status: &str) -> Value {
    json!({
        "id": session.id,
        "object": "checkout.session",
        "client_reference_id": session.order_id,
        "metadata": {"order_id": session.order_id, "payment_id": session.payment_id},
        "status": status,
        "payment_status": payment_status,
        "payment_intent": session.payment_intent,
        "amount_total": session.total,
        "currency": session.currency.to_ascii_lowercase(),
    })
}

/// How long to wait before trying a delivery that failed `attempts` times, if at all.
fn retry_pause(attempts: u32) -> Option<std::time::Duration> {
    (1..DELIVERY_ATTEMPTS)
        .contains(&attempts)
        .then(|| std::time::Duration::from_secs(1 << (attempts - 1)))
}

/// Hands queued deliveries to the webhook handler. A failed one is queued again after a
/// growing pause, as Stripe retries (1, 2, 4, 8 s; well within the signature's tolerance);
/// returns the positions that failed.
pub async fn deliver_batch(app: &App, bodies: &[String]) -> Vec<usize> {
    let mut failed = Vec::new();
    for (position, body) in bodies.iter().enumerate() {
        let Ok(mut delivery) = serde_json::from_str::<Delivery>(body) else {
            tracing::warn!("dropping a malformed simulated delivery");
            continue;
        };
        let Err(problem) =
            webhook::process(app, Some(&delivery.signature), delivery.payload.as_bytes()).await
        else {
            continue;
        };
        failed.push(position);
        delivery.attempts += 1;
        tracing::error!(error = %problem, attempts = delivery.attempts, "simulated webhook delivery failed");
        if let (Some(pause), Some(queue), Ok(again)) = (
            retry_pause(delivery.attempts),
            deliveries(app),
            serde_json::to_string(&delivery),
        ) {
            tokio::spawn(async move {
                tokio::time::sleep(pause).await;
                if let Err(e) = queue.send_batch(&[again]).await {
                    tracing::error!(error = %e, "requeueing a simulated delivery failed");
                }
            });
        }
    }
    failed
}

/// The simulated provider's pages, served by the local server beside the API.
pub fn router() -> axum::Router<App> {
    axum::Router::new()
        .route("/checkout/simulated/{session}", get(page))
        .route("/checkout/simulated/{session}/{action}", post(act))
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Marquee checkout (simulated)</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}
table{width:100%;border-collapse:collapse}td{padding:.3rem 0;border-bottom:1px solid #eee}
td.n{text-align:right}form{display:inline}button{font-size:1rem;padding:.5rem 1.2rem;margin:1rem .5rem 0 0;cursor:pointer}
.note{background:#fff6d6;padding:.6rem .8rem;border-radius:4px}.pay{background:#1a7f37;color:#fff;border:0;border-radius:4px}</style></head>
<body><h1>Checkout</h1>
<p class="note">Simulated payment page: no Stripe key is configured. Each button sends the
signed event Stripe would send to the webhook.</p>
{% if declined %}<p class="note"><strong>Your card was declined.</strong> Try a different payment method.</p>{% endif %}
{% if status != "open" %}<p class="note">This checkout is {{ status }}.</p>{% endif %}
<p>Order <code>{{ order_id }}</code></p>
<table>{% for line in lines %}<tr><td>{{ line[0] }} &times; {{ line[2] }}</td><td class="n">{{ money(line[1] * line[2]) }}</td></tr>{% endfor %}
<tr><td><strong>Total</strong></td><td class="n"><strong>{{ money(total) }}</strong></td></tr></table>
{% if status == "open" %}
<form method="post" action="{{ base }}/pay"><button class="pay" type="submit">Pay {{ money(total) }}</button></form>
<form method="post" action="{{ base }}/decline"><button type="submit">Decline</button></form>
<form method="post" action="{{ base }}/cancel"><button type="submit">Cancel</button></form>
{% endif %}
</body></html>"#;

#[derive(Debug, Deserialize)]
struct PageQuery {
    declined: Option<String>,
}

async fn load_session(app: &App, id: &str) -> Result<Session, Problem> {
    match app.table.get(&session_key(id)).await? {
        Some(item) => Ok(from_entity_item("simulated_checkout", item)?),
        None => Err(Problem::not_found("No such checkout session")),
    }
}

async fn page(
    State(app): State<App>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Result<Response, Problem> {
    let session = load_session(&app, &id).await?;
    let currency = session.currency.clone();
    let mut env = minijinja::Environment::new();
    env.add_function("money", move |minor: i64| {
        Price {
            amount: minor,
            currency: currency.clone(),
        }
        .to_string()
    });
    env.add_template("checkout.html", PAGE)
        .map_err(|_| Problem::internal())?;
    let status =
        if session.status == "open" && session.expires_at <= app.clock.now().unix_timestamp() {
            "expired".to_string()
        } else {
            session.status.clone()
        };
    let html = env
        .get_template("checkout.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                order_id => session.order_id,
                lines => session.lines,
                total => session.total,
                status => status,
                declined => query.declined.is_some(),
                base => format!("/checkout/simulated/{id}"),
            })
        })
        .map_err(|e| {
            tracing::error!(error = %e, "rendering the simulated checkout failed");
            Problem::internal()
        })?;
    // Pay and Cancel redirect to the shop's return pages (the web client, by default).
    let shop = [
        &app.config.checkout_success_url,
        &app.config.checkout_cancel_url,
    ]
    .map(|url| app.config.checkout_url(url, ""));
    let targets: Vec<&str> = shop
        .iter()
        .filter_map(|url| pages::origin_of(url))
        .collect();
    Ok(pages::html(StatusCode::OK, html, &targets))
}

async fn act(
    State(app): State<App>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let session = load_session(&app, &id).await?;
    let now = app.clock.now().unix_timestamp();
    if session.status != "open" || session.expires_at <= now {
        return Ok(Redirect::to(&format!("/checkout/simulated/{id}")).into_response());
    }
    let secret = app
        .config
        .stripe_webhook_secret
        .clone()
        .ok_or_else(Problem::internal)?;
    let send = |payload: String| {
        let header = signature::header(&secret, now, payload.as_bytes());
        let app = app.clone();
        async move { webhook::process(&app, Some(&header), payload.as_bytes()).await }
    };
    match action.as_str() {
        "pay" => {
            send(event(
                &format!("evt_sim_{id}_completed"),
                "checkout.session.completed",
                session_object(&session, "complete", "paid"),
                now,
            ))
            .await?;
            app.table
                .write(Write::update(
                    session_key(&id),
                    Update::new().set("status", "complete"),
                ))
                .await?;
            Ok(Redirect::to(&session.success_url).into_response())
        }
        "decline" => {
            send(event(
                &format!("evt_sim_{}", ulid::Ulid::new()),
                "payment_intent.payment_failed",
                json!({
                    "id": session.payment_intent,
                    "object": "payment_intent",
                    "metadata": {"order_id": session.order_id, "payment_id": session.payment_id},
                    "last_payment_error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": "generic_decline",
                        "message": "Your card was declined.",
                    },
                }),
                now,
            ))
            .await?;
            Ok(Redirect::to(&format!("/checkout/simulated/{id}?declined=1")).into_response())
        }
        "cancel" => Ok(Redirect::to(&session.cancel_url).into_response()),
        _ => Err(Problem::not_found("No such action")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_delivery_is_queued_again_after_a_pause() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().display().to_string();
        let config =
            Config::from_lookup(|name| (name == "MARQUEE_DATA_DIR").then(|| data_dir.clone()))
                .unwrap();
        let app = App::start(config).await.unwrap();
        let queue = deliveries(&app).expect("simulated without a Stripe key");
        let forged = Delivery {
            signature: "t=1,v1=00".into(),
            payload: "{}".into(),
            attempts: 0,
        };
        let body = serde_json::to_string(&forged).unwrap();
        assert_eq!(deliver_batch(&app, &[body]).await, vec![0]);
        assert!(queue.take(10).is_empty(), "not before the pause");
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        let again = queue.take(10);
        assert_eq!(again.len(), 1);
        let retried: Delivery = serde_json::from_str(&again[0]).unwrap();
        assert_eq!(retried.attempts, 1);
    }

    #[test]
    fn retries_pause_longer_each_time_then_stop() {
        let secs = |n| retry_pause(n).map(|d| d.as_secs());
        assert_eq!(
            (1..=DELIVERY_ATTEMPTS).map(secs).collect::<Vec<_>>(),
            vec![Some(1), Some(2), Some(4), Some(8), None]
        );
        assert_eq!(secs(0), None);
    }
}
