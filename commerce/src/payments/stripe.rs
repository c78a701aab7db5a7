//! The Stripe adapter (async-stripe): Checkout Sessions and refunds. Every request carries
//! an idempotency key, so a retried call never creates a second session or refund.

use super::gateway::{
    CheckoutRequest, CheckoutSession, GatewayError, PaymentGateway, RefundRequest,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::str::FromStr;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::CheckoutSessionMode;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ExpireCheckoutSession, ProductData,
};
use stripe_core::refund::CreateRefund;
use stripe_types::Currency;

pub struct StripeGateway {
    client: Client,
}

/// One call to Stripe may take this long: with the table calls around it, a checkout or a
/// refund stays inside a request's 8 s bound (and an idempotency key makes a retry safe).
pub const ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

impl StripeGateway {
    /// `api_base` points the client elsewhere than api.stripe.com (a mock, in tests).
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<Self, GatewayError> {
        let mut builder = ClientBuilder::new(secret_key).timeout(ATTEMPT_TIMEOUT);
        if let Some(base) = api_base {
            builder = builder.url(base);
        }
        let client = builder
            .build()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(Self { client })
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, GatewayError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| GatewayError::Refused(format!("idempotency key: {e}")))
}

fn order_metadata(order_id: &str) -> HashMap<String, String> {
    HashMap::from([("order_id".to_string(), order_id.to_string())])
}

fn payment_metadata(request: &CheckoutRequest) -> HashMap<String, String> {
    let mut metadata = order_metadata(&request.order_id);
    metadata.insert("payment_id".into(), request.payment_id.clone());
    metadata
}

fn gateway_error(e: StripeError) -> GatewayError {
    match e {
        StripeError::Stripe(err, status) if (400..500).contains(&status) && status != 429 => {
            GatewayError::Refused(
                err.message
                    .clone()
                    .unwrap_or_else(|| format!("status {status}")),
            )
        }
        other => GatewayError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError> {
        let currency = Currency::from_str(&request.currency.to_ascii_lowercase())
            .unwrap_or_else(|never| match never {});
        let lines: Vec<CreateCheckoutSessionLineItems> = request
            .lines
            .iter()
            .map(|line| {
                let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency.clone());
                price.unit_amount = Some(line.unit_amount);
                price.product_data = Some(ProductData::new(line.name.clone()));
                let mut item = CreateCheckoutSessionLineItems::new();
                item.price_data = Some(price);
                item.quantity = Some(u64::from(line.quantity));
                item
            })
            .collect();
        let mut intent = CreateCheckoutSessionPaymentIntentData::new();
        intent.metadata = Some(payment_metadata(request));
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(lines)
            .client_reference_id(request.order_id.clone())
            .metadata(payment_metadata(request))
            .payment_intent_data(intent)
            .customer_email(request.user_email.clone())
            .success_url(request.success_url.clone())
            .cancel_url(request.cancel_url.clone())
            .expires_at(request.expires_at)
            .customize()
            .request_strategy(idempotent(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(gateway_error)?;
        let url = session
            .url
            .ok_or_else(|| GatewayError::Unavailable("the session came without a URL".into()))?;
        Ok(CheckoutSession {
            id: session.id.to_string(),
            url,
        })
    }

    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError> {
        ExpireCheckoutSession::new(session_id)
            .customize()
            .request_strategy(idempotent(&format!("expire-{session_id}"))?)
            .send(&self.client)
            .await
            .map_err(gateway_error)?;
        Ok(())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError> {
        let refund = CreateRefund::new()
            .payment_intent(request.payment_intent.clone())
            .amount(request.amount)
            .metadata(order_metadata(&request.order_id))
            .customize()
            .request_strategy(idempotent(&request.idempotency_key)?)
            .send(&self.client)
            .await
            .map_err(gateway_error)?;
        Ok(refund.id.to_string())
    }
}
