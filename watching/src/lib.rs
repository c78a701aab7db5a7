//! Watching: moderators upload a movie's trailer and feature straight to the media store,
//! viewers play them by signed URLs (trailers for anyone, features for their buyers and
//! the staff, at most three streams at once per account), and the player's beats keep
//! where each viewer stopped.
//!
//! Depends on the core, accounts and the catalogue (the movie item holds which media a
//! movie has; purchases and progress are the viewer's marks); holds the S3 adapter.

pub mod expiry;
pub mod local;
pub mod media;
pub mod playback;
pub mod probe;
pub mod routes;
pub mod signing;
pub mod store;

use marquee_core::App;
use marquee_core::config::Backend;
use marquee_core::http::problem::Problem;
use std::sync::Arc;

/// Where media files live, made on first use in a process.
pub struct Stores {
    pub store: Arc<dyn store::MediaStore>,
    /// The local files, when that is the store (the local server takes their parts).
    pub local_store: Option<Arc<store::LocalMediaStore>>,
}

/// How playback URLs are made, made on first use in a process.
pub struct Signers {
    pub signer: Arc<dyn signing::PlaybackSigner>,
    /// The local server's own URLs, when they are the playback URLs.
    pub local_signer: Option<Arc<signing::LocalSigner>>,
}

fn local_key(app: &App) -> Result<Arc<signing::LocalKey>, String> {
    signing::LocalKey::load_or_create(&app.config.data_dir)
        .map(Arc::new)
        .map_err(|e| format!("the local media key: {e}"))
}

impl Stores {
    fn make(app: &App) -> Result<Self, String> {
        Ok(match app.config.backend {
            Backend::Aws => {
                let bucket = app
                    .config
                    .media
                    .bucket
                    .as_deref()
                    .ok_or("MARQUEE_MEDIA_BUCKET is not set")?;
                let sdk = app.aws.as_ref().ok_or("no AWS configuration")?;
                Self {
                    store: Arc::new(store::S3MediaStore::new(sdk, bucket)),
                    local_store: None,
                }
            }
            Backend::Embedded => {
                let local = Arc::new(store::LocalMediaStore::new(
                    &app.config.data_dir,
                    app.config.api_base_url(),
                    local_key(app)?,
                ));
                Self {
                    store: local.clone(),
                    local_store: Some(local),
                }
            }
        })
    }
}

impl Signers {
    fn make(app: &App) -> Result<Self, String> {
        let media = &app.config.media;
        Ok(
            match (&media.cdn_url, &media.cdn_key_id, &media.cdn_private_key) {
                (Some(url), Some(id), Some(key)) => Self {
                    signer: Arc::new(
                        signing::CloudFrontSigner::new(url, id, key).map_err(|e| e.to_string())?,
                    ),
                    local_signer: None,
                },
                _ => {
                    let local = Arc::new(signing::LocalSigner::new(
                        app.config.api_base_url(),
                        local_key(app)?,
                    ));
                    Self {
                        signer: local.clone(),
                        local_signer: Some(local),
                    }
                }
            },
        )
    }
}

fn unconfigured(reason: &str) -> Problem {
    tracing::error!(error = %reason, "media are not configured");
    Problem::unavailable().detail("Media are not available on this server")
}

/// The media store of `app`'s process, or 503 when it cannot be made.
pub fn stores(app: &App) -> Result<Arc<Stores>, Problem> {
    let made = app.feature(|app| Stores::make(app).map(Arc::new));
    made.as_ref()
        .clone()
        .map_err(|reason| unconfigured(&reason))
}

/// The playback URL signer of `app`'s process, or 503 when it cannot be made.
pub fn signers(app: &App) -> Result<Arc<Signers>, Problem> {
    let made = app.feature(|app| Signers::make(app).map(Arc::new));
    made.as_ref()
        .clone()
        .map_err(|reason| unconfigured(&reason))
}
