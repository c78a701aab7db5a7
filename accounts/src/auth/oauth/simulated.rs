//! A stand-in for Google and Facebook, served by the local server on its own address when
//! a provider has no client id, so a newcomer can "Sign in with Google" offline. It is just
//! another issuer URL to the sign-in code, which runs exactly as in production against it:
//! an authorization page (one form: email and name), a token endpoint that checks the PKCE
//! verifier, and for Google a discovery document, a key set and ID tokens signed RS256
//! with a key made when the process starts; for Facebook a `me` endpoint.

use super::providers::{Provider, SIMULATED_CLIENT_ID, SIMULATED_CLIENT_SECRET, SIMULATED_PATH};
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use marquee_core::app::App;
use marquee_core::http::problem::Problem;
use marquee_core::pages;
use marquee_core::secret;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// An RS256 signing key and its JWK.
pub struct SigningKey {
    pair: KeyPair,
    pub kid: String,
}

impl SigningKey {
    pub fn generate() -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation works");
        let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let kid = secret::hex(&Sha256::digest(&components.n)[..8]);
        Self { pair, kid }
    }

    /// A JWT of `claims`, signed RS256 under this key's id.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// Signed with this key but naming another key id (tests of forged tokens).
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing works");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub fn jwk(&self) -> Value {
        let components = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
               "n": URL_SAFE_NO_PAD.encode(&components.n), "e": URL_SAFE_NO_PAD.encode(&components.e)})
    }

    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        serde_json::from_value(json!({"keys": [self.jwk()]})).expect("a JWK set")
    }
}

/// What the person typed on the authorization page, until the code is traded.
#[derive(Debug, Clone)]
struct Grant {
    provider: Provider,
    email: String,
    name: String,
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
    expires_at: i64,
}

#[derive(Default)]
struct Memory {
    codes: HashMap<String, Grant>,
    /// Facebook access tokens, for the `me` endpoint.
    tokens: HashMap<String, Grant>,
}

/// The simulated providers' codes and tokens (a poisoned lock still holds good data).
fn memory() -> std::sync::MutexGuard<'static, Memory> {
    static MEMORY: OnceLock<Mutex<Memory>> = OnceLock::new();
    MEMORY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(SigningKey::generate)
}

fn base(app: &App, provider: Provider) -> String {
    format!(
        "{}{SIMULATED_PATH}/{}",
        app.config.api_base_url().trim_end_matches('/'),
        provider.as_str()
    )
}

/// The subject the simulated provider gives an email: stable, as a real provider's is.
fn subject(email: &str) -> String {
    format!(
        "sim-{}",
        &secret::digest(&email.trim().to_lowercase())[..20]
    )
}

/// Where the local server's own sign-in lands when no web client is configured: a page
/// that trades the login code (by POST, so the tokens never sit in a URL) and shows them.
pub const SIGNED_IN_PATH: &str = "/oauth/simulated/signed-in";

/// The simulated providers' routes, for the local server.
pub fn router() -> axum::Router<App> {
    axum::Router::new()
        .route(SIGNED_IN_PATH, get(signed_in))
        .route(
            &format!("{SIMULATED_PATH}/google/.well-known/openid-configuration"),
            get(discovery),
        )
        .route(&format!("{SIMULATED_PATH}/google/jwks"), get(jwks))
        .route(
            &format!("{SIMULATED_PATH}/{{provider}}/authorize"),
            get(authorize_page).post(authorize),
        )
        .route(
            &format!("{SIMULATED_PATH}/{{provider}}/token"),
            axum::routing::post(token),
        )
        .route(&format!("{SIMULATED_PATH}/facebook/me"), get(me))
}

fn provider(name: &str) -> Result<Provider, Problem> {
    Provider::parse(name).ok_or_else(|| Problem::not_found("No such simulated provider"))
}

async fn discovery(State(app): State<App>) -> axum::Json<Value> {
    let base = base(&app, Provider::Google);
    axum::Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks() -> axum::Json<Value> {
    axum::Json(json!({"keys": [key().jwk()]}))
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    scope: Option<String>,
}

async fn authorize_page(
    Path(name): Path<String>,
    Query(query): Query<AuthorizeQuery>,
) -> Result<Response, Problem> {
    let provider = provider(&name)?;
    let mut env = minijinja::Environment::new();
    env.add_template("authorize.html", AUTHORIZE)
        .map_err(|_| Problem::internal())?;
    let body = env
        .get_template("authorize.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                provider => provider.title(),
                client_id => query.client_id,
                redirect_uri => query.redirect_uri,
                state => query.state,
                nonce => query.nonce,
                code_challenge => query.code_challenge,
                code_challenge_method => query.code_challenge_method,
                scope => query.scope,
            })
        })
        .map_err(|e| {
            tracing::error!(error = %e, "rendering the simulated sign-in page failed");
            Problem::internal()
        })?;
    Ok(pages::html(StatusCode::OK, body, &["http:", "https:"]))
}

#[derive(Debug, Deserialize)]
struct AuthorizeForm {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    email: Option<String>,
    name: Option<String>,
    action: Option<String>,
}

fn with_params(url: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(url).expect("checked before");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

async fn authorize(
    State(app): State<App>,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<AuthorizeForm>,
) -> Result<Response, Problem> {
    let provider = provider(&name)?;
    // Only back to this API's own callback: the stand-in is no open redirector either.
    let callback = super::providers::of(&app).callback_url(provider);
    if form.client_id != SIMULATED_CLIENT_ID || form.redirect_uri != callback {
        return Err(Problem::bad_request("Unknown client or redirect URI"));
    }
    let state = form.state.clone().unwrap_or_default();
    if form.action.as_deref() == Some("deny") {
        let back = with_params(
            &form.redirect_uri,
            &[("error", "access_denied"), ("state", &state)],
        );
        return Ok(Redirect::to(&back).into_response());
    }
    let email = form.email.unwrap_or_default().trim().to_string();
    if email.is_empty() || !email.contains('@') {
        return Err(Problem::bad_request("Type an email address"));
    }
    if form.code_challenge.is_some() && form.code_challenge_method.as_deref() != Some("S256") {
        return Err(Problem::bad_request(
            "Only S256 code challenges are supported",
        ));
    }
    let code = secret::new_token();
    let grant = Grant {
        provider,
        name: form.name.unwrap_or_default().trim().to_string(),
        email,
        nonce: form.nonce,
        challenge: form.code_challenge,
        redirect_uri: form.redirect_uri.clone(),
        expires_at: app.clock.now().unix_timestamp() + 120,
    };
    memory().codes.insert(code.clone(), grant);
    let back = with_params(&form.redirect_uri, &[("code", &code), ("state", &state)]);
    Ok(Redirect::to(&back).into_response())
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn token_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": code}))).into_response()
}

/// The client's credentials, from HTTP Basic or from the form.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| {
            let (id, secret) = v.split_once(':')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.to_string())
            };
            Some((decode(id)?, decode(secret)?))
        });
    basic.or_else(|| Some((form.client_id.clone()?, form.client_secret.clone()?)))
}

async fn token(
    State(app): State<App>,
    Path(name): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, Problem> {
    let provider = provider(&name)?;
    if client_credentials(&headers, &form)
        != Some((SIMULATED_CLIENT_ID.into(), SIMULATED_CLIENT_SECRET.into()))
    {
        return Ok(token_error("invalid_client"));
    }
    let now = app.clock.now().unix_timestamp();
    let grant = memory().codes.remove(&form.code);
    let Some(grant) = grant.filter(|g| {
        form.grant_type == "authorization_code"
            && g.provider == provider
            && g.expires_at > now
            && form.redirect_uri.as_deref() == Some(g.redirect_uri.as_str())
    }) else {
        return Ok(token_error("invalid_grant"));
    };
    if let Some(challenge) = &grant.challenge {
        let verified = form.code_verifier.as_deref().is_some_and(|verifier| {
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == *challenge
        });
        if !verified {
            return Ok(token_error("invalid_grant"));
        }
    }
    let access_token = secret::new_token();
    let mut answer =
        json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600});
    match provider {
        Provider::Google => {
            answer["id_token"] = key()
                .sign(&json!({
                    "iss": base(&app, Provider::Google),
                    "aud": SIMULATED_CLIENT_ID,
                    "sub": subject(&grant.email),
                    "email": grant.email,
                    "email_verified": true,
                    "name": grant.name,
                    "iat": now,
                    "exp": now + 600,
                    "nonce": grant.nonce,
                }))
                .into();
        }
        Provider::Facebook => {
            memory().tokens.insert(access_token, grant);
        }
    }
    Ok(axum::Json(answer).into_response())
}

async fn me(headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let grant = token.and_then(|t| memory().tokens.get(t).cloned());
    match grant {
        Some(grant) => axum::Json(json!({
            "id": subject(&grant.email).trim_start_matches("sim-"),
            "name": grant.name,
            "email": grant.email,
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"message": "Invalid OAuth access token", "type": "OAuthException"}})),
        )
            .into_response(),
    }
}

async fn signed_in() -> Response {
    pages::html(StatusCode::OK, SIGNED_IN.to_string(), &[])
}

const SIGNED_IN: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed in · Marquee</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
pre{background:#f4f1ea;padding:.8rem;border-radius:4px;white-space:pre-wrap;word-break:break-all}</style></head>
<body><h1>Marquee sign-in</h1>
<p id="status">Trading the login code for tokens&hellip; (without JavaScript: POST it to
<code>/auth/oauth/exchange</code> as <code>{"login_code": "..."}</code>)</p>
<pre id="answer"></pre>
<script>
const params = new URLSearchParams(location.search);
const status = document.getElementById('status'), answer = document.getElementById('answer');
history.replaceState(null, '', location.pathname);
if (params.get('error')) {
  status.textContent = 'Sign-in failed: ' + (params.get('error_description') || params.get('error'));
} else if (params.get('login_code')) {
  fetch('/auth/oauth/exchange', {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify({login_code: params.get('login_code')})})
    .then(async (r) => {
      const body = await r.json();
      status.textContent = r.ok ? (body.mfa_required ? 'Two-step sign-in: send mfa_token with a code to /auth/mfa/verify' : 'Signed in. Use access_token as a bearer token.') : 'Sign-in failed: ' + (body.detail || body.title);
      answer.textContent = JSON.stringify(body, null, 2);
    });
} else {
  status.textContent = 'Start at /auth/oauth/google?redirect_to=' + location.origin + location.pathname;
}
</script></body></html>"#;

const AUTHORIZE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in with {{ provider }} (simulated)</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin:1rem 0 .3rem}input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem}
button{margin:1.2rem .5rem 0 0;font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}
.note{background:#fff6d6;padding:.6rem .8rem;border-radius:4px}</style></head>
<body><h1>Sign in with {{ provider }}</h1>
<p class="note">Simulated provider: no {{ provider }} client id is configured. Whoever you type
here is who signs in; the email counts as verified.</p>
<form method="post">
<input type="hidden" name="client_id" value="{{ client_id or '' }}">
<input type="hidden" name="redirect_uri" value="{{ redirect_uri or '' }}">
<input type="hidden" name="state" value="{{ state or '' }}">
{% if nonce %}<input type="hidden" name="nonce" value="{{ nonce }}">{% endif %}
{% if code_challenge %}<input type="hidden" name="code_challenge" value="{{ code_challenge }}">
<input type="hidden" name="code_challenge_method" value="{{ code_challenge_method or '' }}">{% endif %}
<label for="email">Email</label><input id="email" name="email" type="email" required autofocus>
<label for="name">Name</label><input id="name" name="name" type="text">
<button type="submit" name="action" value="allow">Continue</button>
<button type="submit" name="action" value="deny" formnovalidate>Cancel</button>
</form></body></html>"#;
