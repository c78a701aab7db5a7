//! The security log: one event per sign-in, failure, lockout, password or MFA change,
//! revoked session, and admin change to an account, kept 90 days and listed newest first
//! to the user and to admins.
//!
//! Recording never makes the recorded action fail: where the action is a transaction the
//! event is one more write in it ([`write`]); elsewhere it is written after, best effort,
//! and a failure is only logged ([`record`]).

use super::session::Origin;
use axum::extract::State;
use marquee_core::app::App;
use marquee_core::expiry;
use marquee_core::http::guard::Principal;
use marquee_core::http::pagination::{Page, PageQuery, newest_first};
use marquee_core::http::problem::Problem;
use marquee_core::http::{Path, Query};
use marquee_core::store::{Key, Write, entity_item};
use serde::{Deserialize, Serialize};

/// How long events are kept.
pub const RETENTION_SECS: i64 = 90 * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    SignIn,
    SignInFailed,
    /// A wrong password confirming a change while signed in (it counts toward the lockout).
    PasswordCheckFailed,
    LockedOut,
    MfaFailed,
    MfaEnabled,
    MfaDisabled,
    MfaReset,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    PasswordChanged,
    PasswordReset,
    SessionRevoked,
    RefreshReuseDetected,
    RoleChanged,
    ActivationChanged,
    IdentityLinked,
    IdentityUnlinked,
    /// A payment for one of the account's orders that did not match it (another checkout,
    /// another amount or currency): the order stayed unpaid and the money went back.
    PaymentRejected,
}

/// One event as stored and as listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SecurityEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// RFC 3339.
    pub at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What happened, in a few words (e.g. `with an authenticator code`).
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecurityEventPage {
    pub items: Vec<SecurityEvent>,
    pub next_cursor: Option<String>,
}

fn partition(user_id: &str) -> String {
    format!("USER#{user_id}#SECURITY")
}

/// Event ids sort as the events happened, also within one millisecond (two events of one
/// transaction): monotonic in this process.
fn next_id() -> String {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    IDS.lock()
        .unwrap_or_else(|p| p.into_inner())
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

/// The write that records one event for `user_id` at `now`.
pub fn write(
    user_id: &str,
    kind: EventType,
    origin: &Origin,
    detail: impl Into<Option<String>>,
    now: i64,
) -> Write {
    let id = next_id();
    let event = SecurityEvent {
        kind,
        at: crate::accounts::user::rfc3339(now),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        detail: detail.into(),
        id: id.clone(),
    };
    let mut item = entity_item("security_event", &Key::new(partition(user_id), id), &event);
    expiry::stamp(&mut item, now + RETENTION_SECS);
    Write::put(item)
}

/// Records an event on its own; a failure is logged, never passed on.
pub async fn record(
    app: &App,
    user_id: &str,
    kind: EventType,
    origin: &Origin,
    detail: impl Into<Option<String>>,
) {
    let now = app.clock.now().unix_timestamp();
    if let Err(e) = app
        .table
        .write(write(user_id, kind, origin, detail, now))
        .await
    {
        tracing::error!(user = %user_id, event = ?kind, error = %e, "security event not recorded");
    }
}

async fn page(app: &App, user_id: &str, query: PageQuery) -> Result<SecurityEventPage, Problem> {
    let page: Page<SecurityEvent> = newest_first(
        app.table.as_ref(),
        "security_event",
        marquee_core::store::Query::partition(partition(user_id)),
        query,
    )
    .await?;
    Ok(SecurityEventPage {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

/// The caller's own events, newest first.
pub async fn mine(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<SecurityEventPage>, Problem> {
    Ok(axum::Json(page(&app, &caller.user_id, query).await?))
}

/// A user's events, for admins.
pub async fn of_user(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<SecurityEventPage>, Problem> {
    crate::accounts::user::find(&app, &id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user"))?;
    Ok(axum::Json(page(&app, &id, query).await?))
}
