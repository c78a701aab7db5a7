//! Running Marquee off AWS: the local server, the table bootstrap, and the generator that
//! derives the Lambda binaries, sample events, SAM template and `cargo lambda watch` router
//! from the route table.

pub mod admin;
pub mod bench_catalog;
pub mod bench_webhook;
pub mod bootstrap;
pub mod generate;
pub mod keys;
pub mod local;
pub mod seed;
pub mod web;

use std::process::ExitCode;

/// Runs a command's async body on a fresh runtime; errors are printed as `<command>: <error>`.
pub fn run_command<F>(command: &str, body: F) -> ExitCode
where
    F: Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    let result = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}").into())
        .and_then(|runtime| runtime.block_on(body));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{command}: {e}");
            ExitCode::FAILURE
        }
    }
}
