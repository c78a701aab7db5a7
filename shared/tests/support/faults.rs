//! A fault proxy between the AWS adapters and the stand-in: it forwards every request,
//! except those of an operation it was told to spoil, for which it waits, hangs, drops the
//! connection, or answers an error as the service does (DynamoDB's throttling and internal
//! errors, SES throttling). Operations are named as the services name them: the
//! `X-Amz-Target` of DynamoDB and SQS (`TransactWriteItems`, `SendMessageBatch`), the last
//! path segment otherwise (SES v2 `outbound-emails`, Stripe `sessions`, `refunds`). In
//! front of the Stripe mock it spoils Stripe's calls the same way.

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Fault {
    Delay(Duration),
    Hang,
    /// Closes the connection without an answer.
    Drop,
    /// Forwards the request, then closes the connection instead of passing the answer
    /// back: the call took effect, the caller cannot know.
    LoseAnswer,
    /// DynamoDB's `ThrottlingException` (400).
    Throttling,
    /// DynamoDB's `ProvisionedThroughputExceededException` (400).
    ThroughputExceeded,
    /// DynamoDB's `InternalServerError` (500).
    InternalServerError,
    /// SES v2's `TooManyRequestsException` (429).
    SesThrottling,
    /// Stripe's `api_error` (500).
    StripeServerError,
    /// Stripe's `invalid_request_error` (400): Stripe refuses the request itself.
    StripeRefusal,
}

struct Rule {
    operation: String,
    fault: Fault,
    left: usize,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    /// How many requests of each operation were spoiled.
    spoiled: Arc<Mutex<Vec<String>>>,
    /// The body of every request passed on, with its operation.
    forwarded: Arc<Mutex<Vec<(String, axum::body::Bytes)>>>,
    /// Per operation: requests under way now, and the most there ever were at once.
    in_flight: Arc<Mutex<std::collections::HashMap<String, (usize, usize)>>>,
}

/// A request under way at the proxy, from its arrival to its answer (or its end).
struct UnderWay {
    in_flight: Arc<Mutex<std::collections::HashMap<String, (usize, usize)>>>,
    operation: String,
}

impl UnderWay {
    fn start(proxy: &FaultProxy, operation: &str) -> Self {
        let mut counts = proxy.in_flight.lock().unwrap();
        let (now, peak) = counts.entry(operation.to_string()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
        Self {
            in_flight: proxy.in_flight.clone(),
            operation: operation.to_string(),
        }
    }
}

impl Drop for UnderWay {
    fn drop(&mut self) {
        if let Some((now, _)) = self.in_flight.lock().unwrap().get_mut(&self.operation) {
            *now -= 1;
        }
    }
}

fn operation_of(request: &Request) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .map(str::to_string)
        .unwrap_or_else(|| {
            request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
}

fn aws_error(status: u16, kind: &str, json_type: &str) -> Response {
    let body = serde_json::json!({"__type": json_type, "message": kind}).to_string();
    let mut response = (
        axum::http::StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/x-amz-json-1.0")],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        "x-amzn-errortype",
        axum::http::HeaderValue::from_str(kind).unwrap(),
    );
    response
}

impl FaultProxy {
    /// A proxy on a loopback port in front of `upstream` (the stand-in's URL).
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            url: format!("http://{}", listener.local_addr().unwrap()),
            rules: Arc::default(),
            spoiled: Arc::default(),
            forwarded: Arc::default(),
            in_flight: Arc::default(),
        };
        let client: hyper_util::client::legacy::Client<_, Body> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let upstream = upstream.trim_end_matches('/').to_string();
        let state = proxy.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (client, upstream, state) = (client.clone(), upstream.clone(), state.clone());
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let (client, upstream, state) =
                            (client.clone(), upstream.clone(), state.clone());
                        async move {
                            state
                                .handle(request.map(Body::new), &client, &upstream)
                                .await
                        }
                    },
                );
                tokio::spawn(async move {
                    // An error from the service closes the connection without an answer.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        proxy
    }

    async fn handle(
        &self,
        request: Request,
        client: &hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            Body,
        >,
        upstream: &str,
    ) -> Result<Response, std::io::Error> {
        let operation = operation_of(&request);
        let _under_way = UnderWay::start(self, &operation);
        let fault = {
            let mut rules = self.rules.lock().unwrap();
            rules
                .iter_mut()
                .find(|r| r.left > 0 && r.operation == operation)
                .map(|r| {
                    r.left -= 1;
                    r.fault.clone()
                })
        };
        if let Some(fault) = &fault {
            self.spoiled.lock().unwrap().push(operation.clone());
            match fault {
                Fault::Delay(by) => tokio::time::sleep(*by).await,
                Fault::Hang => std::future::pending::<()>().await,
                Fault::Drop => return Err(std::io::Error::other("dropped")),
                Fault::LoseAnswer => {}
                Fault::Throttling => {
                    return Ok(aws_error(
                        400,
                        "ThrottlingException",
                        "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                    ));
                }
                Fault::ThroughputExceeded => {
                    return Ok(aws_error(
                        400,
                        "ProvisionedThroughputExceededException",
                        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    ));
                }
                Fault::InternalServerError => {
                    return Ok(aws_error(
                        500,
                        "InternalServerError",
                        "com.amazonaws.dynamodb.v20120810#InternalServerError",
                    ));
                }
                Fault::StripeServerError => {
                    let body = serde_json::json!({"error": {"type": "api_error",
                        "message": "Something went wrong on Stripe's end."}})
                    .to_string();
                    return Ok((
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        [("content-type", "application/json")],
                        body,
                    )
                        .into_response());
                }
                Fault::StripeRefusal => {
                    let body = serde_json::json!({"error": {"type": "invalid_request_error",
                        "message": "Amount must be at least 50 cents."}})
                    .to_string();
                    return Ok((
                        axum::http::StatusCode::BAD_REQUEST,
                        [("content-type", "application/json")],
                        body,
                    )
                        .into_response());
                }
                Fault::SesThrottling => {
                    return Ok(aws_error(
                        429,
                        "TooManyRequestsException",
                        "TooManyRequestsException",
                    ));
                }
            }
        }
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = format!("{upstream}{path}").parse().unwrap();
        let bytes = body
            .collect()
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .to_bytes();
        self.forwarded
            .lock()
            .unwrap()
            .push((operation, bytes.clone()));
        let forwarded = axum::http::Request::from_parts(parts, Body::from(bytes));
        match client.request(forwarded).await {
            Ok(_) if matches!(fault, Some(Fault::LoseAnswer)) => {
                Err(std::io::Error::other("answer lost"))
            }
            Ok(answer) => Ok(answer.map(Body::new)),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }

    /// Spoils the next `times` requests of `operation` with `fault`.
    pub fn inject(&self, operation: &str, fault: Fault, times: usize) {
        self.rules.lock().unwrap().push(Rule {
            operation: operation.to_string(),
            fault,
            left: times,
        });
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// The JSON bodies of the requests of `operation` passed on so far, oldest first.
    #[allow(dead_code)]
    pub fn forwarded(&self, operation: &str) -> Vec<serde_json::Value> {
        self.forwarded
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, _)| o == operation)
            .map(|(_, body)| serde_json::from_slice(body).expect("a JSON request body"))
            .collect()
    }

    /// The most requests of `operation` that were under way at once so far.
    #[allow(dead_code)]
    pub fn peak_in_flight(&self, operation: &str) -> usize {
        self.in_flight
            .lock()
            .unwrap()
            .get(operation)
            .map_or(0, |(_, peak)| *peak)
    }

    /// How many requests of `operation` were spoiled so far.
    pub fn spoiled(&self, operation: &str) -> usize {
        self.spoiled
            .lock()
            .unwrap()
            .iter()
            .filter(|o| *o == operation)
            .count()
    }
}
