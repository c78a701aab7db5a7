//! The payment provider as the product sees it: hosted checkout sessions and refunds.
//! Stripe in production ([`super::stripe::StripeGateway`]); a local page when no Stripe key
//! is configured ([`super::simulated::SimulatedGateway`]).

use super::simulated::{self, SimulatedGateway};
use super::stripe::StripeGateway;
use async_trait::async_trait;
use marquee_core::app::App;
use std::sync::Arc;

/// One line of a checkout, priced in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLine {
    pub name: String,
    pub unit_amount: i64,
    pub quantity: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub order_id: String,
    /// Our payment record, carried in the provider's metadata so its events name it.
    pub payment_id: String,
    pub user_email: String,
    /// ISO 4217, upper case.
    pub currency: String,
    pub lines: Vec<CheckoutLine>,
    pub success_url: String,
    pub cancel_url: String,
    /// Epoch seconds.
    pub expires_at: i64,
    /// The same key returns the same session.
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub order_id: String,
    pub payment_intent: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub idempotency_key: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GatewayError {
    /// The provider refused the request (4xx): retrying the same request will not help.
    #[error("the payment provider refused: {0}")]
    Refused(String),
    /// The provider could not be reached or failed (5xx, timeouts).
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    #[error("payments are not configured: {0}")]
    NotConfigured(&'static str),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync {
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, GatewayError>;

    /// Ends an open session so that it can no longer be paid.
    async fn expire_checkout(&self, session_id: &str) -> Result<(), GatewayError>;

    /// Refunds a payment in full; returns the refund's id.
    async fn refund(&self, request: &RefundRequest) -> Result<String, GatewayError>;
}

/// The gateway this app pays through, made on first use (so only the functions that pay or
/// refund hold a Stripe client): Stripe when a secret key is configured, else the simulated
/// provider where it is on (locally), else one that says payments are not configured.
pub fn of(app: &App) -> Arc<dyn PaymentGateway> {
    app.feature(|app| Wired(made(app))).0.clone()
}

/// Puts `gateway` in place of the configured one (a stand-in, in tests).
pub fn wire(app: &App, gateway: Arc<dyn PaymentGateway>) {
    app.set_feature(Wired(gateway));
}

struct Wired(Arc<dyn PaymentGateway>);

fn made(app: &App) -> Arc<dyn PaymentGateway> {
    let config = &app.config;
    if let Some(secret) = &config.stripe_secret_key {
        return match StripeGateway::new(secret, config.stripe_api_base.as_deref()) {
            Ok(stripe) => Arc::new(stripe),
            Err(e) => {
                tracing::error!(error = %e, "the Stripe client cannot be made");
                Arc::new(NotConfigured)
            }
        };
    }
    match simulated::deliveries(app) {
        Some(deliveries) => Arc::new(SimulatedGateway::new(app.table.clone(), config, deliveries)),
        None => Arc::new(NotConfigured),
    }
}

/// For deployed functions that were given no Stripe key: every call says so.
pub struct NotConfigured;

#[async_trait]
impl PaymentGateway for NotConfigured {
    async fn create_checkout(&self, _: &CheckoutRequest) -> Result<CheckoutSession, GatewayError> {
        Err(GatewayError::NotConfigured(
            "MARQUEE_STRIPE_SECRET_KEY is not set",
        ))
    }

    async fn expire_checkout(&self, _: &str) -> Result<(), GatewayError> {
        Err(GatewayError::NotConfigured(
            "MARQUEE_STRIPE_SECRET_KEY is not set",
        ))
    }

    async fn refund(&self, _: &RefundRequest) -> Result<String, GatewayError> {
        Err(GatewayError::NotConfigured(
            "MARQUEE_STRIPE_SECRET_KEY is not set",
        ))
    }
}

impl From<GatewayError> for marquee_core::http::problem::Problem {
    fn from(e: GatewayError) -> Self {
        use marquee_core::http::problem::Problem;
        tracing::error!(error = %e, "payment provider call failed");
        match e {
            GatewayError::Refused(why) => Problem::new(
                axum::http::StatusCode::BAD_GATEWAY,
                "payment_provider_refused",
                "The payment provider refused the request",
            )
            .detail(why),
            GatewayError::Unavailable(_) | GatewayError::NotConfigured(_) => {
                Problem::unavailable().because_of(marquee_core::http::problem::Dependency::Stripe)
            }
        }
    }
}
