//! The sign-in providers and where they are reached: Google by OpenID Connect (its
//! endpoints and keys from the issuer's discovery document, fetched once per cold start;
//! the key set again when a token names a key it does not hold), Facebook by OAuth 2 and
//! the Graph API. Every endpoint is configurable, so the tests' provider and the simulated
//! one stand in by URL alone.

use super::http::{HttpClient, HttpError};
use jsonwebtoken::jwk::JwkSet;
use marquee_core::app::App;
use marquee_core::config::Config;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Facebook,
}

impl Provider {
    pub const ALL: [Self; 2] = [Self::Google, Self::Facebook];

    /// Its configured client id; `None`: locally, the provider is simulated.
    pub fn client_id(self, config: &marquee_core::config::OAuthConfig) -> Option<&str> {
        match self {
            Self::Google => config.google_client_id.as_deref(),
            Self::Facebook => config.facebook_client_id.as_deref(),
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Facebook => "facebook",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Google => "Google",
            Self::Facebook => "Facebook",
        }
    }

    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Google => &["openid", "email", "profile"],
            Self::Facebook => &["email", "public_profile"],
        }
    }
}

/// Where a provider's endpoints are.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoints {
    /// OpenID Connect: the rest comes from `<issuer>/.well-known/openid-configuration`.
    Oidc { issuer: String },
    /// OAuth 2, and a Graph API that answers `me?fields=id,name,email`.
    Graph {
        authorize_url: String,
        token_url: String,
        graph_url: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub endpoints: Endpoints,
}

/// The part of a discovery document sign-in uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// The client id and secret the simulated provider accepts.
pub const SIMULATED_CLIENT_ID: &str = "marquee-local";
pub const SIMULATED_CLIENT_SECRET: &str = "marquee-local-secret";
/// Where the local server serves the simulated providers, under the API's base URL.
pub const SIMULATED_PATH: &str = "/oauth/simulated";

pub struct Providers {
    google: Option<Settings>,
    facebook: Option<Settings>,
    /// Our callback is `<callback_base>/<provider>/callback`.
    pub callback_base: String,
    /// `redirect_to` must start with one of these.
    pub allowed_redirects: Vec<String>,
    /// The state cookie is `__Host-` and `Secure` when the API is served over https.
    pub secure_cookie: bool,
    http: OnceLock<HttpClient>,
    discovery: tokio::sync::OnceCell<Discovery>,
    keys: tokio::sync::RwLock<Option<JwkSet>>,
}

/// This app's providers, made from its configuration on first use: only the functions that
/// sign in with a provider hold the discovery and key caches.
pub fn of(app: &App) -> Arc<Providers> {
    app.feature(|app| Providers::from_config(&app.config))
}

impl Providers {
    pub fn from_config(config: &Config) -> Self {
        let api = config.api_base_url().trim_end_matches('/').to_string();
        let simulated = |provider: Provider| {
            let base = format!("{api}{SIMULATED_PATH}/{}", provider.as_str());
            Settings {
                client_id: SIMULATED_CLIENT_ID.into(),
                client_secret: Some(SIMULATED_CLIENT_SECRET.into()),
                endpoints: match provider {
                    Provider::Google => Endpoints::Oidc { issuer: base },
                    Provider::Facebook => Endpoints::Graph {
                        authorize_url: format!("{base}/authorize"),
                        token_url: format!("{base}/token"),
                        graph_url: base,
                    },
                },
            }
        };
        let settings = |provider: Provider,
                        id: &Option<String>,
                        secret: &Option<String>,
                        endpoints: Endpoints| {
            match id {
                Some(id) => Some(Settings {
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                    endpoints,
                }),
                None if config.simulated_oauth => Some(simulated(provider)),
                None => None,
            }
        };
        let oauth = &config.oauth;
        Self {
            google: settings(
                Provider::Google,
                &oauth.google_client_id,
                &oauth.google_client_secret,
                Endpoints::Oidc {
                    issuer: oauth.google_issuer.clone(),
                },
            ),
            facebook: settings(
                Provider::Facebook,
                &oauth.facebook_client_id,
                &oauth.facebook_client_secret,
                Endpoints::Graph {
                    authorize_url: oauth.facebook_authorize_url.clone(),
                    token_url: oauth.facebook_token_url.clone(),
                    graph_url: oauth.facebook_graph_url.clone(),
                },
            ),
            callback_base: format!("{api}/auth/oauth"),
            allowed_redirects: oauth
                .allowed_redirects
                .clone()
                .unwrap_or_else(|| vec![config.public_url.clone()]),
            secure_cookie: api.starts_with("https://"),
            http: OnceLock::new(),
            discovery: tokio::sync::OnceCell::new(),
            keys: tokio::sync::RwLock::new(None),
        }
    }

    pub fn settings(&self, provider: Provider) -> Option<&Settings> {
        match provider {
            Provider::Google => self.google.as_ref(),
            Provider::Facebook => self.facebook.as_ref(),
        }
    }

    pub fn http(&self) -> &HttpClient {
        self.http.get_or_init(HttpClient::new)
    }

    pub fn callback_url(&self, provider: Provider) -> String {
        format!("{}/{}/callback", self.callback_base, provider.as_str())
    }

    /// Whether `url` is one of the client URLs a sign-in may return to: the same origin as
    /// an allowed URL, and under its path.
    pub fn redirect_allowed(&self, url: &str) -> bool {
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        if !matches!(parsed.scheme(), "https" | "http") || parsed.fragment().is_some() {
            return false;
        }
        self.allowed_redirects.iter().any(|allowed| {
            let Ok(allowed) = url::Url::parse(allowed) else {
                return false;
            };
            parsed.origin() == allowed.origin() && path_within(parsed.path(), allowed.path())
        })
    }

    /// The issuer's discovery document, fetched once per cold start.
    pub async fn discovery(&self, issuer: &str) -> Result<&Discovery, HttpError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let found: Discovery = self.http().get_json(&url, None).await?;
                if found.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
                    return Err(HttpError::Body(format!(
                        "the discovery document names issuer {}",
                        found.issuer
                    )));
                }
                Ok(found)
            })
            .await
    }

    /// The provider's keys, holding `kid`: the cached set, or a fresh one when the cached
    /// set lacks it (the provider rotated its keys).
    pub async fn keys_with(&self, jwks_uri: &str, kid: Option<&str>) -> Result<JwkSet, HttpError> {
        if let Some(keys) = self.keys.read().await.as_ref()
            && kid.is_some_and(|kid| keys.find(kid).is_some())
        {
            return Ok(keys.clone());
        }
        let fresh: JwkSet = self.http().get_json(jwks_uri, None).await?;
        *self.keys.write().await = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Whether `path` is `base` or below it, segment by segment: `/app` admits `/app` and
/// `/app/x`, never `/apple`.
fn path_within(path: &str, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn providers(allowed: &[&str]) -> Providers {
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.oauth.allowed_redirects = Some(allowed.iter().map(|s| s.to_string()).collect());
        Providers::from_config(&config)
    }

    #[test]
    fn only_allowed_client_urls_are_redirect_targets() {
        let p = providers(&["https://cinema.example/app", "http://127.0.0.1:5173"]);
        assert!(p.redirect_allowed("https://cinema.example/app"));
        assert!(p.redirect_allowed("https://cinema.example/app/signed-in?x=1"));
        assert!(p.redirect_allowed("http://127.0.0.1:5173/"));
        assert!(!p.redirect_allowed("https://cinema.example/other"));
        assert!(!p.redirect_allowed("https://cinema.example/apple"));
        assert!(!p.redirect_allowed("https://cinema.example/app-evil/x"));
        assert!(p.redirect_allowed("https://cinema.example/app/"));
        assert!(!p.redirect_allowed("https://cinema.example.evil.test/app"));
        assert!(!p.redirect_allowed("https://cinema.example@evil.test/app"));
        assert!(
            !p.redirect_allowed("http://cinema.example/app"),
            "scheme is part of the origin"
        );
        assert!(!p.redirect_allowed("//evil.test/app"));
        assert!(!p.redirect_allowed("javascript:alert(1)"));
        assert!(!p.redirect_allowed("https://cinema.example/app#frag"));
    }

    #[test]
    fn without_client_ids_providers_are_simulated_locally_or_absent() {
        let config = Config::from_lookup(|_| None).unwrap();
        let local = Providers::from_config(&config);
        let google = local.settings(Provider::Google).unwrap();
        assert_eq!(
            google.endpoints,
            Endpoints::Oidc {
                issuer: "http://127.0.0.1:3000/oauth/simulated/google".into()
            }
        );
        let mut deployed = config.clone();
        deployed.simulated_oauth = false;
        assert!(
            Providers::from_config(&deployed)
                .settings(Provider::Facebook)
                .is_none()
        );
        assert_eq!(
            local.callback_url(Provider::Facebook),
            "http://127.0.0.1:3000/auth/oauth/facebook/callback"
        );
    }
}
