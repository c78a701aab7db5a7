//! Sign-up with email activation: register, activate, resend the link.

use super::Role;
use super::user::{self, User, UserView};
use crate::app::App;
use crate::auth::one_time::{self, Purpose};
use crate::auth::password;
use crate::http::problem::Problem;
use crate::http::{Json, validate};
use crate::mail_jobs::{self, MailJob};
use crate::notifications::{self, Template};
use crate::pages::{self, Submitted};
use crate::store::{Condition, Item, StoreError, Update, Write, entity_item};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use garde::Validate;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana@example.com", "password": "Velvet-Lantern-Orbit-42"}))]
pub struct RegisterRequest {
    #[garde(email, length(max = 254))]
    #[schema(max_length = 254, format = "email")]
    pub email: String,
    #[garde(skip)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    #[garde(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[garde(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

fn activation_link(app: &App, token: &str) -> String {
    format!("{}/activate?token={token}", app.config.public_url)
}

fn email_owner_item(email: &str, user_id: &str) -> Item {
    entity_item(
        "email",
        &user::email_key(email),
        &json!({ "user_id": user_id }),
    )
}

async fn send_activation(app: &App, user: &User, token: &str) -> Result<(), String> {
    notifications::send(
        app,
        Template::AccountActivation,
        &user.email,
        json!({
            "email": user.email,
            "link": activation_link(app, token),
            "valid_hours": Purpose::Activation.lifetime_secs() / 3600,
        }),
    )
    .await
}

/// A new account's fields.
pub struct NewAccount {
    pub email: String,
    /// `None`: an account that signs in through a provider only.
    pub password_hash: Option<String>,
    pub role: Role,
    pub active: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// Creates an account and everything that must exist with it, in one transaction: the
/// user, the claim on the email address, the admin count and, for an inactive account, the
/// owed activation email (its link is made when it is sent).
pub async fn create_account(
    app: &App,
    email: &str,
    password_hash: String,
    role: Role,
    active: bool,
) -> Result<User, Problem> {
    let new = NewAccount {
        email: email.to_string(),
        password_hash: Some(password_hash),
        role,
        active,
        first_name: None,
        last_name: None,
    };
    create_account_with(app, &ulid::Ulid::new().to_string(), new, Vec::new()).await
}

/// [`create_account`] with the id given, and `also` in the same transaction.
pub async fn create_account_with(
    app: &App,
    id: &str,
    new: NewAccount,
    also: Vec<Write>,
) -> Result<User, Problem> {
    let now = app.clock.now().unix_timestamp();
    let email = new.email.trim().to_string();
    let user = User {
        id: id.to_string(),
        email: email.clone(),
        role: new.role,
        active: new.active,
        password_hash: new.password_hash,
        created_at: now,
        first_name: new.first_name,
        last_name: new.last_name,
        date_of_birth: None,
        bio: None,
        country: None,
        avatar_url: None,
        mfa_enabled: false,
        activation_digest: None,
        activation_sent_at: None,
        reset_digest: None,
        reset_sent_at: None,
        failed_logins: 0,
        locked_until: None,
    };
    let mut writes = vec![Write::put(email_owner_item(&email, id)).when(Condition::NotExists)];
    let activation = (!new.active).then(|| {
        MailJob::ResendActivation {
            email: user::normalize_email(&email),
        }
        .owe(now)
    });
    writes.extend(activation.as_ref().map(|owed| owed.write.clone()));
    if new.role == Role::Admin && new.active {
        writes.push(super::admin::admin_count_change(1));
    }
    writes.extend(also);
    writes.insert(0, Write::put(user.to_item()).when(Condition::NotExists));
    match app.table.transact(writes).await {
        Ok(()) => {
            mail_jobs::send_owed(app, activation).await;
            Ok(user)
        }
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => Err(
            Problem::conflict("email_taken", "An account with this email already exists"),
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn register(
    State(app): State<App>,
    Json(body): Json<RegisterRequest>,
) -> Result<(StatusCode, axum::Json<UserView>), Problem> {
    let mut errors = validate::fields(&body);
    errors.extend(password::check_strength(
        "password",
        &body.password,
        &body.email,
    ));
    validate::finish(errors)?;
    let hash = password::hash(&body.password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::internal()
    })?;
    let user = create_account(&app, &body.email, hash, Role::User, false).await?;
    Ok((StatusCode::CREATED, axum::Json(user.view())))
}

/// auth-activate, from a client (JSON) or from the activation page's form.
pub async fn activate(
    State(app): State<App>,
    body: Submitted<ActivateRequest, ActivateRequest>,
) -> Response {
    match body {
        Submitted::Json(body) => activate_account(&app, body)
            .await
            .map(axum::Json)
            .into_response(),
        Submitted::Form(body) => {
            let back = format!("/activate?token={}", body.token);
            let done = activate_account(&app, body)
                .await
                .map(|_| "Your account is active. You can sign in now.".to_string());
            pages::outcome("Activate your account", done, &back)
        }
    }
}

async fn activate_account(app: &App, body: ActivateRequest) -> Result<UserView, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (user_id, digest) = one_time::holder(app, Purpose::Activation, &body.token, now).await?;
    let activate = Write::update(
        user::key(&user_id),
        Update::new()
            .set("active", true)
            .remove("activation_digest")
            .remove("activation_sent_at")
            .remove(crate::store::Index::Gsi3.pk())
            .remove(crate::store::Index::Gsi3.sk()),
    )
    .when(Condition::eq("activation_digest", digest.clone()));
    match app
        .table
        .transact(vec![one_time::redeem(&digest, now), activate])
        .await
    {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Err(one_time::invalid_token()),
        Err(e) => return Err(e.into()),
    }
    let user = user::find(app, &user_id)
        .await?
        .ok_or_else(one_time::invalid_token)?;
    Ok(user.view())
}

/// Always 202 with the same body and the same work, whether the account exists, is
/// active or not: the lookup and the email happen in the mail worker.
pub async fn resend_activation(
    State(app): State<App>,
    Json(body): Json<EmailRequest>,
) -> Result<StatusCode, Problem> {
    validate::finish(validate::fields(&body))?;
    let job = MailJob::ResendActivation {
        email: user::normalize_email(&body.email),
    };
    mail_jobs::enqueue(&app, &job).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The mail worker's part of a resend: a new link for an inactive account.
pub async fn send_activation_again(app: &App, email: &str) -> Result<(), String> {
    let found = user::find_by_email(app, email)
        .await
        .map_err(|p| p.to_string())?;
    let Some(user) = found.filter(|u| !u.active) else {
        return Ok(());
    };
    let user = &user;
    one_time::send_fresh_link(app, user, Purpose::Activation, |token| async move {
        send_activation(app, user, &token).await
    })
    .await
}
