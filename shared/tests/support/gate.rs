//! Tables that play a race out in one order, every time: one holds a transaction at a gate
//! (a test lets a request run up to its commit, does something else meanwhile, then lets
//! the commit go); one applies a transaction and answers as the SDK's retry of it would
//! (the store applied the first attempt but answered late, and the retry met it).

use async_trait::async_trait;
use marquee::store::{Item, Key, Page, Query, StoreError, Table, Write, Written};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

pub struct Gate {
    /// Which transaction to hold: the first one this says yes to.
    holds: fn(&[Write]) -> bool,
    armed: AtomicBool,
    arrived: Notify,
    release: Notify,
}

impl Gate {
    pub fn new(holds: fn(&[Write]) -> bool) -> Arc<Self> {
        Arc::new(Self {
            holds,
            armed: AtomicBool::new(true),
            arrived: Notify::new(),
            release: Notify::new(),
        })
    }

    /// Waits until the held transaction is at the gate.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the held transaction commit.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

/// Whether a write set opens a session (a sign-in's commit).
pub fn opens_session(writes: &[Write]) -> bool {
    writes.iter().any(|w| {
        matches!(w, Write::Put { item, .. }
            if item.get("PK").and_then(|v| v.as_str()).is_some_and(|pk| pk.starts_with("SESSION#")))
    })
}

/// What the interposed table does to the first transaction its predicate picks.
enum Twist {
    /// Holds it at the gate.
    Gate(Arc<Gate>),
    /// Applies it, then answers it canceled at its first write, as DynamoDB answers the
    /// SDK's retry of a transaction it had already applied.
    AnswerLate(fn(&[Write]) -> bool, AtomicBool),
}

/// A table between an app and its own, twisting one transaction (see [`Twist`]).
struct Interposed {
    inner: Arc<dyn Table>,
    twist: Twist,
}

#[async_trait]
impl Table for Interposed {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        self.inner.write(write).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        match &self.twist {
            Twist::Gate(gate) => {
                if (gate.holds)(&writes) && gate.armed.swap(false, Ordering::SeqCst) {
                    gate.arrived.notify_one();
                    gate.release.notified().await;
                }
                self.inner.transact(writes).await
            }
            Twist::AnswerLate(picks, armed) => {
                let late = picks(&writes) && armed.swap(false, Ordering::SeqCst);
                self.inner.transact(writes).await?;
                if late {
                    return Err(StoreError::TransactionCanceled { failed: vec![0] });
                }
                Ok(())
            }
        }
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.batch_write(writes).await
    }
}

/// `app`'s API on its table with `twist` in between.
fn twisted_api(app: &marquee::App, twist: Twist) -> axum::Router {
    let mut twisted = app.clone();
    twisted.table = Arc::new(Interposed {
        inner: app.table.clone(),
        twist,
    });
    marquee::routes::router(twisted, |_| true)
}

/// `app`'s API on a table whose first transaction that `gate` holds waits at it.
pub fn gated_api(app: &marquee::App, gate: &Arc<Gate>) -> axum::Router {
    twisted_api(app, Twist::Gate(gate.clone()))
}

/// Whether a write set puts a new item whose key starts with `prefix`.
pub fn puts(writes: &[Write], prefix: &str) -> bool {
    writes.iter().any(|w| {
        matches!(w, Write::Put { item, .. }
            if item.get("PK").and_then(|v| v.as_str()).is_some_and(|pk| pk.starts_with(prefix)))
    })
}

/// `app`'s API on a table whose first transaction that `applies_late` picks is applied and
/// answered late (canceled at its first write, as the SDK's retry of it is answered).
pub fn late_api(app: &marquee::App, applies_late: fn(&[Write]) -> bool) -> axum::Router {
    twisted_api(app, Twist::AnswerLate(applies_late, AtomicBool::new(true)))
}
