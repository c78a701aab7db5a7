//! The application state: every port, built once per cold start and shared by handlers.

use crate::auth::data_key::DataKey;
use crate::auth::keys::{KeyError, SigningKeys};
use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Config, ConfigError};
use crate::mail::{Mailer, OutboxMailer, SesMailer};
use crate::payments::gateway::{NotConfigured, PaymentGateway};
use crate::payments::simulated::SimulatedGateway;
use crate::payments::stripe::StripeGateway;
use crate::queue::{MemoryQueue, Queue, SqsQueue};
use crate::store::dynamo::DynamoTable;
use crate::store::sqlite::SqliteTable;
use crate::store::{StoreError, Table};
use std::sync::Arc;

#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub table: Arc<dyn Table>,
    pub mailer: Arc<dyn Mailer>,
    /// Due items for the expiry worker.
    pub expiry_queue: Arc<dyn Queue>,
    /// Emails to look up and send, for the mail worker.
    pub mail_queue: Arc<dyn Queue>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<SigningKeys>,
    /// Seals TOTP seeds; absent in functions that neither set nor verify codes.
    pub mfa_key: Option<Arc<DataKey>>,
    /// Sign-in providers (Google, Facebook) and their cached discovery and keys.
    pub oauth: Arc<crate::auth::oauth::providers::Providers>,
    /// Checkout sessions and refunds.
    pub payments: Arc<dyn PaymentGateway>,
    /// With the simulated gateway: the signed events it sends, for the webhook handler
    /// (the local server drains them).
    pub simulated_events: Option<Arc<MemoryQueue>>,
    /// Set on the embedded backend: the local server drains them.
    pub local_queues: Option<LocalQueues>,
}

/// The in-process queues of the embedded backend.
#[derive(Clone)]
pub struct LocalQueues {
    pub expiry: Arc<MemoryQueue>,
    pub mail: Arc<MemoryQueue>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("opening the table: {0}")]
    Table(#[from] StoreError),
    #[error("the payment provider: {0}")]
    Payments(#[from] crate::payments::gateway::GatewayError),
}

impl App {
    pub async fn start(mut config: Config) -> Result<Self, StartError> {
        let keys = Arc::new(signing_keys(&config)?);
        let mfa_key = match (&config.mfa_key, &config.backend) {
            (Some(text), _) => Some(Arc::new(DataKey::from_base64(text)?)),
            (None, Backend::Embedded) => Some(Arc::new(DataKey::load_or_create(&config.data_dir)?)),
            (None, Backend::Aws) => None,
        };
        let simulated = config.stripe_secret_key.is_none() && config.simulated_checkout;
        if simulated && config.stripe_webhook_secret.is_none() {
            // The simulated provider signs with it; nothing outside this process knows it.
            config.stripe_webhook_secret =
                Some(format!("whsec_local_{}", crate::auth::secret::new_token()));
        }
        let simulated_events = simulated.then(|| Arc::new(MemoryQueue::new()));
        let stripe: Option<Arc<dyn PaymentGateway>> = match &config.stripe_secret_key {
            Some(secret) => Some(Arc::new(StripeGateway::new(
                secret,
                config.stripe_api_base.as_deref(),
            )?)),
            None => None,
        };
        let gateway = |table: &Arc<dyn Table>, config: &Config| -> Arc<dyn PaymentGateway> {
            match (stripe.clone(), &simulated_events) {
                (Some(stripe), _) => stripe,
                (None, Some(events)) => {
                    Arc::new(SimulatedGateway::new(table.clone(), config, events.clone()))
                }
                (None, None) => Arc::new(NotConfigured),
            }
        };
        let app = match config.backend {
            Backend::Embedded => {
                let table = SqliteTable::open(&config.sqlite_path())?;
                let queues = LocalQueues {
                    expiry: Arc::new(MemoryQueue::new()),
                    mail: Arc::new(MemoryQueue::new()),
                };
                let table: Arc<dyn Table> = Arc::new(table);
                Self {
                    payments: gateway(&table, &config),
                    simulated_events,
                    table,
                    mailer: Arc::new(OutboxMailer::new(config.outbox_dir(), &config.mail_from)),
                    expiry_queue: queues.expiry.clone(),
                    mail_queue: queues.mail.clone(),
                    clock: Arc::new(SystemClock),
                    keys,
                    mfa_key,
                    oauth: Arc::new(crate::auth::oauth::providers::Providers::from_config(
                        &config,
                    )),
                    local_queues: Some(queues),
                    config: Arc::new(config),
                }
            }
            Backend::Aws => {
                // Credentials, region and any endpoint override (AWS_ENDPOINT_URL) come
                // from the standard AWS environment.
                let aws = aws_sdk_config(&config).await;
                let sqs = aws_sdk_sqs::Client::new(&aws);
                let queue = |url: &Option<String>| -> Arc<dyn Queue> {
                    Arc::new(SqsQueue::new(sqs.clone(), url.clone().unwrap_or_default()))
                };
                let table: Arc<dyn Table> = Arc::new(DynamoTable::new(
                    aws_sdk_dynamodb::Client::new(&aws),
                    &config.table_name,
                ));
                Self {
                    payments: gateway(&table, &config),
                    simulated_events,
                    table,
                    mailer: Arc::new(SesMailer::new(
                        aws_sdk_sesv2::Client::new(&aws),
                        &config.mail_from,
                    )),
                    expiry_queue: queue(&config.expiry_queue_url),
                    mail_queue: queue(&config.mail_queue_url),
                    clock: Arc::new(SystemClock),
                    keys,
                    mfa_key,
                    oauth: Arc::new(crate::auth::oauth::providers::Providers::from_config(
                        &config,
                    )),
                    local_queues: None,
                    config: Arc::new(config),
                }
            }
        };
        Ok(app)
    }
}

/// The AWS SDK's configuration: the standard environment (credentials, region, any
/// endpoint override), every call bounded by `aws_timeout` (its attempts by 40% of it, a
/// connection by at most 1 s), and the standard retry mode: up to 3 attempts with jittered
/// exponential backoff, for throttling, timeouts and transient errors.
pub async fn aws_sdk_config(config: &Config) -> aws_config::SdkConfig {
    let operation = config.aws_timeout;
    let attempt = operation * 2 / 5;
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(attempt.min(std::time::Duration::from_secs(1)))
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

/// Configured keys win; the embedded backend makes a local pair when none is configured.
fn signing_keys(config: &Config) -> Result<SigningKeys, StartError> {
    if let Some(pem) = &config.jwt_private_key {
        return Ok(SigningKeys::from_private_pem(pem)?);
    }
    if let Some(pem) = &config.jwt_public_key {
        return Ok(SigningKeys::from_public_pem(pem)?);
    }
    match config.backend {
        Backend::Embedded => Ok(SigningKeys::load_or_create(&config.data_dir)?),
        Backend::Aws => Err(ConfigError(
            "MARQUEE_JWT_PUBLIC_KEY (or, for token issuers, MARQUEE_JWT_PRIVATE_KEY) is required with MARQUEE_BACKEND=aws"
                .into(),
        )
        .into()),
    }
}
