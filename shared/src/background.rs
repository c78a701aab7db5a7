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
pub const CATALOG_STREAM_INDEXER: &str = "catalog-stream-indexer";
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

/// What one run of the stream indexer did.
#[derive(Debug, Default)]
pub struct StreamReport {
    /// Movies projected (the others named had nothing awaiting).
    pub projected: usize,
    /// Positions of the movies whose projection failed.
    pub failed: Vec<usize>,
}

/// Projects the movies whose changes the table's stream (or the change feed) announced,
/// several at once. A movie named twice is projected once.
pub async fn catalog_stream_indexer(app: &App, movie_ids: &[String]) -> StreamReport {
    run_as(CATALOG_STREAM_INDEXER, app, |app| async move {
        let (projected, failed) = crate::catalog::index::project_announced(&app, movie_ids).await;
        StreamReport { projected, failed }
    })
    .await
}

/// How long the change feed gathers changes before projecting them: one projection per
/// movie for a burst of clicks, as the stream's batching window gives deployed.
pub const FEED_BATCHING_WINDOW: std::time::Duration = std::time::Duration::from_millis(250);

/// Follows the table's change feed (the embedded backend's stand-in for its DynamoDB
/// stream): projects each changed movie that awaits it, a batching window after the
/// first change of a burst. A follower that fell behind catches up with a sweep. Returns
/// when the table has no feed. It listens from this call on, not from its first poll: a
/// change committed before the spawned task first runs is not missed.
pub fn follow_changes(app: App) -> impl Future<Output = ()> + Send + 'static {
    let feed = app.table.changes();
    async move {
        if let Some(feed) = feed {
            follow(app, feed).await;
        }
    }
}

async fn follow(app: App, mut feed: marquee_core::store::ChangeFeed) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let mut lagged = false;
        let mut movies: Vec<String> = Vec::new();
        let mut take = |keys: &[marquee_core::store::Key]| {
            movies.extend(
                keys.iter()
                    .filter_map(crate::catalog::index::changed_movie)
                    .map(str::to_string),
            )
        };
        match feed.recv().await {
            Ok(keys) => take(&keys),
            Err(RecvError::Lagged(_)) => lagged = true,
            Err(RecvError::Closed) => return,
        }
        let window = tokio::time::sleep(FEED_BATCHING_WINDOW);
        tokio::pin!(window);
        loop {
            tokio::select! {
                _ = &mut window => break,
                next = feed.recv() => match next {
                    Ok(keys) => take(&keys),
                    Err(RecvError::Lagged(_)) => lagged = true,
                    Err(RecvError::Closed) => return,
                },
            }
        }
        if lagged {
            if let Err(e) = catalog_indexer(&app, usize::MAX).await {
                tracing::warn!(error = %e, "catching up on the change feed failed");
            }
        } else if !movies.is_empty() {
            let report = catalog_stream_indexer(&app, &movies).await;
            if !report.failed.is_empty() {
                tracing::warn!(
                    failed = report.failed.len(),
                    "some changed movies were left to the sweep"
                );
            }
        }
    }
}
