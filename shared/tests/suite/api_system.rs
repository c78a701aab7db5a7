//! System routes and the HTTP layer every route shares, through the full router.

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::on;
use marquee::http::guard::Access;
use marquee::http::{BODY_LIMIT_BYTES, Json};
use marquee::routes::{self, Method, ROUTES, Route};
use serde::Deserialize;
use serde_json::json;
use support::{Env, call, embedded_app, get};

fn is_ulid(s: &str) -> bool {
    s.len() == 26 && ulid::Ulid::from_string(s).is_ok()
}

#[tokio::test]
async fn health_reports_version_and_every_response_has_a_request_id() {
    let t = embedded_app().await;
    let api = routes::router(t.app.clone(), |_| true);
    let (status, headers, body) = call(&api, get("/health")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        time::OffsetDateTime::parse(
            body["time"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert!(is_ulid(headers["x-request-id"].to_str().unwrap()));

    let traced = Request::get("/health")
        .header("x-request-id", "client-chosen-id")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = call(&api, traced).await;
    assert_eq!(headers["x-request-id"], "client-chosen-id");

    let (status, headers, _) = call(&api, get("/nowhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(is_ulid(headers["x-request-id"].to_str().unwrap()));
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let t = embedded_app().await;
    let api = routes::router(t.app.clone(), |_| true);
    let (status, headers, body) = call(&api, get("/no/such/route")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);

    let post = Request::post("/health").body(Body::empty()).unwrap();
    let (status, headers, body) = call(&api, post).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn openapi_documents_every_route_of_the_table() {
    let t = embedded_app().await;
    let api = routes::router(t.app.clone(), |_| true);
    let (status, _, doc) = call(&api, get("/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        documented += item.as_object().unwrap().len();
        for (method, op) in item.as_object().unwrap() {
            let route = ROUTES
                .iter()
                .find(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method))
                .unwrap_or_else(|| panic!("{method} {path} is documented but not routed"));
            assert_eq!(op["operationId"], route.name);
            assert!(op["responses"][route.status.to_string()].is_object());
            assert_eq!(
                op["security"].is_array(),
                route.access != Access::Public,
                "{} security",
                route.name
            );
        }
    }
    assert_eq!(
        documented,
        ROUTES.len(),
        "every route documented exactly once"
    );
    for route in ROUTES.iter() {
        let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
        assert_eq!(
            op["operationId"], route.name,
            "{} is not documented",
            route.name
        );
        if let Some(body) = route.response {
            let name = (body.name)();
            assert!(
                doc["components"]["schemas"][name.as_ref()].is_object(),
                "schema {name}"
            );
        }
    }
    assert!(doc["components"]["schemas"]["ProblemBody"].is_object());
    // Every reference resolves: generators and fuzzers stop at a dangling one.
    let mut dangling = Vec::new();
    dangling_refs(&doc, &doc, &mut dangling);
    assert_eq!(dangling, Vec::<String>::new(), "references to nothing");
    // Catalogue PATCH bodies are merge patches: nothing required, optional members nullable,
    // declared under one media type, `application/json` (generators mishandle two; the
    // server takes `application/merge-patch+json` as well, see input_hardening).
    let patch = &doc["paths"]["/genres/{id}"]["patch"]["requestBody"]["content"];
    assert_eq!(
        patch["application/json"]["schema"]["$ref"],
        "#/components/schemas/GenreInputPatch"
    );
    for route in ROUTES.iter() {
        let method = route.method.as_str().to_lowercase();
        let body = &doc["paths"][route.path][method.as_str()]["requestBody"]["content"];
        if let Some(media) = body.as_object() {
            assert_eq!(media.len(), 1, "{}: one request media type", route.name);
        }
    }
    let person = &doc["components"]["schemas"]["PersonInputPatch"];
    assert!(
        person["required"].as_array().is_none_or(|r| r.is_empty()),
        "{person}"
    );
    assert_eq!(
        person["properties"]["bio"]["anyOf"][1]["type"], "null",
        "{person}"
    );
    assert_eq!(person["additionalProperties"], false);
    // Lists document their pages; headers in and out are declared.
    let movies = &doc["paths"]["/movies"]["get"];
    assert_eq!(
        movies["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CardPage"
    );
    let limit = movies["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (
            &limit["schema"]["type"],
            &limit["schema"]["maximum"],
            &limit["schema"]["default"]
        ),
        (&json!("integer"), &json!(100), &json!(20))
    );
    let order = &doc["paths"]["/orders"]["post"];
    assert!(
        order["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key"
                && p["in"] == "header"
                && p["required"] == true)
    );
    assert!(order["responses"]["503"]["headers"]["Retry-After"].is_object());
    assert!(doc["paths"]["/genres/{id}"]["get"]["responses"]["200"]["headers"]["ETag"].is_object());
    assert!(doc["paths"]["/genres/{id}"]["get"]["responses"]["404"].is_object());

    // No allOf that no answer could match: a closed part beside members of another part.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for part in schema["allOf"].as_array().into_iter().flatten() {
            let part = match part["$ref"].as_str() {
                Some(target) => doc.pointer(target.trim_start_matches('#')).unwrap(),
                None => part,
            };
            assert!(
                part.get("additionalProperties") != Some(&json!(false)),
                "{name}: a closed part of an allOf"
            );
        }
    }
}

/// The `$ref`s in `value` that point at nothing in `doc`.
fn dangling_refs(doc: &serde_json::Value, value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(members) => {
            if let Some(target) = members.get("$ref").and_then(|r| r.as_str()) {
                let pointer = target.trim_start_matches('#');
                if doc.pointer(pointer).is_none() && !out.iter().any(|o| o == target) {
                    out.push(target.to_string());
                }
            }
            for member in members.values() {
                dangling_refs(doc, member, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                dangling_refs(doc, item, out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn docs_page_is_self_contained() {
    let t = embedded_app().await;
    let api = routes::router(t.app.clone(), |_| true);
    let (status, headers, page) = call(&api, get("/docs")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = page.as_str().unwrap();
    assert!(page.contains("openapi.json"));
    assert!(!page.contains("<script src"), "no external scripts");
    assert!(!page.contains("<link"), "no external stylesheets");
    assert!(
        !page.contains("https://"),
        "nothing fetched from the internet"
    );
}

#[tokio::test]
async fn jwks_publishes_the_verification_key() {
    let t = embedded_app().await;
    let api = routes::router(t.app.clone(), |_| true);
    let (status, headers, body) = call(&api, get("/.well-known/jwks.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let key = &body["keys"][0];
    assert_eq!(body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["kid"], t.app.keys.kid());
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key["x"].as_str().unwrap())
        .unwrap();
    assert_eq!(x.as_slice(), t.app.keys.public_key());
}

// The HTTP layer's behaviour for bodies, roles and panics, on routes made for the test.

#[derive(Deserialize)]
struct Rename {
    #[allow(dead_code)]
    title: String,
    #[allow(dead_code)]
    year: u16,
}

async fn rename(Json(_): Json<Rename>) -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn explode() -> StatusCode {
    panic!("handler bug")
}

fn test_routes() -> Vec<Route> {
    let base = *routes::find("health").unwrap();
    vec![
        Route {
            name: "test-rename",
            method: Method::Post,
            path: "/test/rename",
            handler: |m| on(m, rename),
            ..base
        },
        Route {
            name: "test-members",
            method: Method::Get,
            path: "/test/members",
            access: Access::AtLeast(marquee::role::Role::User),
            ..base
        },
        Route {
            name: "test-explode",
            method: Method::Get,
            path: "/test/explode",
            handler: |m| on(m, explode),
            ..base
        },
    ]
}

fn post_json(path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn bad_bodies_are_problems_with_stable_codes() {
    let t = embedded_app().await;
    let routes = test_routes();
    let api = routes::router_for(t.app.clone(), &routes);
    let good = post_json(
        "/test/rename",
        "application/json",
        r#"{"title":"Heat","year":1995}"#,
    );
    assert_eq!(call(&api, good).await.0, StatusCode::NO_CONTENT);

    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_json("/test/rename", "application/json", "{not json"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            post_json(
                "/test/rename",
                "text/plain",
                r#"{"title":"Heat","year":1995}"#,
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            post_json(
                "/test/rename",
                "application/json",
                r#"{"title":"Heat","year":"soon"}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            post_json(
                "/test/rename",
                "application/json",
                format!(
                    r#"{{"title":"{}","year":1995}}"#,
                    "x".repeat(BODY_LIMIT_BYTES)
                ),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let (got, headers, body) = call(&api, request).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    }
    let wrong_type = post_json(
        "/test/rename",
        "application/json",
        r#"{"title":"Heat","year":"soon"}"#,
    );
    let (_, _, body) = call(&api, wrong_type).await;
    assert_eq!(body["errors"][0]["field"], "year", "{body}");
}

#[tokio::test]
async fn the_role_guard_refuses_anonymous_callers() {
    let t = embedded_app().await;
    let routes = test_routes();
    let api = routes::router_for(t.app.clone(), &routes);
    let (status, headers, body) = call(&api, get("/test/members")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(
        body,
        json!({
            "type": "/docs#problem-unauthorized", "title": "Authentication required",
            "status": 401, "code": "unauthorized"
        })
    );
}

#[tokio::test]
async fn a_panicking_handler_answers_a_problem_without_internals() {
    let t = embedded_app().await;
    let routes = test_routes();
    let api = routes::router_for(t.app.clone(), &routes);
    let (status, headers, body) = call(&api, get("/test/explode")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "internal");
    assert!(!body.to_string().contains("handler bug"));
}

/// A preflight and a call as a browser on `origin` makes them.
async fn from_origin(
    api: &axum::Router,
    origin: &str,
) -> (axum::http::HeaderMap, axum::http::HeaderMap) {
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/movies")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, idempotency-key",
        )
        .body(Body::empty())
        .unwrap();
    let (status, preflight, _) = call(api, preflight).await;
    assert!(status.is_success(), "a preflight is answered: {status}");
    let request = Request::builder()
        .uri("/movies")
        .header("origin", origin)
        .body(Body::empty())
        .unwrap();
    let (status, answer, _) = call(api, request).await;
    assert_eq!(status, StatusCode::OK);
    (preflight, answer)
}

#[tokio::test]
async fn browsers_on_the_web_client_origin_may_call_and_others_may_not() {
    let t = embedded_app().await;
    let mut config = (*t.app.config).clone();
    config.cors_origins = vec!["https://cinema.example".into()];
    let mut app = t.app.clone();
    app.config = std::sync::Arc::new(config);
    let api = routes::router(app, |_| true);
    let text = |headers: &axum::http::HeaderMap, name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };

    let (preflight, answer) = from_origin(&api, "https://cinema.example").await;
    assert_eq!(
        text(&preflight, "access-control-allow-origin"),
        "https://cinema.example"
    );
    for method in marquee::http::cors::METHODS {
        assert!(
            text(&preflight, "access-control-allow-methods").contains(&method.to_ascii_lowercase()),
            "{method}"
        );
    }
    for header in [
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
    ] {
        assert!(
            text(&preflight, "access-control-allow-headers").contains(header),
            "{header}"
        );
    }
    assert_eq!(text(&preflight, "access-control-max-age"), "600");
    assert_eq!(
        text(&answer, "access-control-allow-origin"),
        "https://cinema.example"
    );
    for header in ["etag", "retry-after", "x-request-id"] {
        assert!(
            text(&answer, "access-control-expose-headers").contains(header),
            "{header}"
        );
    }

    // Another origin gets no permission: the browser refuses to hand the answer over.
    let (preflight, answer) = from_origin(&api, "https://elsewhere.example").await;
    assert!(preflight.get("access-control-allow-origin").is_none());
    assert!(answer.get("access-control-allow-origin").is_none());
}

/// Deployed functions that were given no MFA data key or no Stripe key say which service
/// is not set up (503), rather than failing some other way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn without_their_keys_two_step_sign_in_and_payments_answer_503() {
    let env = support::Env::served(
        true,
        vec![
            ("MARQUEE_MFA_KEY", String::new()),
            ("MARQUEE_STRIPE_SECRET_KEY", String::new()),
            ("MARQUEE_STRIPE_WEBHOOK_SECRET", String::new()),
        ],
    )
    .await;
    let (_, movies) = support::shop(&env, 5).await;
    let (access, _, _) = env.account("nokeys", marquee::role::Role::User).await;
    let (status, body) = env.post("/auth/mfa/totp", Some(&access), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("mfa_not_configured")),
        "{body}"
    );
    env.post("/cart/items", Some(&access), json!({"movie_id": movies[0]}))
        .await;
    let request = support::request(
        axum::http::Method::POST,
        "/orders",
        Some(&access),
        None,
        &[("idempotency-key", "no-keys")],
    );
    let (status, _, placed) = support::call(&env.api, request).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let (status, body) = env
        .post(
            &format!("/orders/{}/checkout", placed["id"].as_str().unwrap()),
            Some(&access),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        env.stripe.requests().is_empty(),
        "nothing was sent to Stripe"
    );
    let (status, _) = env.webhook("{}", "t=1,v1=00").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "no webhook secret");
}

/// The system routes and the pages emailed links open answer on either backend.
async fn system_routes_and_pages_answer(env: Env) {
    for path in [
        "/health",
        "/openapi.json",
        "/docs",
        "/.well-known/jwks.json",
        "/activate?token=abc",
        "/reset-password",
    ] {
        let (status, _, body) = env.send(axum::http::Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

support::on_both_backends!(system_routes_and_pages_answer);
