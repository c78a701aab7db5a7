//! Lambda entry points. Each function binary's `main` calls one of these plain functions,
//! which own the runtime: the async body is compiled once here, not once per binary.

use crate::app::App;
use crate::config::Config;
use crate::routes;
use std::process::ExitCode;

/// Serves one route of the table as an API Gateway (HTTP API) Lambda function.
pub fn serve_route(name: &'static str) -> ExitCode {
    let Some(route) = routes::find(name) else {
        eprintln!("no route named {name} in the route table");
        return ExitCode::FAILURE;
    };
    run(async move {
        let config = Config::from_env()?;
        crate::telemetry::init(&config.log_filter);
        let app = App::start(config).await?;
        let router = routes::router(app, |r| r.name == route.name);
        lambda_http::run(router).await
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
