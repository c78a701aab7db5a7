//! Accounts and auth through the full router, on the embedded backend and on DynamoDB,
//! SES and SQS (the local AWS stand-in).

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::accounts::admin::ensure_admin;
use serde_json::{Value, json};
use support::Env;

pub(crate) const PASSWORD: &str = "Velvet-Lantern-Orbit-42";
pub(crate) const NEW_PASSWORD: &str = "Copper-Meadow-Harbor-77";

pub(crate) fn email(env: &Env, name: &str) -> String {
    // Unique per test run: the stand-in's mailbox is shared.
    let tag = env
        .dir
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_lowercase();
    format!("{name}.{}@example.com", tag.trim_start_matches('.'))
}

pub(crate) async fn register(env: &Env, email: &str) -> Value {
    register_with(env, email, PASSWORD).await
}

/// Signs `email` up with `password`, as anyone can: the 201's body.
pub(crate) async fn register_with(env: &Env, email: &str, password: &str) -> Value {
    let (status, body) = env
        .post(
            "/auth/register",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub(crate) async fn activate(env: &Env, email: &str) {
    let token = env.token_from_email(email, "Activate");
    let (status, body) = env
        .post("/auth/activate", None, json!({"token": token}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// POSTs an email-only request, then lets the mail worker run what it queued.
pub(crate) async fn mail_request(env: &Env, path: &str, email: &str) -> (StatusCode, Value) {
    let answer = env.post(path, None, json!({"email": email})).await;
    env.run_mail_jobs().await;
    answer
}

pub(crate) async fn login(env: &Env, email: &str, password: &str) -> (StatusCode, Value) {
    env.post(
        "/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

/// A registered, activated, signed-in user: (access, refresh).
pub(crate) async fn member(env: &Env, email: &str) -> (String, String) {
    register(env, email).await;
    activate(env, email).await;
    sign_in(env, email, PASSWORD).await
}

pub(crate) async fn sign_in(env: &Env, email: &str, password: &str) -> (String, String) {
    let (status, body) = login(env, email, password).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["access_token"].as_str().unwrap().to_string(),
        body["refresh_token"].as_str().unwrap().to_string(),
    )
}

pub(crate) async fn admin(env: &Env) -> String {
    let email = email(env, "root");
    ensure_admin(&env.app, &email, PASSWORD).await.unwrap();
    sign_in(env, &email, PASSWORD).await.0
}

// ---- The journey, on both backends ----

async fn the_whole_journey(env: Env) {
    let email = email(&env, "ana");
    let created = register(&env, &email).await;
    assert_eq!(
        (created["role"].as_str(), created["active"].as_bool()),
        (Some("user"), Some(false))
    );
    assert_eq!(created["email"], email);
    assert!(created.get("password_hash").is_none());

    // Inactive: a wrong password learns nothing more than usual; the right one learns why.
    let (status, body) = login(&env, &email, "Not-The-Password-1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials"))
    );
    let (status, body) = login(&env, &email, PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("account_inactive"))
    );
    activate(&env, &email).await;

    let (access, refresh) = sign_in(&env, &email, PASSWORD).await;
    let (status, me) = env.get("/me", Some(&access)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (me["email"].as_str(), me["active"].as_bool()),
        (Some(email.as_str()), Some(true))
    );

    let (status, pair) = env
        .post("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    let new_access = pair["access_token"].as_str().unwrap().to_string();
    let new_refresh = pair["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    assert_eq!(env.get("/me", Some(&new_access)).await.0, StatusCode::OK);

    // The old refresh token again: someone kept it. The whole session ends.
    let (status, body) = env
        .post("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("refresh_token_reused"))
    );
    let (status, body) = env.get("/me", Some(&new_access)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_ended"))
    );
    let (status, _) = env
        .post("/auth/refresh", None, json!({"refresh_token": new_refresh}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (access, _) = sign_in(&env, &email, PASSWORD).await;
    let (status, _, _) = env
        .send(Method::POST, "/auth/logout", Some(&access), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = env.get("/me", Some(&access)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session_ended"))
    );
}

async fn activation_links_are_single_use_expire_and_resend_replaces_them(env: Env) {
    let email = email(&env, "ben");
    register(&env, &email).await;
    let first = env.token_from_email(&email, "Activate");

    // Resend is limited to one email a minute.
    assert_eq!(
        mail_request(&env, "/auth/activation/resend", &email)
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(env.emails_to(&email).len(), 1);
    env.clock.advance(time::Duration::seconds(61));
    assert_eq!(
        mail_request(&env, "/auth/activation/resend", &email)
            .await
            .0,
        StatusCode::ACCEPTED
    );
    assert_eq!(env.emails_to(&email).len(), 2);
    let second = env.token_from_email(&email, "Activate");
    assert_ne!(first, second);

    let (status, body) = env
        .post("/auth/activate", None, json!({"token": first}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_token")),
        "the old link died"
    );

    // 24 hours later the new one has expired too.
    env.clock.advance(time::Duration::hours(24));
    let (status, _) = env
        .post("/auth/activate", None, json!({"token": second}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    env.clock.advance(time::Duration::seconds(61));
    mail_request(&env, "/auth/activation/resend", &email).await;
    let third = env.token_from_email(&email, "Activate");
    // A link sent on request takes the password (see account_safety).
    let with_password = json!({"token": third, "password": PASSWORD});
    assert_eq!(
        env.post("/auth/activate", None, with_password.clone())
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        env.post("/auth/activate", None, with_password).await.0,
        StatusCode::BAD_REQUEST,
        "single use"
    );

    // Active or unknown: the same 202, and no email.
    let before = env.emails_to(&email).len();
    env.clock.advance(time::Duration::seconds(61));
    let (status, body) = mail_request(&env, "/auth/activation/resend", &email).await;
    let (unknown_status, unknown_body) =
        mail_request(&env, "/auth/activation/resend", "nobody@example.com").await;
    assert_eq!((status, &body), (unknown_status, &unknown_body));
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(env.emails_to(&email).len(), before);
}

async fn password_reset_is_single_use_expires_and_ends_every_session(env: Env) {
    let email = email(&env, "cleo");
    let (access, _) = member(&env, &email).await;
    let (other, _) = sign_in(&env, &email, PASSWORD).await;

    let (status, body) = mail_request(&env, "/auth/password/forgot", &email).await;
    let (unknown_status, unknown_body) =
        mail_request(&env, "/auth/password/forgot", "ghost@example.com").await;
    assert_eq!((status, &body), (StatusCode::ACCEPTED, &unknown_body));
    assert_eq!(unknown_status, StatusCode::ACCEPTED);
    let token = env.token_from_email(&email, "Reset");

    let weak = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": token, "new_password": "password1"}),
        )
        .await;
    assert_eq!(weak.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.1["errors"][0]["field"], "new_password");

    let (status, body) = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for token in [&access, &other] {
        assert_eq!(
            env.get("/me", Some(token)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login(&env, &email, PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    sign_in(&env, &email, NEW_PASSWORD).await;
    let again = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": token, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(again.0, StatusCode::BAD_REQUEST, "single use");
    assert!(
        env.emails_to(&email)
            .iter()
            .any(|(s, _)| s.contains("was changed"))
    );

    // A link is good for one hour.
    env.clock.advance(time::Duration::seconds(61));
    mail_request(&env, "/auth/password/forgot", &email).await;
    let late = env.token_from_email(&email, "Reset");
    env.clock.advance(time::Duration::minutes(61));
    let (status, _) = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": late, "new_password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn logout_all_and_session_management(env: Env) {
    let email = email(&env, "dora");
    let (first, _) = member(&env, &email).await;
    let (second, _) = sign_in(&env, &email, PASSWORD).await;
    let (third, _) = sign_in(&env, &email, PASSWORD).await;

    let (status, list) = env.get("/me/sessions", Some(&first)).await;
    assert_eq!(status, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);

    // Revoking one of my sessions ends it; someone else's is not found.
    let (_, second_view) = env.get("/me/sessions", Some(&second)).await;
    let second_id = second_view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let stranger = email_other(&env).await;
    let (status, _, _) = env
        .send(
            Method::DELETE,
            &format!("/me/sessions/{second_id}"),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(env.get("/me", Some(&second)).await.0, StatusCode::OK);
    let (status, _, _) = env
        .send(
            Method::DELETE,
            &format!("/me/sessions/{second_id}"),
            Some(&first),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        env.get("/me", Some(&second)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, _, _) = env
        .send(
            Method::POST,
            "/auth/logout",
            Some(&first),
            Some(json!({"all": true})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&first, &third] {
        assert_eq!(
            env.get("/me", Some(token)).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn email_other(env: &Env) -> String {
    member(env, &email(env, "eve")).await.0
}

async fn password_change_keeps_this_session_only(env: Env) {
    let email = email(&env, "finn");
    let (current, _) = member(&env, &email).await;
    let (other, _) = sign_in(&env, &email, PASSWORD).await;

    let (status, body) = env
        .post(
            "/auth/password/change",
            Some(&current),
            json!({"current_password": "wrong-password-here", "new_password": "short"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = support::error_fields(&body);
    assert!(
        fields.contains(&"current_password".to_string())
            && fields.contains(&"new_password".to_string()),
        "{body}"
    );

    let (status, body) = env
        .post(
            "/auth/password/change",
            Some(&current),
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(env.get("/me", Some(&current)).await.0, StatusCode::OK);
    assert_eq!(
        env.get("/me", Some(&other)).await.0,
        StatusCode::UNAUTHORIZED
    );
    sign_in(&env, &email, NEW_PASSWORD).await;
    assert!(
        env.emails_to(&email)
            .iter()
            .any(|(s, _)| s.contains("was changed"))
    );
}

async fn login_is_uniform_and_throttled_per_account(env: Env) {
    let email = email(&env, "gus");
    member(&env, &email).await;
    let (unknown_status, unknown) = login(&env, "nobody@example.com", PASSWORD).await;
    let (wrong_status, wrong) = login(&env, &email, "Not-The-Password-1").await;
    assert_eq!((unknown_status, &unknown), (wrong_status, &wrong));
    assert_eq!(unknown["code"], "invalid_credentials");

    for _ in 0..4 {
        assert_eq!(
            login(&env, &email, "Not-The-Password-1").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Five failures: locked, even for the right password.
    let (status, headers, body) = env
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts"))
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");

    env.clock.advance(time::Duration::seconds(31));
    assert_eq!(
        login(&env, &email, "Not-The-Password-1").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, headers, _) = env
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((31..=60).contains(&retry), "the lock doubled: {retry}");

    env.clock.advance(time::Duration::seconds(61));
    sign_in(&env, &email, PASSWORD).await;
    // A success resets the count: one failure does not lock again.
    assert_eq!(
        login(&env, &email, "Not-The-Password-1").await.0,
        StatusCode::UNAUTHORIZED
    );
    sign_in(&env, &email, PASSWORD).await;
}

async fn sessions_die_after_their_idle_and_absolute_lifetimes(env: Env) {
    let email = email(&env, "hana");
    let (access, refresh) = member(&env, &email).await;
    env.clock.advance(time::Duration::days(6));
    let (status, pair) = env
        .post("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, StatusCode::OK, "within the idle lifetime");
    let mut refresh = pair["refresh_token"].as_str().unwrap().to_string();
    env.clock.advance(time::Duration::days(8));
    let (status, _) = env
        .post("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "idle for 8 days");
    assert_eq!(
        env.get("/me", Some(&access)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Refreshing every 6 days still ends at 30 days.
    let (_, fresh) = sign_in(&env, &email, PASSWORD).await;
    refresh = fresh;
    for _ in 0..4 {
        env.clock.advance(time::Duration::days(6));
        let (status, pair) = env
            .post("/auth/refresh", None, json!({"refresh_token": refresh}))
            .await;
        assert_eq!(status, StatusCode::OK);
        refresh = pair["refresh_token"].as_str().unwrap().to_string();
    }
    env.clock
        .advance(time::Duration::days(6) + time::Duration::seconds(1));
    let (status, _) = env
        .post("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "past the absolute lifetime"
    );
}

async fn admins_manage_users_but_never_the_last_admin(env: Env) {
    let root = admin(&env).await;
    let ivy = email(&env, "ivy");
    let (ivy_token, _) = member(&env, &ivy).await;
    let jon = email(&env, "jon");
    let jon_view = register(&env, &jon).await;

    let (status, page) = env.get("/admin/users?active=false", Some(&root)).await;
    assert_eq!(status, StatusCode::OK);
    let inactive: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(inactive, vec![jon.as_str()]);
    let (_, page) = env.get("/admin/users?role=admin", Some(&root)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = env.get("/admin/users?email=IVY.", Some(&root)).await;
    assert_eq!(page["items"][0]["email"], ivy);
    let (_, first) = env.get("/admin/users?limit=2", Some(&root)).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = env
        .get(
            &format!("/admin/users?limit=2&cursor={cursor}"),
            Some(&root),
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());
    // A value out of range and one that does not parse: the same status and code.
    for (query, field, message) in [
        ("limit=500", "limit", "must be 1 to 100"),
        (
            "role=emperor",
            "role",
            "must be one of: user, moderator, admin",
        ),
        ("limit=ten", "limit", "must be a whole number"),
    ] {
        let (status, problem) = env.get(&format!("/admin/users?{query}"), Some(&root)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{query}: {problem}"
        );
        assert_eq!(
            problem["errors"],
            serde_json::json!([{"field": field, "message": message}]),
            "{query}"
        );
    }

    let jon_id = jon_view["id"].as_str().unwrap();
    let (status, got) = env
        .get(&format!("/admin/users/{jon_id}"), Some(&root))
        .await;
    assert_eq!(
        (status, got["email"].as_str()),
        (StatusCode::OK, Some(jon.as_str()))
    );
    assert_eq!(
        env.get("/admin/users/01JD8X0000000000000000NONE", Some(&root))
            .await
            .0,
        StatusCode::NOT_FOUND
    );

    // Promoting ivy ends her sessions; she signs in again as a moderator.
    let (_, me) = env.get("/me", Some(&ivy_token)).await;
    let ivy_id = me["id"].as_str().unwrap().to_string();
    let (status, body) = patch_user(&env, &root, &ivy_id, json!({"role": "moderator"})).await;
    assert_eq!(
        (status, body["role"].as_str()),
        (StatusCode::OK, Some("moderator"))
    );
    assert_eq!(
        (&body["sessions_ended"], &body["sessions_ended_count"]),
        (&json!(true), &json!(1)),
        "the answer says her sessions ended: {body}"
    );
    assert_eq!(
        env.get("/me", Some(&ivy_token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The same role again changes nothing and ends nothing.
    let (status, body) = patch_user(&env, &root, &ivy_id, json!({"role": "moderator"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sessions_ended"], false, "{body}");
    let (ivy_token, _) = sign_in(&env, &ivy, PASSWORD).await;
    assert_eq!(
        env.get("/admin/users", Some(&ivy_token)).await.0,
        StatusCode::FORBIDDEN
    );

    // Deactivation ends sessions; the password then meets 403.
    let (status, body) = patch_user(&env, &root, &ivy_id, json!({"active": false})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["sessions_ended"], true, "{body}");
    assert_eq!(
        env.get("/me", Some(&ivy_token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&env, &ivy, PASSWORD).await.0, StatusCode::FORBIDDEN);

    // The last active admin cannot demote or deactivate themself.
    let (_, me) = env.get("/me", Some(&root)).await;
    let root_id = me["id"].as_str().unwrap().to_string();
    for change in [json!({"role": "user"}), json!({"active": false})] {
        let (status, _, body) = env
            .send(
                Method::PATCH,
                &format!("/admin/users/{root_id}"),
                Some(&root),
                Some(change),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("last_admin"))
        );
    }
    let (status, _, body) = env
        .send(
            Method::PATCH,
            &format!("/admin/users/{root_id}"),
            Some(&root),
            Some(json!({"role": "superuser"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

support::on_both_backends!(
    the_whole_journey,
    activation_links_are_single_use_expire_and_resend_replaces_them,
    password_reset_is_single_use_expires_and_ends_every_session,
    logout_all_and_session_management,
    password_change_keeps_this_session_only,
    login_is_uniform_and_throttled_per_account,
    sessions_die_after_their_idle_and_absolute_lifetimes,
    admins_manage_users_but_never_the_last_admin,
);

// ---- Input rules (embedded backend) ----

#[tokio::test]
async fn registration_refuses_bad_input_with_every_reason() {
    let env = Env::embedded().await;
    let (status, body) = env
        .post(
            "/auth/register",
            None,
            json!({"email": "not-an-email", "password": "abc"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = support::error_fields(&body);
    assert!(
        fields.contains(&"email".to_string()) && fields.contains(&"password".to_string()),
        "{body}"
    );

    let (status, body) = env
        .post(
            "/auth/register",
            None,
            json!({"email": "kim.nakamura@example.com", "password": "kim.nakamura-2024"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["errors"].to_string().contains("email address"),
        "{body}"
    );
    let (status, body) = env
        .post(
            "/auth/register",
            None,
            json!({"email": "lee@example.com", "password": "password12345"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("is too easy to guess"),
        "{body}"
    );

    // An address in use answers like a new one (see account_safety), whatever its case.
    let first = register(&env, "Mia@Example.com").await;
    let (status, body) = env
        .post(
            "/auth/register",
            None,
            json!({"email": "mia@example.COM", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(first["id"], body["id"]);

    let (status, _) = env
        .post(
            "/auth/register",
            None,
            json!({"email": "ned@example.com", "password": PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no choosing one's role"
    );
}

#[tokio::test]
async fn profile_changes_only_profile_fields_and_validates_them() {
    let env = Env::embedded().await;
    let (token, _) = member(&env, "omar@example.com").await;
    let patch = |body: Value| {
        let env = &env;
        let token = token.clone();
        async move {
            env.send(Method::PATCH, "/me", Some(&token), Some(body))
                .await
        }
    };
    let (status, _, me) = patch(json!({
        "first_name": "Omar", "last_name": "Haddad", "date_of_birth": "1990-04-12",
        "bio": "Westerns and noir.", "avatar_url": "https://img.example/omar.png"
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(
        (me["first_name"].as_str(), me["date_of_birth"].as_str()),
        (Some("Omar"), Some("1990-04-12"))
    );

    let (status, _, body) = patch(json!({
        "first_name": "", "date_of_birth": "2999-01-01", "avatar_url": "http://insecure.example/a.png",
        "bio": "x".repeat(2001)
    }))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"].as_array().unwrap().len(),
        4,
        "every bad field: {body}"
    );

    for forbidden in [
        json!({"role": "admin"}),
        json!({"active": false}),
        json!({"email": "x@example.com"}),
    ] {
        let (status, _, _) = patch(forbidden).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (_, _, me) = patch(json!({"bio": null})).await;
    assert!(me["bio"].is_null(), "null clears");
    assert_eq!(me["first_name"], "Omar", "absent stays");
    assert_eq!(me["role"], "user");
}

#[tokio::test]
async fn tokens_must_be_bearer_valid_and_from_a_live_session() {
    let env = Env::embedded().await;
    let (token, _) = member(&env, "pia@example.com").await;
    for header in ["", "Basic abc", "Bearer", "Bearer not-a-jwt"] {
        let request = axum::http::Request::get("/me")
            .header("authorization", header)
            .body(axum::body::Body::empty())
            .unwrap();
        let (status, _, _) = support::call(&env.api, request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{header:?}");
    }
    // A token signed by another deployment's key is refused.
    let other = Env::embedded().await;
    let (foreign, _) = member(&other, "pia@example.com").await;
    assert_eq!(
        env.get("/me", Some(&foreign)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(env.get("/me", Some(&token)).await.0, StatusCode::OK);
}

/// Every signed-in route, called as anonymous, user, moderator and admin, gets exactly
/// what its role allows: 401 without a token, 403 below its role, anything else above.
#[tokio::test]
async fn authorisation_matrix() {
    use marquee::http::guard::Access;
    use marquee::role::Role;
    let env = Env::embedded().await;
    let root = admin(&env).await;
    let (user, _) = member(&env, "quinn@example.com").await;
    let (moderator, _) = member(&env, "rosa@example.com").await;
    let (_, me) = env.get("/me", Some(&moderator)).await;
    env.send(
        Method::PATCH,
        &format!("/admin/users/{}", me["id"].as_str().unwrap()),
        Some(&root),
        Some(json!({"role": "moderator"})),
    )
    .await;
    let (moderator, _) = sign_in(&env, "rosa@example.com", PASSWORD).await;
    let callers = [
        (None, None),
        (Some(Role::User), Some(&user)),
        (Some(Role::Moderator), Some(&moderator)),
        (Some(Role::Admin), Some(&root)),
    ];
    for route in marquee::routes::ROUTES.iter() {
        // Logout would end the caller's session; it is covered by the journey.
        if route.name == "auth-logout" {
            continue;
        }
        let path = route.path.replace("{id}", "01JD8X0000000000000000NONE");
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        for (role, token) in &callers {
            let (status, _, body) = env
                .send(method.clone(), &path, token.map(|t| t.as_str()), None)
                .await;
            let expected = match (route.access, role) {
                (Access::Public, _) => None,
                (Access::AtLeast(_), None) => Some(StatusCode::UNAUTHORIZED),
                (Access::AtLeast(min), Some(role)) if role < &min => Some(StatusCode::FORBIDDEN),
                _ => None,
            };
            match expected {
                Some(expected) => {
                    assert_eq!(status, expected, "{} as {role:?}: {body}", route.name)
                }
                None => assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{} as {role:?} answered {status}: {body}",
                    route.name
                ),
            }
        }
    }
}

#[tokio::test]
async fn ensure_admin_promotes_and_activates_an_existing_account() {
    use marquee::accounts::admin::{AdminSetup, active_admins};
    let env = Env::embedded().await;
    member(&env, "sam@example.com").await;
    assert_eq!(active_admins(&env.app).await.unwrap(), 0);
    let (user, setup) = ensure_admin(&env.app, "Sam@Example.com", "ignored-for-proved-x")
        .await
        .unwrap();
    assert_eq!(setup, AdminSetup::Promoted);
    assert!(user.active);
    assert_eq!(active_admins(&env.app).await.unwrap(), 1);
    // A proved account keeps its own password and can now use admin routes.
    let (token, _) = sign_in(&env, "sam@example.com", PASSWORD).await;
    assert_eq!(
        env.get("/admin/users", Some(&token)).await.0,
        StatusCode::OK
    );
    let (_, again) = ensure_admin(&env.app, "sam@example.com", "x")
        .await
        .unwrap();
    assert_eq!(again, AdminSetup::AlreadyAdmin);
}

/// Resend and forgot do the same work whatever the address: one queued job, no read, no
/// write, no email, so neither the answer nor its time tells whether an account exists.
#[tokio::test]
async fn resend_and_forgot_do_the_same_work_for_every_address() {
    let mut env = Env::embedded().await;
    member(&env, "tess@example.com").await;
    register(&env, "uma@example.com").await;
    env.run_mail_jobs().await;
    // From here on, what the requests themselves do: the worker does not run.
    env.mail_worker = false;
    let queues = env.app.local_queues.clone().unwrap();
    for path in ["/auth/activation/resend", "/auth/password/forgot"] {
        let mut answers = Vec::new();
        for email in ["tess@example.com", "uma@example.com", "nobody@example.com"] {
            let mails_before = std::fs::read_dir(env.dir.path().join("outbox"))
                .unwrap()
                .count();
            answers.push(env.post(path, None, json!({"email": email})).await);
            let queued = queues.mail.take(100);
            assert_eq!(queued.len(), 1, "{path} {email}: one job");
            assert!(queued[0].contains(email));
            let mails_after = std::fs::read_dir(env.dir.path().join("outbox"))
                .unwrap()
                .count();
            assert_eq!(
                mails_before, mails_after,
                "{path} {email}: no email in the request"
            );
        }
        assert!(
            answers.windows(2).all(|w| w[0] == w[1]),
            "{path}: same answer {answers:?}"
        );
        assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    }
    let bad = env
        .post("/auth/password/forgot", None, json!({"email": ""}))
        .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `PATCH /admin/users/{id}` as `admin`.
pub(crate) async fn patch_user(
    env: &Env,
    admin: &str,
    id: &str,
    change: Value,
) -> (StatusCode, Value) {
    let (status, _, body) = env
        .send(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            Some(admin),
            Some(change),
        )
        .await;
    (status, body)
}
