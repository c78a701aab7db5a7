//! Configuration from the environment, read once per cold start. Every variable, its
//! default and its meaning are listed in README.md ("Configuration").

use std::path::PathBuf;

/// Where the ports are served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file, outbox folder, in-process queue: no setup, no account.
    Embedded,
    /// DynamoDB, SES v2 and SQS (real AWS, or a stand-in through `AWS_ENDPOINT_URL`).
    Aws,
}

/// `Debug` shows every setting but the secrets (see [`redacted`]): a configuration that
/// reaches a log line or a panic message leaks nothing.
#[derive(Clone)]
pub struct Config {
    pub backend: Backend,
    /// Embedded backend state: `marquee.sqlite3`, `outbox/`, the local signing key.
    pub data_dir: PathBuf,
    pub table_name: String,
    /// The SQS queue that feeds the expiry worker.
    pub expiry_queue_url: Option<String>,
    /// The SQS queue that feeds the mail worker.
    pub mail_queue_url: Option<String>,
    pub mail_from: String,
    /// Base URL of the web client, for links in emails.
    pub public_url: String,
    /// Ed25519 private key (PKCS#8 PEM), only for functions that issue tokens.
    pub jwt_private_key: Option<String>,
    /// Ed25519 public key (SPKI PEM) that verifies access tokens.
    pub jwt_public_key: Option<String>,
    pub log_filter: String,
    /// Stripe's secret API key; without it the embedded backend simulates the provider.
    pub stripe_secret_key: Option<String>,
    /// Another base URL for Stripe's API (a mock).
    pub stripe_api_base: Option<String>,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub stripe_webhook_secret: Option<String>,
    /// Where the provider sends the buyer after paying; `{order_id}` is replaced.
    pub checkout_success_url: String,
    /// Where the provider sends a buyer who turns back; `{order_id}` is replaced.
    pub checkout_cancel_url: String,
    /// This API's own base URL (the simulated checkout page lives there); defaults to
    /// `public_url`.
    pub api_url: Option<String>,
    /// Without a Stripe key, serve the simulated checkout page (always on the embedded
    /// backend; the local server turns it on for the AWS backend too).
    pub simulated_checkout: bool,
    /// The data key (32 bytes, base64) that seals TOTP seeds; only functions that set or
    /// verify codes get it. The embedded backend makes one in the data folder.
    pub mfa_key: Option<String>,
    /// The most one AWS operation may take, its retries included (each attempt gets 40%
    /// of it, a connection at most 1 s).
    pub aws_timeout: std::time::Duration,
    /// A PEM bundle the AWS calls trust instead of Amazon's roots (`AWS_CA_BUNDLE`, as the
    /// AWS CLI reads it).
    pub aws_ca_bundle: Option<PathBuf>,
    /// The most one request may take before it answers 503 (below the functions' timeout).
    pub request_timeout: std::time::Duration,
    /// Origins whose browser scripts may call the API (`MARQUEE_CORS_ORIGINS`, comma
    /// separated; default: the web client's, `public_url`'s origin).
    pub cors_origins: Vec<String>,
    /// Sign-in with Google and Facebook.
    pub oauth: OAuthConfig,
    /// Serve a simulated provider for each provider without a client id (the embedded
    /// backend always; the local server on either backend).
    pub simulated_oauth: bool,
    /// Keep public reads' answers in process until the table changes (the local server,
    /// standing in for the CDN; see `http::caching::Kept`).
    pub keep_public_answers: bool,
    /// Where movies' files live and how viewers reach them.
    pub media: MediaConfig,
}

/// The media store and the playback URLs.
#[derive(Clone, Default)]
pub struct MediaConfig {
    /// The S3 bucket of media files (AWS backend); without it the AWS backend refuses
    /// uploads and playback.
    pub bucket: Option<String>,
    /// The CloudFront distribution's base URL (`https://d111.cloudfront.net`); without it
    /// playback URLs are the local server's own signed media route.
    pub cdn_url: Option<String>,
    /// The id of the CloudFront public key whose private half signs feature URLs.
    pub cdn_key_id: Option<String>,
    /// That private key: ECDSA P-256 or RSA-2048, PKCS#8 PEM.
    pub cdn_private_key: Option<String>,
    /// The largest file a moderator may upload.
    pub max_upload_bytes: u64,
    /// The longest a playback URL lives, however long the movie (seconds, at most 6 h).
    pub url_max_secs: i64,
}

/// 20 GiB: a feature film in good quality, with room.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 20 * 1024 * 1024 * 1024;
/// A playback URL's longest life: a long film, paused for a while.
pub const MAX_PLAYBACK_URL_SECS: i64 = 6 * 3600;

#[derive(Clone)]
pub struct OAuthConfig {
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<String>,
    pub google_issuer: String,
    pub facebook_client_id: Option<String>,
    pub facebook_client_secret: Option<String>,
    pub facebook_authorize_url: String,
    pub facebook_token_url: String,
    pub facebook_graph_url: String,
    /// Client URLs a sign-in may return to; `None`: the public URL.
    pub allowed_redirects: Option<Vec<String>>,
}

/// How a secret setting shows in `Debug`: whether it is set, never its value.
fn redacted(secret: &Option<String>) -> &'static str {
    match secret {
        Some(_) => "Some(<redacted>)",
        None => "None",
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("backend", &self.backend)
            .field("data_dir", &self.data_dir)
            .field("table_name", &self.table_name)
            .field("expiry_queue_url", &self.expiry_queue_url)
            .field("mail_queue_url", &self.mail_queue_url)
            .field("mail_from", &self.mail_from)
            .field("public_url", &self.public_url)
            .field(
                "jwt_private_key",
                &format_args!("{}", redacted(&self.jwt_private_key)),
            )
            .field("jwt_public_key", &self.jwt_public_key)
            .field("log_filter", &self.log_filter)
            .field(
                "stripe_secret_key",
                &format_args!("{}", redacted(&self.stripe_secret_key)),
            )
            .field("stripe_api_base", &self.stripe_api_base)
            .field(
                "stripe_webhook_secret",
                &format_args!("{}", redacted(&self.stripe_webhook_secret)),
            )
            .field("checkout_success_url", &self.checkout_success_url)
            .field("checkout_cancel_url", &self.checkout_cancel_url)
            .field("media_bucket", &self.media.bucket)
            .field("media_cdn_url", &self.media.cdn_url)
            .field(
                "media_cdn_private_key",
                &format_args!("{}", redacted(&self.media.cdn_private_key)),
            )
            .field("api_url", &self.api_url)
            .field("simulated_checkout", &self.simulated_checkout)
            .field("mfa_key", &format_args!("{}", redacted(&self.mfa_key)))
            .field("aws_timeout", &self.aws_timeout)
            .field("aws_ca_bundle", &self.aws_ca_bundle)
            .field("request_timeout", &self.request_timeout)
            .field("cors_origins", &self.cors_origins)
            .field("oauth", &self.oauth)
            .field("simulated_oauth", &self.simulated_oauth)
            .field("keep_public_answers", &self.keep_public_answers)
            .finish()
    }
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("google_client_id", &self.google_client_id)
            .field(
                "google_client_secret",
                &format_args!("{}", redacted(&self.google_client_secret)),
            )
            .field("google_issuer", &self.google_issuer)
            .field("facebook_client_id", &self.facebook_client_id)
            .field(
                "facebook_client_secret",
                &format_args!("{}", redacted(&self.facebook_client_secret)),
            )
            .field("facebook_authorize_url", &self.facebook_authorize_url)
            .field("facebook_token_url", &self.facebook_token_url)
            .field("facebook_graph_url", &self.facebook_graph_url)
            .field("allowed_redirects", &self.allowed_redirects)
            .finish()
    }
}

/// An AWS operation's bound: two or three attempts fit, well inside a request's bound.
pub const DEFAULT_AWS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// A request's bound: below the API functions' 10 s, so a hang still answers 503 itself.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

fn millis(
    value: Option<String>,
    default: std::time::Duration,
    name: &str,
) -> Result<std::time::Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(std::time::Duration::from_millis(ms)),
            _ => Err(ConfigError(format!(
                "{name} must be a positive number of milliseconds"
            ))),
        },
    }
}

/// The Graph API version the Facebook defaults name.
const FACEBOOK_API: &str = "v21.0";

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let backend = match get("MARQUEE_BACKEND").as_deref() {
            None | Some("embedded") => Backend::Embedded,
            Some("aws") => Backend::Aws,
            Some(other) => {
                return Err(ConfigError(format!(
                    "MARQUEE_BACKEND must be `embedded` or `aws`, not `{other}`"
                )));
            }
        };
        let public_url = get("MARQUEE_PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:3000".into())
            .trim_end_matches('/')
            .to_string();
        let config = Self {
            backend: backend.clone(),
            data_dir: get("MARQUEE_DATA_DIR")
                .unwrap_or_else(|| ".marquee".into())
                .into(),
            table_name: get("MARQUEE_TABLE").unwrap_or_else(|| "marquee".into()),
            expiry_queue_url: get("MARQUEE_EXPIRY_QUEUE_URL"),
            mail_queue_url: get("MARQUEE_MAIL_QUEUE_URL"),
            mail_from: get("MARQUEE_MAIL_FROM")
                .unwrap_or_else(|| "Marquee <no-reply@marquee.local>".into()),
            cors_origins: cors_origins(get("MARQUEE_CORS_ORIGINS"), &public_url)?,
            public_url,
            jwt_private_key: get("MARQUEE_JWT_PRIVATE_KEY"),
            jwt_public_key: get("MARQUEE_JWT_PUBLIC_KEY"),
            // Lambda's application log level (its logging configuration) when ours is unset,
            // so lines it would drop are not even written.
            log_filter: get("MARQUEE_LOG")
                .or_else(|| get("AWS_LAMBDA_LOG_LEVEL").map(|level| level.to_ascii_lowercase()))
                .unwrap_or_else(|| "info".into()),
            stripe_secret_key: get("MARQUEE_STRIPE_SECRET_KEY"),
            stripe_api_base: get("MARQUEE_STRIPE_API_BASE"),
            stripe_webhook_secret: get("MARQUEE_STRIPE_WEBHOOK_SECRET"),
            checkout_success_url: get("MARQUEE_CHECKOUT_SUCCESS_URL")
                .unwrap_or_else(|| "{public_url}/#/orders/{order_id}?checkout=success".into()),
            checkout_cancel_url: get("MARQUEE_CHECKOUT_CANCEL_URL")
                .unwrap_or_else(|| "{public_url}/#/orders/{order_id}?checkout=canceled".into()),
            api_url: get("MARQUEE_API_URL"),
            simulated_checkout: backend == Backend::Embedded,
            mfa_key: get("MARQUEE_MFA_KEY"),
            aws_timeout: millis(
                get("MARQUEE_AWS_TIMEOUT_MS"),
                DEFAULT_AWS_TIMEOUT,
                "MARQUEE_AWS_TIMEOUT_MS",
            )?,
            aws_ca_bundle: get("AWS_CA_BUNDLE").map(PathBuf::from),
            request_timeout: millis(
                get("MARQUEE_REQUEST_TIMEOUT_MS"),
                DEFAULT_REQUEST_TIMEOUT,
                "MARQUEE_REQUEST_TIMEOUT_MS",
            )?,
            oauth: OAuthConfig::from_lookup(&get),
            simulated_oauth: backend == Backend::Embedded,
            keep_public_answers: false,
            media: MediaConfig::from_lookup(&get)?,
        };
        if config.backend == Backend::Aws
            && (config.expiry_queue_url.is_none() || config.mail_queue_url.is_none())
        {
            return Err(ConfigError(
                "MARQUEE_EXPIRY_QUEUE_URL and MARQUEE_MAIL_QUEUE_URL are required with MARQUEE_BACKEND=aws".into(),
            ));
        }
        Ok(config)
    }

    /// A checkout return URL for one order.
    pub fn checkout_url(&self, template: &str, order_id: &str) -> String {
        template
            .replace("{public_url}", &self.public_url)
            .replace("{order_id}", order_id)
    }

    /// This API's base URL.
    pub fn api_base_url(&self) -> &str {
        self.api_url.as_deref().unwrap_or(&self.public_url)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("marquee.sqlite3")
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

impl OAuthConfig {
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            google_client_id: get("MARQUEE_GOOGLE_CLIENT_ID"),
            google_client_secret: get("MARQUEE_GOOGLE_CLIENT_SECRET"),
            google_issuer: get("MARQUEE_GOOGLE_ISSUER")
                .unwrap_or_else(|| "https://accounts.google.com".into()),
            facebook_client_id: get("MARQUEE_FACEBOOK_CLIENT_ID"),
            facebook_client_secret: get("MARQUEE_FACEBOOK_CLIENT_SECRET"),
            facebook_authorize_url: get("MARQUEE_FACEBOOK_AUTHORIZE_URL")
                .unwrap_or_else(|| format!("https://www.facebook.com/{FACEBOOK_API}/dialog/oauth")),
            facebook_token_url: get("MARQUEE_FACEBOOK_TOKEN_URL").unwrap_or_else(|| {
                format!("https://graph.facebook.com/{FACEBOOK_API}/oauth/access_token")
            }),
            facebook_graph_url: get("MARQUEE_FACEBOOK_GRAPH_URL")
                .unwrap_or_else(|| format!("https://graph.facebook.com/{FACEBOOK_API}")),
            allowed_redirects: get("MARQUEE_OAUTH_REDIRECTS").map(|list| {
                list.split(',')
                    .map(|url| url.trim().to_string())
                    .filter(|url| !url.is_empty())
                    .collect()
            }),
        }
    }
}

impl MediaConfig {
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let media = Self {
            bucket: get("MARQUEE_MEDIA_BUCKET"),
            cdn_url: get("MARQUEE_MEDIA_CDN_URL").map(|u| u.trim_end_matches('/').to_string()),
            cdn_key_id: get("MARQUEE_MEDIA_CDN_KEY_ID"),
            cdn_private_key: get("MARQUEE_MEDIA_CDN_PRIVATE_KEY"),
            max_upload_bytes: match get("MARQUEE_MEDIA_MAX_UPLOAD_BYTES") {
                None => DEFAULT_MAX_UPLOAD_BYTES,
                Some(v) => v.parse().map_err(|_| {
                    ConfigError("MARQUEE_MEDIA_MAX_UPLOAD_BYTES must be a number of bytes".into())
                })?,
            },
            url_max_secs: match get("MARQUEE_PLAYBACK_URL_MAX_SECS") {
                None => MAX_PLAYBACK_URL_SECS,
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|secs| (1..=MAX_PLAYBACK_URL_SECS).contains(secs))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "MARQUEE_PLAYBACK_URL_MAX_SECS must be 1 to {MAX_PLAYBACK_URL_SECS}"
                        ))
                    })?,
            },
        };
        if media.cdn_url.is_some()
            && (media.cdn_key_id.is_none() || media.cdn_private_key.is_none())
        {
            return Err(ConfigError(
                "MARQUEE_MEDIA_CDN_URL needs MARQUEE_MEDIA_CDN_KEY_ID and MARQUEE_MEDIA_CDN_PRIVATE_KEY".into(),
            ));
        }
        Ok(media)
    }
}

/// The origins CORS allows: those listed, each exactly an origin, or else the public URL's.
fn cors_origins(listed: Option<String>, public_url: &str) -> Result<Vec<String>, ConfigError> {
    match listed {
        Some(list) => {
            let mut origins = Vec::new();
            for listed in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                match crate::http::cors::origin_of(listed) {
                    Some(origin) if origin == listed.trim_end_matches('/') => origins.push(origin),
                    _ => {
                        return Err(ConfigError(format!(
                            "MARQUEE_CORS_ORIGINS: {listed} is not an origin (scheme://host[:port])"
                        )));
                    }
                }
            }
            Ok(origins)
        }
        None => Ok(crate::http::cors::origin_of(public_url)
            .into_iter()
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let secrets = [
            ("MARQUEE_JWT_PRIVATE_KEY", "jwt-private-SECRET"),
            ("MARQUEE_STRIPE_SECRET_KEY", "sk_live_SECRET"),
            ("MARQUEE_STRIPE_WEBHOOK_SECRET", "whsec_SECRET"),
            ("MARQUEE_MFA_KEY", "mfa-key-SECRET"),
            ("MARQUEE_GOOGLE_CLIENT_SECRET", "google-SECRET"),
            ("MARQUEE_FACEBOOK_CLIENT_SECRET", "facebook-SECRET"),
            ("MARQUEE_MEDIA_CDN_PRIVATE_KEY", "cdn-key-SECRET"),
        ];
        let config = Config::from_lookup(|name| {
            secrets
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| (name == "MARQUEE_GOOGLE_CLIENT_ID").then(|| "google-id".into()))
        })
        .unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("stripe_secret_key: Some(<redacted>)"),
            "{shown}"
        );
        assert!(shown.contains("google-id"), "{shown}");
    }
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_setup() {
        let c = config(&[]).unwrap();
        assert_eq!(c.backend, Backend::Embedded);
        assert_eq!(c.sqlite_path(), PathBuf::from(".marquee/marquee.sqlite3"));
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.aws_ca_bundle, None);
    }

    #[test]
    fn aws_ca_bundle_names_the_bundle_aws_calls_trust() {
        let c = config(&[("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")]).unwrap();
        assert_eq!(
            c.aws_ca_bundle,
            Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt"))
        );
    }

    #[test]
    fn cors_origins_default_to_the_web_client_and_must_be_origins() {
        let c = config(&[("MARQUEE_PUBLIC_URL", "https://cinema.example/app/")]).unwrap();
        assert_eq!(c.cors_origins, vec!["https://cinema.example".to_string()]);
        let c = config(&[(
            "MARQUEE_CORS_ORIGINS",
            "https://a.example, http://localhost:5173",
        )])
        .unwrap();
        assert_eq!(
            c.cors_origins,
            vec![
                "https://a.example".to_string(),
                "http://localhost:5173".to_string()
            ]
        );
        for bad in ["https://a.example/path", "*", "a.example"] {
            assert!(config(&[("MARQUEE_CORS_ORIGINS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn aws_backend_requires_a_queue_and_rejects_unknown_backends() {
        assert!(config(&[("MARQUEE_BACKEND", "aws")]).is_err());
        assert!(
            config(&[
                ("MARQUEE_BACKEND", "aws"),
                ("MARQUEE_EXPIRY_QUEUE_URL", "http://q")
            ])
            .is_err()
        );
        let c = config(&[
            ("MARQUEE_BACKEND", "aws"),
            ("MARQUEE_EXPIRY_QUEUE_URL", "http://q"),
            ("MARQUEE_MAIL_QUEUE_URL", "http://m"),
        ])
        .unwrap();
        assert_eq!(c.backend, Backend::Aws);
        let err = config(&[("MARQUEE_BACKEND", "mongo")]).unwrap_err();
        assert!(err.to_string().contains("mongo"));
    }

    #[test]
    fn the_log_filter_follows_lambda_s_log_level_unless_set() {
        assert_eq!(config(&[]).unwrap().log_filter, "info");
        let lambda = [("AWS_LAMBDA_LOG_LEVEL", "WARN")];
        assert_eq!(config(&lambda).unwrap().log_filter, "warn");
        let both = [("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("MARQUEE_LOG", "debug")];
        assert_eq!(config(&both).unwrap().log_filter, "debug");
    }

    #[test]
    fn public_url_loses_its_trailing_slash() {
        let c = config(&[("MARQUEE_PUBLIC_URL", "https://marquee.example/")]).unwrap();
        assert_eq!(c.public_url, "https://marquee.example");
    }

    #[test]
    fn media_settings_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.media.max_upload_bytes, c.media.url_max_secs),
            (DEFAULT_MAX_UPLOAD_BYTES, MAX_PLAYBACK_URL_SECS)
        );
        let c = config(&[
            ("MARQUEE_MEDIA_CDN_URL", "https://media.example/"),
            ("MARQUEE_MEDIA_CDN_KEY_ID", "K1"),
            ("MARQUEE_MEDIA_CDN_PRIVATE_KEY", "pem"),
            ("MARQUEE_PLAYBACK_URL_MAX_SECS", "60"),
        ])
        .unwrap();
        assert_eq!(
            (c.media.cdn_url.as_deref(), c.media.url_max_secs),
            (Some("https://media.example"), 60)
        );
        for bad in [
            [
                ("MARQUEE_MEDIA_CDN_URL", "https://media.example"),
                ("MARQUEE_MEDIA_CDN_KEY_ID", "K1"),
            ],
            [
                ("MARQUEE_MEDIA_MAX_UPLOAD_BYTES", "5GB"),
                ("MARQUEE_LOG", "info"),
            ],
            [
                ("MARQUEE_PLAYBACK_URL_MAX_SECS", "0"),
                ("MARQUEE_LOG", "info"),
            ],
        ] {
            let err = config(&bad).unwrap_err();
            assert!(err.to_string().contains(bad[0].0), "{err}");
        }
        let too_long = (MAX_PLAYBACK_URL_SECS + 1).to_string();
        assert!(config(&[("MARQUEE_PLAYBACK_URL_MAX_SECS", &too_long)]).is_err());
    }
}
