//! Two-step sign-in (TOTP and recovery codes), the security log, and the pages emailed
//! links open, through the full router on the embedded backend and on DynamoDB, SES and
//! SQS (the local AWS stand-in). Codes are made from the otpauth URI the API answers, by
//! the authenticator's algorithm, at the times the test's clock says.

use crate::support;

use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use marquee::clock::Clock;
use marquee::role::Role;
use serde_json::{Value, json};
use support::Env;

const PASSWORD: &str = "Velvet-Lantern-Orbit-42";
const NEW_PASSWORD: &str = "Copper-Meadow-Harbor-77";

/// What an authenticator app shows for `uri`, `offset` seconds from the test's now.
fn code(env: &Env, uri: &str, offset: i64) -> String {
    let totp = totp_rs::Totp::from_url(uri).expect("a valid otpauth URI");
    let at = env.clock.now().unix_timestamp() + offset;
    totp.generate(at as u64).to_string()
}

/// A code that is none of those valid now (one step of drift either way).
fn wrong_code(env: &Env, uri: &str) -> String {
    let valid: Vec<String> = [-30, 0, 30].iter().map(|o| code(env, uri, *o)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap()
}

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn delete(
    env: &Env,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, body) = env.send(Method::DELETE, path, token, body).await;
    (status, body)
}

async fn login(env: &Env, email: &str, password: &str) -> (StatusCode, Value) {
    env.post(
        "/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

/// The first step of a sign-in for an account with MFA on: its mfa_token.
async fn mfa_token(env: &Env, email: &str) -> String {
    let (status, body) = login(env, email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["mfa_required"], true, "{body}");
    assert_eq!(body["expires_in"], 300);
    assert!(
        body.get("access_token").is_none(),
        "no tokens before the second step"
    );
    body["mfa_token"].as_str().unwrap().to_string()
}

async fn verify(env: &Env, token: &str, second: Value) -> (StatusCode, Value) {
    let mut body = json!({"mfa_token": token});
    body.as_object_mut()
        .unwrap()
        .extend(second.as_object().unwrap().clone());
    env.post("/auth/mfa/verify", None, body).await
}

/// Turns MFA on for a signed-in user: (otpauth URI, recovery codes). Moves the clock one
/// step on, so that the next code is a fresh one.
async fn enable(env: &Env, access: &str) -> (String, Vec<String>) {
    let (status, setup) = env.post("/auth/mfa/totp", Some(access), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let uri = setup["otpauth_uri"].as_str().unwrap().to_string();
    let (status, body) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(access),
            json!({"code": code(env, &uri, 0)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    env.clock.advance(time::Duration::seconds(30));
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (uri, codes)
}

async fn event_types(env: &Env, path: &str, token: &str) -> Vec<String> {
    let (status, body) = env.get(path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

fn subjects(env: &Env, email: &str) -> Vec<String> {
    env.emails_to(email).into_iter().map(|(s, _)| s).collect()
}

fn count(list: &[String], item: &str) -> usize {
    list.iter().filter(|s| s.as_str() == item).count()
}

// ---- The journey ----

async fn setup_confirm_sign_in_replay_recovery_regenerate_disable(env: Env) {
    let (access, user_id, email) = env.account("mia", Role::User).await;
    let other_device = env.sign_in(&email).await;

    // Setting up: the seed three ways, pending until a first code.
    let (status, setup) = env.post("/auth/mfa/totp", Some(&access), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let uri = setup["otpauth_uri"].as_str().unwrap().to_string();
    let secret = setup["secret"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Marquee:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Marquee"));
    assert!(uri.contains(&email.replace('@', "%40")), "{uri}");
    let svg = setup["qr_svg"].as_str().unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("</svg>"),
        "an SVG QR code"
    );
    let (_, me) = env.get("/me", Some(&access)).await;
    assert_eq!(me["mfa_enabled"], false, "pending until confirmed");

    // A wrong code is refused; the right one turns MFA on and ends the other sessions.
    let (status, body) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&access),
            json!({"code": wrong_code(&env, &uri)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(support::error_fields(&body), ["code"]);
    let (status, body) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&access),
            json!({"code": code(&env, &uri, 0)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let recovery: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    let (status, body) = env.get("/me", Some(&other_device)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_ended"))
    );
    let (status, me) = env.get("/me", Some(&access)).await;
    assert_eq!(status, StatusCode::OK, "this session stays");
    assert_eq!(
        (
            me["mfa_enabled"].clone(),
            me["recovery_codes_remaining"].clone()
        ),
        (json!(true), json!(10))
    );

    // Secrets at rest: the seed is sealed, recovery codes are only digests.
    let stored = env
        .app
        .table
        .get(&marquee::auth::mfa::factor::factor_key(&user_id))
        .await
        .unwrap()
        .unwrap();
    let stored = serde_json::to_string(&stored).unwrap();
    assert!(
        !stored.contains(secret),
        "the seed is not stored in plain text"
    );
    for code in &recovery {
        assert!(!stored.contains(code.as_str()) && !stored.contains(&code.replace('-', "")));
    }

    // Signing in now takes two steps. The code used to confirm is spent: it does not count
    // again, even with a new mfa_token.
    let token = mfa_token(&env, &email).await;
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_code"))
    );
    env.clock.advance(time::Duration::seconds(30));
    let fresh = code(&env, &uri, 0);
    let (status, pair) = verify(&env, &token, json!({"code": fresh})).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let signed_in_at = env.clock.now().unix_timestamp();
    let claimed = claims(pair["access_token"].as_str().unwrap());
    assert_eq!(claimed["amr"], json!(["pwd", "otp"]));
    assert_eq!(claimed["auth_time"], signed_in_at);
    let (status, body) = verify(&env, &token, json!({"code": fresh})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")),
        "single use"
    );
    let replay = mfa_token(&env, &email).await;
    let (status, body) = verify(&env, &replay, json!({"code": fresh})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_code")),
        "a code counts once"
    );

    // A refresh keeps how and when the session signed in.
    env.clock.advance(time::Duration::seconds(60));
    let (status, refreshed) = env
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let claimed = claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(
        (claimed["amr"].clone(), claimed["auth_time"].clone()),
        (json!(["pwd", "otp"]), json!(signed_in_at))
    );

    // A recovery code works once, typed however.
    let (status, pair) = verify(
        &env,
        &replay,
        json!({"recovery_code": recovery[0].to_uppercase()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(
        claims(pair["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "recovery"])
    );
    let token = mfa_token(&env, &email).await;
    let (status, _) = verify(&env, &token, json!({"recovery_code": recovery[0]})).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a recovery code is single use"
    );
    let access = pair["access_token"].as_str().unwrap().to_string();
    let (_, me) = env.get("/me", Some(&access)).await;
    assert_eq!(me["recovery_codes_remaining"], 9);
    let used = env
        .emails_to(&email)
        .into_iter()
        .filter(|(s, _)| s == "A recovery code was used")
        .collect::<Vec<_>>();
    assert_eq!(used.len(), 1, "told once");
    assert!(
        used[0].1.contains("9 unused recovery codes left"),
        "{}",
        used[0].1
    );

    // A new set of recovery codes: the password and a fresh code; the old set dies.
    env.clock.advance(time::Duration::seconds(30));
    let (status, body) = env
        .post(
            "/auth/mfa/recovery-codes",
            Some(&access),
            json!({"code": code(&env, &uri, 0)}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(support::error_fields(&body), ["password"]);
    let (status, body) = env
        .post(
            "/auth/mfa/recovery-codes",
            Some(&access),
            json!({"password": PASSWORD, "code": code(&env, &uri, 0)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let renewed = body["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(renewed.len(), 10);
    let token = mfa_token(&env, &email).await;
    let (status, _) = verify(&env, &token, json!({"recovery_code": recovery[1]})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old set is dead");
    let (status, pair) = verify(&env, &token, json!({"recovery_code": renewed[5]})).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let access = pair["access_token"].as_str().unwrap().to_string();

    // Turning it off needs the password and a code (or recovery code).
    env.clock.advance(time::Duration::seconds(30));
    let (status, body) = delete(
        &env,
        "/auth/mfa/totp",
        Some(&access),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["code".to_string()])
    );
    let (status, body) = delete(
        &env,
        "/auth/mfa/totp",
        Some(&access),
        Some(json!({"password": "Not-My-Password-99", "code": code(&env, &uri, 0)})),
    )
    .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["password".to_string()]
        )
    );
    let (status, body) = delete(
        &env,
        "/auth/mfa/totp",
        Some(&access),
        Some(json!({"password": PASSWORD, "code": code(&env, &uri, 0)})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = login(&env, &email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["access_token"].is_string(), "one step again: {body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
    let (_, me) = env.get("/me", Some(&access)).await;
    assert_eq!(me["mfa_enabled"], false);
    assert!(me.get("recovery_codes_remaining").is_none(), "{me}");

    // Each change in the security log, newest first, and emailed once.
    let types = event_types(&env, "/me/security-events?limit=100", &access).await;
    let changes: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| {
            t.starts_with("mfa_enabled")
                || t.starts_with("mfa_disabled")
                || t.starts_with("recovery")
        })
        .collect();
    assert_eq!(
        changes,
        [
            "mfa_disabled",
            "recovery_code_used",
            "recovery_codes_regenerated",
            "recovery_code_used",
            "mfa_enabled"
        ]
    );
    let first = |t: &str| {
        types
            .iter()
            .position(|x| x == t)
            .unwrap_or_else(|| panic!("{t} in {types:?}"))
    };
    assert!(
        first("mfa_failed") < first("mfa_enabled"),
        "the replays were failures"
    );
    assert!(count(&types, "sign_in") >= 4, "{types:?}");
    let subjects = subjects(&env, &email);
    for (notice, times) in [
        ("Two-step sign-in is on", 1),
        ("A recovery code was used", 2),
        ("New recovery codes", 1),
        ("Two-step sign-in is off", 1),
    ] {
        assert_eq!(count(&subjects, notice), times, "{notice} in {subjects:?}");
    }
}

async fn codes_drift_one_step_and_wrong_codes_lock_the_account(env: Env) {
    let (access, _, email) = env.account("noa", Role::User).await;
    let (uri, _) = enable(&env, &access).await;
    env.clock.advance(time::Duration::seconds(60));

    // One step of drift either way; two steps is too far.
    let token = mfa_token(&env, &email).await;
    let (status, _) = verify(&env, &token, json!({"code": code(&env, &uri, -60)})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "two steps late");
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, -30)})).await;
    assert_eq!(status, StatusCode::OK, "one step late: {body}");
    let token = mfa_token(&env, &email).await;
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 30)})).await;
    assert_eq!(status, StatusCode::OK, "one step early: {body}");
    let token = mfa_token(&env, &email).await;
    let (status, _) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "earlier than the step already used"
    );

    // Wrong codes count toward the lockout (the refused early code above was the first),
    // and a right password does not wipe them.
    env.clock.advance(time::Duration::seconds(90));
    let token = mfa_token(&env, &email).await;
    for _ in 0..2 {
        let (status, _) = verify(&env, &token, json!({"code": wrong_code(&env, &uri)})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let token = mfa_token(&env, &email).await;
    let (status, _) = verify(&env, &token, json!({"code": wrong_code(&env, &uri)})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the fourth failure");
    let (status, _) = verify(&env, &token, json!({"code": wrong_code(&env, &uri)})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the fifth failure locks");
    let (status, headers, body) = env
        .send(
            Method::POST,
            "/auth/mfa/verify",
            None,
            Some(json!({"mfa_token": token, "code": code(&env, &uri, 0)})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")),
        "even a right code waits"
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let (status, _) = login(&env, &email, PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the whole account is locked"
    );
    env.clock.advance(time::Duration::seconds(31));
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_string();
    let types = event_types(&env, "/me/security-events?limit=100", &access).await;
    assert_eq!(types[0], "sign_in");
    assert_eq!(count(&types, "locked_out"), 1, "{types:?}");
    assert_eq!(count(&types, "mfa_failed"), 6, "{types:?}");
}

async fn a_sign_in_step_dies_after_five_wrong_codes(env: Env) {
    let (access, _, email) = env.account("yan", Role::User).await;
    let (uri, _) = enable(&env, &access).await;
    let token = mfa_token(&env, &email).await;
    for _ in 0..5 {
        let (status, body) = verify(&env, &token, json!({"code": wrong_code(&env, &uri)})).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_code"))
        );
    }
    // Past the account's lockout, the right code still cannot use this step.
    env.clock.advance(time::Duration::seconds(31));
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")),
        "{body}"
    );
    let token = mfa_token(&env, &email).await;
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(status, StatusCode::OK, "a new sign-in still works: {body}");
}

async fn a_second_step_started_before_a_password_reset_cannot_finish_after_it(env: Env) {
    let (access, _, email) = env.account("zed", Role::User).await;
    let (uri, _) = enable(&env, &access).await;
    let token = mfa_token(&env, &email).await;
    env.post("/auth/password/forgot", None, json!({"email": email}))
        .await;
    let reset = env.token_from_email(&email, "Reset");
    let (status, body) = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": reset, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")),
        "{body}"
    );
}

async fn sensitive_changes_ask_for_proof(env: Env) {
    let (access, _, email) = env.account("oli", Role::User).await;
    let (status, body) = delete(
        &env,
        "/auth/mfa/totp",
        Some(&access),
        Some(json!({"password": PASSWORD, "code": "123456"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("mfa_not_enabled"))
    );
    let (status, body) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&access),
            json!({"code": "123456"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("mfa_setup_not_started"))
    );

    // Past 10 minutes after signing in, setting up needs the password again.
    env.clock.advance(time::Duration::minutes(11));
    let (status, body) = env.post("/auth/mfa/totp", Some(&access), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("reauthentication_required")),
        "{body}"
    );
    let (status, body) = env
        .post(
            "/auth/mfa/totp",
            Some(&access),
            json!({"password": "Wrong-Password-1234"}),
        )
        .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["password".to_string()]
        )
    );
    let (status, setup) = env
        .post(
            "/auth/mfa/totp",
            Some(&access),
            json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let uri = setup["otpauth_uri"].as_str().unwrap().to_string();

    // The pending seed lapses after 15 minutes.
    env.clock.advance(time::Duration::minutes(16));
    let access = env.sign_in(&email).await;
    let (status, body) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&access),
            json!({"code": code(&env, &uri, 0)}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("mfa_setup_not_started"))
    );
    let (uri, _) = enable(&env, &access).await;
    let (status, body) = env.post("/auth/mfa/totp", Some(&access), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("mfa_already_enabled"))
    );

    // A second step is one of the two kinds, not both and not neither.
    let token = mfa_token(&env, &email).await;
    let (status, body) = verify(
        &env,
        &token,
        json!({"code": code(&env, &uri, 0), "recovery_code": "aaaa-bbbb-cccc"}),
    )
    .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["recovery_code".to_string()]
        )
    );
    let (status, body) = verify(&env, &token, json!({})).await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["code".to_string()])
    );
    let (status, body) = verify(&env, "not-a-token", json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token"))
    );
    env.clock.advance(time::Duration::minutes(6));
    let (status, body) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_mfa_token")),
        "5 minutes at most"
    );

    // A password change while MFA is on needs a current code as well.
    let token = mfa_token(&env, &email).await;
    let (_, pair) = verify(&env, &token, json!({"code": code(&env, &uri, 0)})).await;
    let access = pair["access_token"].as_str().unwrap().to_string();
    let change = |code: Option<String>| {
        let mut body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
        if let Some(code) = code {
            body["code"] = code.into();
        }
        body
    };
    let (status, body) = env
        .post("/auth/password/change", Some(&access), change(None))
        .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["code".to_string()])
    );
    let (status, body) = env
        .post(
            "/auth/password/change",
            Some(&access),
            change(Some(code(&env, &uri, 0))),
        )
        .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["code".to_string()]),
        "already used at sign-in"
    );
    env.clock.advance(time::Duration::seconds(30));
    let (status, body) = env
        .post(
            "/auth/password/change",
            Some(&access),
            change(Some(code(&env, &uri, 0))),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = login(&env, &email, NEW_PASSWORD).await;
    assert_eq!(
        (status, body["mfa_required"].clone()),
        (StatusCode::OK, json!(true))
    );
    let types = event_types(&env, "/me/security-events", &access).await;
    assert_eq!(types[0], "password_changed", "{types:?}");
}

async fn admins_reset_a_lost_authenticator(env: Env) {
    let (admin, admin_id, _) = env.account("root", Role::Admin).await;
    let (access, user_id, email) = env.account("pia", Role::User).await;
    let path = format!("/admin/users/{user_id}/mfa");
    let (status, body) = delete(&env, &path, Some(&admin), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("mfa_not_enabled"))
    );
    enable(&env, &access).await;
    let (status, _) = delete(&env, &path, Some(&access), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, body) = delete(
        &env,
        &format!("/admin/users/{admin_id}/mfa"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("own_account"))
    );
    let (status, _) = delete(
        &env,
        "/admin/users/01J0000000000000000000NONE/mfa",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, user) = env
        .get(&format!("/admin/users/{user_id}"), Some(&admin))
        .await;
    assert_eq!(
        (
            user["mfa_enabled"].clone(),
            user["recovery_codes_remaining"].clone()
        ),
        (json!(true), json!(10))
    );

    let (status, body) = delete(&env, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = env.get("/me", Some(&access)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the user's sessions ended"
    );
    let (status, body) = login(&env, &email, PASSWORD).await;
    assert!(
        status == StatusCode::OK && body["access_token"].is_string(),
        "{body}"
    );
    assert_eq!(
        count(&subjects(&env, &email), "Two-step sign-in was reset"),
        1
    );
    let types = event_types(
        &env,
        &format!("/admin/users/{user_id}/security-events"),
        &admin,
    )
    .await;
    assert_eq!(
        types[..2],
        ["sign_in".to_string(), "mfa_reset".to_string()],
        "{types:?}"
    );
    let (status, _) = env
        .get(
            &format!("/admin/users/{user_id}/security-events"),
            Some(&access),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = env
        .get(
            "/admin/users/01J0000000000000000000NONE/security-events",
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn the_security_log_records_sign_ins_sessions_and_admin_changes(env: Env) {
    let (admin, _, _) = env.account("root", Role::Admin).await;
    let (_, user_id, email) = env.account("ray", Role::User).await;
    let (status, _) = login(&env, &email, "Wrong-Password-1234").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The address is the connection's, as the platform saw it (API Gateway's sourceIp,
    // the local server's peer); a header the client wrote counts for nothing.
    let mut request = Request::post("/auth/login")
        .header("content-type", "application/json")
        .header("user-agent", "Lumiere/2.0")
        .header("x-forwarded-for", "198.51.100.66, 10.0.0.1")
        .body(axum::body::Body::from(
            json!({"email": email, "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    request
        .extensions_mut()
        .insert(marquee::http::guard::ClientIp("203.0.113.9".into()));
    let (status, _, pair) = support::call(&env.api, request).await;
    assert_eq!(status, StatusCode::OK);
    let access = pair["access_token"].as_str().unwrap().to_string();
    // A refresh token used twice: the session ends.
    let (_, rotated) = env
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    let (status, _) = env
        .post(
            "/auth/refresh",
            None,
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(rotated["access_token"].is_string());
    let access2 = env.sign_in(&email).await;
    let (status, _, _) = env
        .send(Method::POST, "/auth/logout", Some(&access2), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let access3 = env.sign_in(&email).await;
    let (status, _, _) = env
        .send(
            Method::PATCH,
            &format!("/admin/users/{user_id}"),
            Some(&admin),
            Some(json!({"role": "moderator"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = env
        .send(
            Method::PATCH,
            &format!("/admin/users/{user_id}"),
            Some(&admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.get("/me", Some(&access)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        env.get("/me", Some(&access3)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Newest first, in pages.
    let path = format!("/admin/users/{user_id}/security-events");
    let mut types = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit=3&cursor={c}"),
            None => format!("{path}?limit=3"),
        };
        let (status, page) = env.get(&url, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        types.extend(
            items
                .iter()
                .map(|e| e["type"].as_str().unwrap().to_string()),
        );
        if pages == 0 {
            assert_eq!(items[0]["type"], "activation_changed");
            assert_eq!(items[0]["detail"], "deactivated by an admin");
            assert_eq!(items[1]["detail"], "from user to moderator by an admin");
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages}");
    assert_eq!(
        types,
        [
            "activation_changed",
            "role_changed",
            "sign_in",
            "session_revoked",
            "sign_in",
            "session_revoked",
            "refresh_reuse_detected",
            "sign_in",
            "sign_in_failed",
            "sign_in",
        ]
    );
    let (_, page) = env.get(&format!("{path}?limit=100"), Some(&admin)).await;
    let with_origin = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user_agent"] == "Lumiere/2.0")
        .expect("the sign-in with a user agent");
    assert_eq!(with_origin["ip"], "203.0.113.9");
    assert_eq!(with_origin["detail"], "with a password");
    let (status, body) = env.get(&format!("{path}?limit=0"), Some(&admin)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// A form post as a browser sends it without JavaScript.
async fn form(
    env: &Env,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body))
        .unwrap();
    let (status, headers, body) = support::call(&env.api, request).await;
    (
        status,
        headers,
        body.as_str().unwrap_or_default().to_string(),
    )
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn assert_page_headers(headers: &axum::http::HeaderMap) {
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(
        policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

async fn emailed_links_open_pages_that_change_nothing_until_posted(env: Env) {
    let email = format!(
        "tao.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let (status, _) = env
        .post(
            "/auth/register",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = env.token_from_email(&email, "Activate");
    let (_, activation_email) = env.emails_to(&email).pop().unwrap();
    // The link opens the activation page (the HTML part escapes its slashes).
    assert!(
        activation_email.contains("cinema.test")
            && activation_email.contains(&format!("activate?token={token}")),
        "{activation_email}"
    );

    // Opening the link (as a mail scanner would, twice) changes nothing.
    for _ in 0..2 {
        let (status, headers, page) = env
            .send(Method::GET, &format!("/activate?token={token}"), None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_page_headers(&headers);
        let page = page.as_str().unwrap();
        assert!(
            page.contains("action=\"/auth/activate\"")
                && page.contains(&format!("value=\"{token}\""))
        );
    }
    let (status, body) = login(&env, &email, PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_inactive"))
    );

    // The button's form post activates, and answers a page.
    let (status, headers, page) = form(&env, "/auth/activate", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_page_headers(&headers);
    assert!(page.contains("Your account is active"), "{page}");
    assert_eq!(login(&env, &email, PASSWORD).await.0, StatusCode::OK);
    let (status, _, page) = form(&env, "/auth/activate", &[("token", &token)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("Ask for a new one"),
        "the problem's detail: {page}"
    );

    // Forgot and reset, by forms.
    let (status, _, page) = env.send(Method::GET, "/reset-password", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.as_str()
            .unwrap()
            .contains("action=\"/auth/password/forgot\"")
    );
    let (status, _, page) = form(&env, "/auth/password/forgot", &[("email", &email)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("a reset link is on its way"));
    env.run_mail_jobs().await;
    let reset = env.token_from_email(&email, "Reset");
    let (status, headers, page) = env
        .send(
            Method::GET,
            &format!("/reset-password?token={reset}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_page_headers(&headers);
    assert!(
        page.as_str()
            .unwrap()
            .contains("name=\"new_password_confirm\"")
    );
    let fields = |new: &'static str, again: &'static str| {
        [
            ("token", reset.clone()),
            ("new_password", new.into()),
            ("new_password_confirm", again.into()),
        ]
    };
    let post = |f: [(&'static str, String); 3]| {
        let env = &env;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            form(env, "/auth/password/reset", &f).await
        }
    };
    let (status, _, page) = post(fields(NEW_PASSWORD, "Something-Else-11")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("differs from the new password"), "{page}");
    let (status, _, page) = post(fields("password1", "password1")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("new_password:"),
        "the strength reasons: {page}"
    );
    assert_eq!(
        login(&env, &email, PASSWORD).await.0,
        StatusCode::OK,
        "nothing changed yet"
    );
    let (status, _, page) = post(fields(NEW_PASSWORD, NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Your password was changed"));
    assert_eq!(
        login(&env, &email, PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&env, &email, NEW_PASSWORD).await.0, StatusCode::OK);

    // JSON callers still get JSON.
    let (status, body) = env
        .post("/auth/activate", None, json!({"token": token}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_token"))
    );
    let (_, headers, _) = env.send(Method::GET, "/docs", None, None).await;
    assert_page_headers(&headers);
}

/// Pending setups, sign-in steps and (after 90 days) security events leave through the
/// expiry sweep (which runs every few minutes); the factor itself does not expire.
async fn pending_setups_sign_in_steps_and_old_events_are_swept(env: Env) {
    async fn sweep(env: &Env) -> Vec<marquee::expiry::Due> {
        marquee::background::expiry_scheduler(&env.app)
            .await
            .unwrap();
        let bodies = match &env.app.local_queues {
            Some(queues) => queues.expiry.take(10_000),
            None => support::receive_all(env.app.config.expiry_queue_url.as_deref().unwrap()).await,
        };
        assert!(
            marquee::background::expiry_worker(&env.app, &bodies)
                .await
                .is_empty()
        );
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect()
    }
    let (access, user_id, email) = env.account("uma", Role::User).await;
    enable(&env, &access).await;
    mfa_token(&env, &email).await;
    let (other, other_id, _) = env.account("vic", Role::User).await;
    let (status, _) = env.post("/auth/mfa/totp", Some(&other), json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let pending = marquee::auth::mfa::factor::pending_key(&other_id);
    assert!(env.app.table.get(&pending).await.unwrap().is_some());

    env.clock.advance(time::Duration::minutes(16));
    let swept = sweep(&env).await;
    assert!(
        swept.iter().any(|d| d.pk.starts_with("MFA_TOKEN#")),
        "the sign-in step: {swept:?}"
    );
    assert!(
        env.app.table.get(&pending).await.unwrap().is_none(),
        "the lapsed setup"
    );
    let events = marquee::store::Query::partition(format!("USER#{user_id}#SECURITY"));
    assert!(!env.app.table.query(&events).await.unwrap().items.is_empty());

    env.clock.advance(time::Duration::days(90));
    sweep(&env).await;
    assert!(
        env.app.table.query(&events).await.unwrap().items.is_empty(),
        "events kept 90 days"
    );
    let factor = marquee::auth::mfa::factor::factor_key(&user_id);
    assert!(
        env.app.table.get(&factor).await.unwrap().is_some(),
        "the factor stays"
    );
}

support::on_both_backends!(
    pending_setups_sign_in_steps_and_old_events_are_swept,
    setup_confirm_sign_in_replay_recovery_regenerate_disable,
    codes_drift_one_step_and_wrong_codes_lock_the_account,
    a_sign_in_step_dies_after_five_wrong_codes,
    a_second_step_started_before_a_password_reset_cannot_finish_after_it,
    sensitive_changes_ask_for_proof,
    admins_reset_a_lost_authenticator,
    the_security_log_records_sign_ins_sessions_and_admin_changes,
    emailed_links_open_pages_that_change_nothing_until_posted,
);
