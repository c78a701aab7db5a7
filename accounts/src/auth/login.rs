//! Signing in and out: login with per-account throttling, refresh, logout, and the
//! authentication of every signed-in request.

use super::mfa::challenge::{self, MfaChallenge};
use super::password;
use super::security_log::{self, EventType};
use super::session::{self, AuthMethod, Origin};
use super::tokens::{self, TokenPair};
use crate::accounts::user::{self, User};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Json, validate};
use marquee_core::store::{Cmp, Condition, StoreError, Update, Write};
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
    #[garde(length(chars, min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[garde(length(chars, min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[garde(length(chars, min = 1, max = 200))]
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

/// How often a reservation is tried again when parallel guesses moved the count first.
const RESERVE_TRIES: usize = 8;

/// One guess at a secret that only the account's owner should know (the password, an
/// authenticator or recovery code), counted toward the lockout *before* it is checked:
/// the count moves by a write guarded on the count read, so parallel guesses are counted
/// one after another and the one that reaches the limit locks the account for all the
/// others. A right guess gives its count back ([`Attempt::succeeded`]), or the completed
/// sign-in clears the count; a wrong one stays counted ([`Attempt::failed`]).
#[must_use = "an attempt is either failed or succeeded"]
pub struct Attempt {
    user_id: String,
    /// The lock this reservation set, when it was the one that reached the limit.
    lock_set: Option<i64>,
    failures: i64,
}

impl Attempt {
    /// Reserves one guess for `user`; 429 while the account is locked.
    pub async fn reserve(app: &App, user: &User, now: i64) -> Result<Self, Problem> {
        let (mut failures, mut locked_until) = (user.failed_logins, user.locked_until);
        for _ in 0..RESERVE_TRIES {
            if let Some(until) = locked_until.filter(|until| *until > now) {
                return Err(locked(until - now));
            }
            let next = failures + 1;
            let lock = lock_secs(next);
            let lock_set = (lock > 0).then_some(now + lock);
            let mut update = Update::new().set("failed_logins", next);
            if let Some(until) = lock_set {
                update = update.set("locked_until", until);
            }
            let counted = if failures == 0 {
                Condition::AttrNotExists("failed_logins".into())
                    .or(Condition::eq("failed_logins", 0))
            } else {
                Condition::eq("failed_logins", failures)
            };
            let write =
                Write::update(user::key(&user.id), update).when(Condition::Exists.and(counted));
            match app.table.write(write).await {
                Ok(_) => {
                    return Ok(Self {
                        user_id: user.id.clone(),
                        lock_set,
                        failures: next,
                    });
                }
                Err(StoreError::ConditionFailed) => {
                    let now_user = user::find(app, &user.id)
                        .await?
                        .ok_or_else(invalid_credentials)?;
                    (failures, locked_until) = (now_user.failed_logins, now_user.locked_until);
                }
                Err(e) => return Err(e.into()),
            }
        }
        // So many guesses at once that this one never got counted: refused like a lock.
        Err(locked(1))
    }

    /// The guess was wrong: it stays counted, and the security log records it (`kind`),
    /// and the lockout when this guess reached it.
    pub async fn failed(self, app: &App, kind: EventType, detail: &str, origin: &Origin) {
        match kind {
            EventType::SignInFailed => {
                marquee_core::metrics::count(marquee_core::metrics::Metric::SignInFailures)
            }
            EventType::MfaFailed => {
                marquee_core::metrics::count(marquee_core::metrics::Metric::MfaFailures)
            }
            _ => {}
        }
        security_log::record(app, &self.user_id, kind, origin, detail.to_string()).await;
        if let Some(until) = self.lock_set {
            let lock = until - app.clock.now().unix_timestamp();
            security_log::record(
                app,
                &self.user_id,
                EventType::LockedOut,
                origin,
                format!(
                    "for {} seconds after {} failed attempts",
                    lock.max(0),
                    self.failures
                ),
            )
            .await;
        }
    }

    /// The guess was right: its count goes back, and a lock it set is lifted.
    pub async fn succeeded(self, app: &App) -> Result<(), Problem> {
        let give_back = Update::new().add("failed_logins", -1);
        let positive = Condition::compare("failed_logins", Cmp::Gt, 0);
        if let Some(until) = self.lock_set {
            let ours = Write::update(
                user::key(&self.user_id),
                give_back.clone().remove("locked_until"),
            )
            .when(positive.clone().and(Condition::eq("locked_until", until)));
            match app.table.write(ours).await {
                Ok(_) => return Ok(()),
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match app
            .table
            .write(Write::update(user::key(&self.user_id), give_back).when(positive))
            .await
        {
            // Already cleared by a sign-in meanwhile.
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The part of a change of the user's item that clears the failure count: a sign-in or a
/// password change that proved the owner.
pub fn cleared_failures(change: Update) -> Update {
    change.set("failed_logins", 0).remove("locked_until")
}

/// Opens a session for a user whose every step was checked, and issues its tokens. The
/// session, the `sign_in` event, the cleared failure count and `also` commit together,
/// and only while the account is still active at the session epoch read (so a session
/// cannot be opened across a change that ends sessions); when a condition of `also`
/// fails, `refused` names the problem from their positions.
pub async fn sign_in(
    app: &App,
    user: &User,
    amr: &[AuthMethod],
    origin: &Origin,
    also: Vec<Write>,
    refused: impl FnOnce(&[usize]) -> Problem,
    now: i64,
) -> Result<TokenPair, Problem> {
    let (session, refresh, open) =
        session::open(&user.id, user.role, user.session_epoch, amr, origin, now);
    let how = amr
        .iter()
        .map(|m| m.describe())
        .collect::<Vec<_>>()
        .join(" and ");
    let still_current = Condition::eq("active", true)
        .and(Condition::eq("role", user.role.as_str()))
        .and(session::epoch_is(user.session_epoch));
    let writes_before_also = vec![
        open,
        security_log::write(
            &user.id,
            EventType::SignIn,
            origin,
            format!("with {how}"),
            now,
        ),
        Write::update(user::key(&user.id), cleared_failures(Update::new())).when(still_current),
    ];
    let offset = writes_before_also.len();
    let mut writes = writes_before_also;
    writes.extend(also);
    match app.table.transact(writes).await {
        Ok(()) => {
            marquee_core::metrics::count(marquee_core::metrics::Metric::SignIns);
            tokens::pair(&app.keys, &session, refresh, now)
        }
        Err(StoreError::TransactionCanceled { failed }) => {
            if failed.contains(&2) {
                return Err(changed_meanwhile());
            }
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

/// The account changed while signing in (its password, two-step sign-in, role or
/// activity): what was checked no longer holds.
pub fn changed_meanwhile() -> Problem {
    Problem::conflict(
        "account_changed",
        "The account changed while signing in; sign in again",
    )
}

/// Why an account that proved itself still cannot sign in: never activated, or turned off
/// by an admin (said only to whoever proved they hold the account, as sign-in does).
pub fn inactive(user: &User) -> Problem {
    if user.deactivated {
        Problem::new(
            StatusCode::FORBIDDEN,
            "account_deactivated",
            "This account was deactivated",
        )
        .detail(
            "An administrator turned this account off; contact support to have it turned on again",
        )
    } else {
        Problem::new(
            StatusCode::FORBIDDEN,
            "account_inactive",
            "This account is not active",
        )
        .detail("Activate it with the link we emailed you, or ask for a new one")
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
        marquee_core::metrics::count(marquee_core::metrics::Metric::SignInFailures);
        return Err(invalid_credentials());
    };
    let attempt = Attempt::reserve(&app, &user, now).await?;
    if !password::verify(&body.password, user.password_hash.as_deref()).await {
        attempt
            .failed(&app, EventType::SignInFailed, "wrong password", &origin)
            .await;
        return Err(invalid_credentials());
    }
    if !user.active {
        attempt.succeeded(&app).await?;
        return Err(inactive(&user));
    }
    if user.mfa_enabled {
        // The failure count stays until the second step succeeds: wrong codes add to it.
        attempt.succeeded(&app).await?;
        let challenge =
            challenge::open(&app, &user.id, &[AuthMethod::Pwd], user.session_epoch, now).await?;
        return Ok(axum::Json(LoginAnswer::MfaRequired(challenge)));
    }
    // The sign-in below clears the count this attempt reserved, in its own transaction.
    drop(attempt);
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
        app.table
            .write(
                Write::update(user::key(&caller.user_id), session::end_all(Update::new()))
                    .when(marquee_core::store::Condition::Exists),
            )
            .await?;
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
/// still hold (logout, password changes, MFA and role changes and deactivation end
/// sessions; see `session`).
pub async fn authenticate(
    app: &App,
    headers: &HeaderMap,
    origin: &Origin,
) -> Result<Principal, Problem> {
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
    match session::find_current(app, &claims.sid, &claims.sub, now).await? {
        Some((session, user)) if user.role == claims.role => Ok(Principal {
            user_id: claims.sub,
            role: claims.role,
            session_id: claims.sid,
            auth_time: session.auth_time(),
            origin: origin.clone(),
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
