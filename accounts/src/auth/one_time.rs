//! Single-use tokens sent by email (activation, password reset). Only their digest is
//! stored, under `TOKEN#<digest>`; reading checks expiry, and redeeming is a conditional
//! delete in the same transaction as the change the token allows.

use crate::accounts::user::{self, User};
use axum::http::StatusCode;
use marquee_core::app::App;
use marquee_core::expiry;
use marquee_core::http::problem::Problem;
use marquee_core::secret;
use marquee_core::store::{Cmp, Condition, Key, StoreError, Update, Write, entity_item};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Activation,
    PasswordReset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::PasswordReset => "password_reset",
        }
    }

    pub fn lifetime_secs(self) -> i64 {
        match self {
            Self::Activation => 24 * 3600,
            Self::PasswordReset => 3600,
        }
    }

    /// The user attribute holding the digest of the live link.
    fn digest_attr(self) -> &'static str {
        match self {
            Self::Activation => "activation_digest",
            Self::PasswordReset => "reset_digest",
        }
    }

    /// The user attribute holding when the last link was sent.
    fn sent_at_attr(self) -> &'static str {
        match self {
            Self::Activation => "activation_sent_at",
            Self::PasswordReset => "reset_sent_at",
        }
    }

    /// Activation links are for inactive accounts, reset links for active ones.
    fn for_active_accounts(self) -> bool {
        self == Self::PasswordReset
    }

    fn live_digest(self, user: &User) -> Option<&String> {
        match self {
            Self::Activation => user.activation_digest.as_ref(),
            Self::PasswordReset => user.reset_digest.as_ref(),
        }
    }
}

/// One emailed link per account and purpose per minute.
pub const EMAIL_INTERVAL_SECS: i64 = 60;

/// Replaces the user's live link of this purpose with a new one and emails it (`email`
/// sends the new token); `marks` go on the user with the link's digest. Skipped when the
/// last one went out less than a minute ago or the account is not in the state the link
/// is for (a turned-off account is in neither). An error means "retry": the once-a-minute
/// stamp is taken back so the retry can send.
pub async fn send_fresh_link<F, Fut>(
    app: &App,
    user: &User,
    purpose: Purpose,
    marks: Update,
    email: F,
) -> Result<(), String>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let now = app.clock.now().unix_timestamp();
    let sent_at = purpose.sent_at_attr();
    let (token, digest, put_token) = issue(purpose, &user.id, now);
    let not_too_soon = Condition::AttrNotExists(sent_at.into()).or(Condition::compare(
        sent_at,
        Cmp::Le,
        now - EMAIL_INTERVAL_SECS,
    ));
    let mut writes = vec![
        put_token,
        Write::update(
            user::key(&user.id),
            marks.set(purpose.digest_attr(), digest).set(sent_at, now),
        )
        .when(
            Condition::eq("active", purpose.for_active_accounts())
                .and(user::not_deactivated())
                .and(not_too_soon),
        ),
    ];
    // The new link replaces the old one.
    if let Some(old) = purpose.live_digest(user) {
        writes.push(Write::delete(key(old)));
    }
    match app.table.transact(writes).await {
        Ok(()) => {}
        // Too soon after the last email, or the account changed meanwhile: nothing to send.
        Err(StoreError::TransactionCanceled { .. }) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    }
    if let Err(e) = email(token).await {
        let _ = app
            .table
            .write(
                Write::update(user::key(&user.id), Update::new().remove(sent_at))
                    .when(Condition::eq(sent_at, now)),
            )
            .await;
        return Err(e);
    }
    Ok(())
}

pub fn key(digest: &str) -> Key {
    Key::new(format!("TOKEN#{digest}"), "TOKEN")
}

/// A fresh token for `user_id`: the secret to send, its digest, and the write storing it.
pub fn issue(purpose: Purpose, user_id: &str, now: i64) -> (String, String, Write) {
    let token = secret::new_token();
    let digest = secret::digest(&token);
    let mut item = entity_item(
        "token",
        &key(&digest),
        &serde_json::json!({ "purpose": purpose.as_str(), "user_id": user_id }),
    );
    expiry::stamp(&mut item, now + purpose.lifetime_secs());
    (token, digest, Write::put(item).when(Condition::NotExists))
}

pub fn invalid_token() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_token",
        "The link is invalid, already used or expired",
    )
    .detail("Ask for a new one")
}

/// The user a live token of this purpose belongs to, and its digest.
pub async fn holder(
    app: &App,
    purpose: Purpose,
    token: &str,
    now: i64,
) -> Result<(String, String), Problem> {
    let digest = secret::digest(token);
    let item = app
        .table
        .get(&key(&digest))
        .await?
        .ok_or_else(invalid_token)?;
    let live = item.get("purpose").and_then(|v| v.as_str()) == Some(purpose.as_str())
        && !expiry::has_expired(&item, now);
    let user_id = item.get("user_id").and_then(|v| v.as_str());
    match (live, user_id) {
        (true, Some(user_id)) => Ok((user_id.to_string(), digest)),
        _ => Err(invalid_token()),
    }
}

/// The write that uses the token up: it fails if the token is gone or expired by now.
pub fn redeem(digest: &str, now: i64) -> Write {
    expiry::use_up(key(digest), now)
}
