//! Every request writes its completion line (status, latency, the dependency that
//! failed), also when it times out or its client goes away. In a process of its own:
//! it installs the process's log subscriber to read the lines back.

mod support;

use axum::http::{Request, StatusCode};
use std::time::Duration;
use support::hung::with_hung_table;
use support::log::Captured;

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn every_request_writes_its_completion_line_also_when_it_times_out_or_is_abandoned() {
    support::aws_endpoint();
    let captured = Captured::default();
    let writer = captured.clone();
    marquee::telemetry::install("info", move || writer.clone()).unwrap();
    let (_, router) = with_hung_table(&[
        ("MARQUEE_AWS_TIMEOUT_MS", "20000"),
        ("MARQUEE_REQUEST_TIMEOUT_MS", "400"),
    ])
    .await;

    let (status, headers, _) = support::call(&router, support::get("/health")).await;
    assert_eq!(status, StatusCode::OK);
    let health_id = headers["x-request-id"].to_str().unwrap().to_string();
    let (status, headers, _) = support::call(&router, support::get("/genres")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let timed_out_id = headers["x-request-id"].to_str().unwrap().to_string();
    // A client that gives up after 100 ms: the request's future is dropped.
    let abandoned = Request::get("/genres")
        .header("x-request-id", "abandoned-by-its-client")
        .body(axum::body::Body::empty())
        .unwrap();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        support::call(&router, abandoned),
    )
    .await;
    assert!(gave_up.is_err());

    let lines = captured.lines();
    let finished = |id: &str| {
        lines
            .iter()
            .find(|l| l["message"] == "request finished" && l["span"]["request_id"] == id)
    };
    let health = finished(&health_id).expect("the health request's line");
    assert_eq!(health["status"], 200);
    assert!(health["latency_ms"].is_u64());
    let timed_out =
        finished(&timed_out_id).unwrap_or_else(|| panic!("{timed_out_id} in {lines:?}"));
    assert_eq!(timed_out["status"], 503);
    assert_eq!(timed_out["dependency"], "deadline");
    let gone = lines
        .iter()
        .find(|l| l["message"] == "request abandoned before it finished")
        .unwrap_or_else(|| panic!("an abandoned line in {lines:?}"));
    assert_eq!(gone["request_id"], "abandoned-by-its-client");
    assert_eq!(gone["path"], "/genres");
}
