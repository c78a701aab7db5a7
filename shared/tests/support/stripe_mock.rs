//! An HTTP stand-in for Stripe's API: it records every request (path, idempotency key,
//! credentials, form) and answers as Stripe does, including returning the first answer
//! again for a repeated idempotency key.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct MockState {
    requests: Vec<Recorded>,
    answers: HashMap<String, Value>,
    sessions: HashMap<String, Value>,
    /// Every refund made (a repeated idempotency key makes none).
    refunds: Vec<Value>,
}

#[derive(Clone)]
pub struct StripeMock {
    pub url: String,
    state: Arc<Mutex<MockState>>,
}

impl StripeMock {
    pub async fn start() -> StripeMock {
        let state = Arc::new(Mutex::new(MockState::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        StripeMock { url, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn session(id: &str, form: &[(String, String)], now: i64) -> Value {
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    json!({
        "id": id,
        "object": "checkout.session",
        "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
        "client_reference_id": get("client_reference_id"),
        "created": now,
        "custom_fields": [],
        "custom_text": {"after_submit": null, "shipping_address": null, "submit": null,
                        "terms_of_service_acceptance": null},
        "expires_at": get("expires_at").and_then(|e| e.parse::<i64>().ok()).unwrap_or(now + 1800),
        "livemode": false,
        "metadata": {"order_id": get("metadata[order_id]")},
        "mode": "payment",
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "shipping_options": [],
        "status": "open",
        "url": format!("https://checkout.stripe.test/c/pay/{id}"),
    })
}

fn error(status: StatusCode, message: &str) -> (StatusCode, String) {
    (
        status,
        json!({"error": {"type": "invalid_request_error", "message": message}}).to_string(),
    )
}

async fn answer(
    State(state): State<Arc<Mutex<MockState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let recorded = Recorded {
        method: method.clone(),
        path: uri.path().to_string(),
        idempotency_key: header("idempotency-key"),
        authorization: header("authorization"),
        form: form.clone(),
    };
    let mut state = state.lock().unwrap();
    state.requests.push(recorded.clone());
    if recorded.authorization.as_deref() != Some("Bearer sk_test_marquee") {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    if let Some(key) = &recorded.idempotency_key
        && let Some(first) = state.answers.get(key)
    {
        return (StatusCode::OK, first.to_string());
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let n = state.requests.len();
    let path = recorded.path.as_str();
    let reply = match (method, path) {
        (Method::POST, "/v1/checkout/sessions") => {
            let id = format!("cs_test_{n}");
            let created = session(&id, &form, now);
            state.sessions.insert(id, created.clone());
            created
        }
        (Method::POST, p) if p.starts_with("/v1/checkout/sessions/") && p.ends_with("/expire") => {
            let id = p
                .trim_start_matches("/v1/checkout/sessions/")
                .trim_end_matches("/expire");
            let Some(found) = state.sessions.get_mut(id) else {
                return error(StatusCode::NOT_FOUND, "No such checkout.session");
            };
            if found["status"] != "open" {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                );
            }
            found["status"] = json!("expired");
            found.clone()
        }
        (Method::POST, "/v1/refunds") => {
            let get = |k: &str| {
                form.iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let refund = json!({
                "id": format!("re_test_{n}"),
                "object": "refund",
                "amount": get("amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(0),
                "created": now,
                "currency": "eur",
                "payment_intent": get("payment_intent"),
                "status": "succeeded",
                "metadata": {"order_id": get("metadata[order_id]")},
            });
            state.refunds.push(refund.clone());
            refund
        }
        _ => return error(StatusCode::NOT_FOUND, "Unrecognized request URL"),
    };
    if let Some(key) = recorded.idempotency_key {
        state.answers.insert(key, reply.clone());
    }
    (StatusCode::OK, reply.to_string())
}

impl StripeMock {
    /// The refunds made so far.
    pub fn refunds(&self) -> Vec<Value> {
        self.state.lock().unwrap().refunds.clone()
    }

    /// Marks a mock session complete, as paying on Stripe's page would.
    pub fn complete(&self, session_id: &str) {
        if let Some(s) = self.state.lock().unwrap().sessions.get_mut(session_id) {
            s["status"] = json!("complete");
        }
    }
}
