//! Password forgot / reset (by emailed link) and change (signed in).

use super::one_time::{self, Purpose};
use super::security_log::{self, EventType};
use super::session::Origin;
use super::{login, mfa, password, session};
use crate::accounts::signup::EmailRequest;
use crate::accounts::user::{self, User};
use crate::mail_jobs::{self, MailJob};
use crate::notifications::{self, Template};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, validate};
use marquee_core::pages::{self, Submitted};
use marquee_core::store::{Condition, StoreError, Update, Write};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    #[garde(skip)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    #[garde(length(chars, min = 1, max = 1024))]
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: String,
    #[garde(skip)]
    pub new_password: String,
    /// A code from the authenticator; required while two-step sign-in is on.
    #[garde(inner(length(chars, min = 1, max = 16)))]
    pub code: Option<String>,
}

async fn hash(password: &str) -> Result<String, Problem> {
    password::hash(password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::internal()
    })
}

/// The email that tells the owner the password changed.
fn changed_notice(app: &App, user: &User, how: &str, sessions_note: &str) -> MailJob {
    MailJob::notice(
        Template::PasswordChanged,
        &user.email,
        json!({
            "email": user.email,
            "how": how,
            "sessions_note": sessions_note,
            "reset_link": format!("{}/reset-password", app.config.public_url),
        }),
    )
}

/// Always 202 with the same body and the same work; the mail worker sends an active
/// account a one-hour, single-use link.
pub async fn forgot(
    State(app): State<App>,
    body: Submitted<EmailRequest, EmailRequest>,
) -> Response {
    match body {
        Submitted::Json(body) => ask_for_reset_link(&app, body)
            .await
            .map(|()| StatusCode::ACCEPTED)
            .into_response(),
        Submitted::Form(body) => {
            let done = ask_for_reset_link(&app, body).await.map(|()| {
                "If an account uses this email, a reset link is on its way (valid for one hour).".to_string()
            });
            pages::outcome("Forgot your password?", done, "/reset-password")
        }
    }
}

async fn ask_for_reset_link(app: &App, body: EmailRequest) -> Result<(), Problem> {
    validate::finish(validate::fields(&body))?;
    let job = MailJob::PasswordReset {
        email: user::normalize_email(&body.email),
    };
    mail_jobs::enqueue(app, &job).await
}

/// The reset page's form: the new password typed twice.
#[derive(Debug, Deserialize)]
pub struct ResetForm {
    pub token: String,
    pub new_password: String,
    pub new_password_confirm: String,
}

/// The mail worker's part of a forgotten password: a reset link for an active account.
pub async fn send_reset_link(app: &App, email: &str) -> Result<(), String> {
    let found = user::find_by_email(app, email)
        .await
        .map_err(|p| p.to_string())?;
    let user = match found {
        Some(user) if user.active => user,
        Some(user) if user.deactivated => {
            return crate::accounts::signup::notify_deactivated(app, &user).await;
        }
        _ => return Ok(()),
    };
    one_time::send_fresh_link(app, &user, Purpose::PasswordReset, Update::new(), |token| {
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

/// Sets a new password with an emailed token, and ends every session; from a client
/// (JSON) or from the reset page's form.
pub async fn reset(
    State(app): State<App>,
    origin: Origin,
    body: Submitted<ResetRequest, ResetForm>,
) -> Response {
    match body {
        Submitted::Json(body) => reset_password(&app, &origin, body)
            .await
            .map(|()| StatusCode::NO_CONTENT)
            .into_response(),
        Submitted::Form(form) => {
            let back = format!("/reset-password?token={}", form.token);
            let done = if form.new_password != form.new_password_confirm {
                Err(Problem::validation(vec![FieldError {
                    field: "new_password_confirm".into(),
                    message: "differs from the new password".into(),
                }]))
            } else {
                let body = ResetRequest {
                    token: form.token,
                    new_password: form.new_password,
                };
                reset_password(&app, &origin, body).await.map(|()| {
                    "Your password was changed. Every device was signed out: sign in with the new one.".to_string()
                })
            };
            pages::outcome("Choose a new password", done, &back)
        }
    }
}

async fn reset_password(app: &App, origin: &Origin, body: ResetRequest) -> Result<(), Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (user_id, digest) = one_time::holder(app, Purpose::PasswordReset, &body.token, now).await?;
    let user = user::find(app, &user_id)
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
        session::end_all(login::cleared_failures(
            Update::new()
                .set("password_hash", hash)
                .remove("reset_digest")
                .remove("reset_sent_at"),
        )),
    )
    .when(Condition::eq("reset_digest", digest.clone()).and(Condition::eq("active", true)));
    let event = security_log::write(
        &user_id,
        EventType::PasswordReset,
        origin,
        "with an emailed link".to_string(),
        now,
    );
    let notice = changed_notice(
        app,
        &user,
        "with a reset link",
        "Every device was signed out.",
    )
    .owe(now);
    match app
        .table
        .transact(vec![
            one_time::redeem(&digest, now),
            change,
            event,
            notice.write.clone(),
        ])
        .await
    {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Err(one_time::invalid_token()),
        Err(e) => return Err(e.into()),
    }
    mail_jobs::send_owed(app, [notice]).await;
    session::revoke_all(app, &user_id, None).await?;
    Ok(())
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
    if body.new_password == body.current_password {
        errors.push(FieldError {
            field: "new_password".into(),
            message: "must differ from the current password".into(),
        });
    }
    let now = app.clock.now().unix_timestamp();
    // The current password (and code) are a guess like a sign-in's: counted before checked.
    let attempt = login::Attempt::reserve(&app, &user, now).await?;
    let mut wrong = Vec::new();
    if !password::verify(&body.current_password, user.password_hash.as_deref()).await {
        wrong.push(FieldError {
            field: "current_password".into(),
            message: "is not your current password".into(),
        });
    }
    let spend_code = if wrong.is_empty() {
        match mfa::step_up_for_password_change(&app, &user, body.code.as_deref(), now).await? {
            Ok(spend) => spend,
            Err(bad) => {
                wrong.push(bad);
                None
            }
        }
    } else {
        None
    };
    if !wrong.is_empty() {
        let kind = if wrong[0].field == "current_password" {
            EventType::PasswordCheckFailed
        } else {
            EventType::MfaFailed
        };
        attempt
            .failed(&app, kind, "changing the password", &caller.origin)
            .await;
        errors.extend(wrong);
        return Err(Problem::validation(errors));
    }
    if !errors.is_empty() {
        // The proof was right; only the new password is refused.
        attempt.succeeded(&app).await?;
        return Err(Problem::validation(errors));
    }
    // The change below clears the count the attempt reserved.
    drop(attempt);
    let hash = hash(&body.new_password).await?;
    let previous = user.password_hash.clone().unwrap_or_default();
    // The change ends the other sessions.
    let (changed, keep) = session::end_all_but(
        &user,
        login::cleared_failures(Update::new().set("password_hash", hash)),
        &caller.session_id,
    );
    // Guarded against a concurrent change: the hash we checked must still be the one stored.
    let mut writes = vec![
        Write::update(user::key(&user.id), changed).when(
            Condition::eq("password_hash", previous).and(session::epoch_is(user.session_epoch)),
        ),
        keep,
        security_log::write(
            &user.id,
            EventType::PasswordChanged,
            &caller.origin,
            "from the account settings".to_string(),
            now,
        ),
    ];
    writes.extend(spend_code);
    let notice = changed_notice(
        &app,
        &user,
        "from your account settings",
        "Your other devices were signed out.",
    )
    .owe(now);
    writes.push(notice.write.clone());
    match app.table.transact(writes).await {
        Ok(_) => {}
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(Problem::conflict(
                "concurrent_update",
                "The password was changed meanwhile; try again",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    mail_jobs::send_owed(&app, [notice]).await;
    session::revoke_all(&app, &user.id, Some(&caller.session_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
