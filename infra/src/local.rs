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
        // Links in emails point at this server unless a web client is configured.
        config.public_url = url.clone();
    }
    let backend = describe_backend(&config);
    let app = App::start(config).await?;
    let router = routes::router(app, |_| true);

    println!("Marquee API: {url}");
    println!("API docs:    {url}/docs");
    println!("{backend}");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
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
