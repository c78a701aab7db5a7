//! A request's log lines carry what operators search by: level, time and message at the
//! top; the request id, route, function and version, cold start, Lambda's request id, the
//! X-Ray trace id and the signed-in caller in the span; never the caller's token. In a
//! process of its own: it installs the process's log subscriber to read the lines back.

mod support;

use axum::http::{Request, StatusCode};
use support::log::Captured;

#[tokio::test(flavor = "current_thread")]
async fn a_request_s_lines_name_its_route_function_trace_and_caller() {
    let captured = Captured::default();
    let writer = captured.clone();
    marquee::telemetry::install("info", move || writer.clone()).unwrap();
    let env = support::Env::embedded().await;
    let (token, user_id, _) = env.account("log-fields", marquee::role::Role::User).await;
    // As deployed: the Lambda glue reads the invocation's context.
    let router = env.api.clone().layer(axum::middleware::map_request(
        marquee::lambda::from_lambda_context,
    ));
    let mut context = lambda_http::Context::default();
    context.request_id = "lambda-invocation-7".into();
    context.xray_trace_id =
        Some("Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1".into());
    let mut request = Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .header("x-request-id", "log-fields-request")
        .body(axum::body::Body::empty())
        .unwrap();
    request.extensions_mut().insert(context);
    let (status, _, _) = support::call(&router, request).await;
    assert_eq!(status, StatusCode::OK);

    let lines = captured.lines();
    let finished = lines
        .iter()
        .find(|l| {
            l["message"] == "request finished" && l["span"]["request_id"] == "log-fields-request"
        })
        .unwrap_or_else(|| panic!("the request's completion line in {lines:?}"));
    assert_eq!(finished["level"], "INFO");
    assert!(finished["timestamp"].is_string());
    assert_eq!(finished["status"], 200);
    let span = &finished["span"];
    assert_eq!(span["route"], "/me");
    assert_eq!(span["method"], "GET");
    assert_eq!(span["function"], "marquee-local");
    assert_eq!(span["aws_request_id"], "lambda-invocation-7");
    assert_eq!(span["trace_id"], "1-67a1b2c3-0123456789abcdef01234567");
    assert!(span["cold_start"].is_boolean());
    assert_eq!(span["user_id"], user_id.as_str());
    let everything: String = lines.iter().map(|l| l.to_string()).collect();
    assert!(!everything.contains(&token), "a token was logged");
    assert!(
        !everything.contains("Velvet-Lantern"),
        "a password was logged"
    );
}
