//! The sweep: the scheduler finds due items through the EXPIRY index and queues their
//! keys; the worker deletes each one only if it is still expired.

use super::{Due, EXPIRES_AT, bucket};
use marquee_core::app::App;
use marquee_core::store::{Cmp, Condition, Index, Key, Query, SortKey, StoreError, Write};
use serde::Serialize;

/// How far back the sweep looks: longer than any lifetime, so a missed run is caught up.
const LOOKBACK_DAYS: i64 = 45;
/// The most items one sweep queues, so one run stays short; the next run takes the rest.
const MAX_PER_SWEEP: usize = 5_000;
const PAGE: u32 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub queued: usize,
}

/// Queues every item due now, oldest first.
pub async fn sweep_due(app: &App) -> Result<SweepReport, String> {
    let now = app.clock.now().unix_timestamp();
    let mut report = SweepReport::default();
    let today = now.div_euclid(86_400);
    for day in (today - LOOKBACK_DAYS)..=today {
        let mut cursor = None;
        loop {
            let query = Query::on(Index::Expiry, bucket(day * 86_400))
                .sort_key(SortKey::Le(format!("{now:012}~")))
                .limit(PAGE)
                .after(cursor);
            let page = app.table.query(&query).await.map_err(|e| e.to_string())?;
            let due: Vec<String> = page
                .items
                .iter()
                .filter_map(Key::of)
                .map(|k| serde_json::to_string(&Due { pk: k.pk, sk: k.sk }).unwrap_or_default())
                .collect();
            if !due.is_empty() {
                app.expiry_queue
                    .send_batch(&due)
                    .await
                    .map_err(|e| e.to_string())?;
                report.queued += due.len();
            }
            cursor = page.next_cursor;
            if cursor.is_none() || report.queued >= MAX_PER_SWEEP {
                break;
            }
        }
        if report.queued >= MAX_PER_SWEEP {
            break;
        }
    }
    Ok(report)
}

/// Deletes each queued item that is still expired. Returns the positions of the messages
/// that failed and should be retried (a malformed message is dropped, not retried).
pub async fn handle_batch(app: &App, bodies: &[String]) -> Vec<usize> {
    let now = app.clock.now().unix_timestamp();
    let mut failed = Vec::new();
    for (position, body) in bodies.iter().enumerate() {
        let Ok(due) = serde_json::from_str::<Due>(body) else {
            tracing::warn!(body = %body, "dropping a malformed expiry message");
            continue;
        };
        // Still expired: an item whose life was extended since the sweep is left alone.
        let key = Key::new(due.pk.clone(), due.sk.clone());
        // A lapsed order hold ends its order (and frees its seats) rather than vanishing,
        // and an owed email whose queue message was lost is queued again.
        let done = if crate::orders::is_hold(&key) {
            crate::orders::expire(app, &key).await
        } else if marquee_accounts::mail_jobs::is_owed(&key) {
            marquee_accounts::mail_jobs::rescue(app, &key).await
        } else {
            let delete = Write::delete(key).when(Condition::compare(EXPIRES_AT, Cmp::Le, now));
            app.table.write(delete).await.map(|_| ())
        };
        match done {
            Ok(_) | Err(StoreError::ConditionFailed) => {}
            Err(e) => {
                tracing::error!(pk = %due.pk, error = %e, "expiry delete failed");
                failed.push(position);
            }
        }
    }
    failed
}
