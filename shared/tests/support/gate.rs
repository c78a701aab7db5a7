//! A table that holds one transaction at a gate: a test lets a request run up to its
//! commit, does something else meanwhile, then lets the commit go, so a race between two
//! requests is played out in one order, every time.

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

pub struct GatedTable {
    pub inner: Arc<dyn Table>,
    pub gate: Arc<Gate>,
}

#[async_trait]
impl Table for GatedTable {
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
        if (self.gate.holds)(&writes) && self.gate.armed.swap(false, Ordering::SeqCst) {
            self.gate.arrived.notify_one();
            self.gate.release.notified().await;
        }
        self.inner.transact(writes).await
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.batch_write(writes).await
    }
}

/// `env`'s API on a table whose first transaction that `gate` holds waits at it.
pub fn gated_api(app: &marquee::App, gate: &Arc<Gate>) -> axum::Router {
    let mut gated = app.clone();
    gated.table = Arc::new(GatedTable {
        inner: app.table.clone(),
        gate: gate.clone(),
    });
    marquee::routes::router(gated, |_| true)
}
