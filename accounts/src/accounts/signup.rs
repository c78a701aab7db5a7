//! Sign-up with email activation: register, activate, resend the link.

use super::user::{self, User, UserView};
use crate::auth::one_time::{self, Purpose};
use crate::auth::password;
use crate::mail_jobs::Owed;
use crate::mail_jobs::{self, MailJob};
use crate::notifications::{self, Template};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::problem::FieldError;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Json, validate};
use marquee_core::pages::{self, Submitted};
use marquee_core::role::Role;
use marquee_core::store::{Cmp, Condition, Index, Item, StoreError, Update, Write, entity_item};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana@example.com", "password": "Velvet-Lantern-Orbit-42"}))]
pub struct RegisterRequest {
    #[garde(email, length(chars, max = 254))]
    #[schema(max_length = 254, format = "email")]
    pub email: String,
    #[garde(skip)]
    pub password: String,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    /// The account's password. Needed with a link sent on request (`choose_password=1` on
    /// the link); a link sent for the sign-up keeps the password chosen then unless given.
    #[garde(skip)]
    #[serde(default)]
    #[schema(max_length = 128)]
    pub password: Option<String>,
}

/// The activation page's form (the password typed twice, when the link asks for one).
#[derive(Debug, Deserialize)]
pub struct ActivateForm {
    pub token: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_confirm: Option<String>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailRequest {
    #[garde(length(chars, min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

fn activation_link(app: &App, token: &str, choose_password: bool) -> String {
    let ask = if choose_password {
        "&choose_password=1"
    } else {
        ""
    };
    format!("{}/activate?token={token}{ask}", app.config.public_url)
}

fn email_owner_item(email: &str, user_id: &str) -> Item {
    entity_item(
        "email",
        &user::email_key(email),
        &json!({ "user_id": user_id }),
    )
}

async fn send_activation(
    app: &App,
    user: &User,
    token: &str,
    choose_password: bool,
) -> Result<(), String> {
    notifications::send(
        app,
        Template::AccountActivation,
        &user.email,
        json!({
            "email": user.email,
            "link": activation_link(app, token, choose_password),
            "valid_hours": Purpose::Activation.lifetime_secs() / 3600,
            "choose_password": choose_password,
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

/// Creates an account and everything that must exist with it, in one transaction (see
/// [`account_writes`]), with the claim on its email address.
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
    let (user, mut writes, activation) = account_writes(id, new, now);
    writes.insert(
        1,
        Write::put(email_owner_item(&user.email, id)).when(Condition::NotExists),
    );
    writes.extend(also);
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

/// A new account and the writes that make it (but the claim on its email): the user, the
/// admin count and, for an inactive account, the owed activation email (its link is made
/// when it is sent).
fn account_writes(id: &str, new: NewAccount, now: i64) -> (User, Vec<Write>, Option<Owed>) {
    let email = new.email.trim().to_string();
    let user = User {
        id: id.to_string(),
        email: email.clone(),
        role: new.role,
        active: new.active,
        deactivated: false,
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
        activation_from_signup: false,
        reset_digest: None,
        reset_sent_at: None,
        failed_logins: 0,
        locked_until: None,
        session_epoch: 0,
    };
    let mut writes = vec![Write::put(user.to_item()).when(Condition::NotExists)];
    let activation = (!new.active).then(|| {
        MailJob::ActivateSignup {
            user_id: id.to_string(),
        }
        .owe(now)
    });
    writes.extend(activation.as_ref().map(|owed| owed.write.clone()));
    if new.role == Role::Admin && new.active {
        writes.push(super::admin::admin_count_change(1));
    }
    (user, writes, activation)
}

/// The writes that activate `user`, a sign-up whose email was just proved, with `change`:
/// the user (while still unproved, in the role read, and `guard`) and the admin count
/// when it is an admin.
pub fn activation(user: &User, change: Update, guard: Condition) -> Vec<Write> {
    let update = change
        .set("active", true)
        .remove("activation_digest")
        .remove("activation_sent_at")
        .remove("activation_from_signup")
        .remove(Index::Gsi3.pk())
        .remove(Index::Gsi3.sk());
    let mut writes = vec![
        Write::update(user::key(&user.id), update).when(
            Condition::eq("active", false)
                .and(user::not_deactivated())
                .and(Condition::eq("role", user.role.as_str()))
                .and(guard),
        ),
    ];
    if user.role == Role::Admin {
        writes.push(super::admin::admin_count_change(1));
    }
    writes
}

/// Takes an unproved sign-up away from whoever registered it: its password becomes
/// `password_hash` (or none) and its emailed links die. Answers the account as it is now.
pub async fn take_over_unproved(
    app: &App,
    user: &User,
    password_hash: Option<String>,
) -> Result<User, Problem> {
    let mut change = Update::new()
        .remove("activation_digest")
        .remove("activation_sent_at")
        .remove("activation_from_signup")
        .remove("reset_digest")
        .remove("reset_sent_at");
    change = match &password_hash {
        Some(hash) => change.set("password_hash", hash.as_str()),
        None => change.remove("password_hash"),
    };
    let mut writes = vec![
        Write::update(user::key(&user.id), change)
            .when(Condition::eq("active", false).and(user::not_deactivated())),
    ];
    writes.extend(dead_links(user));
    match app.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(Problem::conflict(
                "concurrent_update",
                "The account changed meanwhile; try again",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(User {
        password_hash,
        activation_digest: None,
        activation_sent_at: None,
        activation_from_signup: false,
        reset_digest: None,
        reset_sent_at: None,
        ..user.clone()
    })
}

/// The deletes of the links emailed to `user` that are still live.
pub fn dead_links(user: &User) -> Vec<Write> {
    [&user.activation_digest, &user.reset_digest]
        .into_iter()
        .flatten()
        .map(|digest| Write::delete(one_time::key(digest)))
        .collect()
}

/// A sign-up of an address that an unproved sign-up holds replaces it whole: a new
/// account (a new id) with this password, the old one and its link gone. Whoever proves
/// the address by the new link gets the password chosen in this sign-up.
async fn replace_unproved(app: &App, old: &User, password_hash: String) -> Result<User, Problem> {
    let now = app.clock.now().unix_timestamp();
    let id = ulid::Ulid::new().to_string();
    let new = NewAccount {
        email: old.email.clone(),
        password_hash: Some(password_hash),
        role: Role::User,
        active: false,
        first_name: None,
        last_name: None,
    };
    let (user, mut writes, activation) = account_writes(&id, new, now);
    writes.push(
        Write::update(
            user::email_key(&old.email),
            Update::new().set("user_id", id.as_str()),
        )
        .when(Condition::eq("user_id", old.id.as_str())),
    );
    writes.push(
        Write::delete(user::key(&old.id))
            .when(Condition::eq("active", false).and(user::not_deactivated())),
    );
    writes.extend(dead_links(old));
    match app.table.transact(writes).await {
        Ok(()) => {
            mail_jobs::send_owed(app, activation).await;
            Ok(user)
        }
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::conflict(
            "concurrent_update",
            "Someone signed up with this email at the same moment; try again",
        )),
        Err(e) => Err(e.into()),
    }
}

/// auth-register. Every sign-up answers the same (201, an inactive account), whether the
/// address is new, held by an unproved sign-up (which this one replaces) or by a proved
/// account (whose owner is told by email what to do): nobody learns from the answer
/// whether an address has an account, and whoever proves the address chooses the
/// password.
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
    let new = NewAccount {
        email: body.email.clone(),
        password_hash: Some(hash.clone()),
        role: Role::User,
        active: false,
        first_name: None,
        last_name: None,
    };
    let id = ulid::Ulid::new().to_string();
    let user = match create_account_with(&app, &id, new, Vec::new()).await {
        Ok(user) => user,
        Err(problem) if problem.code == "email_taken" => {
            match user::find_by_email(&app, &body.email).await? {
                Some(held) if held.is_unproved() => replace_unproved(&app, &held, hash).await?,
                _ => {
                    let job = MailJob::SignupAttempt {
                        email: user::normalize_email(&body.email),
                    };
                    mail_jobs::enqueue(&app, &job).await?;
                    return Ok((StatusCode::CREATED, axum::Json(stand_in(&app, &body.email))));
                }
            }
        }
        Err(problem) => return Err(problem),
    };
    marquee_core::metrics::count(marquee_core::metrics::Metric::SignUps);
    Ok((StatusCode::CREATED, axum::Json(user.view())))
}

/// What a sign-up of an address with a proved account answers: the shape of a new
/// inactive account under an id that names nothing (see [`register`]).
fn stand_in(app: &App, email: &str) -> UserView {
    UserView {
        id: ulid::Ulid::new().to_string(),
        email: email.trim().to_string(),
        role: Role::User,
        active: false,
        deactivated: false,
        first_name: None,
        last_name: None,
        date_of_birth: None,
        bio: None,
        country: None,
        avatar_url: None,
        mfa_enabled: false,
        // As a sign-up's own answer says: it chose a password.
        has_password: true,
        recovery_codes_remaining: None,
        created_at: user::rfc3339(app.clock.now().unix_timestamp()),
    }
}

/// auth-activate, from a client (JSON) or from the activation page's form.
pub async fn activate(
    State(app): State<App>,
    body: Submitted<ActivateRequest, ActivateForm>,
) -> Response {
    match body {
        Submitted::Json(body) => activate_account(&app, body)
            .await
            .map(axum::Json)
            .into_response(),
        Submitted::Form(form) => {
            let back = format!(
                "/activate?token={}{}",
                form.token,
                if form.password.is_some() {
                    "&choose_password=1"
                } else {
                    ""
                }
            );
            let done = if form.password != form.password_confirm {
                Err(Problem::validation(vec![FieldError {
                    field: "password_confirm".into(),
                    message: "differs from the password".into(),
                }]))
            } else {
                let body = ActivateRequest {
                    token: form.token,
                    password: form.password,
                };
                activate_account(&app, body)
                    .await
                    .map(|_| "Your account is active. You can sign in now.".to_string())
            };
            pages::outcome("Activate your account", done, &back)
        }
    }
}

async fn activate_account(app: &App, body: ActivateRequest) -> Result<UserView, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (user_id, digest) = one_time::holder(app, Purpose::Activation, &body.token, now).await?;
    let user = user::find(app, &user_id)
        .await?
        .ok_or_else(one_time::invalid_token)?;
    if user.deactivated {
        return Err(crate::auth::login::inactive(&user));
    }
    let change = match body.password.as_deref() {
        Some(password) => {
            validate::finish(password::check_strength("password", password, &user.email))?;
            let hash = password::hash(password).await.map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                Problem::internal()
            })?;
            Update::new().set("password_hash", hash)
        }
        None if user.activation_from_signup => Update::new(),
        None => {
            return Err(Problem::validation(vec![FieldError {
                field: "password".into(),
                message: "choose a password: this link was sent on request, so no password chosen before is kept".into(),
            }]));
        }
    };
    let mut writes = vec![one_time::redeem(&digest, now)];
    writes.extend(activation(
        &user,
        change,
        Condition::eq("activation_digest", digest.clone()),
    ));
    match app.table.transact(writes).await {
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

/// The mail worker's part of a sign-up: its activation link, which keeps the password
/// chosen at sign-up.
pub async fn send_signup_activation(app: &App, user_id: &str) -> Result<(), String> {
    let found = user::find(app, user_id).await.map_err(|p| p.to_string())?;
    let Some(user) = found.filter(User::is_unproved) else {
        return Ok(());
    };
    let user = &user;
    let marks = Update::new().set("activation_from_signup", true);
    one_time::send_fresh_link(app, user, Purpose::Activation, marks, |token| async move {
        send_activation(app, user, &token, false).await
    })
    .await
}

/// The mail worker's part of a resend: a new link for an unproved account, which asks for
/// a new password (whoever asked may not be who registered); an account an admin turned
/// off is told so instead.
pub async fn send_activation_again(app: &App, email: &str) -> Result<(), String> {
    let found = user::find_by_email(app, email)
        .await
        .map_err(|p| p.to_string())?;
    match found {
        Some(user) if user.deactivated => notify_deactivated(app, &user).await,
        Some(user) if !user.active => {
            let user = &user;
            let marks = Update::new().set("activation_from_signup", false);
            one_time::send_fresh_link(app, user, Purpose::Activation, marks, |token| async move {
                send_activation(app, user, &token, true).await
            })
            .await
        }
        _ => Ok(()),
    }
}

/// Tells the owner of a turned-off account, who asked for a link, why none comes (at most
/// once a minute).
pub async fn notify_deactivated(app: &App, user: &User) -> Result<(), String> {
    let lines = [
        "An administrator turned this account off, so no activation or password link can be sent. Contact support to have it turned on again.",
    ];
    notify_owner(
        app,
        user,
        "Your Marquee account is turned off",
        "You asked for a link for your Marquee account, which is turned off.",
        &lines,
    )
    .await
}

/// The mail worker's part of a sign-up with an address that has a proved account: its
/// owner is told what to do (at most once a minute).
pub async fn notify_signup_attempt(app: &App, email: &str) -> Result<(), String> {
    let found = user::find_by_email(app, email)
        .await
        .map_err(|p| p.to_string())?;
    let Some(user) = found.filter(|u| !u.is_unproved()) else {
        return Ok(());
    };
    if user.deactivated {
        return notify_deactivated(app, &user).await;
    }
    let reset = format!("{}/reset-password", app.config.public_url);
    let lines = [
        "If it was you: you already have an account. Sign in with your password, or choose a new one here: ".to_string() + &reset,
        "If it was not you, there is nothing to do: your account is unchanged.".to_string(),
    ];
    notify_owner(
        app,
        &user,
        "Someone tried to sign up with your email",
        &format!(
            "Someone, maybe you, tried to create a Marquee account with {}, which already has one.",
            user.email
        ),
        &lines,
    )
    .await
}

/// One security notice to the owner of `user`, skipped when one went out less than a
/// minute ago (so asking again and again cannot flood a mailbox).
async fn notify_owner(
    app: &App,
    user: &User,
    subject: &str,
    headline: &str,
    lines: &[impl serde::Serialize],
) -> Result<(), String> {
    let now = app.clock.now().unix_timestamp();
    let stamped = app
        .table
        .write(
            Write::update(user::key(&user.id), Update::new().set(NOTICE_SENT_AT, now)).when(
                Condition::Exists.and(Condition::AttrNotExists(NOTICE_SENT_AT.into()).or(
                    Condition::compare(
                        NOTICE_SENT_AT,
                        Cmp::Le,
                        now - one_time::EMAIL_INTERVAL_SECS,
                    ),
                )),
            ),
        )
        .await;
    match stamped {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    }
    notifications::send(
        app,
        Template::SecurityNotice,
        &user.email,
        json!({"subject": subject, "headline": headline, "lines": lines}),
    )
    .await
}

/// When the last notice of [`notify_owner`] went out.
const NOTICE_SENT_AT: &str = "notice_sent_at";
