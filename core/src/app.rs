//! The application state: the ports every function shares, made once per cold start, and
//! the state features make for themselves on first use.
//!
//! A Lambda binary links what its `main` can reach. So [`App::open`] makes only what every
//! route needs (the table, the signing keys, the clock); a function that sends mail or
//! queues work adds that adapter ([`App::with_ses_mailer`], [`App::with_sqs_queues`]), and
//! a feature's own clients (Stripe, the sign-in providers) are made by the feature, in its
//! slot of [`App::feature`]. [`App::start`] wires everything, for the local server, the
//! tools and the tests.

use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Config, ConfigError};
use crate::data_key::DataKey;
use crate::keys::{KeyError, SigningKeys};
use crate::mail::{MailError, Mailer};
use crate::queue::{MemoryQueue, Queue, QueueError};
use crate::store::dynamo::DynamoTable;
use crate::store::{StoreError, Table};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The AWS SDK's configuration, as the functions make it ([`lambda_sdk_config`]).
pub use aws_config::SdkConfig;

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
    /// Set on the embedded backend: the local server drains them.
    pub local_queues: Option<LocalQueues>,
    /// The AWS SDK's configuration, for the adapters a function adds (AWS backend).
    pub aws: Option<aws_config::SdkConfig>,
    features: Arc<Features>,
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
}

/// Each feature's state, by its type: made on first use, shared by every clone of the app.
#[derive(Default)]
struct Features(Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl App {
    /// Every adapter wired: the local server, the tools and the tests.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        Ok(Self::open(config)
            .await?
            .with_ses_mailer()
            .with_sqs_queues())
    }

    /// What every function needs: the table, the keys and the clock. On the AWS backend
    /// the mailer and the queues refuse until a function that uses them adds them.
    pub async fn open(config: Config) -> Result<Self, StartError> {
        let aws = match config.backend {
            Backend::Aws => Some(aws_sdk_config(&config).await?),
            Backend::Embedded => None,
        };
        Self::open_with(config, aws)
    }

    /// [`App::open`] inside Lambda: the AWS SDK configured from Lambda's variables only
    /// ([`lambda_sdk_config`]).
    pub fn open_in_lambda(config: Config) -> Result<Self, StartError> {
        Self::open_with(config, None)
    }

    /// [`App::open_in_lambda`] with the SDK configuration the function already made from
    /// the same settings (to read its secrets), so its HTTPS client is built once.
    pub fn open_in_lambda_with(
        config: Config,
        aws: aws_config::SdkConfig,
    ) -> Result<Self, StartError> {
        Self::open_with(config, Some(aws))
    }

    /// `aws`: the SDK's configuration on the AWS backend; `None` reads Lambda's variables.
    fn open_with(
        mut config: Config,
        aws: Option<aws_config::SdkConfig>,
    ) -> Result<Self, StartError> {
        #[cfg(not(feature = "embedded"))]
        if config.backend == Backend::Embedded {
            return Err(no_embedded_store().into());
        }
        let keys = Arc::new(signing_keys(&config)?);
        let mfa_key = match (&config.mfa_key, &config.backend) {
            (Some(text), _) => Some(Arc::new(DataKey::from_base64(text)?)),
            #[cfg(feature = "embedded")]
            (None, Backend::Embedded) => Some(Arc::new(DataKey::load_or_create(&config.data_dir)?)),
            (None, _) => None,
        };
        if config.stripe_secret_key.is_none()
            && config.simulated_checkout
            && config.stripe_webhook_secret.is_none()
        {
            // The simulated provider signs with it; nothing outside this process knows it.
            config.stripe_webhook_secret =
                Some(format!("whsec_local_{}", crate::secret::new_token()));
        }
        let unwired_mail: Arc<dyn Mailer> = Arc::new(Unwired);
        let unwired_queue: Arc<dyn Queue> = Arc::new(Unwired);
        let app = match config.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded => {
                let table = crate::store::sqlite::SqliteTable::open(&config.sqlite_path())?;
                let queues = LocalQueues {
                    expiry: Arc::new(MemoryQueue::new()),
                    mail: Arc::new(MemoryQueue::new()),
                };
                Self {
                    table: Arc::new(table),
                    mailer: Arc::new(crate::mail::OutboxMailer::new(
                        config.outbox_dir(),
                        &config.mail_from,
                    )),
                    expiry_queue: queues.expiry.clone(),
                    mail_queue: queues.mail.clone(),
                    clock: Arc::new(SystemClock),
                    keys,
                    mfa_key,
                    local_queues: Some(queues),
                    aws: None,
                    config: Arc::new(config),
                    features: Arc::default(),
                }
            }
            #[cfg(not(feature = "embedded"))]
            Backend::Embedded => return Err(no_embedded_store().into()),
            Backend::Aws => {
                let aws = match aws {
                    Some(aws) => aws,
                    None => lambda_sdk_config(&config)?,
                };
                Self {
                    table: Arc::new(DynamoTable::new(
                        aws_sdk_dynamodb::Client::new(&aws),
                        &config.table_name,
                    )),
                    mailer: unwired_mail,
                    expiry_queue: unwired_queue.clone(),
                    mail_queue: unwired_queue,
                    clock: Arc::new(SystemClock),
                    keys,
                    mfa_key,
                    local_queues: None,
                    aws: Some(aws),
                    config: Arc::new(config),
                    features: Arc::default(),
                }
            }
        };
        Ok(app)
    }

    /// Sends mail through SES (AWS backend; the embedded backend keeps its outbox).
    pub fn with_ses_mailer(mut self) -> Self {
        if let Some(aws) = &self.aws {
            self.mailer = Arc::new(crate::mail::SesMailer::new(
                aws_sdk_sesv2::Client::new(aws),
                &self.config.mail_from,
            ));
        }
        self
    }

    /// Queues work on SQS (AWS backend; the embedded backend keeps its in-process queues).
    pub fn with_sqs_queues(mut self) -> Self {
        if let Some(aws) = &self.aws {
            let sqs = aws_sdk_sqs::Client::new(aws);
            let queue = |url: &Option<String>| -> Arc<dyn Queue> {
                Arc::new(crate::queue::SqsQueue::new(
                    sqs.clone(),
                    url.clone().unwrap_or_default(),
                ))
            };
            self.expiry_queue = queue(&self.config.expiry_queue_url);
            self.mail_queue = queue(&self.config.mail_queue_url);
        }
        self
    }

    /// A feature's state of type `T`, made by `make` the first time it is asked for and
    /// shared from then on by every clone of this app.
    pub fn feature<T: Any + Send + Sync>(&self, make: impl FnOnce(&App) -> T) -> Arc<T> {
        if let Some(found) = self.features.find::<T>() {
            return found;
        }
        // Made outside the lock: making one feature's state may ask for another's.
        let made: Arc<dyn Any + Send + Sync> = Arc::new(make(self));
        let mut slots = self.features.0.lock().unwrap_or_else(|e| e.into_inner());
        let kept = slots.entry(TypeId::of::<T>()).or_insert(made).clone();
        drop(slots);
        kept.downcast::<T>()
            .expect("a feature slot holds its own type")
    }

    /// Puts `value` in its feature slot, in place of whatever was made: a stand-in, in tests.
    pub fn set_feature<T: Any + Send + Sync>(&self, value: T) {
        let mut slots = self.features.0.lock().unwrap_or_else(|e| e.into_inner());
        slots.insert(TypeId::of::<T>(), Arc::new(value));
    }
}

impl Features {
    fn find<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let found = slots.get(&TypeId::of::<T>())?.clone();
        found.downcast::<T>().ok()
    }
}

/// The mailer and queues of a function that has not added them: a route that sends
/// through one without declaring it fails loudly instead of linking every adapter.
struct Unwired;

#[async_trait::async_trait]
impl Mailer for Unwired {
    async fn send(&self, _: &crate::mail::Email) -> Result<(), MailError> {
        Err(MailError(
            "this function sends no mail: mail goes through the mail queue".into(),
        ))
    }
}

#[async_trait::async_trait]
impl Queue for Unwired {
    async fn send_batch(&self, _: &[String]) -> Result<(), QueueError> {
        Err(QueueError(
            "this function queues nothing: its route does not declare a queue".into(),
        ))
    }
}

/// The AWS SDK's configuration: the standard environment and its provider chains
/// (credentials from variables, profiles, SSO, web identity or instance metadata; the
/// region; any endpoint override), every call bounded by `aws_timeout` (its attempts by
/// 40% of it, a connection by at most 1 s), and the standard retry mode: up to 3 attempts
/// with jittered exponential backoff, for throttling, timeouts and transient errors. TLS
/// trusts Amazon's roots ([`crate::aws_tls`]).
pub async fn aws_sdk_config(config: &Config) -> Result<aws_config::SdkConfig, ConfigError> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::aws_tls::https_client(
            config.aws_ca_bundle.as_deref(),
        )?)
        .timeout_config(aws_timeouts(config))
        .retry_config(aws_retries())
        .load()
        .await)
}

/// The same configuration as [`aws_sdk_config`], from the variables Lambda sets and
/// nothing else: credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN`, the region from `AWS_REGION`, an endpoint override from
/// `AWS_ENDPOINT_URL`. A function needs no other source, and the provider chains it skips
/// (profiles, SSO, STS, instance metadata) were most of every function's binary.
pub fn lambda_sdk_config(config: &Config) -> Result<aws_config::SdkConfig, ConfigError> {
    let credentials = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
    let mut sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(
            std::env::var("AWS_REGION")
                .ok()
                .map(aws_config::Region::new),
        )
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .http_client(crate::aws_tls::https_client(
            config.aws_ca_bundle.as_deref(),
        )?)
        .timeout_config(aws_timeouts(config))
        .retry_config(aws_retries());
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(url);
    }
    Ok(sdk.build())
}

/// Up to 3 attempts, with jittered exponential backoff between them.
fn aws_retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(3)
}

fn aws_timeouts(config: &Config) -> aws_config::timeout::TimeoutConfig {
    let operation = config.aws_timeout;
    let attempt = operation * 2 / 5;
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(attempt.min(std::time::Duration::from_secs(1)))
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build()
}

/// Deployed functions are built without SQLite.
#[cfg(not(feature = "embedded"))]
fn no_embedded_store() -> ConfigError {
    ConfigError("this build has no embedded store: set MARQUEE_BACKEND=aws".into())
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
        #[cfg(feature = "embedded")]
        Backend::Embedded => Ok(SigningKeys::load_or_create(&config.data_dir)?),
        _ => Err(ConfigError(
            "MARQUEE_JWT_PUBLIC_KEY (or, for token issuers, MARQUEE_JWT_PRIVATE_KEY) is required with MARQUEE_BACKEND=aws"
                .into(),
        )
        .into()),
    }
}
