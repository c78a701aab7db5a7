//! Signing in and out: login with per-account throttling, refresh, logout, and the
//! authentication of every signed-in request.

use super::mfa::challenge::{self, MfaChallenge};
use super::password;
use super::security_log::{self, EventType};
use super::session::{self, AuthMethod, Origin};
use super::tokens::{self, TokenPair};
use crate::accounts::user::{self, User};
use crate::app::App;
use crate::http::guard::Principal;
use crate::http::problem::Problem;
use crate::http::{Json, validate};
use crate::store::{StoreError, Update, Write, Written};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use garde::Validate;
use serde::{Deserialize, Serialize};

/// Failures allowed before the account locks.
pub const FREE_ATTEMPTS: i64 = 5;
/// The lockout doubles with every further failure, up to this.
pub const MAX_LOCK_SECS: i64 = 15 * 60;
const FIRST_LOCK_SECS: i64 = 30;

/// How long the account locks after `failures` consecutive failures.
pub fn lock_secs(failures: i64) -> i64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16) as u32;
    (FIRST_LOCK_SECS << doublings).min(MAX_LOCK_SECS)
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana@example.com", "password": "Velvet-Lantern-Orbit-42"}))]
pub struct LoginRequest {
    #[garde(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[garde(length(min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[garde(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// End every session of the account, not just this one.
    #[serde(default)]
    pub all: bool,
}

fn invalid_credentials() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Wrong email or password",
    )
}

fn locked(retry_after: i64) -> Problem {
    let mut problem = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Too many failed sign-ins",
    )
    .detail(format!("Try again in {retry_after} seconds"));
    problem.retry_after_secs = Some(retry_after.max(1) as u64);
    problem
}

/// The account is locked after too many failures: 429 until it opens again.
pub fn check_unlocked(user: &User, now: i64) -> Result<(), Problem> {
    match user.locked_until.filter(|until| *until > now) {
        Some(until) => Err(locked(until - now)),
        None => Ok(()),
    }
}

/// Counts one failed attempt (a wrong password or a wrong second-step code) toward the
/// account's lockout, and records it in the security log (`kind`, and `locked_out` when
/// this failure locks the account).
pub async fn record_failure(
    app: &App,
    user: &User,
    kind: EventType,
    detail: &str,
    origin: &Origin,
    now: i64,
) -> Result<(), Problem> {
    let written = app
        .table
        .write(Write::update(
            user::key(&user.id),
            Update::new().add("failed_logins", 1),
        ))
        .await?;
    security_log::record(app, &user.id, kind, origin, detail.to_string()).await;
    if let Written::Updated(item) = written {
        let failures = item
            .get("failed_logins")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        let lock = lock_secs(failures);
        if lock > 0 {
            app.table
                .write(Write::update(
                    user::key(&user.id),
                    Update::new().set("locked_until", now + lock),
                ))
                .await?;
            security_log::record(
                app,
                &user.id,
                EventType::LockedOut,
                origin,
                format!("for {lock} seconds after {failures} failed attempts"),
            )
            .await;
        }
    }
    Ok(())
}

/// The write that clears the failure count once a sign-in completes.
pub fn clear_failures(user: &User) -> Option<Write> {
    (user.failed_logins != 0 || user.locked_until.is_some()).then(|| {
        Write::update(
            user::key(&user.id),
            Update::new().set("failed_logins", 0).remove("locked_until"),
        )
    })
}

/// Opens a session for a user whose every step was checked, and issues its tokens. The
/// session, the `sign_in` event, the cleared failure count and `also` commit together;
/// when a condition of `also` fails, `refused` names the problem from their positions.
pub async fn sign_in(
    app: &App,
    user: &User,
    amr: &[AuthMethod],
    origin: &Origin,
    also: Vec<Write>,
    refused: impl FnOnce(&[usize]) -> Problem,
    now: i64,
) -> Result<TokenPair, Problem> {
    let (session, refresh, open) = session::open(&user.id, user.role, amr, origin, now);
    let how = amr
        .iter()
        .map(|m| m.describe())
        .collect::<Vec<_>>()
        .join(" and ");
    let mut writes = vec![
        open,
        security_log::write(
            &user.id,
            EventType::SignIn,
            origin,
            format!("with {how}"),
            now,
        ),
    ];
    writes.extend(clear_failures(user));
    let offset = writes.len();
    writes.extend(also);
    match app.table.transact(writes).await {
        Ok(()) => tokens::pair(&app.keys, &session, refresh, now),
        Err(StoreError::TransactionCanceled { failed }) => {
            let ours: Vec<usize> = failed
                .iter()
                .filter_map(|p| p.checked_sub(offset))
                .collect();
            Err(if ours.is_empty() {
                Problem::conflict("concurrent_update", "Try signing in again")
            } else {
                refused(&ours)
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// What a sign-in answers: the token pair, or the second step it still needs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Tokens(TokenPair),
    MfaRequired(MfaChallenge),
}

pub async fn login(
    State(app): State<App>,
    origin: Origin,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<LoginAnswer>, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let Some(user) = user::find_by_email(&app, &body.email).await? else {
        // Same work, same answer as a wrong password.
        password::verify(&body.password, None).await;
        return Err(invalid_credentials());
    };
    check_unlocked(&user, now)?;
    if !password::verify(&body.password, user.password_hash.as_deref()).await {
        record_failure(
            &app,
            &user,
            EventType::SignInFailed,
            "wrong password",
            &origin,
            now,
        )
        .await?;
        return Err(invalid_credentials());
    }
    if !user.active {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "account_inactive",
            "This account is not active",
        )
        .detail("Activate it with the link we emailed you, or ask for a new one"));
    }
    if user.mfa_enabled {
        // The failure count stays until the second step succeeds: wrong codes add to it.
        let challenge = challenge::open(&app, &user.id, &[AuthMethod::Pwd], now).await?;
        return Ok(axum::Json(LoginAnswer::MfaRequired(challenge)));
    }
    let pair = sign_in(
        &app,
        &user,
        &[AuthMethod::Pwd],
        &origin,
        Vec::new(),
        |_| Problem::internal(),
        now,
    )
    .await?;
    Ok(axum::Json(LoginAnswer::Tokens(pair)))
}

pub async fn refresh(
    State(app): State<App>,
    origin: Origin,
    Json(body): Json<RefreshRequest>,
) -> Result<axum::Json<TokenPair>, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (session, refresh) = session::rotate(&app, &body.refresh_token, &origin, now).await?;
    let pair = tokens::pair(&app.keys, &session, refresh, now)?;
    Ok(axum::Json(pair))
}

pub async fn logout(
    State(app): State<App>,
    caller: Principal,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    let request: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "The body is not valid JSON",
            )
            .detail(e.to_string())
        })?
    };
    let detail = if request.all {
        let ended = session::revoke_all(&app, &caller.user_id, None).await?;
        format!("signed out everywhere ({ended} sessions)")
    } else {
        session::revoke(&app, &caller.session_id).await?;
        "signed out".to_string()
    };
    security_log::record(
        &app,
        &caller.user_id,
        EventType::SessionRevoked,
        &caller.origin,
        detail,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller of a request with a bearer token: the token must verify and its session must
/// still be alive (logout, password changes and deactivation end sessions).
pub async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(Problem::unauthorized)?;
    let claims = tokens::verify(&app.keys, token.trim(), app.clock.now().unix_timestamp())?;
    let now = app.clock.now().unix_timestamp();
    match session::find_alive(app, &claims.sid, now).await? {
        Some(session) if session.user_id == claims.sub => Ok(Principal {
            user_id: claims.sub,
            role: claims.role,
            session_id: claims.sid,
            auth_time: session.auth_time(),
            origin: Origin::of(headers),
        }),
        _ => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "session_ended",
            "This session has ended",
        )
        .detail("Sign in again")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_grows_exponentially_and_is_capped() {
        assert_eq!(lock_secs(4), 0);
        assert_eq!(lock_secs(5), 30);
        assert_eq!(lock_secs(6), 60);
        assert_eq!(lock_secs(7), 120);
        assert_eq!(lock_secs(9), 480);
        assert_eq!(lock_secs(10), MAX_LOCK_SECS);
        assert_eq!(lock_secs(1000), MAX_LOCK_SECS);
    }
}
