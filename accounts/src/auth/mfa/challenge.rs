//! The second step of a sign-in: a first step (the password) that succeeded for an account
//! with MFA on answers an opaque `mfa_token` instead of tokens. Only its digest is stored,
//! bound to the user and their session epoch, for 5 minutes; it is used up when a code
//! completes the sign-in, and dies after [`MAX_CODES`] codes (each reserved before it is
//! checked, so parallel guesses cannot outrun the limit).

use crate::auth::session::AuthMethod;
use axum::http::StatusCode;
use marquee_core::app::App;
use marquee_core::expiry;
use marquee_core::http::problem::Problem;
use marquee_core::secret;
use marquee_core::store::{
    Cmp, Condition, Key, StoreError, Update, Write, entity_item, from_entity_item,
};
use serde::{Deserialize, Serialize};

pub const LIFETIME_SECS: i64 = 5 * 60;
/// Codes one challenge takes; with that many wrong, it is over.
pub const MAX_CODES: i64 = 5;

/// What a sign-in that needs its second step answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Send it to auth-mfa-verify with a code or a recovery code.
    pub mfa_token: String,
    /// Seconds the token stays valid.
    pub expires_in: i64,
}

/// The stored half of a challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    pub user_id: String,
    /// How the first step signed in.
    pub amr: Vec<AuthMethod>,
    /// The user's session epoch at the first step: a change that ends sessions ends this
    /// sign-in too.
    #[serde(default)]
    pub epoch: i64,
}

fn key(digest: &str) -> Key {
    Key::new(format!("MFA_TOKEN#{digest}"), "MFA_TOKEN")
}

pub fn invalid_token() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_mfa_token",
        "The sign-in step is invalid, already used or expired",
    )
    .detail("Sign in again")
}

/// Starts the second step for `user_id`.
pub async fn open(
    app: &App,
    user_id: &str,
    amr: &[AuthMethod],
    epoch: i64,
    now: i64,
) -> Result<MfaChallenge, Problem> {
    let token = secret::new_token();
    let challenge = Challenge {
        user_id: user_id.to_string(),
        amr: amr.to_vec(),
        epoch,
    };
    let mut item = entity_item("mfa_challenge", &key(&secret::digest(&token)), &challenge);
    expiry::stamp(&mut item, now + LIFETIME_SECS);
    app.table
        .write(Write::put(item).when(Condition::NotExists))
        .await?;
    Ok(MfaChallenge {
        mfa_required: true,
        mfa_token: token,
        expires_in: LIFETIME_SECS,
    })
}

/// The live challenge a token names, and its digest.
pub async fn find(app: &App, token: &str, now: i64) -> Result<(Challenge, String), Problem> {
    let digest = secret::digest(token);
    let item = expiry::get_live(app.table.as_ref(), &key(&digest), now)
        .await?
        .ok_or_else(invalid_token)?;
    Ok((from_entity_item("mfa_challenge", item)?, digest))
}

/// Counts one code against the challenge before it is checked; past [`MAX_CODES`] the
/// challenge is deleted and the token is invalid.
pub async fn reserve_code(app: &App, digest: &str, now: i64) -> Result<(), Problem> {
    let counted = Write::update(key(digest), Update::new().add("codes", 1)).when(
        Condition::Exists
            .and(Condition::compare(expiry::EXPIRES_AT, Cmp::Gt, now))
            .and(
                Condition::AttrNotExists("codes".into()).or(Condition::compare(
                    "codes",
                    Cmp::Lt,
                    MAX_CODES,
                )),
            ),
    );
    match app.table.write(counted).await {
        Ok(_) => Ok(()),
        Err(StoreError::ConditionFailed) => {
            app.table.write(Write::delete(key(digest))).await?;
            Err(invalid_token())
        }
        Err(e) => Err(e.into()),
    }
}

/// The write that uses the challenge up: it fails if it is gone or expired by now.
pub fn redeem(digest: &str, now: i64) -> Write {
    expiry::use_up(key(digest), now)
}
