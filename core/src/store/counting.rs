//! A [`Table`] that counts what passes through it: the unit in which the catalogue's
//! "bounded cost per page" is stated, measured by benchmarks and checked by tests.

use super::{Item, Key, Page, Query, StoreError, Table, Write, Written};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Capacity units, as DynamoDB reports them consumed.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

/// The units consumed on the table itself and on each index (by index name). Only the
/// DynamoDB adapter reports units: it asks for them when it is [metered]; the embedded
/// store has none.
///
/// [metered]: super::dynamo::DynamoTable::metered
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Consumed {
    pub table: Units,
    pub indexes: BTreeMap<String, Units>,
}

#[derive(Debug, Default)]
pub struct Counts {
    /// Items handed back by get, batch get and query.
    pub items_read: AtomicU64,
    /// Calls that read (one per get, batch get or query).
    pub reads: AtomicU64,
    /// Writes, counting each write of a transaction.
    pub writes: AtomicU64,
    /// Round trips: calls made one after another. A call started while another is under
    /// way (the two made together) shares its round trip.
    pub round_trips: AtomicU64,
    in_flight: AtomicU64,
    /// Capacity units, where the table reports them.
    pub consumed: Mutex<Consumed>,
}

impl Counts {
    /// (items read, read calls) since the last take, and resets both.
    pub fn take_reads(&self) -> (u64, u64) {
        (
            self.items_read.swap(0, Ordering::Relaxed),
            self.reads.swap(0, Ordering::Relaxed),
        )
    }

    /// The units consumed since the last take, and resets them.
    pub fn take_consumed(&self) -> Consumed {
        std::mem::take(&mut *self.consumed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds units consumed on the table (`index` `None`) or on an index.
    pub fn consume(&self, index: Option<&str>, units: Units) {
        let mut consumed = self.consumed.lock().unwrap_or_else(|p| p.into_inner());
        let at = match index {
            None => &mut consumed.table,
            Some(name) => consumed.indexes.entry(name.to_string()).or_default(),
        };
        at.read += units.read;
        at.write += units.write;
    }

    /// Counts the start of a call that takes `round_trips` round trips (a batch's calls,
    /// some at a time); it ends when the guard is dropped.
    ///
    /// Then it yields once, before the call goes out: calls made together (polled in one
    /// pass of a join) are then all under way before any of them can end. Without it, on
    /// a loaded machine a call could go out, be answered and end within its first poll,
    /// while the thread that polls was descheduled, and the next call of the same join
    /// would count a round trip of its own.
    pub async fn call(&self, round_trips: u64) -> InFlight<'_> {
        let alone = self.in_flight.fetch_add(1, Ordering::Relaxed) == 0;
        self.round_trips.fetch_add(
            round_trips.saturating_sub(u64::from(!alone)),
            Ordering::Relaxed,
        );
        let call = InFlight(self);
        tokio::task::yield_now().await;
        call
    }

    /// [`Counts::call`] for a batch of `round_trips`: none for an empty batch (0), which
    /// makes no call.
    pub async fn batch_call(&self, round_trips: u64) -> Option<InFlight<'_>> {
        if round_trips == 0 {
            return None;
        }
        Some(self.call(round_trips).await)
    }

    fn read(&self, items: usize) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.items_read.fetch_add(items as u64, Ordering::Relaxed);
    }
}

/// The calls a batch write makes on DynamoDB: one per
/// [`BATCH_WRITE_LIMIT`](super::dynamo::BATCH_WRITE_LIMIT) keys written.
pub fn batch_write_requests(writes: &[Write]) -> u64 {
    let keys: HashSet<Key> = writes.iter().filter_map(|w| w.key().ok()).collect();
    keys.len().div_ceil(super::dynamo::BATCH_WRITE_LIMIT) as u64
}

/// The round trips of a batch write's calls, made
/// [`BATCH_CALLS_IN_FLIGHT`](super::dynamo::BATCH_CALLS_IN_FLIGHT) at a time.
pub fn batch_write_round_trips(writes: &[Write]) -> u64 {
    batch_write_requests(writes).div_ceil(super::dynamo::BATCH_CALLS_IN_FLIGHT as u64)
}

/// The calls a batch read makes on DynamoDB: one per
/// [`BATCH_GET_LIMIT`](super::dynamo::BATCH_GET_LIMIT) keys.
pub fn batch_get_requests(keys: &[Key]) -> u64 {
    let keys: HashSet<&Key> = keys.iter().collect();
    keys.len().div_ceil(super::dynamo::BATCH_GET_LIMIT) as u64
}

/// The round trips of a batch read's calls, made some at a time.
pub fn batch_get_round_trips(keys: &[Key]) -> u64 {
    batch_get_requests(keys).div_ceil(super::dynamo::BATCH_CALLS_IN_FLIGHT as u64)
}

/// A call to the table under way (see [`Counts::call`]).
pub struct InFlight<'a>(&'a Counts);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pub struct CountingTable {
    inner: Arc<dyn Table>,
    pub counts: Arc<Counts>,
}

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> Self {
        Self::with_counts(inner, Arc::default())
    }

    /// Counts into `counts`, which a metered DynamoDB adapter also adds its units to.
    pub fn with_counts(inner: Arc<dyn Table>, counts: Arc<Counts>) -> Self {
        Self { inner, counts }
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let _call = self.counts.call(1).await;
        let item = self.inner.get(key).await?;
        self.counts.read(usize::from(item.is_some()));
        Ok(item)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let _call = self.counts.batch_call(batch_get_round_trips(keys)).await;
        let items = self.inner.batch_get(keys).await?;
        self.counts.read(items.len());
        Ok(items)
    }

    async fn get_eventual(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let _call = self.counts.call(1).await;
        let item = self.inner.get_eventual(key).await?;
        self.counts.read(usize::from(item.is_some()));
        Ok(item)
    }

    async fn batch_get_eventual(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let _call = self.counts.batch_call(batch_get_round_trips(keys)).await;
        let items = self.inner.batch_get_eventual(keys).await?;
        self.counts.read(items.len());
        Ok(items)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let _call = self.counts.call(1).await;
        let page = self.inner.query(query).await?;
        self.counts.read(page.items.len());
        Ok(page)
    }

    fn changes(&self) -> Option<super::ChangeFeed> {
        self.inner.changes()
    }

    fn commits(&self) -> Option<u64> {
        self.inner.commits()
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        let _call = self.counts.call(1).await;
        self.counts.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.write(write).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let _call = self.counts.call(1).await;
        self.counts
            .writes
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.inner.transact(writes).await
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let _call = self
            .counts
            .batch_call(batch_write_round_trips(&writes))
            .await;
        self.counts
            .writes
            .fetch_add(writes.len() as u64, Ordering::Relaxed);
        self.inner.batch_write(writes).await
    }
}
