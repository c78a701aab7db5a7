//! Single-use tokens sent by email (activation, password reset). Only their digest is
//! stored, under `TOKEN#<digest>`; reading checks expiry, and redeeming is a conditional
//! delete in the same transaction as the change the token allows.

use super::secret;
use crate::app::App;
use crate::expiry;
use crate::http::problem::Problem;
use crate::store::{Cmp, Condition, Item, Key, Write, schema};
use axum::http::StatusCode;

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
}

pub fn key(digest: &str) -> Key {
    Key::new(format!("TOKEN#{digest}"), "TOKEN")
}

/// A fresh token for `user_id`: the secret to send, its digest, and the write storing it.
pub fn issue(purpose: Purpose, user_id: &str, now: i64) -> (String, String, Write) {
    let token = secret::new_token();
    let digest = secret::digest(&token);
    let key = key(&digest);
    let mut item = Item::new();
    item.insert(schema::PK.into(), key.pk.into());
    item.insert(schema::SK.into(), key.sk.into());
    item.insert("entity".into(), "token".into());
    item.insert("purpose".into(), purpose.as_str().into());
    item.insert("user_id".into(), user_id.into());
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
    Write::delete(key(digest)).when(Condition::Exists.and(Condition::compare(
        expiry::EXPIRES_AT,
        Cmp::Gt,
        now,
    )))
}
