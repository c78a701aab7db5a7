//! The Stripe adapter: Checkout Sessions and refunds, three form POSTs to Stripe's API on
//! the core's bounded outbound client. Every request carries an idempotency key, so a
//! retried call never creates a second session or refund.
//!
//! We name only the form fields we send and read only the answer fields we use. A client
//! generated from Stripe's whole API (async-stripe) parses every error answer into the
//! objects it may embed (payment intents, methods, setup intents, sources): that parser
//! alone made each paying function's binary twice the size of the others (24 MiB, not 12).

use super::gateway::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, RefundRequest,
};
use async_trait::async_trait;
use axum::http::{Request, header};
use marquee_core::outbound::HttpClient;
use serde::Deserialize;

/// Where Stripe's API is.
pub const API_BASE: &str = "https://api.stripe.com";
/// The API version our requests and the webhook's events are read in.
pub const API_VERSION: &str = "2026-09-30.endive";
/// One call to Stripe may take this long: with the table calls around it, a checkout or a
/// refund stays inside a request's 8 s bound (and an idempotency key makes a retry safe).
pub const ATTEMPT_TIMEOUT: std::time::Duration = marquee_core::outbound::CALL_TIMEOUT;

pub struct StripeGateway {
    http: HttpClient,
    secret_key: String,
    api_base: String,
}

impl StripeGateway {
    /// `api_base` points the client elsewhere than api.stripe.com (a mock, in tests).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, GatewayError> {
        if secret_key.is_empty() {
            return Err(GatewayError::NotConfigured(
                "the Stripe secret key is empty",
            ));
        }
        Ok(Self {
            http: HttpClient::new(),
            secret_key: secret_key.to_string(),
            api_base: api_base
                .unwrap_or(API_BASE)
                .trim_end_matches('/')
                .to_string(),
        })
    }

    /// POSTs `form` to `/v1{path}` once, with `idempotency_key`; reads the answer as `T`.
    async fn post<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        form: &[(String, String)],
        idempotency_key: &str,
    ) -> Result<T, GatewayError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = Request::post(format!("{}/v1{path}", self.api_base))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.secret_key))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("idempotency-key", idempotency_key)
            .header("stripe-version", API_VERSION)
            .body(body.into_bytes())
            .map_err(|e| GatewayError::Refused(format!("the request: {e}")))?;
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| GatewayError::Unavailable(format!("Stripe: {e}")))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return serde_json::from_slice(response.body())
                .map_err(|e| GatewayError::Unavailable(format!("Stripe's answer: {e}")));
        }
        let message = serde_json::from_slice::<ErrorAnswer>(response.body())
            .ok()
            .and_then(|answer| answer.error.message)
            .unwrap_or_else(|| format!("status {status}"));
        // A refusal is Stripe's word on this request; throttling and its own failures pass.
        if (400..500).contains(&status) && status != 429 {
            Err(GatewayError::Refused(message))
        } else {
            Err(GatewayError::Unavailable(format!(
                "Stripe {status}: {message}"
            )))
        }
    }
}

/// What we read of a Checkout Session.
#[derive(Deserialize)]
struct SessionAnswer {
    id: String,
    url: Option<String>,
}

/// What we read of an expired session or a refund: that it is there.
#[derive(Deserialize)]
struct Created {
    id: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
}

/// The metadata Stripe keeps on what we create: our order (and payment), so the webhook
/// finds them again.
fn metadata(prefix: &str, order_id: &str, payment_id: Option<&str>) -> Vec<(String, String)> {
    let mut fields = vec![(format!("{prefix}[order_id]"), order_id.to_string())];
    if let Some(payment_id) = payment_id {
        fields.push((format!("{prefix}[payment_id]"), payment_id.to_string()));
    }
    fields
}

/// `POST /v1/checkout/sessions`: the fields we set, in Stripe's bracketed form names.
fn checkout_form(request: &CheckoutRequest) -> Vec<(String, String)> {
    let currency = request.currency.to_ascii_lowercase();
    let mut form = vec![
        ("mode".to_string(), "payment".to_string()),
        ("client_reference_id".into(), request.order_id.clone()),
        ("customer_email".into(), request.user_email.clone()),
        ("success_url".into(), request.success_url.clone()),
        ("cancel_url".into(), request.cancel_url.clone()),
        ("expires_at".into(), request.expires_at.to_string()),
    ];
    for (n, line) in request.lines.iter().enumerate() {
        let item = format!("line_items[{n}]");
        form.push((format!("{item}[price_data][currency]"), currency.clone()));
        form.push((
            format!("{item}[price_data][unit_amount]"),
            line.unit_amount.to_string(),
        ));
        form.push((
            format!("{item}[price_data][product_data][name]"),
            line.name.clone(),
        ));
        form.push((format!("{item}[quantity]"), line.quantity.to_string()));
    }
    let payment = Some(request.payment_id.as_str());
    form.extend(metadata("metadata", &request.order_id, payment));
    form.extend(metadata(
        "payment_intent_data[metadata]",
        &request.order_id,
        payment,
    ));
    form
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let session: SessionAnswer = self
            .post(
                "/checkout/sessions",
                &checkout_form(request),
                &request.idempotency_key,
            )
            .await?;
        let url = session
            .url
            .ok_or_else(|| GatewayError::Unavailable("the session came without a URL".into()))?;
        Ok(CheckoutSession {
            id: session.id,
            url,
        })
    }

    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError> {
        let _: Created = self
            .post(
                &format!("/checkout/sessions/{session_id}/expire"),
                &[],
                &format!("expire-{session_id}"),
            )
            .await?;
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError> {
        let mut form = vec![
            ("payment_intent".to_string(), request.payment_intent.clone()),
            ("amount".into(), request.amount.to_string()),
        ];
        form.extend(metadata("metadata", &request.order_id, None));
        let refund: Created = self
            .post("/refunds", &form, &request.idempotency_key)
            .await?;
        Ok(refund.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::gateway::CheckoutLine;

    #[test]
    fn the_checkout_form_names_fields_as_stripe_reads_them() {
        let request = CheckoutRequest {
            order_id: "ord_1".into(),
            payment_id: "pay_1".into(),
            user_email: "viewer@example.com".into(),
            currency: "EUR".into(),
            lines: vec![
                CheckoutLine {
                    name: "Ticket".into(),
                    unit_amount: 950,
                    quantity: 2,
                },
                CheckoutLine {
                    name: "Movie".into(),
                    unit_amount: 399,
                    quantity: 1,
                },
            ],
            success_url: "https://cinema.example/ok".into(),
            cancel_url: "https://cinema.example/no".into(),
            expires_at: 1_800_000_000,
            idempotency_key: "checkout-ord_1".into(),
        };
        let form = checkout_form(&request);
        let get = |k: &str| {
            form.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(get("line_items[1][price_data][unit_amount]"), Some("399"));
        assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
        assert_eq!(
            get("line_items[0][price_data][product_data][name]"),
            Some("Ticket")
        );
        assert_eq!(get("line_items[0][quantity]"), Some("2"));
        assert_eq!(
            get("payment_intent_data[metadata][payment_id]"),
            Some("pay_1")
        );
        assert_eq!(get("metadata[order_id]"), Some("ord_1"));
        assert_eq!(get("expires_at"), Some("1800000000"));
    }
}
