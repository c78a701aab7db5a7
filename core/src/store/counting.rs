//! A [`Table`] that counts what passes through it: the unit in which the catalogue's
//! "bounded cost per page" is stated, measured by benchmarks and checked by tests.

use super::{Item, Key, Page, Query, StoreError, Table, Write, Written};
use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counts {
    /// Items handed back by get, batch get and query.
    pub items_read: AtomicU64,
    /// Calls that read (one per get, batch get or query).
    pub reads: AtomicU64,
    /// Writes, counting each write of a transaction.
    pub writes: AtomicU64,
}

impl Counts {
    /// (items read, read calls) since the last take, and resets both.
    pub fn take_reads(&self) -> (u64, u64) {
        (
            self.items_read.swap(0, Ordering::Relaxed),
            self.reads.swap(0, Ordering::Relaxed),
        )
    }

    fn read(&self, items: usize) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.items_read.fetch_add(items as u64, Ordering::Relaxed);
    }
}

pub struct CountingTable {
    inner: Arc<dyn Table>,
    pub counts: Arc<Counts>,
}

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(key).await?;
        self.counts.read(usize::from(item.is_some()));
        Ok(item)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let items = self.inner.batch_get(keys).await?;
        self.counts.read(items.len());
        Ok(items)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let page = self.inner.query(query).await?;
        self.counts.read(page.items.len());
        Ok(page)
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        self.counts.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.write(write).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.counts
            .writes
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.inner.transact(writes).await
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.counts
            .writes
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.inner.batch_write(writes).await
    }
}
