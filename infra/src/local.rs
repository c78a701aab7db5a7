//! The local server: every route of the table on one port, on the embedded backend by
//! default (or on AWS services when `MARQUEE_BACKEND=aws`).

use marquee::config::Backend;
use marquee::{App, Config, routes, telemetry};
use std::process::ExitCode;
use tokio::net::TcpListener;

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

pub fn main() -> ExitCode {
    crate::run_command("marquee-local", serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::from_env()?;
    telemetry::init(&config.log_filter);
    let listen = std::env::var("MARQUEE_LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.into());
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let url = format!("http://{}", listener.local_addr()?);
    if std::env::var_os("MARQUEE_PUBLIC_URL").is_none() {
        // This server serves the web app: links in emails and the payment page's way back
        // lead to it unless another web client is configured.
        config.public_url = url.clone();
    }
    if std::env::var_os("MARQUEE_API_URL").is_none() {
        // This server is the API: the simulated pages and providers live here.
        config.api_url = Some(url.clone());
    }
    // Offline, either backend: without a Stripe key, checkout is the simulated page, and
    // a sign-in provider without a client id is simulated here too.
    config.simulated_checkout = true;
    config.simulated_oauth = true;
    // What the CDN does deployed: public reads answered from memory until the table
    // changes (the embedded backend; MARQUEE_KEEP_ANSWERS=false turns it off).
    config.keep_public_answers = std::env::var("MARQUEE_KEEP_ANSWERS").as_deref() != Ok("false");
    let backend = describe_backend(&config);
    let app = App::start(config).await?;
    let first_admin = seed_first_admin(&app).await?;
    let demo = seed_demo_catalogue(&app).await?;
    // What Lambda would run beside the API: the queue-fed workers, the stream indexer
    // (on the embedded backend's change feed) and the schedules.
    tokio::spawn(run_background(app.clone(), sweep_interval()));
    tokio::spawn(marquee::background::follow_changes(app.clone()));
    let deliveries = marquee::payments::simulated::deliveries(&app);
    let simulated_checkout = deliveries.is_some();
    if let Some(events) = deliveries {
        tokio::spawn(drain(
            events,
            app.clone(),
            "webhooks",
            |app, batch| async move { marquee::payments::simulated::deliver_batch(&app, &batch).await },
        ));
    }
    // The front door: the web app for viewers (the docs page is at /docs).
    let mut router = routes::router(app.clone(), |_| true)
        .merge(crate::web::router(&media_origins(&app.config)))
        .merge(marquee::auth::oauth::simulated::router().with_state(app.clone()))
        // The media store's part URLs and the playback URLs, when they are this server's.
        .merge(marquee::watching::local::router(app.clone()));
    if simulated_checkout {
        router = router.merge(marquee::payments::simulated::router().with_state(app.clone()));
    }
    let simulated_providers: Vec<&str> = marquee::auth::oauth::providers::Provider::ALL
        .into_iter()
        .filter(|p| p.client_id(&app.config.oauth).is_none())
        .map(|p| p.title())
        .collect();

    println!("Marquee API: {url}");
    println!("Start here:  {url}/ (the web app: browse, buy and watch)");
    println!("API docs:    {url}/docs");
    println!("{backend}");
    if let Some((email, password)) = first_admin {
        println!("First admin: {email} / {password} (created now; change the password)");
    }
    if let Some(demo) = demo {
        println!("Seeded:      {demo} (MARQUEE_DEMO=false starts empty)");
    }
    if simulated_checkout {
        println!("Payments:    simulated checkout page (set MARQUEE_STRIPE_SECRET_KEY for Stripe)");
    }
    if !simulated_providers.is_empty() {
        println!(
            "Sign-in:     simulated {} at {url}/auth/oauth/<provider>?redirect_to={url}{} (set MARQUEE_GOOGLE_CLIENT_ID, MARQUEE_FACEBOOK_CLIENT_ID for the real ones)",
            simulated_providers.join(" and "),
            marquee::auth::oauth::simulated::SIGNED_IN_PATH,
        );
    }
    let router = router.layer(axum::middleware::map_request(peer_address));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// Where the app's player and uploads may reach besides this server: the media CDN, when
/// playback URLs are its.
fn media_origins(config: &Config) -> Vec<&str> {
    config
        .media
        .cdn_url
        .as_deref()
        .and_then(marquee::pages::origin_of)
        .into_iter()
        .collect()
}

/// The security log's client address: the connection's peer, never a header.
async fn peer_address(mut request: axum::extract::Request) -> axum::extract::Request {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    if let Some(ip) = peer {
        request
            .extensions_mut()
            .insert(marquee::http::guard::ClientIp(ip));
    }
    request
}

const FIRST_ADMIN: &str = "admin@marquee.local";

/// A fresh store gets an admin, so the admin routes can be tried at once
/// (`MARQUEE_SEED_ADMIN=false` turns this off).
async fn seed_first_admin(
    app: &App,
) -> Result<Option<(String, String)>, Box<dyn std::error::Error>> {
    let wanted = std::env::var("MARQUEE_SEED_ADMIN").map_or(true, |v| v != "false" && v != "0");
    let count = marquee::accounts::admin::active_admins(app)
        .await
        .map_err(|p| p.to_string())?;
    if !wanted || count > 0 {
        return Ok(None);
    }
    let password = marquee::secret::new_token();
    marquee::accounts::admin::ensure_admin(app, FIRST_ADMIN, &password)
        .await
        .map_err(|p| format!("seeding the first admin: {p}"))?;
    Ok(Some((FIRST_ADMIN.to_string(), password)))
}

/// An empty embedded catalogue gets the demo one, so there is something to browse at once
/// (`MARQUEE_DEMO=false` turns this off, `=true` seeds the AWS backend too;
/// `MARQUEE_DEMO_MOVIES` sets its size).
async fn seed_demo_catalogue(app: &App) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let wanted = match std::env::var("MARQUEE_DEMO").as_deref() {
        Ok("false" | "0") => false,
        Ok("true" | "1") => true,
        _ => app.config.backend == Backend::Embedded,
    };
    let empty = marquee::catalog::demo::catalogue_is_empty(app)
        .await
        .map_err(|p| p.to_string())?;
    if !wanted || !empty {
        return Ok(None);
    }
    let movies = std::env::var("MARQUEE_DEMO_MOVIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    crate::seed::seed_demo(app, movies, 1, 7).await.map(Some)
}

fn sweep_interval() -> std::time::Duration {
    let secs = std::env::var("MARQUEE_SWEEP_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    std::time::Duration::from_secs(secs)
}

/// Hands each batch the in-process queue receives to a worker's code.
async fn drain<F, Fut>(
    queue: std::sync::Arc<marquee::queue::MemoryQueue>,
    app: App,
    name: &'static str,
    work: F,
) where
    F: Fn(App, Vec<String>) -> Fut,
    Fut: Future<Output = Vec<usize>>,
{
    loop {
        let batch = queue.receive(10).await;
        let failed = work(app.clone(), batch).await;
        if !failed.is_empty() {
            // No redrive in-process: the failure is logged with the job.
            tracing::warn!(worker = name, failed = failed.len(), "queued work failed");
        }
    }
}

/// Hands each batch an SQS queue delivers to a worker's code, and deletes what it
/// handled; what failed comes back after the visibility timeout (and, with a redrive
/// policy, lands in the dead-letter queue), as with the deployed worker.
async fn poll<F, Fut>(queue: marquee::queue::SqsQueue, app: App, name: &'static str, work: F)
where
    F: Fn(App, Vec<String>) -> Fut,
    Fut: Future<Output = Vec<usize>>,
{
    // Short polls with a pause when idle: a long poll would hold a one-request-at-a-time
    // stand-in (moto) for its whole wait. A second's delay is nothing for a dev server.
    let idle = std::time::Duration::from_secs(1);
    loop {
        let received = match queue.receive(0).await {
            Ok(received) => received,
            Err(e) => {
                tracing::warn!(worker = name, error = %e, "receiving from the queue failed");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        if received.is_empty() {
            tokio::time::sleep(idle).await;
            continue;
        }
        let bodies: Vec<String> = received.iter().map(|m| m.body.clone()).collect();
        let failed = work(app.clone(), bodies).await;
        for (position, message) in received.iter().enumerate() {
            if failed.contains(&position) {
                continue;
            }
            if let Err(e) = queue.delete(&message.receipt).await {
                tracing::warn!(worker = name, error = %e, "deleting a handled message failed");
            }
        }
        if !failed.is_empty() {
            tracing::warn!(
                worker = name,
                failed = failed.len(),
                "queued work failed; it will be retried"
            );
        }
    }
}

/// What Lambda runs beside the API, in-process: the expiry and mail workers fed by their
/// queues (in-process ones on the embedded backend, SQS on the AWS backend), and the
/// scheduled sweeps.
async fn run_background(app: App, every: std::time::Duration) {
    let expiry = |app: App, batch: Vec<String>| async move {
        marquee::background::expiry_worker(&app, &batch).await
    };
    let mail = |app: App, batch: Vec<String>| async move {
        marquee::background::mail_worker(&app, &batch).await
    };
    match (app.local_queues.clone(), app.aws.clone()) {
        (Some(queues), _) => {
            tokio::spawn(drain(queues.expiry, app.clone(), "expiry", expiry));
            tokio::spawn(drain(queues.mail, app.clone(), "mail", mail));
        }
        // Neither: an app has its in-process queues or its AWS configuration.
        (None, None) => {}
        (None, Some(sdk)) => {
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            let queue = |url: &Option<String>| {
                marquee::queue::SqsQueue::new(sqs.clone(), url.clone().unwrap_or_default())
            };
            tokio::spawn(poll(
                queue(&app.config.expiry_queue_url),
                app.clone(),
                "expiry",
                expiry,
            ));
            tokio::spawn(poll(
                queue(&app.config.mail_queue_url),
                app.clone(),
                "mail",
                mail,
            ));
        }
    }
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match marquee::background::expiry_scheduler(&app).await {
            Ok(report) if report.queued > 0 => {
                tracing::info!(queued = report.queued, "expiry sweep")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
        }
        match marquee::background::catalog_indexer(&app, marquee::lambda::INDEX_SWEEP_MAX).await {
            Ok(report) if report.projected > 0 => {
                tracing::info!(projected = report.projected, "index sweep")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "index sweep failed"),
        }
    }
}

fn describe_backend(config: &Config) -> String {
    match config.backend {
        Backend::Embedded => format!(
            "Backend:     embedded (table {}, emails land in {}/)",
            config.sqlite_path().display(),
            config.outbox_dir().display()
        ),
        Backend::Aws => format!(
            "Backend:     AWS (table {}, endpoint {})",
            config.table_name,
            std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "default".into())
        ),
    }
}
