//! One run of each background function, as its Lambda function does it. The Lambda
//! entries, the local server's loops and the tests all run these, so what a run does is
//! recorded under the function's name (see [`marquee_core::usage`]) wherever it happens.

use marquee_core::app::App;
use marquee_core::store::StoreError;
use marquee_core::usage;
use std::future::Future;

pub const EXPIRY_SCHEDULER: &str = "expiry-scheduler";
pub const EXPIRY_WORKER: &str = "expiry-worker";
pub const CATALOG_INDEXER: &str = "catalog-indexer";
pub const MAIL_WORKER: &str = "mail-worker";

async fn run_as<F, Fut>(name: &'static str, app: &App, work: F) -> Fut::Output
where
    F: FnOnce(App) -> Fut,
    Fut: Future,
{
    let app = usage::observe(app.clone());
    usage::as_function(name, work(app)).await
}

/// Queues every expired item for the expiry worker.
pub async fn expiry_scheduler(app: &App) -> Result<crate::expiry::SweepReport, String> {
    run_as(EXPIRY_SCHEDULER, app, |app| async move {
        crate::expiry::sweep_due(&app).await
    })
    .await
}

/// Handles queued expired items; gives the positions that failed. Media items (lapsed
/// uploads, queued removals) go to the watching feature, the rest to commerce's sweep.
pub async fn expiry_worker(app: &App, bodies: &[String]) -> Vec<usize> {
    run_as(EXPIRY_WORKER, app, |app| async move {
        let (media, rest): (Vec<usize>, Vec<usize>) =
            (0..bodies.len()).partition(|&i| marquee_watching::expiry::handles(&bodies[i]));
        let pick = |positions: &[usize]| -> Vec<String> {
            positions.iter().map(|&i| bodies[i].clone()).collect()
        };
        let mut failed: Vec<usize> = marquee_watching::expiry::handle_batch(&app, &pick(&media))
            .await
            .into_iter()
            .map(|p| media[p])
            .collect();
        failed.extend(
            crate::expiry::handle_batch(&app, &pick(&rest))
                .await
                .into_iter()
                .map(|p| rest[p]),
        );
        failed.sort_unstable();
        failed
    })
    .await
}

/// Sends queued emails; gives the positions that failed.
pub async fn mail_worker(app: &App, bodies: &[String]) -> Vec<usize> {
    run_as(MAIL_WORKER, app, |app| async move {
        crate::mail_jobs::handle_batch(&app, bodies).await
    })
    .await
}

/// Projects up to `max` changed movies into the browse and search index.
pub async fn catalog_indexer(
    app: &App,
    max: usize,
) -> Result<crate::catalog::index::SweepReport, StoreError> {
    let report = run_as(CATALOG_INDEXER, app, |app| async move {
        crate::catalog::index::project_marked(&app, max).await
    })
    .await?;
    crate::metrics::record(
        crate::metrics::Metric::IndexBacklog,
        (report.projected + report.failed) as u64,
    );
    Ok(report)
}
