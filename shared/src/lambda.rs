//! Lambda entry points. Each function binary's `main` names its route (or its background
//! job) and the adapters it adds, and calls one of these plain functions, which own the
//! runtime: the async body is compiled once here, not once per binary. A binary links only
//! what its route reaches.

use crate::routes::{self, Route};
use lambda_http::lambda_runtime;
use marquee_core::app::App;
use marquee_core::config::Config;
use std::process::ExitCode;

/// Serves one route of the table as an API Gateway (HTTP API) Lambda function. `wire`
/// adds the adapters the route needs beyond the table (generated from its needs).
pub fn serve(route: Route, wire: fn(App) -> App) -> ExitCode {
    run(async move { serve_app(wire(open().await?), route).await })
}

/// [`serve`] for a route that uses secrets: they are read from Secrets Manager first. A
/// separate entry, so that only these functions link the Secrets Manager client.
pub fn serve_with_secrets(route: Route, wire: fn(App) -> App) -> ExitCode {
    run(async move { serve_app(wire(open_with_secrets().await?), route).await })
}

async fn serve_app(app: App, route: Route) -> Result<(), lambda_http::Error> {
    let router = routes::router_for(app, std::iter::once(&route))
        .layer(axum::middleware::map_request(from_lambda_context));
    lambda_http::run(router).await
}

/// What API Gateway and Lambda tell a request, put where the router reads it: the
/// caller's address as API Gateway saw the connection (`requestContext.http.sourceIp`, for
/// the security log; never a header the client wrote), API Gateway's request id as the
/// request's own when the client sent none (so the API's access log and the function's
/// lines share it), and the invocation's ids for the request's log lines.
pub async fn from_lambda_context(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    use marquee_core::http::REQUEST_ID;
    let (gateway_id, ip) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            (context.request_id.clone(), context.http.source_ip.clone())
        }
        _ => (None, None),
    };
    if !request.headers().contains_key(REQUEST_ID)
        && let Some(value) = gateway_id.and_then(|id| id.parse().ok())
    {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    if let Some(context) = request.lambda_context_ref() {
        let invocation = marquee_core::telemetry::Invocation::new(
            context.request_id.clone(),
            context.xray_trace_id.as_deref(),
        );
        request.extensions_mut().insert(invocation);
    }
    if let Some(ip) = ip {
        request
            .extensions_mut()
            .insert(marquee_core::http::guard::ClientIp(ip));
    }
    request
}

/// The configuration from the environment, with logs (and metrics) going out.
fn configured() -> Result<Config, lambda_http::Error> {
    let config = Config::from_env()?;
    marquee_core::telemetry::init(&config.log_filter);
    Ok(config)
}

async fn open() -> Result<App, lambda_http::Error> {
    Ok(App::open_in_lambda(configured()?)?)
}

async fn open_with_secrets() -> Result<App, lambda_http::Error> {
    let config = configured()?;
    let sdk = marquee_core::app::lambda_sdk_config(&config)?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let config = with_secrets(config, &sdk, env).await?;
    Ok(App::open_in_lambda_with(config, sdk)?)
}

/// `config` with the values of the secrets its `*_SECRET_ARN` variables name, read from
/// Secrets Manager through `sdk` (none is read when none is named).
pub async fn with_secrets(
    config: Config,
    sdk: &marquee_core::app::SdkConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Config, marquee_core::config::ConfigError> {
    let secrets = marquee_core::secret_store::read(sdk, &lookup).await?;
    if secrets.is_empty() {
        return Ok(config);
    }
    Config::from_lookup(|name| secrets.get(name).cloned().or_else(|| lookup(name)))
}

/// The scheduled sweep: queues every expired item for the worker.
pub fn run_expiry_scheduler(wire: fn(App) -> App) -> ExitCode {
    run_scheduled(wire, |app| async move {
        let report = crate::background::expiry_scheduler(&app).await?;
        tracing::info!(queued = report.queued, "expiry sweep done");
        Ok(serde_json::to_value(report)?)
    })
}

/// The scheduled projection of changed movies into the browse and search index.
pub fn run_catalog_indexer(wire: fn(App) -> App) -> ExitCode {
    run_scheduled(wire, |app| async move {
        let report = crate::background::catalog_indexer(&app, INDEX_SWEEP_MAX).await?;
        tracing::info!(
            projected = report.projected,
            failed = report.failed,
            "index sweep done"
        );
        Ok(serde_json::to_value(report)?)
    })
}

/// A function on an EventBridge schedule: `sweep` runs once per event and reports what it did.
fn run_scheduled<F, Fut>(wire: fn(App) -> App, sweep: F) -> ExitCode
where
    F: Fn(App) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, lambda_http::Error>>,
{
    use tracing::Instrument;
    run(async {
        let app = wire(open().await?);
        let sweep = &sweep;
        lambda_runtime::run(lambda_runtime::service_fn(
            |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
                sweep(app.clone()).instrument(job_span(&event.context))
            },
        ))
        .await
    })
}

fn job_span(context: &lambda_runtime::Context) -> tracing::Span {
    let invocation = marquee_core::telemetry::Invocation::new(
        context.request_id.clone(),
        context.xray_trace_id.as_deref(),
    );
    marquee_core::telemetry::job_span(&invocation)
}

/// Movies one index sweep projects at most (the rest wait for the next, five minutes on).
pub const INDEX_SWEEP_MAX: usize = 2000;

/// What the stream indexer reads of a DynamoDB stream event: each record's keys and its
/// position in the shard (to name it when it fails). Only records that passed the
/// stream's filter arrive ([`crate::catalog::index::stream_filter`]).
#[derive(Debug, serde::Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, serde::Deserialize)]
pub struct StreamRecord {
    pub dynamodb: StreamChange,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamChange {
    /// The item's key attributes, in DynamoDB's JSON (`{"PK": {"S": "..."}, ...}`).
    pub keys: serde_json::Map<String, serde_json::Value>,
    pub sequence_number: String,
}

impl StreamRecord {
    /// The movie whose record or tombstone changed, if that is what this record is.
    pub fn movie(&self) -> Option<String> {
        let text = |name: &str| self.dynamodb.keys.get(name)?.get("S")?.as_str();
        let key = marquee_core::store::Key::new(
            text(marquee_core::store::schema::PK)?,
            text(marquee_core::store::schema::SK)?,
        );
        crate::catalog::index::changed_movie(&key).map(str::to_string)
    }
}

/// Projects what one stream batch announced; the records of movies that failed are named
/// back (`ReportBatchItemFailures`), so Lambda retries from the first of them, then sends
/// the batch to the job failure queue.
pub async fn handle_stream_batch(
    app: &App,
    event: &StreamEvent,
) -> aws_lambda_events::streams::DynamoDbEventResponse {
    let (positions, movies): (Vec<usize>, Vec<String>) = event
        .records
        .iter()
        .enumerate()
        .filter_map(|(position, record)| Some((position, record.movie()?)))
        .unzip();
    let mut response = aws_lambda_events::streams::DynamoDbEventResponse::default();
    let report = crate::background::catalog_stream_indexer(app, &movies).await;
    for failed in report.failed {
        let mut failure = aws_lambda_events::streams::DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(
            event.records[positions[failed]]
                .dynamodb
                .sequence_number
                .clone(),
        );
        response.batch_item_failures.push(failure);
    }
    response
}

/// The function the table's stream feeds: lists follow edits and clicks within seconds.
pub fn run_catalog_stream_indexer(wire: fn(App) -> App) -> ExitCode {
    run(async {
        let app = wire(open().await?);
        lambda_runtime::run(lambda_runtime::service_fn(
            |event: lambda_runtime::LambdaEvent<StreamEvent>| {
                use tracing::Instrument;
                let app = app.clone();
                let span = job_span(&event.context);
                async move {
                    Ok::<_, lambda_http::Error>(handle_stream_batch(&app, &event.payload).await)
                }
                .instrument(span)
            },
        ))
        .await
    })
}

/// The worker fed by the expiry queue.
pub fn run_expiry_worker(wire: fn(App) -> App) -> ExitCode {
    run_queue_worker(wire, |app, bodies| async move {
        crate::background::expiry_worker(&app, &bodies).await
    })
}

/// The worker fed by the mail queue.
pub fn run_mail_worker(wire: fn(App) -> App) -> ExitCode {
    run_queue_worker(wire, |app, bodies| async move {
        crate::background::mail_worker(&app, &bodies).await
    })
}

/// An SQS-fed function: `handle` gets the message bodies and names the positions that
/// failed; those are reported for retry, and the queue's redrive policy moves repeat
/// failures to its dead-letter queue.
fn run_queue_worker<F, Fut>(wire: fn(App) -> App, handle: F) -> ExitCode
where
    F: Fn(App, Vec<String>) -> Fut,
    Fut: Future<Output = Vec<usize>>,
{
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
    run(async {
        let app = wire(open().await?);
        let handle = &handle;
        lambda_runtime::run(lambda_runtime::service_fn(
            |event: lambda_runtime::LambdaEvent<SqsEvent>| {
                use tracing::Instrument;
                let app = app.clone();
                let span = job_span(&event.context);
                async move {
                    let records = event.payload.records;
                    let bodies: Vec<String> = records
                        .iter()
                        .map(|r| r.body.clone().unwrap_or_default())
                        .collect();
                    let mut response = SqsBatchResponse::default();
                    for position in handle(app, bodies).await {
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier =
                            records[position].message_id.clone().unwrap_or_default();
                        response.batch_item_failures.push(failure);
                    }
                    Ok::<_, lambda_http::Error>(response)
                }
                .instrument(span)
            },
        ))
        .await
    })
}

/// One request at a time per Lambda sandbox: a current-thread runtime is enough and
/// starts faster.
fn run<F>(body: F) -> ExitCode
where
    F: Future<Output = Result<(), lambda_http::Error>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "function stopped");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample health event with one more header, as the router receives it after
    /// [`from_lambda_context`].
    async fn received_with(header: &str, value: &str) -> axum::extract::Request {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../events/health.json")).unwrap();
        event["headers"][header] = value.into();
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let (parts, body) = request.into_parts();
        let request =
            axum::extract::Request::from_parts(parts, axum::body::Body::from(body.to_vec()));
        from_lambda_context(request).await
    }

    #[tokio::test]
    async fn the_client_address_is_api_gateway_s_source_ip_never_a_header() {
        let request = received_with("x-forwarded-for", "198.51.100.66").await;
        let ip = request
            .extensions()
            .get::<marquee_core::http::guard::ClientIp>()
            .map(|ip| ip.0.as_str());
        assert_eq!(ip, Some("203.0.113.7"));
        // No id of the client's own: API Gateway's.
        assert_eq!(request.headers()["x-request-id"], "sample-request-id");
    }

    #[tokio::test]
    async fn a_client_s_own_request_id_is_kept() {
        let request = received_with("x-request-id", "client-chosen").await;
        assert_eq!(request.headers()["x-request-id"], "client-chosen");
    }
}
