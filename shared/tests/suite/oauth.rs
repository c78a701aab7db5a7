//! Sign-in with Google and Facebook through the full router, on the embedded backend and
//! on DynamoDB, SES and SQS (the local AWS stand-in), as a browser goes: our start, the
//! provider's page, our callback (with the browser's cookie), the client's exchange. The
//! providers are the simulated ones (served on a loopback port, since the callback calls
//! their token endpoints over HTTP) and, for Google's discovery, keys and ID tokens, an
//! independent OpenID provider the test script starts (`oidc-provider-mock`).

use crate::support;

use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use marquee::role::Role;
use serde_json::{Value, json};
use std::sync::Arc;
use support::Env;

const APP: &str = "https://cinema.test/app";
const PASSWORD: &str = "Velvet-Lantern-Orbit-42";

async fn served(aws: bool) -> Env {
    Env::served(
        aws,
        vec![(
            "MARQUEE_OAUTH_REDIRECTS",
            format!("{APP},https://cinema.test/other"),
        )],
    )
    .await
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Our start: the provider URL the browser is sent to, and the cookie it is given.
async fn start(env: &Env, provider: &str, redirect_to: &str) -> (String, String) {
    let (status, headers, body) = env
        .send(
            Method::GET,
            &format!("/auth/oauth/{provider}?redirect_to={redirect_to}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let location = headers["location"].to_str().unwrap().to_string();
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    (location, cookie)
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn form_body(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// An attribute value as the browser reads it.
fn unescape(value: &str) -> String {
    value
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the simulated provider's form.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let attr = |name: &str| {
                let at = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                rest[at..at + rest[at..].find('"').unwrap()].to_string()
            };
            (attr("name"), unescape(&attr("value")))
        })
        .collect()
}

/// What the person does on the simulated provider's page: types an email and a name and
/// continues (or cancels). Returns where the provider sends the browser back.
fn at_simulated_provider(authorize_url: &str, email: &str, name: &str, action: &str) -> String {
    let (status, headers, page) = support::http_exchange("GET", authorize_url, &[], "").unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(
        header(&headers, "content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        page.contains("method=\"post\"")
            && page.contains("name=\"email\"")
            && page.contains("name=\"name\"")
    );
    let mut fields = hidden_fields(&page);
    fields.extend([
        ("email".to_string(), email.to_string()),
        ("name".to_string(), name.to_string()),
        ("action".to_string(), action.to_string()),
    ]);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, headers, body) = support::http_exchange(
        "POST",
        authorize_url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form_body(&fields),
    )
    .unwrap();
    assert!((300..400).contains(&status), "{status} {body}");
    header(&headers, "location").unwrap()
}

/// Our callback, as the browser (with or without its cookie) calls it: status, where it
/// sends the browser, and the body.
async fn callback(
    env: &Env,
    url: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let path = url.strip_prefix(&env.base()).unwrap_or(url);
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let (status, headers, body) =
        support::call(&env.api, request.body(axum::body::Body::empty()).unwrap()).await;
    let location = headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (status, location, body)
}

/// The client's exchange of a login code, from the browser that holds `cookie` (none: a
/// browser without the sign-in's cookie).
async fn exchange(env: &Env, login_code: &str, cookie: Option<&str>) -> (StatusCode, Value) {
    let (status, _, body) = exchange_answer(env, login_code, cookie).await;
    (status, body)
}

async fn exchange_answer(
    env: &Env,
    login_code: &str,
    cookie: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", *c)).collect();
    let request = support::request(
        Method::POST,
        "/auth/oauth/exchange",
        None,
        Some(json!({"login_code": login_code})),
        &headers,
    );
    let answer = support::call(&env.api, request).await;
    // As `Env::send` does: the emails the sign-in owes go out before the test looks.
    env.run_mail_jobs().await;
    answer
}

/// The whole provider sign-in on the simulated provider: the exchange's answer.
async fn sign_in_with(env: &Env, provider: &str, email: &str, name: &str) -> (StatusCode, Value) {
    let (authorize, cookie) = start(env, provider, APP).await;
    let back = at_simulated_provider(&authorize, email, name, "allow");
    let (status, location, body) = callback(env, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.unwrap();
    assert!(location.starts_with(APP), "{location}");
    match param(&location, "login_code") {
        Some(code) => exchange(env, &code, Some(&cookie)).await,
        None => (
            StatusCode::SEE_OTHER,
            json!({"error": param(&location, "error"), "location": location}),
        ),
    }
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

fn unique_email(name: &str) -> String {
    format!(
        "{name}.{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    )
}

// ---- Both providers, simulated ----

async fn both_providers_sign_in_create_then_link_and_unlink(env: Env) {
    let email = unique_email("lea");
    // Start: the provider's authorization request carries everything it must.
    let (authorize, cookie) = start(&env, "google", APP).await;
    assert!(
        authorize.starts_with(&format!("{}/oauth/simulated/google/authorize?", env.base())),
        "{authorize}"
    );
    for (name, expected) in [
        ("client_id", Some("marquee-local".to_string())),
        ("response_type", Some("code".to_string())),
        ("scope", Some("openid email profile".to_string())),
        ("code_challenge_method", Some("S256".to_string())),
        (
            "redirect_uri",
            Some(format!("{}/auth/oauth/google/callback", env.base())),
        ),
    ] {
        assert_eq!(param(&authorize, name), expected, "{name}");
    }
    for name in ["state", "code_challenge", "nonce"] {
        assert!(
            param(&authorize, name).is_some_and(|v| v.len() >= 43),
            "{name}"
        );
    }
    assert!(cookie.starts_with("marquee_oauth="));

    // Google, new: an active account without a password, named by the provider.
    let back = at_simulated_provider(&authorize, &email, "Léa Ortega Díaz", "allow");
    let (status, location, _) = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.starts_with(&format!("{APP}?login_code=")),
        "no tokens in the URL: {location}"
    );
    let code = param(&location, "login_code").unwrap();
    // The code works only from the browser that started the sign-in.
    let (_, foreign_cookie) = start(&env, "google", APP).await;
    for other in [None, Some(foreign_cookie.as_str())] {
        let (status, body) = exchange(&env, &code, other).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_login_code")),
            "{other:?}: {body}"
        );
    }
    let (status, headers, pair) = exchange_answer(&env, &code, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let cleared = headers["set-cookie"].to_str().unwrap();
    assert!(
        cleared.contains("Max-Age=0"),
        "the exchange ends the cookie: {cleared}"
    );
    let access = pair["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&access)["amr"], json!(["google"]));
    let (_, me) = env.get("/me", Some(&access)).await;
    assert_eq!(
        (
            me["email"].as_str(),
            me["active"].as_bool(),
            me["has_password"].as_bool()
        ),
        (Some(email.as_str()), Some(true), Some(false))
    );
    assert_eq!(
        (me["first_name"].as_str(), me["last_name"].as_str()),
        (Some("Léa Ortega"), Some("Díaz"))
    );
    let (status, body) = exchange(&env, &code, Some(&cookie)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_login_code")),
        "single use"
    );
    let (status, _, page) = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a used state: {page}");
    assert!(page.as_str().unwrap().contains("Start signing in again"));

    // Again with Google, after someone typed a wrong password for the address: the same
    // account, and the sign-in clears the failure.
    let (status, _) = env
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "Guessing-Wrong-123"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let failures = |env: &Env| {
        let (app, email) = (env.app.clone(), email.clone());
        async move {
            marquee::accounts::user::find_by_email(&app, &email)
                .await
                .unwrap()
                .unwrap()
                .failed_logins
        }
    };
    assert_eq!(failures(&env).await, 1);
    let (status, again) = sign_in_with(&env, "google", &email, "Léa").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(failures(&env).await, 0);
    assert_eq!(
        claims(again["access_token"].as_str().unwrap())["sub"],
        claims(&access)["sub"]
    );

    // Facebook with the same verified email: linked to it, and the owner is told.
    let (status, facebook) = sign_in_with(&env, "facebook", &email, "Léa O.").await;
    assert_eq!(status, StatusCode::OK, "{facebook}");
    let facebook_access = facebook["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&facebook_access)["sub"], claims(&access)["sub"]);
    assert_eq!(claims(&facebook_access)["amr"], json!(["facebook"]));
    let subjects: Vec<String> = env.emails_to(&email).into_iter().map(|(s, _)| s).collect();
    assert_eq!(subjects, ["Facebook sign-in was linked"]);
    let (_, identities) = env.get("/me/identities", Some(&access)).await;
    let mut linked: Vec<&str> = identities["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["provider"].as_str().unwrap())
        .collect();
    linked.sort();
    assert_eq!(linked, ["facebook", "google"]);
    assert_eq!(identities["items"][0]["email"], email.as_str());

    // Unlinking: fine while another way remains; refused for the last one.
    let (status, _, _) = env
        .send(Method::DELETE, "/me/identities/google", Some(&access), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = env
        .send(Method::DELETE, "/me/identities/google", Some(&access), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _, body) = env
        .send(
            Method::DELETE,
            "/me/identities/facebook",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("last_sign_in_method"))
    );
    let (status, _, _) = env
        .send(
            Method::DELETE,
            "/me/identities/myspace",
            Some(&access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, events) = env
        .get("/me/security-events?limit=100", Some(&access))
        .await;
    let events = events["items"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "identity_linked").count(),
        2,
        "{types:?}"
    );
    assert_eq!(types[0], "identity_unlinked");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "sign_in" && e["detail"] == "with Facebook")
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "sign_in" && e["detail"] == "with Google")
    );
}

async fn refusals_name_what_was_wrong(env: Env) {
    // Open redirects and unknown providers are refused at the start.
    for bad in [
        "https://evil.test/app",
        "https://cinema.test.evil.test/app",
        "javascript:alert(1)",
        "",
    ] {
        let (status, body) = env
            .get(&format!("/auth/oauth/google?redirect_to={bad}"), None)
            .await;
        assert_eq!(
            (status, support::error_fields(&body)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["redirect_to".to_string()]
            ),
            "{bad}"
        );
    }
    let (status, body) = env
        .get(&format!("/auth/oauth/myspace?redirect_to={APP}"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_provider"))
    );

    // The callback needs this browser's cookie and a state it issued.
    let (authorize, cookie) = start(&env, "facebook", APP).await;
    let back = at_simulated_provider(&authorize, &unique_email("max"), "Max", "allow");
    let (status, _, page) = callback(&env, &back, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no cookie");
    let page = page.as_str().unwrap().to_string();
    assert!(page.contains("not started in this browser"), "{page}");
    let (_, foreign_cookie) = start(&env, "facebook", APP).await;
    let (status, _, _) = callback(&env, &back, Some(&foreign_cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another browser's cookie");
    let forged = back.replace(&param(&back, "state").unwrap(), "forged-state");
    let (status, _, _) = callback(&env, &forged, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a forged state");
    let (status, location, _) = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the genuine one still works once"
    );
    assert!(param(&location.unwrap(), "login_code").is_some());

    // The person cancels at the provider: back to the app with the error, never JSON.
    let (authorize, cookie) = start(&env, "google", "https://cinema.test/other/page").await;
    let back = at_simulated_provider(&authorize, "x@example.com", "", "deny");
    let (status, location, _) = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://cinema.test/other/page?"),
        "{location}"
    );
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert!(param(&location, "login_code").is_none());

    // A state expires after 10 minutes; a login code after 2.
    let (authorize, cookie) = start(&env, "google", APP).await;
    let back = at_simulated_provider(&authorize, &unique_email("ivo"), "Ivo", "allow");
    env.clock.advance(time::Duration::minutes(11));
    let (status, _, _) = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an expired state");
    let (authorize, cookie) = start(&env, "google", APP).await;
    let back = at_simulated_provider(&authorize, &unique_email("ivo"), "Ivo", "allow");
    let (_, location, _) = callback(&env, &back, Some(&cookie)).await;
    env.clock.advance(time::Duration::minutes(3));
    let (status, _) = exchange(
        &env,
        &param(&location.unwrap(), "login_code").unwrap(),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an expired login code");
}

async fn accounts_are_linked_safely(env: Env) {
    // An active account with a password: the verified email links it; the password stays.
    let (_, user_id, email) = env.account("ana", Role::User).await;
    let (status, pair) = sign_in_with(&env, "google", &email, "Ana").await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(
        claims(pair["access_token"].as_str().unwrap())["sub"],
        user_id
    );
    assert_eq!(
        env.post(
            "/auth/login",
            None,
            json!({"email": email, "password": PASSWORD})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert!(
        env.emails_to(&email)
            .iter()
            .any(|(s, _)| s == "Google sign-in was linked")
    );

    // Pre-hijacking: someone registered the address first, with their password, and never
    // activated it. The provider proves who owns the address: the account becomes theirs.
    let victim = unique_email("bob");
    let (status, created) = env
        .post(
            "/auth/register",
            None,
            json!({"email": victim, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let activation = env.token_from_email(&victim, "Activate");
    let (status, pair) = sign_in_with(&env, "facebook", &victim, "Bob").await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let access = pair["access_token"].as_str().unwrap().to_string();
    assert_eq!(claims(&access)["sub"], created["id"]);
    let (status, body) = env
        .post(
            "/auth/login",
            None,
            json!({"email": victim, "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_credentials")),
        "the squatter's password is gone"
    );
    let (status, _) = env
        .post("/auth/activate", None, json!({"token": activation}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "its pending activation link is dead"
    );
    let (_, me) = env.get("/me", Some(&access)).await;
    assert_eq!(
        (me["active"].as_bool(), me["has_password"].as_bool()),
        (Some(true), Some(false)),
        "{me}"
    );
    let (_, events) = env.get("/me/security-events", Some(&access)).await;
    assert!(events["items"].as_array().unwrap().iter().any(|e| {
        e["type"] == "identity_linked"
            && e["detail"]
                .as_str()
                .unwrap()
                .contains("password set before was removed")
    }));
    // Without a password, a reset link sets one.
    env.post("/auth/password/forgot", None, json!({"email": victim}))
        .await;
    env.run_mail_jobs().await;
    let reset = env.token_from_email(&victim, "Reset");
    let (status, _) = env
        .post(
            "/auth/password/reset",
            None,
            json!({"token": reset, "new_password": "Copper-Meadow-Harbor-77"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let with_password = env.sign_in_as(&victim, "Copper-Meadow-Harbor-77").await;
    let (_, me) = env.get("/me", Some(&with_password)).await;
    assert_eq!(me["has_password"], true, "{me}");
    let (status, _, _) = env
        .send(
            Method::DELETE,
            "/me/identities/facebook",
            Some(&with_password),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "with a password, the last identity can go"
    );

    // A deactivated account stays out.
    let (admin, _, _) = env.account("root", Role::Admin).await;
    let (_, carl_id, carl) = env.account("carl", Role::User).await;
    let (status, _, _) = env
        .send(
            Method::PATCH,
            &format!("/admin/users/{carl_id}"),
            Some(&admin),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, refused) = sign_in_with(&env, "google", &carl, "Carl").await;
    assert_eq!(refused["error"], "account_deactivated", "{refused}");

    // A locked account stays locked.
    let (_, _, dora) = env.account("dora", Role::User).await;
    for _ in 0..5 {
        env.post(
            "/auth/login",
            None,
            json!({"email": dora, "password": "Wrong-Password-1234"}),
        )
        .await;
    }
    let (_, refused) = sign_in_with(&env, "google", &dora, "Dora").await;
    assert_eq!(refused["error"], "too_many_attempts", "{refused}");

    // MFA on: a provider sign-in still needs the code.
    let (access, _, eve) = env.account("eve", Role::User).await;
    let (_, setup) = env.post("/auth/mfa/totp", Some(&access), json!({})).await;
    let totp = totp_rs::Totp::from_url(setup["otpauth_uri"].as_str().unwrap()).unwrap();
    let now = || marquee::clock::Clock::now(env.clock.as_ref()).unix_timestamp() as u64;
    let (status, _) = env
        .post(
            "/auth/mfa/totp/confirm",
            Some(&access),
            json!({"code": totp.generate(now()).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = sign_in_with(&env, "google", &eve, "Eve").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(answer.get("access_token").is_none());
    env.clock.advance(time::Duration::seconds(30));
    let (status, pair) = env
        .post(
            "/auth/mfa/verify",
            None,
            json!({"mfa_token": answer["mfa_token"], "code": totp.generate(now()).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    assert_eq!(
        claims(pair["access_token"].as_str().unwrap())["amr"],
        json!(["google", "otp"])
    );
}

/// Runs each case on both backends, each app served with the simulated providers.
macro_rules! on_both_backends_served {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::served(false).await).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs the AWS stand-in: ./infra/test starts it"]
                async fn $case() {
                    super::$case(super::served(true).await).await;
                }
            )*
        }
    };
}

on_both_backends_served!(
    both_providers_sign_in_create_then_link_and_unlink,
    refusals_name_what_was_wrong,
    accounts_are_linked_safely,
);

// ---- Google's OpenID Connect against an independent provider ----

/// The OpenID provider the test script started (`oidc-provider-mock`).
fn independent_provider() -> String {
    std::env::var("MARQUEE_TEST_OIDC_URL")
        .expect("MARQUEE_TEST_OIDC_URL is not set: run the suite with ./infra/test, which starts the OpenID provider")
}

async fn with_independent_google(aws: bool) -> Env {
    Env::served(
        aws,
        vec![
            ("MARQUEE_OAUTH_REDIRECTS", APP.to_string()),
            (
                "MARQUEE_GOOGLE_CLIENT_ID",
                "marquee-test-client".to_string(),
            ),
            (
                "MARQUEE_GOOGLE_CLIENT_SECRET",
                "marquee-test-secret".to_string(),
            ),
            ("MARQUEE_GOOGLE_ISSUER", independent_provider()),
        ],
    )
    .await
}

/// Signs `sub` in at the independent provider (its form takes the subject).
fn at_independent_provider(authorize_url: &str, sub: &str) -> String {
    let (status, headers, body) = support::http_exchange(
        "POST",
        authorize_url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form_body(&[("sub", sub)]),
    )
    .unwrap();
    assert!((300..400).contains(&status), "{status} {body}");
    header(&headers, "location").unwrap()
}

fn set_claims(sub: &str, claims: Value) {
    let (status, body) = support::http_request(
        "PUT",
        &format!("{}/users/{sub}", independent_provider()),
        &[("Content-Type", "application/json")],
        &claims.to_string(),
    )
    .unwrap();
    assert_eq!(status, 204, "{body}");
}

async fn google_through_an_independent_openid_provider(aws: bool) {
    let env = with_independent_google(aws).await;
    let email = unique_email("oidc");
    let sub = format!("sub-{}", ulid::Ulid::new());
    set_claims(
        &sub,
        json!({"email": email, "email_verified": true, "given_name": "Olga", "family_name": "Petrova"}),
    );
    let (authorize, cookie) = start(&env, "google", APP).await;
    assert!(
        authorize.starts_with(&independent_provider()),
        "the endpoint from the discovery document: {authorize}"
    );
    assert_eq!(
        param(&authorize, "client_id").as_deref(),
        Some("marquee-test-client")
    );
    let back = at_independent_provider(&authorize, &sub);
    let (status, location, body) = callback(&env, &back, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.unwrap();
    let code = param(&location, "login_code").unwrap_or_else(|| panic!("{location}"));
    let (status, pair) = exchange(&env, &code, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let (_, me) = env
        .get("/me", Some(pair["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(
        (
            me["email"].as_str(),
            me["first_name"].as_str(),
            me["last_name"].as_str()
        ),
        (Some(email.as_str()), Some("Olga"), Some("Petrova"))
    );

    // An email the provider has not verified links nothing and creates nothing.
    let unverified = format!("sub-{}", ulid::Ulid::new());
    set_claims(
        &unverified,
        json!({"email": unique_email("unverified"), "email_verified": false}),
    );
    let (authorize, cookie) = start(&env, "google", APP).await;
    let back = at_independent_provider(&authorize, &unverified);
    let (_, location, _) = callback(&env, &back, Some(&cookie)).await;
    let location = location.unwrap();
    assert_eq!(
        param(&location, "error").as_deref(),
        Some("email_not_verified"),
        "{location}"
    );
    assert!(
        param(&location, "error_description")
            .unwrap()
            .contains("verified email")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the OpenID provider stand-in: ./infra/test starts it"]
async fn embedded_google_through_an_independent_openid_provider() {
    google_through_an_independent_openid_provider(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS and OpenID provider stand-ins: ./infra/test starts them"]
async fn dynamodb_google_through_an_independent_openid_provider() {
    google_through_an_independent_openid_provider(true).await;
}

/// Deployed functions without a client id: 503, not a silent stand-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn deployed_without_a_client_id_a_provider_is_not_configured() {
    let env = Env::aws().await;
    let (status, body) = env
        .get(&format!("/auth/oauth/google?redirect_to={APP}"), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("provider_not_configured")
        )
    );
}

// ---- ID tokens that must be refused, from a provider that misbehaves on purpose ----

/// How the misbehaving provider spoils its ID token.
#[derive(Clone, Copy, Debug)]
enum Spoiled {
    WrongNonce,
    Expired,
    WrongAudience,
    ForeignKey,
    UnverifiedEmail,
}

/// An OpenID provider on a loopback port whose token endpoint answers an ID token spoiled
/// as `how`: signed with a key it publishes (or, for `ForeignKey`, with another one).
async fn misbehaving_provider(how: Option<Spoiled>) -> String {
    use axum::routing::{get, post};
    use marquee::auth::oauth::simulated::SigningKey;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let published = Arc::new(SigningKey::generate());
    let signer = if matches!(how, Some(Spoiled::ForeignKey)) {
        Arc::new(SigningKey::generate())
    } else {
        published.clone()
    };
    let issuer = base.clone();
    let discovery = json!({
        "issuer": base, "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"), "jwks_uri": format!("{base}/jwks"),
    });
    let jwks = json!({"keys": [published.jwk()]});
    let router = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route("/jwks", get(move || async move { axum::Json(jwks) }))
        .route(
            "/token",
            // The test hands this sign-in's nonce over as the code.
            post(
                move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                    let (signer, published, issuer) =
                        (signer.clone(), published.clone(), issuer.clone());
                    async move {
                        let nonce = form.get("code").cloned().unwrap_or_default();
                        let now = time::OffsetDateTime::now_utc().unix_timestamp();
                        let mut claims = json!({
                            "iss": issuer, "aud": "marquee-test-client", "sub": "spoiled-subject",
                            "email": "spoiled@example.com", "email_verified": true,
                            "iat": now, "exp": now + 300, "nonce": nonce,
                        });
                        match how {
                            Some(Spoiled::Expired) => claims["exp"] = (now - 3600).into(),
                            Some(Spoiled::WrongAudience) => claims["aud"] = "someone-else".into(),
                            Some(Spoiled::UnverifiedEmail) => {
                                claims["email_verified"] = false.into()
                            }
                            Some(Spoiled::WrongNonce) => {
                                claims["nonce"] = "another sign-in's".into()
                            }
                            Some(Spoiled::ForeignKey) | None => {}
                        }
                        let token = signer.sign_as(&published.kid, &claims);
                        axum::Json(
                            json!({"access_token": "a", "token_type": "Bearer", "id_token": token}),
                        )
                    }
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Each spoiled ID token: the callback sends the person back with `error`, and nobody is
/// signed in or created. A token spoiled in no way signs in, so each refusal is its own.
async fn spoiled_id_tokens_are_refused(aws: bool) {
    for how in [
        None,
        Some(Spoiled::WrongNonce),
        Some(Spoiled::Expired),
        Some(Spoiled::WrongAudience),
        Some(Spoiled::ForeignKey),
        Some(Spoiled::UnverifiedEmail),
    ] {
        let provider = misbehaving_provider(how).await;
        let env = Env::served(
            aws,
            vec![
                ("MARQUEE_OAUTH_REDIRECTS", APP.to_string()),
                (
                    "MARQUEE_GOOGLE_CLIENT_ID",
                    "marquee-test-client".to_string(),
                ),
                ("MARQUEE_GOOGLE_CLIENT_SECRET", "secret".to_string()),
                ("MARQUEE_GOOGLE_ISSUER", provider.clone()),
            ],
        )
        .await;
        let (authorize, cookie) = start(&env, "google", APP).await;
        assert!(authorize.starts_with(&provider));
        // The provider "signs the person in": straight back to our callback with a code.
        let back = format!(
            "{}/auth/oauth/google/callback?code={}&state={}",
            env.base(),
            param(&authorize, "nonce").unwrap(),
            param(&authorize, "state").unwrap()
        );
        let (status, location, body) = callback(&env, &back, Some(&cookie)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{how:?}: {body}");
        let location = location.unwrap();
        let Some(how) = how else {
            assert!(
                param(&location, "login_code").is_some(),
                "the unspoiled token signs in: {location}"
            );
            continue;
        };
        let expected = match how {
            Spoiled::UnverifiedEmail => "email_not_verified",
            _ => "provider_error",
        };
        assert_eq!(
            param(&location, "error").as_deref(),
            Some(expected),
            "{how:?}: {location}"
        );
        assert!(param(&location, "login_code").is_none(), "{how:?}");
        assert!(
            marquee::accounts::user::find_by_email(&env.app, "spoiled@example.com")
                .await
                .unwrap()
                .is_none(),
            "{how:?}: no account"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_spoiled_id_tokens_are_refused() {
    spoiled_id_tokens_are_refused(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS and OpenID provider stand-ins: ./infra/test starts them"]
async fn dynamodb_spoiled_id_tokens_are_refused() {
    spoiled_id_tokens_are_refused(true).await;
}
