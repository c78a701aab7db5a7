//! Sign-in with Google (OpenID Connect) and Facebook (OAuth 2): authorization code with
//! PKCE (S256), a state bound to the browser by a cookie, a nonce and a verified ID token
//! for Google, and no tokens in URLs.
//!
//! auth-oauth-start stores a state record (only its digest as key, 10 minutes, single use)
//! with the PKCE verifier, the nonce, the provider and where to return, sets a cookie whose
//! digest the record keeps, and sends the browser to the provider. auth-oauth-callback
//! checks the state and the cookie, trades the code, learns who signed in, finds or links
//! or creates the account ([`accounts`]), and sends the browser back to `redirect_to` with
//! a one-time `login_code` (or an `error`); auth-oauth-exchange trades that code for the
//! token pair, or for the second step when MFA is on. The code is bound to the browser
//! that started the sign-in (its cookie, which the callback keeps for the exchange) and to
//! the account's session epoch, so a code that leaks from the URL is worth nothing
//! elsewhere, and a change that ends sessions ends it too.

pub mod accounts;
pub mod http;
pub mod id_token;
pub mod providers;
pub mod simulated;

use crate::auth::login::{self, LoginAnswer, check_unlocked};
use crate::auth::mfa::challenge;
use crate::auth::session::{AuthMethod, Origin};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::expiry;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Json, Path, Query, validate};
use marquee_core::pages;
use marquee_core::secret;
use marquee_core::store::{Condition, Key, Write, entity_item, from_entity_item};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use providers::{Endpoints, Provider, Settings};
use serde::{Deserialize, Serialize};

/// How long a started sign-in may take at the provider.
pub const STATE_LIFETIME_SECS: i64 = 10 * 60;
/// How long the client has to trade the login code.
pub const LOGIN_CODE_LIFETIME_SECS: i64 = 2 * 60;
const COOKIE: &str = "marquee_oauth";

/// The token endpoint's answer: OAuth 2's, plus OpenID Connect's `id_token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default)]
    pub id_token: Option<String>,
}

impl oauth2::ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A started sign-in, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Started {
    provider: Provider,
    pkce_verifier: String,
    nonce: String,
    redirect_to: String,
    /// Digest of the cookie the browser that started it holds.
    browser: String,
}

fn state_key(digest: &str) -> Key {
    Key::new(format!("OAUTH_STATE#{digest}"), "OAUTH_STATE")
}

fn login_code_key(digest: &str) -> Key {
    Key::new(format!("LOGIN_CODE#{digest}"), "LOGIN_CODE")
}

fn unknown_provider() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown_provider",
        "No such sign-in provider",
    )
    .detail("Sign in with google or facebook")
}

fn not_configured(provider: Provider) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "provider_not_configured",
        "This sign-in provider is not set up",
    )
    .detail(format!(
        "Sign-in with {} is not configured here",
        provider.title()
    ))
}

fn provider_failed(provider: Provider, what: impl std::fmt::Display) -> Problem {
    tracing::warn!(provider = provider.as_str(), error = %what, "sign-in provider failed");
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "provider_error",
        "The sign-in provider failed",
    )
    .detail(format!(
        "{} could not complete the sign-in; try again",
        provider.title()
    ))
}

fn configured(app: &App, name: &str) -> Result<(Provider, Settings), Problem> {
    let provider = Provider::parse(name).ok_or_else(unknown_provider)?;
    let settings = providers::of(app)
        .settings(provider)
        .cloned()
        .ok_or_else(|| not_configured(provider))?;
    Ok((provider, settings))
}

/// Where the provider's endpoints are, for this call.
struct Resolved {
    authorize: String,
    token: String,
    /// OpenID Connect: the issuer and its key set.
    oidc: Option<(String, String)>,
    graph: Option<String>,
}

async fn resolve_endpoints(
    app: &App,
    provider: Provider,
    settings: &Settings,
) -> Result<Resolved, Problem> {
    match &settings.endpoints {
        Endpoints::Oidc { issuer } => {
            let providers = providers::of(app);
            let found = providers
                .discovery(issuer)
                .await
                .map_err(|e| provider_failed(provider, e))?;
            Ok(Resolved {
                authorize: found.authorization_endpoint.clone(),
                token: found.token_endpoint.clone(),
                oidc: Some((found.issuer.clone(), found.jwks_uri.clone())),
                graph: None,
            })
        }
        Endpoints::Graph {
            authorize_url,
            token_url,
            graph_url,
        } => Ok(Resolved {
            authorize: authorize_url.clone(),
            token: token_url.clone(),
            oidc: None,
            graph: Some(graph_url.clone()),
        }),
    }
}

fn client(
    app: &App,
    provider: Provider,
    settings: &Settings,
    endpoints: &Resolved,
) -> Result<OAuthClient, Problem> {
    let bad = |e: oauth2::url::ParseError| provider_failed(provider, e);
    let mut client = oauth2::Client::new(ClientId::new(settings.client_id.clone()))
        .set_auth_uri(AuthUrl::new(endpoints.authorize.clone()).map_err(bad)?)
        .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(bad)?)
        .set_redirect_uri(
            RedirectUrl::new(providers::of(app).callback_url(provider)).map_err(bad)?,
        );
    if let Some(secret) = &settings.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    // Facebook takes the client's credentials in the form, Google either way.
    if provider == Provider::Facebook {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    Ok(client)
}

fn cookie_name(app: &App) -> String {
    if providers::of(app).secure_cookie {
        format!("__Host-{COOKIE}")
    } else {
        COOKIE.to_string()
    }
}

fn set_cookie(app: &App, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if providers::of(app).secure_cookie {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(app)
    ))
    .ok()
}

fn cookie(app: &App, headers: &HeaderMap) -> Option<String> {
    let name = cookie_name(app);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StartQuery {
    /// Where to return after the sign-in: one of the allowed client URLs.
    pub redirect_to: Option<String>,
}

/// auth-oauth-start: to the provider, with a fresh state bound to this browser.
pub async fn start(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(query): Query<StartQuery>,
) -> Result<Response, Problem> {
    let (provider, settings) = configured(&app, &name)?;
    let redirect_to = query.redirect_to.unwrap_or_default();
    if !providers::of(&app).redirect_allowed(&redirect_to) {
        return Err(Problem::validation(vec![
            marquee_core::http::problem::FieldError {
                field: "redirect_to".into(),
                message: "must be one of this service's client URLs".into(),
            },
        ]));
    }
    let endpoints = resolve_endpoints(&app, provider, &settings).await?;
    let client = client(&app, provider, &settings, &endpoints)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = secret::new_token();
    let nonce = secret::new_token();
    let browser = secret::new_token();
    let mut request = client
        .authorize_url(|| CsrfToken::new(state.clone()))
        .set_pkce_challenge(challenge);
    for scope in provider.scopes() {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    if endpoints.oidc.is_some() {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    let (url, _) = request.url();
    let now = app.clock.now().unix_timestamp();
    let started = Started {
        provider,
        pkce_verifier: verifier.secret().clone(),
        nonce,
        redirect_to,
        browser: secret::digest(&browser),
    };
    let mut item = entity_item("oauth_state", &state_key(&secret::digest(&state)), &started);
    expiry::stamp(&mut item, now + STATE_LIFETIME_SECS);
    app.table
        .write(Write::put(item).when(Condition::NotExists))
        .await?;
    let mut response = (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response();
    if let Some(cookie) = set_cookie(&app, &browser, STATE_LIFETIME_SECS) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CallbackQuery {
    pub state: Option<String>,
    pub code: Option<String>,
    /// Set by the provider when the person refused or the provider failed.
    pub error: Option<String>,
}

/// A callback that cannot be tied to a sign-in this browser started: a page, since there
/// is nowhere safe to send the person.
fn refused_page(app: &App, problem: Problem) -> Response {
    let back = app.config.public_url.clone();
    let mut response = pages::outcome("Sign-in", Err(problem), &back);
    if let Some(cookie) = set_cookie(app, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn bad_state() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_state",
        "This sign-in is invalid, already finished or expired",
    )
    .detail("Start signing in again from the app")
}

/// The sign-in this browser started, used up.
async fn take_started(
    app: &App,
    provider: Provider,
    state: Option<&str>,
    headers: &HeaderMap,
    now: i64,
) -> Result<Started, Problem> {
    let digest = secret::digest(state.ok_or_else(bad_state)?);
    let item = expiry::get_live(app.table.as_ref(), &state_key(&digest), now)
        .await?
        .ok_or_else(bad_state)?;
    let started: Started = from_entity_item("oauth_state", item)?;
    let same_browser = cookie(app, headers).is_some_and(|c| secret::digest(&c) == started.browser);
    if started.provider != provider || !same_browser {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "This sign-in was not started in this browser",
        )
        .detail("Start signing in again from the app"));
    }
    match app
        .table
        .write(expiry::use_up(state_key(&digest), now))
        .await
    {
        Ok(_) => Ok(started),
        Err(marquee_core::store::StoreError::ConditionFailed) => Err(bad_state()),
        Err(e) => Err(e.into()),
    }
}

/// auth-oauth-callback: back from the provider; 303 to `redirect_to` with a `login_code`,
/// or with `error` (and `error_description`).
pub async fn callback(
    State(app): State<App>,
    Path(name): Path<String>,
    Query(query): Query<CallbackQuery>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    let (provider, settings) = match configured(&app, &name) {
        Ok(found) => found,
        Err(problem) => return refused_page(&app, problem),
    };
    let now = app.clock.now().unix_timestamp();
    let started = match take_started(&app, provider, query.state.as_deref(), &headers, now).await {
        Ok(started) => started,
        Err(problem) => return refused_page(&app, problem),
    };
    let outcome = finish(&app, provider, &settings, &started, &query, &origin, now).await;
    let mut target = url::Url::parse(&started.redirect_to).expect("checked at the start");
    // The browser keeps its cookie for the exchange of the code, and only then.
    let mut cookie = set_cookie(&app, "", 0);
    match outcome {
        Ok(code) => {
            target.query_pairs_mut().append_pair("login_code", &code);
            cookie = self::cookie(&app, &headers)
                .and_then(|value| set_cookie(&app, &value, LOGIN_CODE_LIFETIME_SECS));
        }
        Err(problem) => {
            let description = problem
                .detail
                .clone()
                .unwrap_or_else(|| problem.title.into());
            target
                .query_pairs_mut()
                .append_pair("error", problem.code)
                .append_pair("error_description", &description);
        }
    }
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn finish(
    app: &App,
    provider: Provider,
    settings: &Settings,
    started: &Started,
    query: &CallbackQuery,
    origin: &Origin,
    now: i64,
) -> Result<String, Problem> {
    if let Some(error) = &query.error {
        return Err(if error == "access_denied" {
            Problem::new(StatusCode::FORBIDDEN, "access_denied", "Sign-in canceled").detail(
                format!("You did not allow {} to sign you in", provider.title()),
            )
        } else {
            provider_failed(provider, format!("the provider answered error={error}"))
        });
    }
    let code = query
        .code
        .clone()
        .ok_or_else(|| provider_failed(provider, "no code in the callback"))?;
    let endpoints = resolve_endpoints(app, provider, settings).await?;
    let client = client(app, provider, settings, &endpoints)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(started.pkce_verifier.clone()))
        .request_async(providers::of(app).http())
        .await
        .map_err(|e| provider_failed(provider, describe_token_error(&e)))?;
    let profile = match (&endpoints.oidc, &endpoints.graph) {
        (Some((issuer, jwks_uri)), _) => {
            let token = tokens
                .extra_fields()
                .id_token
                .as_deref()
                .ok_or_else(|| provider_failed(provider, "no ID token"))?;
            let keys = providers::of(app)
                .keys_with(jwks_uri, id_token::kid(token).as_deref())
                .await
                .map_err(|e| provider_failed(provider, e))?;
            let claims = id_token::verify(
                token,
                &keys,
                issuer,
                &settings.client_id,
                &started.nonce,
                now,
            )
            .map_err(|e| provider_failed(provider, e))?;
            let (first, last) = match (&claims.given_name, &claims.family_name) {
                (None, None) => accounts::Profile::split_name(claims.name.as_deref()),
                (first, last) => (first.clone(), last.clone()),
            };
            accounts::Profile {
                subject: claims.sub,
                email: claims.email.filter(|_| claims.email_verified == Some(true)),
                first_name: first,
                last_name: last,
            }
        }
        (None, Some(graph)) => {
            #[derive(Deserialize)]
            struct Me {
                id: String,
                name: Option<String>,
                email: Option<String>,
            }
            let me: Me = providers::of(app)
                .http()
                .get_json(
                    &format!("{graph}/me?fields=id,name,email"),
                    Some(tokens.access_token().secret()),
                )
                .await
                .map_err(|e| provider_failed(provider, e))?;
            let (first, last) = accounts::Profile::split_name(me.name.as_deref());
            // An email Facebook returns is one it confirmed.
            accounts::Profile {
                subject: me.id,
                email: me.email,
                first_name: first,
                last_name: last,
            }
        }
        (None, None) => return Err(provider_failed(provider, "no profile endpoint")),
    };
    let user = accounts::resolve(app, provider, &profile, origin, now).await?;
    let code = secret::new_token();
    let bound = LoginCode {
        user_id: user.id.clone(),
        provider,
        browser: Some(started.browser.clone()),
        epoch: user.session_epoch,
    };
    let mut item = entity_item(
        "login_code",
        &login_code_key(&secret::digest(&code)),
        &bound,
    );
    expiry::stamp(&mut item, now + LOGIN_CODE_LIFETIME_SECS);
    app.table
        .write(Write::put(item).when(Condition::NotExists))
        .await?;
    Ok(code)
}

fn describe_token_error<E: std::error::Error>(
    error: &oauth2::RequestTokenError<E, BasicErrorResponse>,
) -> String {
    match error {
        oauth2::RequestTokenError::ServerResponse(answer) => {
            format!("token endpoint: {}", answer.error())
        }
        oauth2::RequestTokenError::Request(e) => format!("token endpoint: {e}"),
        other => format!("token endpoint: {other}"),
    }
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The `login_code` the callback put on `redirect_to`.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub login_code: String,
}

fn invalid_login_code() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_login_code",
        "The login code is invalid, already used or expired",
    )
    .detail("Sign in again")
}

/// A login code as stored: who signed in, how, from which browser, at which epoch.
#[derive(Debug, Serialize, Deserialize)]
struct LoginCode {
    user_id: String,
    provider: Provider,
    /// Digest of the cookie of the browser that started the sign-in.
    #[serde(default)]
    browser: Option<String>,
    #[serde(default)]
    epoch: i64,
}

/// auth-oauth-exchange: the login code for the token pair (or the second step). Only the
/// browser that started the sign-in can trade it: its cookie must come with the request,
/// and the answer clears it.
pub async fn exchange(
    State(app): State<App>,
    origin: Origin,
    headers: HeaderMap,
    Json(body): Json<ExchangeRequest>,
) -> Result<Response, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let key = login_code_key(&secret::digest(&body.login_code));
    let item = expiry::get_live(app.table.as_ref(), &key, now)
        .await?
        .ok_or_else(invalid_login_code)?;
    let code: LoginCode = from_entity_item("login_code", item)?;
    let same_browser = cookie(&app, &headers)
        .is_some_and(|c| code.browser.as_deref() == Some(secret::digest(&c).as_str()));
    if !same_browser {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid_login_code",
            "This login code was not issued to this browser",
        )
        .detail("Sign in again from this browser"));
    }
    let user = crate::accounts::user::find(&app, &code.user_id)
        .await?
        .filter(|user| user.session_epoch == code.epoch)
        .ok_or_else(invalid_login_code)?;
    if !user.active {
        return Err(login::inactive(&user));
    }
    check_unlocked(&user, now)?;
    let amr = [match code.provider {
        Provider::Google => AuthMethod::Google,
        Provider::Facebook => AuthMethod::Facebook,
    }];
    let answer = if user.mfa_enabled {
        match app.table.write(expiry::use_up(key, now)).await {
            Ok(_) => {}
            Err(marquee_core::store::StoreError::ConditionFailed) => {
                return Err(invalid_login_code());
            }
            Err(e) => return Err(e.into()),
        }
        let challenge = challenge::open(&app, &user.id, &amr, user.session_epoch, now).await?;
        LoginAnswer::MfaRequired(challenge)
    } else {
        let pair = login::sign_in(
            &app,
            &user,
            &amr,
            &origin,
            vec![expiry::use_up(key, now)],
            |_| invalid_login_code(),
            now,
        )
        .await?;
        LoginAnswer::Tokens(pair)
    };
    let mut response = axum::Json(answer).into_response();
    if let Some(cleared) = set_cookie(&app, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cleared);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn app(api_url: &str) -> App {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let api = api_url.to_string();
        let config = marquee_core::Config::from_lookup(|name| match name {
            "MARQUEE_DATA_DIR" => Some(data.clone()),
            "MARQUEE_API_URL" => Some(api.clone()),
            _ => None,
        })
        .unwrap();
        App::start(config).await.unwrap()
    }

    #[tokio::test]
    async fn the_state_cookie_is_host_only_and_secure_on_https() {
        let secure = app("https://api.cinema.example").await;
        let set = set_cookie(&secure, "v", 600).unwrap();
        assert_eq!(
            set.to_str().unwrap(),
            "__Host-marquee_oauth=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-marquee_oauth=v; marquee_oauth=w"),
        );
        assert_eq!(cookie(&secure, &headers).as_deref(), Some("v"));
        let local = app("http://127.0.0.1:3000").await;
        assert!(
            !set_cookie(&local, "v", 0)
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        assert_eq!(cookie(&local, &headers).as_deref(), Some("w"));
    }
}
