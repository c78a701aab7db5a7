//! Signing in and out: login with per-account throttling, refresh, logout, and the
//! authentication of every signed-in request.

use super::password;
use super::session::{self, Origin};
use super::tokens::{self, TokenPair};
use crate::accounts::user::{self, User};
use crate::app::App;
use crate::http::guard::Principal;
use crate::http::problem::Problem;
use crate::http::{Json, validate};
use crate::store::{Update, Write, Written};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use garde::Validate;
use serde::Deserialize;

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
pub struct LoginRequest {
    #[garde(length(min = 1, max = 254))]
    pub email: String,
    #[garde(length(min = 1, max = 1024))]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[garde(length(min = 1, max = 200))]
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

pub fn origin(headers: &HeaderMap) -> Origin {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect::<String>())
    };
    Origin {
        user_agent: text(header::USER_AGENT.as_str()),
        ip: text("x-forwarded-for")
            .and_then(|v| v.split(',').next().map(|ip| ip.trim().to_string())),
    }
}

async fn record_failure(app: &App, user: &User, now: i64) -> Result<(), Problem> {
    let written = app
        .table
        .write(Write::update(
            user::key(&user.id),
            Update::new().add("failed_logins", 1),
        ))
        .await?;
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
        }
    }
    Ok(())
}

/// Opens a session for a user whose credentials were checked, and issues its tokens.
pub async fn sign_in(
    app: &App,
    user: &User,
    origin: &Origin,
    now: i64,
) -> Result<TokenPair, Problem> {
    let (session, refresh, open) = session::open(&user.id, user.role, origin, now);
    app.table.write(open).await?;
    tokens::pair(&app.keys, &user.id, user.role, &session.id, refresh, now)
}

pub async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<axum::Json<TokenPair>, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let Some(user) = user::find_by_email(&app, &body.email).await? else {
        // Same work, same answer as a wrong password.
        password::verify(&body.password, None).await;
        return Err(invalid_credentials());
    };
    if let Some(until) = user.locked_until.filter(|until| *until > now) {
        return Err(locked(until - now));
    }
    if !password::verify(&body.password, user.password_hash.as_deref()).await {
        record_failure(&app, &user, now).await?;
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
    if user.failed_logins != 0 || user.locked_until.is_some() {
        app.table
            .write(Write::update(
                user::key(&user.id),
                Update::new().set("failed_logins", 0).remove("locked_until"),
            ))
            .await?;
    }
    let pair = sign_in(&app, &user, &origin(&headers), now).await?;
    Ok(axum::Json(pair))
}

pub async fn refresh(
    State(app): State<App>,
    Json(body): Json<RefreshRequest>,
) -> Result<axum::Json<TokenPair>, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (session, refresh) = session::rotate(&app, &body.refresh_token, now).await?;
    let pair = tokens::pair(
        &app.keys,
        &session.user_id,
        session.role,
        &session.id,
        refresh,
        now,
    )?;
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
    if request.all {
        session::revoke_all(&app, &caller.user_id, None).await?;
    } else {
        session::revoke(&app, &caller.session_id).await?;
    }
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
