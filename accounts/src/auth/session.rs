//! Sessions: one per sign-in, the family of its rotating refresh tokens.
//!
//! The refresh token is `<session id>.<secret>`; the session keeps the digest of the current
//! secret and of the ones it replaced. Presenting a replaced secret means someone kept an old
//! token: the whole session is revoked. Access tokens name their session, and every
//! authenticated request checks it is still alive, so revoking a session stops its access
//! tokens at once.
//!
//! Ending every session of a user does not depend on finding them: each session keeps the
//! user's session epoch from when it opened, and a change that ends sessions moves the
//! user's epoch in the same write as the change itself. A session whose epoch is not the
//! user's is over, whether or not its item was deleted yet (deleting them is tidying).

use super::security_log::{self, EventType};
use crate::accounts::user::{self, User};
use axum::http::StatusCode;
use marquee_core::app::App;
use marquee_core::expiry;
use marquee_core::http::problem::Problem;
use marquee_core::role::Role;
use marquee_core::secret;
use marquee_core::store::{
    Condition, Index, Item, Key, Query, StoreError, Update, Write, entity_item, from_entity_item,
    schema,
};
use serde::{Deserialize, Serialize};

/// A session dies after this long without a refresh.
pub const IDLE_LIFETIME_SECS: i64 = 7 * 86_400;
/// And after this long whatever happens.
pub const ABSOLUTE_LIFETIME_SECS: i64 = 30 * 86_400;
/// Replaced refresh secrets remembered for reuse detection.
const REMEMBERED_DIGESTS: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub role: Role,
    pub created_at: i64,
    pub last_used_at: i64,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
    pub refresh_digest: String,
    #[serde(default)]
    pub previous_digests: Vec<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// How it signed in; sessions from before MFA signed in with a password.
    #[serde(default = "password_only")]
    pub amr: Vec<AuthMethod>,
    /// When it signed in; refreshes keep it. Older sessions: their creation.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// The user's session epoch when it opened (see the module's notes).
    #[serde(default)]
    pub epoch: i64,
}

pub use marquee_core::http::guard::Origin;

/// How a session signed in (the `amr` claim of its access tokens, RFC 8176 values where
/// there is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// The account's password.
    Pwd,
    /// An authenticator (TOTP) code.
    Otp,
    /// A recovery code.
    Recovery,
    /// Signed in with Google.
    Google,
    /// Signed in with Facebook.
    Facebook,
}

impl AuthMethod {
    /// For the security log: "with a password and an authenticator code".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Pwd => "a password",
            Self::Otp => "an authenticator code",
            Self::Recovery => "a recovery code",
            Self::Google => "Google",
            Self::Facebook => "Facebook",
        }
    }
}

fn password_only() -> Vec<AuthMethod> {
    vec![AuthMethod::Pwd]
}

pub fn key(id: &str) -> Key {
    Key::new(format!("SESSION#{id}"), "SESSION")
}

fn user_sessions_pk(user_id: &str) -> String {
    format!("USER#{user_id}#SESSIONS")
}

impl Session {
    pub fn auth_time(&self) -> i64 {
        self.auth_time.unwrap_or(self.created_at)
    }

    pub fn expires_at(&self) -> i64 {
        self.idle_expires_at.min(self.absolute_expires_at)
    }

    pub fn is_alive(&self, now: i64) -> bool {
        self.expires_at() > now
    }

    fn to_item(&self) -> Item {
        let mut item = entity_item("session", &key(&self.id), self);
        item.insert(
            Index::Gsi1.pk().into(),
            user_sessions_pk(&self.user_id).into(),
        );
        item.insert(Index::Gsi1.sk().into(), self.id.clone().into());
        expiry::stamp(&mut item, self.expires_at());
        item
    }

    fn from_item(item: Item) -> Result<Self, StoreError> {
        from_entity_item("session", item)
    }
}

fn refresh_token(session_id: &str, secret: &str) -> String {
    format!("{session_id}.{secret}")
}

fn invalid_refresh() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
        "The refresh token is not valid",
    )
    .detail("Sign in again")
}

const EPOCH: &str = "session_epoch";

/// The condition that a user's session epoch is still `epoch` (an absent one is 0).
pub fn epoch_is(epoch: i64) -> Condition {
    let same = Condition::eq(EPOCH, epoch);
    if epoch == 0 {
        Condition::AttrNotExists(EPOCH.into()).or(same)
    } else {
        same
    }
}

/// Adds to a change of the user's item what ends every session they have.
pub fn end_all(change: Update) -> Update {
    change.add(EPOCH, 1)
}

/// Adds to a change of `user`'s item what ends every session but `keep`: the epoch moves
/// on from the one read (the change must then be guarded by [`epoch_is`] on it), and the
/// write returned moves `keep` along.
pub fn end_all_but(user: &User, change: Update, keep: &str) -> (Update, Write) {
    let next = user.session_epoch + 1;
    (
        change.set(EPOCH, next),
        Write::update(key(keep), Update::new().set("epoch", next)).when(Condition::Exists),
    )
}

/// The write that opens a new session signed in by `amr`, and the refresh token that goes
/// with it. `epoch` is the user's session epoch as read; the caller's transaction checks
/// it is still the user's.
pub fn open(
    user_id: &str,
    role: Role,
    epoch: i64,
    amr: &[AuthMethod],
    origin: &Origin,
    now: i64,
) -> (Session, String, Write) {
    let id = ulid::Ulid::new().to_string();
    let secret = secret::new_token();
    let session = Session {
        id: id.clone(),
        user_id: user_id.to_string(),
        role,
        created_at: now,
        last_used_at: now,
        idle_expires_at: now + IDLE_LIFETIME_SECS,
        absolute_expires_at: now + ABSOLUTE_LIFETIME_SECS,
        refresh_digest: secret::digest(&secret),
        previous_digests: Vec::new(),
        user_agent: origin.user_agent.clone(),
        ip: origin.ip.clone(),
        amr: amr.to_vec(),
        auth_time: Some(now),
        epoch,
    };
    let write = Write::put(session.to_item()).when(Condition::NotExists);
    (session, refresh_token(&id, &secret), write)
}

/// The session, if it exists and is alive.
pub async fn find_alive(app: &App, id: &str, now: i64) -> Result<Option<Session>, Problem> {
    let Some(item) = app.table.get(&key(id)).await? else {
        return Ok(None);
    };
    let session = Session::from_item(item)?;
    Ok(session.is_alive(now).then_some(session))
}

/// Whether `session` still holds for `user`: theirs, alive, of the user's current epoch,
/// and the account active.
pub fn holds(session: &Session, user: &User, now: i64) -> bool {
    session.user_id == user.id
        && session.is_alive(now)
        && session.epoch == user.session_epoch
        && user.active
}

/// The session `id` of `user_id` and its user, when the session still holds (both read at
/// once).
pub async fn find_current(
    app: &App,
    id: &str,
    user_id: &str,
    now: i64,
) -> Result<Option<(Session, User)>, Problem> {
    let session_key = key(id);
    let (session, user) = tokio::join!(app.table.get(&session_key), user::find(app, user_id));
    let (Some(session), Some(user)) = (session?, user?) else {
        return Ok(None);
    };
    let session = Session::from_item(session)?;
    Ok(holds(&session, &user, now).then_some((session, user)))
}

/// Trades a refresh token for a new one in the same session. A replaced token revokes the
/// session.
pub async fn rotate(
    app: &App,
    presented: &str,
    origin: &Origin,
    now: i64,
) -> Result<(Session, String), Problem> {
    let (id, secret) = presented.split_once('.').ok_or_else(invalid_refresh)?;
    let session = find_alive(app, id, now)
        .await?
        .ok_or_else(invalid_refresh)?;
    let user = user::find(app, &session.user_id).await?;
    if !user.is_some_and(|user| holds(&session, &user, now)) {
        // Ended by a change of the account: the item is only tidied away.
        revoke(app, id).await?;
        return Err(invalid_refresh());
    }
    let presented_digest = secret::digest(secret);
    if presented_digest != session.refresh_digest {
        if session.previous_digests.contains(&presented_digest) {
            return Err(revoke_after_reuse(app, &session, origin).await);
        }
        return Err(invalid_refresh());
    }
    let next_secret = secret::new_token();
    let mut previous = session.previous_digests.clone();
    previous.push(session.refresh_digest.clone());
    let excess = previous.len().saturating_sub(REMEMBERED_DIGESTS);
    previous.drain(..excess);
    let rotated = Session {
        last_used_at: now,
        idle_expires_at: (now + IDLE_LIFETIME_SECS).min(session.absolute_expires_at),
        refresh_digest: secret::digest(&next_secret),
        previous_digests: previous,
        ..session.clone()
    };
    let mut update = Update::new();
    for (attr, value) in rotated.to_item() {
        if attr != schema::PK && attr != schema::SK {
            update = update.set(attr, value);
        }
    }
    // Only one of two concurrent uses of the same token wins; the other is a reuse.
    let write = Write::update(key(id), update).when(Condition::eq(
        "refresh_digest",
        session.refresh_digest.clone(),
    ));
    match app.table.write(write).await {
        Ok(_) => Ok((rotated, refresh_token(id, &next_secret))),
        Err(StoreError::ConditionFailed) => Err(revoke_after_reuse(app, &session, origin).await),
        Err(e) => Err(e.into()),
    }
}

/// Someone presented a refresh token that was already traded: the token leaked, so the
/// whole session ends and the owner's security log says so.
async fn revoke_after_reuse(app: &App, session: &Session, origin: &Origin) -> Problem {
    tracing::warn!(session = %session.id, user = %session.user_id, "refresh token reuse: session revoked");
    if let Err(problem) = revoke(app, &session.id).await {
        return problem;
    }
    let now = app.clock.now().unix_timestamp();
    let events = vec![
        security_log::write(
            &session.user_id,
            EventType::RefreshReuseDetected,
            origin,
            None,
            now,
        ),
        security_log::write(
            &session.user_id,
            EventType::SessionRevoked,
            origin,
            "after refresh token reuse".to_string(),
            now,
        ),
    ];
    if let Err(e) = app.table.transact(events).await {
        tracing::error!(user = %session.user_id, error = %e, "security events not recorded");
    }
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
        "This refresh token was already used",
    )
    .detail("The session has been ended for safety; sign in again")
}

pub async fn revoke(app: &App, id: &str) -> Result<(), Problem> {
    app.table.write(Write::delete(key(id))).await?;
    Ok(())
}

/// Every session item of a user (alive or not, ended or not yet swept), oldest first.
pub async fn list(app: &App, user_id: &str) -> Result<Vec<Session>, Problem> {
    let mut sessions = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(
                &Query::on(Index::Gsi1, user_sessions_pk(user_id))
                    .limit(100)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            sessions.push(Session::from_item(item)?);
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            return Ok(sessions);
        }
    }
}

/// Revokes every session of a user except `keep`; returns how many were revoked.
pub async fn revoke_all(app: &App, user_id: &str, keep: Option<&str>) -> Result<usize, Problem> {
    let mut revoked = 0;
    for session in list(app, user_id).await? {
        if Some(session.id.as_str()) != keep {
            revoke(app, &session.id).await?;
            revoked += 1;
        }
    }
    Ok(revoked)
}
