//! Accounts that stay closed, sign-ins that cannot be raced, and whoever proves an email
//! choosing its password: one behaviour a test, on the embedded backend and on DynamoDB,
//! SES and SQS (the local AWS stand-in).

use super::accounts::{
    NEW_PASSWORD, PASSWORD, admin, email, login, mail_request, member, patch_user, register,
    register_with, sign_in,
};
use crate::support::{self, Env, gate};
use axum::http::{Method, StatusCode};
use marquee::accounts::admin::{active_admins, emails_with_role, ensure_admin};
use marquee::auth::login::FREE_ATTEMPTS;
use marquee::auth::oauth::accounts::{Profile, resolve};
use marquee::auth::oauth::providers::Provider;
use marquee::clock::Clock;
use marquee::role::Role;
use serde_json::{Value, json};

/// A password someone who does not own the address chose.
const SQUATTER: &str = "Squatter-Chose-This-91";

/// The active admins, counted by reading them all; the stored count must agree.
async fn admins(env: &Env) -> usize {
    let real = emails_with_role(&env.app, Role::Admin).await.unwrap().len();
    let counted = active_admins(&env.app).await.unwrap();
    assert_eq!(
        counted, real as i64,
        "the active-admin count is the real one"
    );
    real
}

async fn my_id(env: &Env, access: &str) -> String {
    let (status, me) = env.get("/me", Some(access)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    me["id"].as_str().unwrap().to_string()
}

fn subjects(env: &Env, address: &str) -> Vec<String> {
    env.emails_to(address).into_iter().map(|(s, _)| s).collect()
}

/// How many emails to `address` carried a link (an activation or a reset).
fn links(env: &Env, address: &str) -> usize {
    env.emails_to(address)
        .iter()
        .filter(|(_, body)| body.contains("token="))
        .count()
}

async fn provider_sign_in(env: &Env, address: &str) -> Result<(), String> {
    let profile = Profile {
        subject: format!("google-{address}"),
        email: Some(address.to_string()),
        first_name: None,
        last_name: None,
    };
    let now = env.clock.now().unix_timestamp();
    resolve(
        &env.app,
        Provider::Google,
        &profile,
        &Default::default(),
        now,
    )
    .await
    .map(|_| ())
    .map_err(|problem| problem.code.to_string())
}

// ---- Deactivation ----

async fn a_deactivated_admin_stays_out_until_an_admin_lets_them_back(env: Env) {
    let root = admin(&env).await;
    let root_id = my_id(&env, &root).await;
    let bea_email = email(&env, "bea");
    let (bea, _) = member(&env, &bea_email).await;
    let bea_id = my_id(&env, &bea).await;
    let (status, body) = patch_user(&env, &root, &bea_id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(admins(&env).await, 2);

    let (status, body) = patch_user(&env, &root, &bea_id, json!({"active": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["active"], &body["deactivated"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(admins(&env).await, 1);

    // No emailed link, reset or provider brings the account back.
    env.clock.advance(time::Duration::seconds(61));
    let links_before = links(&env, &bea_email);
    for path in ["/auth/activation/resend", "/auth/password/forgot"] {
        assert_eq!(
            mail_request(&env, path, &bea_email).await.0,
            StatusCode::ACCEPTED
        );
    }
    assert_eq!(links(&env, &bea_email), links_before, "no link is sent");
    let told = subjects(&env, &bea_email);
    assert_eq!(
        told.iter().filter(|s| s.contains("turned off")).count(),
        1,
        "told once a minute why no link comes: {told:?}"
    );
    let (status, body) = login(&env, &bea_email, PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_deactivated"))
    );
    let (status, body) = login(&env, &bea_email, "Not-Her-Password-77").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
        "a wrong password learns nothing more"
    );
    assert_eq!(
        provider_sign_in(&env, &bea_email).await,
        Err("account_deactivated".into())
    );

    // The only admin left cannot go; an admin lets the other back, and she counts again.
    let (status, body) = patch_user(&env, &root, &root_id, json!({"active": false})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_admin"))
    );
    let (status, body) = patch_user(&env, &root, &bea_id, json!({"active": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deactivated"], false);
    assert_eq!(admins(&env).await, 2);
    let (bea, _) = sign_in(&env, &bea_email, PASSWORD).await;
    let (status, body) = patch_user(&env, &bea, &root_id, json!({"active": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(admins(&env).await, 1);
    assert_eq!(
        env.get("/me", Some(&root)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_sign_up_an_admin_turned_off_cannot_activate_itself(env: Env) {
    let root = admin(&env).await;
    let cid = email(&env, "cid");
    let created = register(&env, &cid).await;
    let link = env.token_from_email(&cid, "Activate");
    let id = created["id"].as_str().unwrap();
    let (status, body) = patch_user(&env, &root, id, json!({"active": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = env
        .post("/auth/activate", None, json!({"token": link}))
        .await;
    assert_ne!(
        status,
        StatusCode::OK,
        "the link died with the deactivation"
    );
    env.clock.advance(time::Duration::seconds(61));
    mail_request(&env, "/auth/activation/resend", &cid).await;
    assert_eq!(links(&env, &cid), 1, "no new link");
    assert_eq!(
        login(&env, &cid, PASSWORD).await.1["code"],
        "account_deactivated"
    );
}

// ---- Whoever proves the email chooses the password ----

async fn a_second_sign_up_replaces_an_unproved_one_and_its_password(env: Env) {
    let owner = email(&env, "olga");
    let first = register_with(&env, &owner, SQUATTER).await;
    let second = register_with(&env, &owner, PASSWORD).await;
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&first), keys(&second), "the same answer to both");
    assert_eq!(
        (second["active"].clone(), second["role"].clone()),
        (json!(false), json!("user"))
    );
    assert_ne!(first["id"], second["id"]);
    let tokens: Vec<String> = env
        .emails_to(&owner)
        .iter()
        .filter_map(|(_, body)| body.split("token=").nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .collect();
    assert_eq!(tokens.len(), 2, "one link per sign-up");
    let (status, _) = env
        .post("/auth/activate", None, json!({"token": tokens[0]}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the first sign-up's link died"
    );
    let (status, body) = env
        .post("/auth/activate", None, json!({"token": tokens[1]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        login(&env, &owner, SQUATTER).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&env, &owner, PASSWORD).await.0, StatusCode::OK);
}

async fn a_link_sent_on_request_asks_for_a_new_password(env: Env) {
    let owner = email(&env, "pia");
    register_with(&env, &owner, SQUATTER).await;
    env.clock.advance(time::Duration::seconds(61));
    mail_request(&env, "/auth/activation/resend", &owner).await;
    let (_, newest) = env.emails_to(&owner).pop().unwrap();
    assert!(newest.contains("choose_password=1"), "{newest}");
    let token = env.token_from_email(&owner, "Activate");
    let (status, body) = env
        .post("/auth/activate", None, json!({"token": token}))
        .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["password".to_string()]
        )
    );
    let (status, _) = env
        .post(
            "/auth/activate",
            None,
            json!({"token": token, "password": "password1"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a weak one is refused"
    );
    let (status, body) = env
        .post(
            "/auth/activate",
            None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        login(&env, &owner, SQUATTER).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&env, &owner, PASSWORD).await.0, StatusCode::OK);
}

async fn signing_up_with_an_address_in_use_answers_alike_and_tells_its_owner(env: Env) {
    let owner = email(&env, "quin");
    member(&env, &owner).await;
    let fresh = register_with(&env, &email(&env, "rex"), PASSWORD).await;
    let taken = register_with(&env, &owner, SQUATTER).await;
    assert_eq!(
        (
            taken["active"].clone(),
            taken["role"].clone(),
            taken.as_object().unwrap().len()
        ),
        (
            json!(false),
            json!("user"),
            fresh.as_object().unwrap().len()
        )
    );
    env.run_mail_jobs().await;
    let told = subjects(&env, &owner);
    assert_eq!(
        told.last().unwrap(),
        "Someone tried to sign up with your email",
        "{told:?}"
    );
    assert_eq!(
        login(&env, &owner, SQUATTER).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&env, &owner, PASSWORD).await.0, StatusCode::OK);
}

async fn the_admin_tool_never_keeps_an_unproved_password(env: Env) {
    let owner = email(&env, "sol");
    register_with(&env, &owner, SQUATTER).await;
    ensure_admin(&env.app, &owner, NEW_PASSWORD).await.unwrap();
    assert_eq!(
        login(&env, &owner, SQUATTER).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = login(&env, &owner, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(admins(&env).await, 1);
}

// ---- Revocation ----

async fn a_sign_in_racing_a_password_reset_does_not_outlive_it(env: Env) {
    let address = email(&env, "tia");
    member(&env, &address).await;
    mail_request(&env, "/auth/password/forgot", &address).await;
    let token = env.token_from_email(&address, "Reset");
    // The sign-in checks the old password, then waits to open its session...
    let gate = gate::Gate::new(gate::opens_session);
    let gated = gate::gated_api(&env.app, &gate);
    let request = support::request(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"email": address, "password": PASSWORD})),
        &[],
    );
    let racing = tokio::spawn(async move { support::call(&gated, request).await });
    gate.arrived().await;
    // ...while the reset commits and ends every session.
    let (status, body) = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    gate.release();
    let (status, _, pair) = racing.await.unwrap();
    if status == StatusCode::OK {
        let (status, _) = env.get("/me", pair["access_token"].as_str()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "the raced session is over"
        );
        let (status, _) = env
            .post(
                "/auth/refresh",
                None,
                json!({"refresh_token": pair["refresh_token"]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "and cannot be refreshed");
    } else {
        assert_eq!(
            (status, pair["code"].as_str()),
            (StatusCode::CONFLICT, Some("account_changed")),
            "{pair}"
        );
    }
    let (access, _) = sign_in(&env, &address, NEW_PASSWORD).await;
    let (_, sessions) = env.get("/me/sessions", Some(&access)).await;
    assert_eq!(sessions["items"].as_array().unwrap().len(), 1, "{sessions}");
}

async fn a_role_change_ends_sessions_even_ones_never_listed(env: Env) {
    let root = admin(&env).await;
    let address = email(&env, "uli");
    let (access, refresh) = member(&env, &address).await;
    let id = my_id(&env, &access).await;
    // A session the change cannot find by listing: its index entry is gone.
    let sessions = marquee::auth::session::list(&env.app, &id).await.unwrap();
    for session in &sessions {
        env.app
            .table
            .write(marquee::store::Write::update(
                marquee::auth::session::key(&session.id),
                marquee::store::Update::new()
                    .remove(marquee::store::Index::Gsi1.pk())
                    .remove(marquee::store::Index::Gsi1.sk()),
            ))
            .await
            .unwrap();
    }
    let (status, _) = patch_user(&env, &root, &id, json!({"role": "moderator"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        env.get("/me", Some(&access)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = env
        .post("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// ---- The lockout ----

async fn parallel_wrong_passwords_get_at_most_the_limit(env: Env) {
    let address = email(&env, "vic");
    member(&env, &address).await;
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..40 {
        let api = env.api.clone();
        let body = json!({"email": address, "password": format!("Wrong-Guess-{n:03}-x")});
        guesses.spawn(async move {
            let request = support::request(Method::POST, "/auth/login", None, Some(body), &[]);
            support::call(&api, request).await.0
        });
    }
    let statuses: Vec<StatusCode> = guesses.join_all().await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        (1..=FREE_ATTEMPTS as usize).contains(&checked),
        "{checked} guesses were checked: {statuses:?}"
    );
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert_eq!(
        login(&env, &address, PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "locked, even for the right password"
    );
}

async fn wrong_passwords_confirming_a_change_count_toward_the_lockout(env: Env) {
    let address = email(&env, "wes");
    let (access, _) = member(&env, &address).await;
    for n in 0..FREE_ATTEMPTS {
        let (status, body) = env
            .post(
                "/auth/password/change",
                Some(&access),
                json!({"current_password": format!("Not-It-{n}-Velvet"), "new_password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (status, _) = env
        .post(
            "/auth/password/change",
            Some(&access),
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        login(&env, &address, PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _) = env
        .post(
            "/auth/mfa/totp",
            Some(&access),
            json!({"password": "Still-Not-It-4"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the MFA settings' check too"
    );
}

support::on_both_backends!(
    a_deactivated_admin_stays_out_until_an_admin_lets_them_back,
    a_sign_up_an_admin_turned_off_cannot_activate_itself,
    a_second_sign_up_replaces_an_unproved_one_and_its_password,
    a_link_sent_on_request_asks_for_a_new_password,
    signing_up_with_an_address_in_use_answers_alike_and_tells_its_owner,
    the_admin_tool_never_keeps_an_unproved_password,
    a_sign_in_racing_a_password_reset_does_not_outlive_it,
    a_role_change_ends_sessions_even_ones_never_listed,
    parallel_wrong_passwords_get_at_most_the_limit,
    wrong_passwords_confirming_a_change_count_toward_the_lockout,
);
