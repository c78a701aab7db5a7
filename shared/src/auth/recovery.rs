//! Password forgot / reset (by emailed link) and change (signed in).

use super::one_time::{self, Purpose};
use super::{password, session};
use crate::accounts::user::{self, User};
use crate::app::App;
use crate::http::guard::Principal;
use crate::http::problem::{FieldError, Problem};
use crate::http::{Json, validate};
use crate::mail_jobs::{self, MailJob};
use crate::notifications::{self, Template};
use crate::store::{Condition, StoreError, Update, Write};
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[garde(length(min = 1, max = 200))]
    pub token: String,
    #[garde(skip)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    #[garde(length(min = 1, max = 1024))]
    pub current_password: String,
    #[garde(skip)]
    pub new_password: String,
}

async fn hash(password: &str) -> Result<String, Problem> {
    password::hash(password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::internal()
    })
}

async fn notify_changed(app: &App, user: &User, how: &str, sessions_note: &str) {
    let _ = notifications::send(
        app,
        Template::PasswordChanged,
        &user.email,
        json!({
            "email": user.email,
            "how": how,
            "sessions_note": sessions_note,
            "reset_link": format!("{}/forgot-password", app.config.public_url),
        }),
    )
    .await;
}

/// Always 202 with the same body and the same work; the mail worker sends an active
/// account a one-hour, single-use link.
pub async fn forgot(
    State(app): State<App>,
    Json(body): Json<crate::accounts::signup::EmailRequest>,
) -> Result<StatusCode, Problem> {
    validate::finish(validate::fields(&body))?;
    let job = MailJob::PasswordReset {
        email: user::normalize_email(&body.email),
    };
    mail_jobs::enqueue(&app, &job).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The mail worker's part of a forgotten password: a reset link for an active account.
pub async fn send_reset_link(app: &App, email: &str) -> Result<(), String> {
    let found = user::find_by_email(app, email)
        .await
        .map_err(|p| p.to_string())?;
    let Some(user) = found.filter(|u| u.active) else {
        return Ok(());
    };
    one_time::send_fresh_link(app, &user, Purpose::PasswordReset, |token| {
        notifications::send(
            app,
            Template::PasswordReset,
            &user.email,
            json!({
                "email": user.email,
                "link": format!("{}/reset-password?token={token}", app.config.public_url),
                "valid_minutes": Purpose::PasswordReset.lifetime_secs() / 60,
            }),
        )
    })
    .await
}

/// Sets a new password with an emailed token, and ends every session.
pub async fn reset(
    State(app): State<App>,
    Json(body): Json<ResetRequest>,
) -> Result<StatusCode, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (user_id, digest) =
        one_time::holder(&app, Purpose::PasswordReset, &body.token, now).await?;
    let user = user::find(&app, &user_id)
        .await?
        .ok_or_else(one_time::invalid_token)?;
    validate::finish(password::check_strength(
        "new_password",
        &body.new_password,
        &user.email,
    ))?;
    let hash = hash(&body.new_password).await?;
    let change = Write::update(
        user::key(&user_id),
        Update::new()
            .set("password_hash", hash)
            .set("failed_logins", 0)
            .remove("locked_until")
            .remove("reset_digest")
            .remove("reset_sent_at"),
    )
    .when(Condition::eq("reset_digest", digest.clone()));
    match app
        .table
        .transact(vec![one_time::redeem(&digest, now), change])
        .await
    {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Err(one_time::invalid_token()),
        Err(e) => return Err(e.into()),
    }
    session::revoke_all(&app, &user_id, None).await?;
    notify_changed(
        &app,
        &user,
        "with a reset link",
        "Every device was signed out.",
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the password of the signed-in user, and ends their other sessions.
pub async fn change(
    State(app): State<App>,
    caller: Principal,
    Json(body): Json<ChangeRequest>,
) -> Result<StatusCode, Problem> {
    let mut errors = validate::fields(&body);
    let user = user::find(&app, &caller.user_id)
        .await?
        .ok_or_else(Problem::unauthorized)?;
    errors.extend(password::check_strength(
        "new_password",
        &body.new_password,
        &user.email,
    ));
    if !password::verify(&body.current_password, user.password_hash.as_deref()).await {
        errors.push(FieldError {
            field: "current_password".into(),
            message: "is not your current password".into(),
        });
    }
    if body.new_password == body.current_password {
        errors.push(FieldError {
            field: "new_password".into(),
            message: "must differ from the current password".into(),
        });
    }
    validate::finish(errors)?;
    let hash = hash(&body.new_password).await?;
    let previous = user.password_hash.clone().unwrap_or_default();
    // Guarded against a concurrent change: the hash we checked must still be the one stored.
    let write = Write::update(
        user::key(&user.id),
        Update::new().set("password_hash", hash),
    )
    .when(Condition::eq("password_hash", previous));
    match app.table.write(write).await {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => {
            return Err(Problem::conflict(
                "concurrent_update",
                "The password was changed meanwhile; try again",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    session::revoke_all(&app, &user.id, Some(&caller.session_id)).await?;
    notify_changed(
        &app,
        &user,
        "from your account settings",
        "Your other devices were signed out.",
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
