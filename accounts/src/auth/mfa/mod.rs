//! Two-step sign-in with an authenticator app (TOTP, RFC 6238) and recovery codes.
//!
//! Setting up: auth-mfa-setup makes a seed (sealed with the data key) that waits 15
//! minutes for auth-mfa-confirm to receive a valid code; then MFA is on, the user's other
//! sessions end and 10 recovery codes are shown once (only their digests are kept).
//! Signing in: a right password answers an `mfa_token` (see [`challenge`]) that
//! auth-mfa-verify trades, with a code or a recovery code, for the token pair. Each code
//! is accepted once (the last used time step is kept), each recovery code once, and wrong
//! codes count toward the account's login lockout. Turning MFA off or making new recovery
//! codes needs the password and a code; an admin can turn it off for a user who lost
//! their device. Every change is in the security log and emailed to the user.

pub mod challenge;
pub mod factor;

use crate::accounts::user::{self, User};
use crate::auth::login::{self, Attempt};
use crate::auth::password;
use crate::auth::security_log::{self, EventType};
use crate::auth::session::{self, AuthMethod, Origin};
use crate::auth::tokens::TokenPair;
use crate::mail_jobs::{self, MailJob};
use crate::notifications::Template;
use axum::extract::State;
use axum::http::StatusCode;
use factor::{Factor, Pending, Proof};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::data_key::DataKey;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, validate};
use marquee_core::store::{Condition, StoreError, Update, Write};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A session younger than this may set MFA up without typing the password again.
pub const RECENT_SIGN_IN_SECS: i64 = 10 * 60;

#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// Needed unless this session signed in within the last 10 minutes.
    #[garde(inner(length(chars, min = 1, max = 1024)))]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetupAnswer {
    /// The seed in base32, to type into an authenticator.
    pub secret: String,
    /// The same as an `otpauth://totp/...` URI (issuer Marquee, account = email).
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
    /// Seconds left to confirm with a first code.
    pub expires_in: i64,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The 6-digit code the authenticator shows now.
    #[garde(length(chars, min = 1, max = 16))]
    #[schema(min_length = 1, max_length = 16)]
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Each works once, instead of a code; shown only now.
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub mfa_token: String,
    /// A code from the authenticator; or else `recovery_code`.
    #[garde(inner(length(chars, min = 1, max = 16)))]
    pub code: Option<String>,
    #[garde(inner(length(chars, min = 1, max = 64)))]
    pub recovery_code: Option<String>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    #[garde(inner(length(chars, min = 1, max = 1024)))]
    pub password: Option<String>,
    /// A code from the authenticator; or else `recovery_code`.
    #[garde(inner(length(chars, min = 1, max = 16)))]
    pub code: Option<String>,
    #[garde(inner(length(chars, min = 1, max = 64)))]
    pub recovery_code: Option<String>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateRequest {
    #[garde(inner(length(chars, min = 1, max = 1024)))]
    pub password: Option<String>,
    /// A code from the authenticator.
    #[garde(length(chars, min = 1, max = 16))]
    #[schema(min_length = 1, max_length = 16)]
    pub code: String,
}

fn field(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

fn data_key(app: &App) -> Result<&DataKey, Problem> {
    app.mfa_key.as_deref().ok_or_else(|| {
        tracing::error!("this function has no MFA data key but was asked to use it");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "mfa_not_configured",
            "Two-step sign-in is not available here",
        )
    })
}

fn not_enabled() -> Problem {
    Problem::conflict(
        "mfa_not_enabled",
        "Two-step sign-in is not on for this account",
    )
}

fn concurrent() -> Problem {
    Problem::conflict(
        "concurrent_update",
        "Two-step sign-in changed meanwhile; try again",
    )
}

async fn caller_user(app: &App, caller: &Principal) -> Result<User, Problem> {
    user::find(app, &caller.user_id)
        .await?
        .ok_or_else(Problem::unauthorized)
}

pub async fn find_factor(app: &App, user_id: &str) -> Result<Option<Factor>, Problem> {
    match app.table.get(&factor::factor_key(user_id)).await? {
        Some(item) => Ok(Some(Factor::from_item(item)?)),
        None => Ok(None),
    }
}

/// Recovery codes left, for the profile (`None` with MFA off).
pub async fn recovery_codes_remaining(app: &App, user: &User) -> Result<Option<u32>, Problem> {
    if !user.mfa_enabled {
        return Ok(None);
    }
    Ok(find_factor(app, &user.id)
        .await?
        .map(|f| f.recovery_digests.len() as u32))
}

/// The password check of a sensitive change. An account without a password (signed up
/// through a provider) proves itself by a recent sign-in instead.
async fn password_errors(
    user: &User,
    caller: &Principal,
    given: Option<&str>,
    now: i64,
) -> Vec<FieldError> {
    match (&user.password_hash, given) {
        (None, _) if now - caller.auth_time <= RECENT_SIGN_IN_SECS => Vec::new(),
        (None, _) => vec![field(
            "password",
            "this account has no password: sign in again, then retry within 10 minutes",
        )],
        (Some(_), None) => vec![field("password", "is required")],
        (Some(hash), Some(given)) => {
            if password::verify(given, Some(hash)).await {
                Vec::new()
            } else {
                vec![field("password", "is not your password")]
            }
        }
    }
}

/// `code` or `recovery_code`, exactly one.
fn one_second_step(code: &Option<String>, recovery_code: &Option<String>) -> Vec<FieldError> {
    match (code, recovery_code) {
        (Some(_), Some(_)) => vec![field(
            "recovery_code",
            "give a code or a recovery code, not both",
        )],
        (None, None) => vec![field("code", "a code or a recovery code is required")],
        _ => Vec::new(),
    }
}

fn wrong_second_step(code: Option<&str>) -> FieldError {
    if code.is_some() {
        field(
            "code",
            "is not the current code of your authenticator (or was already used)",
        )
    } else {
        field("recovery_code", "is not one of your unused recovery codes")
    }
}

/// What a sensitive change of an enabled factor needs: the password (or, without one, a
/// recent sign-in) and a second step, checked as one attempt against the lockout. Every
/// missing or wrong part is one field error.
async fn reauthenticate(
    app: &App,
    caller: &Principal,
    password: Option<&str>,
    code: Option<&str>,
    recovery_code: Option<&str>,
    now: i64,
) -> Result<(User, Factor, Proof), Problem> {
    let user = caller_user(app, caller).await?;
    let factor = match find_factor(app, &user.id).await? {
        Some(factor) if user.mfa_enabled => factor,
        _ => return Err(not_enabled()),
    };
    let totp = factor::totp(&factor.seed(data_key(app)?)?, &user.email)?;
    let attempt = Attempt::reserve(app, &user, now).await?;
    let mut errors = password_errors(&user, caller, password, now).await;
    match factor.check(&totp, code, recovery_code, now) {
        Some(proof) if errors.is_empty() => {
            attempt.succeeded(app).await?;
            Ok((user, factor, proof))
        }
        Some(_) => {
            attempt
                .failed(
                    app,
                    EventType::PasswordCheckFailed,
                    "wrong password confirming a two-step sign-in change",
                    &caller.origin,
                )
                .await;
            Err(Problem::validation(errors))
        }
        None => {
            errors.push(wrong_second_step(code));
            attempt
                .failed(app, EventType::MfaFailed, "wrong code", &caller.origin)
                .await;
            Err(Problem::validation(errors))
        }
    }
}

/// Commits a change of the factor read earlier; someone else's change meanwhile is a 409.
async fn commit(app: &App, writes: Vec<Write>) -> Result<(), Problem> {
    match app.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(concurrent()),
        Err(e) => Err(e.into()),
    }
}

/// A security notice email (owed with the change it reports, so it goes out once the
/// change commits, and is retried if the mail service fails).
fn notice(app: &App, user: &User, subject: &str, headline: &str, lines: &[String]) -> MailJob {
    MailJob::notice(
        Template::SecurityNotice,
        &user.email,
        json!({
            "subject": subject,
            "headline": headline,
            "lines": lines,
            "reset_link": format!("{}/reset-password", app.config.public_url),
        }),
    )
}

fn qr_svg(uri: &str) -> Result<String, Problem> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "drawing the QR code failed");
        Problem::internal()
    })?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build())
}

/// auth-mfa-setup: a new seed, pending until confirmed.
pub async fn setup(
    State(app): State<App>,
    caller: Principal,
    Json(body): Json<SetupRequest>,
) -> Result<(StatusCode, axum::Json<SetupAnswer>), Problem> {
    validate::finish(validate::fields(&body))?;
    let key = data_key(&app)?;
    let now = app.clock.now().unix_timestamp();
    let user = caller_user(&app, &caller).await?;
    if user.mfa_enabled {
        return Err(Problem::conflict(
            "mfa_already_enabled",
            "Two-step sign-in is already on; turn it off first to use another authenticator",
        ));
    }
    let recent = now - caller.auth_time <= RECENT_SIGN_IN_SECS;
    if !recent && body.password.is_none() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "reauthentication_required",
            "Confirm it is you",
        )
        .detail("You signed in more than 10 minutes ago: send your password with the request"));
    }
    if body.password.is_some() {
        let attempt = Attempt::reserve(&app, &user, now).await?;
        let errors = password_errors(&user, &caller, body.password.as_deref(), now).await;
        if errors.is_empty() {
            attempt.succeeded(&app).await?;
        } else {
            attempt
                .failed(
                    &app,
                    EventType::PasswordCheckFailed,
                    "wrong password setting up two-step sign-in",
                    &caller.origin,
                )
                .await;
            return Err(Problem::validation(errors));
        }
    }
    let seed = factor::new_seed();
    let totp = factor::totp(&seed, &user.email)?;
    let uri = totp.to_url().map_err(|e| {
        tracing::error!(error = %e, "building the otpauth URI failed");
        Problem::internal()
    })?;
    let pending = Pending {
        user_id: user.id.clone(),
        sealed_seed: key.seal(&user.id, &seed),
        created_at: now,
    };
    app.table.write(Write::put(pending.to_item())).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SetupAnswer {
            secret: factor::seed_base32(&seed),
            qr_svg: qr_svg(&uri)?,
            otpauth_uri: uri,
            expires_in: factor::PENDING_LIFETIME_SECS,
        }),
    ))
}

/// auth-mfa-confirm: the first code turns MFA on.
pub async fn confirm(
    State(app): State<App>,
    caller: Principal,
    Json(body): Json<ConfirmRequest>,
) -> Result<axum::Json<RecoveryCodes>, Problem> {
    validate::finish(validate::fields(&body))?;
    let key = data_key(&app)?;
    let now = app.clock.now().unix_timestamp();
    let user = caller_user(&app, &caller).await?;
    let no_setup = || {
        Problem::conflict(
            "mfa_setup_not_started",
            "No two-step sign-in is being set up (or the setup expired after 15 minutes); start again",
        )
    };
    let item =
        marquee_core::expiry::get_live(app.table.as_ref(), &factor::pending_key(&user.id), now)
            .await?
            .ok_or_else(no_setup)?;
    let pending: Pending = marquee_core::store::from_entity_item("mfa_pending", item)?;
    let seed = factor::open_seed(key, &user.id, &pending.sealed_seed)?;
    let totp = factor::totp(&seed, &user.email)?;
    let attempt = Attempt::reserve(&app, &user, now).await?;
    let Some(step) = factor::code_step(&totp, &body.code, now, 0) else {
        attempt
            .failed(
                &app,
                EventType::MfaFailed,
                "wrong code while setting up",
                &caller.origin,
            )
            .await;
        return Err(Problem::validation(vec![field(
            "code",
            "is not the current code of the authenticator you set up",
        )]));
    };
    attempt.succeeded(&app).await?;
    let (codes, digests) = factor::new_recovery_codes();
    let enabled = Factor::new(&user.id, pending.sealed_seed, step, digests, now);
    let told = notice(
        &app,
        &user,
        "Two-step sign-in is on",
        "Two-step sign-in was turned on for your Marquee account.",
        &[
            "Signing in now takes your password and a code from your authenticator app.".into(),
            "Your other devices were signed out.".into(),
        ],
    )
    .owe(now);
    let (turned_on, keep) = session::end_all_but(
        &user,
        Update::new().set("mfa_enabled", true),
        &caller.session_id,
    );
    let writes = vec![
        told.write.clone(),
        Write::put(enabled.to_item()).when(Condition::NotExists),
        Write::delete(factor::pending_key(&user.id)).when(Condition::Exists),
        Write::update(user::key(&user.id), turned_on)
            .when(Condition::eq("mfa_enabled", false).and(session::epoch_is(user.session_epoch))),
        security_log::write(&user.id, EventType::MfaEnabled, &caller.origin, None, now),
        keep,
    ];
    match app.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Err(no_setup()),
        Err(e) => return Err(e.into()),
    }
    mail_jobs::send_owed(&app, [told]).await;
    session::revoke_all(&app, &user.id, Some(&caller.session_id)).await?;
    Ok(axum::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// auth-mfa-verify: the second step of a sign-in.
pub async fn verify(
    State(app): State<App>,
    origin: Origin,
    Json(body): Json<VerifyRequest>,
) -> Result<axum::Json<TokenPair>, Problem> {
    let mut errors = validate::fields(&body);
    errors.extend(one_second_step(&body.code, &body.recovery_code));
    validate::finish(errors)?;
    let key = data_key(&app)?;
    let now = app.clock.now().unix_timestamp();
    let (challenge, digest) = challenge::find(&app, &body.mfa_token, now).await?;
    let user = user::find(&app, &challenge.user_id)
        .await?
        .filter(|u| u.active && u.mfa_enabled && u.session_epoch == challenge.epoch)
        .ok_or_else(challenge::invalid_token)?;
    let factor = find_factor(&app, &user.id)
        .await?
        .ok_or_else(challenge::invalid_token)?;
    let totp = factor::totp(&factor.seed(key)?, &user.email)?;
    challenge::reserve_code(&app, &digest, now).await?;
    let attempt = Attempt::reserve(&app, &user, now).await?;
    let Some(proof) = factor.check(
        &totp,
        body.code.as_deref(),
        body.recovery_code.as_deref(),
        now,
    ) else {
        attempt
            .failed(&app, EventType::MfaFailed, "wrong code at sign-in", &origin)
            .await;
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid_code",
            "The code is wrong, expired or already used",
        )
        .detail("Type the code your authenticator shows now, or a recovery code"));
    };
    // The sign-in below clears the count this attempt reserved.
    drop(attempt);
    let mut amr = challenge.amr.clone();
    let mut also = vec![challenge::redeem(&digest, now), factor.spend(&proof, None)];
    let left = factor.remaining_after(&proof);
    let mut told = None;
    match proof {
        Proof::Code { .. } => amr.push(AuthMethod::Otp),
        Proof::Recovery { .. } => {
            amr.push(AuthMethod::Recovery);
            also.push(security_log::write(
                &user.id,
                EventType::RecoveryCodeUsed,
                &origin,
                format!("{left} left"),
                now,
            ));
            let owed = notice(
                &app,
                &user,
                "A recovery code was used",
                "Someone signed in to your Marquee account with one of your recovery codes.",
                &[
                    format!("You have {left} unused recovery codes left."),
                    "If you lost your authenticator, make a new set of codes once you are back in."
                        .into(),
                ],
            )
            .owe(now);
            also.push(owed.write.clone());
            told = Some(owed);
        }
    }
    let pair = login::sign_in(
        &app,
        &user,
        &amr,
        &origin,
        also,
        |failed| {
            if failed.contains(&0) {
                challenge::invalid_token()
            } else {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_code",
                    "The code is wrong, expired or already used",
                )
            }
        },
        now,
    )
    .await?;
    mail_jobs::send_owed(&app, told).await;
    Ok(axum::Json(pair))
}

/// auth-mfa-disable: the password and a code (or recovery code) turn MFA off.
pub async fn disable(
    State(app): State<App>,
    caller: Principal,
    Json(body): Json<DisableRequest>,
) -> Result<StatusCode, Problem> {
    let mut errors = validate::fields(&body);
    errors.extend(one_second_step(&body.code, &body.recovery_code));
    validate::finish(errors)?;
    let now = app.clock.now().unix_timestamp();
    let (user, factor, _) = reauthenticate(
        &app,
        &caller,
        body.password.as_deref(),
        body.code.as_deref(),
        body.recovery_code.as_deref(),
        now,
    )
    .await?;
    let told = notice(
        &app,
        &user,
        "Two-step sign-in is off",
        "Two-step sign-in was turned off for your Marquee account.",
        &["Signing in now takes only your password.".into()],
    )
    .owe(now);
    let (turned_off, keep) = session::end_all_but(
        &user,
        Update::new().set("mfa_enabled", false),
        &caller.session_id,
    );
    commit(
        &app,
        vec![
            Write::delete(factor::factor_key(&user.id)).when(factor.unchanged()),
            Write::update(user::key(&user.id), turned_off)
                .when(session::epoch_is(user.session_epoch)),
            security_log::write(&user.id, EventType::MfaDisabled, &caller.origin, None, now),
            told.write.clone(),
            keep,
        ],
    )
    .await?;
    mail_jobs::send_owed(&app, [told]).await;
    session::revoke_all(&app, &user.id, Some(&caller.session_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// auth-mfa-recovery-codes: a new set of recovery codes; the old set dies.
pub async fn regenerate(
    State(app): State<App>,
    caller: Principal,
    Json(body): Json<RegenerateRequest>,
) -> Result<axum::Json<RecoveryCodes>, Problem> {
    validate::finish(validate::fields(&body))?;
    let now = app.clock.now().unix_timestamp();
    let (user, factor, proof) = reauthenticate(
        &app,
        &caller,
        body.password.as_deref(),
        Some(&body.code),
        None,
        now,
    )
    .await?;
    let (codes, digests) = factor::new_recovery_codes();
    let told = notice(
        &app,
        &user,
        "New recovery codes",
        "A new set of recovery codes was made for your Marquee account.",
        &["The codes you had before no longer work.".into()],
    )
    .owe(now);
    commit(
        &app,
        vec![
            factor.spend(&proof, Some(digests)),
            security_log::write(
                &user.id,
                EventType::RecoveryCodesRegenerated,
                &caller.origin,
                None,
                now,
            ),
            told.write.clone(),
        ],
    )
    .await?;
    mail_jobs::send_owed(&app, [told]).await;
    Ok(axum::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// The second step a password change needs while MFA is on: a code, spent by the write
/// this returns (to commit with the new password).
pub async fn step_up_for_password_change(
    app: &App,
    user: &User,
    code: Option<&str>,
    now: i64,
) -> Result<Result<Option<Write>, FieldError>, Problem> {
    if !user.mfa_enabled {
        return Ok(Ok(None));
    }
    let Some(code) = code else {
        return Ok(Err(field(
            "code",
            "is required while two-step sign-in is on",
        )));
    };
    let factor = find_factor(app, &user.id).await?.ok_or_else(not_enabled)?;
    let totp = factor::totp(&factor.seed(data_key(app)?)?, &user.email)?;
    Ok(match factor.check(&totp, Some(code), None, now) {
        Some(proof) => Ok(Some(factor.spend(&proof, None))),
        None => Err(wrong_second_step(Some(code))),
    })
}

/// admin-users-mfa-reset: an admin turns a user's MFA off (a lost device). The user's
/// sessions end and they are told.
pub async fn admin_reset(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    if id == caller.user_id {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "own_account",
            "Not on your own account",
        )
        .detail("Turn your own two-step sign-in off from your security settings"));
    }
    let user = user::find(&app, &id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user"))?;
    if !user.mfa_enabled {
        return Err(not_enabled());
    }
    let now = app.clock.now().unix_timestamp();
    let told = notice(
        &app,
        &user,
        "Two-step sign-in was reset",
        "An administrator turned two-step sign-in off for your Marquee account.",
        &[
            "Every device was signed out. Sign in with your password, then set up your authenticator again.".into(),
        ],
    )
    .owe(now);
    let writes = vec![
        told.write.clone(),
        Write::delete(factor::factor_key(&user.id)),
        Write::update(
            user::key(&user.id),
            session::end_all(Update::new().set("mfa_enabled", false)),
        )
        .when(Condition::eq("mfa_enabled", true)),
        security_log::write(
            &user.id,
            EventType::MfaReset,
            &caller.origin,
            "by an admin".to_string(),
            now,
        ),
    ];
    match app.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { .. }) => return Err(not_enabled()),
        Err(e) => return Err(e.into()),
    }
    mail_jobs::send_owed(&app, [told]).await;
    session::revoke_all(&app, &user.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
