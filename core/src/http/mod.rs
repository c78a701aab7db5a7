//! What every route shares: problem+json errors, extractors, the role guard, request ids,
//! structured logs, caching headers, the body limit and the fallbacks for unknown routes and methods.

pub mod body;
pub mod caching;
pub mod cors;
pub mod extract;
pub mod guard;
pub mod pagination;
pub mod problem;
pub mod validate;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use problem::Problem;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use extract::{BODY_LIMIT_BYTES, Json, Path, Query};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids are ULIDs: sortable by time, like every other id here.
#[derive(Clone, Copy)]
struct UlidRequestId;

impl MakeRequestId for UlidRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::new().to_string())
            .ok()
            .map(RequestId::new)
    }
}

async fn unknown_route() -> Problem {
    Problem::not_found("No route matches this path")
}

async fn wrong_method() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
    )
    .detail("This path exists but does not take this method")
}

/// Set on a response whose request failed because a dependency did (for its log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedDependency(pub problem::Dependency);

/// Logs a request that never finished: its client went away (or the function was stopped)
/// while it waited, so no answer and no other line would say it happened.
struct Unfinished {
    started: Instant,
    request_id: String,
    method: String,
    path: String,
    finished: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(
                request_id = %self.request_id,
                method = %self.method,
                path = %self.path,
                latency_ms = self.started.elapsed().as_millis() as u64,
                "request abandoned before it finished"
            );
        }
    }
}

/// Bounds every request by `timeout` (503 problem with `Retry-After` when it runs out)
/// and writes its completion line: status, latency and the dependency that failed.
async fn bounded(timeout: Duration, request: Request<axum::body::Body>, next: Next) -> Response {
    let mut unfinished = Unfinished {
        started: Instant::now(),
        request_id: request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string(),
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        finished: false,
    };
    let response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "The request took too long",
            )
            .detail("A service it needs is slow to answer; try again");
            problem.retry_after_secs = Some(1);
            let mut response = problem.into_response();
            response
                .extensions_mut()
                .insert(FailedDependency(problem::Dependency::Deadline));
            response
        }
    };
    unfinished.finished = true;
    let dependency = response
        .extensions()
        .get::<FailedDependency>()
        .map(|d| d.0.as_str());
    let latency_ms = unfinished.started.elapsed().as_millis() as u64;
    let status = response.status().as_u16();
    if response.status().is_server_error() {
        tracing::warn!(status, latency_ms, dependency, "request finished");
    } else {
        tracing::info!(status, latency_ms, dependency, "request finished");
    }
    response
}

/// Wraps a router of routes into the API: fallbacks, limits, the request bound, ids, logs,
/// panic safety.
pub fn serve<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    state: S,
    request_timeout: Duration,
) -> Router {
    routes
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            Problem::internal().into_response()
        }))
        .layer(axum::middleware::from_fn(caching::private_by_default))
        .layer(axum::middleware::from_fn(move |request, next| {
            bounded(request_timeout, request, next)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|p| p.as_str().to_string());
                    let invocation = req.extensions().get::<crate::telemetry::Invocation>();
                    let (function, version) = crate::telemetry::function();
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                        route,
                        function,
                        version,
                        cold_start = invocation.map(|i| i.cold_start),
                        aws_request_id = invocation.map(|i| i.aws_request_id.as_str()),
                        trace_id = invocation.and_then(|i| i.trace_id.as_deref()),
                        // Recorded once the caller is authenticated.
                        user_id = tracing::field::Empty,
                    )
                })
                // `bounded` writes each request's one completion line.
                .on_request(())
                .on_response(())
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, UlidRequestId))
        .with_state(state)
}
