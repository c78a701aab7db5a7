//! The cost benchmark, run by `infra/bench/cost` (ignored in test runs: it asserts only
//! that each journey step succeeds, and prints a table). It drives the main journeys on
//! DynamoDB (the moto stand-in) and gives, per route: table calls and the round trips they
//! take, read and write request units on the table and on each index, and the on-demand
//! price of a million requests, DynamoDB and Lambda.
//!
//! moto reports placeholder units, so the units here are computed from the items each
//! call reads and writes, by DynamoDB's published sizing rules (see [`SizedTable`]).

use crate::support::{self, Env, receive_all};
use axum::http::{Method, StatusCode};
use marquee::catalog::index;
use marquee::routes::{BACKGROUND, ROUTES};
use marquee::store::counting::{
    Consumed, Counts, InFlight, Units, batch_get_requests, batch_get_round_trips,
    batch_write_requests, batch_write_round_trips,
};
use marquee::store::{Index, Item, Key, Page, Query, StoreError, Table, Write, Written};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// us-east-1, on-demand, Standard table class, and Lambda on arm64, in US dollars: the
/// published prices after DynamoDB's November 2024 on-demand reduction, as known on
/// 2026-12-01 (this machine cannot reach the pricing pages; check them before relying on
/// the totals).
const PRICE_PER_MILLION_RRU: f64 = 0.125;
const PRICE_PER_MILLION_WRU: f64 = 0.625;
const LAMBDA_PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// Lambda gives a function one full vCPU at 1,769 MB, and CPU in proportion below that.
const FULL_VCPU_MB: f64 = 1769.0;
/// The model's round trip to DynamoDB, SQS or SES from Lambda in the same region (an
/// assumption: moto's round trips here are not DynamoDB's).
const ASSUMED_ROUND_TRIP_MS: f64 = 4.0;

/// DynamoDB's item size: each attribute's name and value, in bytes.
fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.len() as u64,
        // About one byte per two significant digits, plus one.
        Value::Number(n) => {
            let digits = n
                .to_string()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>();
            let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
            (significant.max(1) as u64).div_ceil(2) + 1
        }
        Value::Bool(_) | Value::Null => 1,
        // Three bytes of overhead, one per element.
        Value::Array(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        Value::Object(map) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() as u64 + 1 + value_size(v))
                .sum::<u64>()
        }
    }
}

/// Reads are billed per 4 KB (a whole query's items summed), half for an eventually
/// consistent read; writes per 1 KB of the larger of the item before and after.
fn read_units(bytes: u64, consistent: bool) -> f64 {
    let units = bytes.max(1).div_ceil(4096) as f64;
    if consistent { units } else { units / 2.0 }
}

fn write_units(bytes: u64) -> f64 {
    bytes.max(1).div_ceil(1024) as f64
}

fn in_index(item: &Item, index: Index) -> Option<(&Value, &Value)> {
    Some((item.get(index.pk())?, item.get(index.sk())?))
}

/// A [`Table`] that adds, for every call, the units DynamoDB would bill for it to
/// `counts`: it reads the items a write touches before and after it (uncounted), and the
/// whole items behind a projected query. The indexes project all attributes, so an index
/// entry is the size of its item; an update that moves an item's index keys writes the
/// index twice (the old entry removed, the new one put). A transaction bills each of its
/// items twice on the table.
struct SizedTable {
    inner: Arc<dyn Table>,
    counts: Arc<Counts>,
    calls: AtomicU64,
    /// Where the benchmark reads the items it sizes.
    books: Books,
    /// CPU spent sizing items on the route's threads, which the route's CPU time leaves
    /// out (as it leaves out the [`Books`] thread's).
    overhead_cpu_ms: std::sync::Mutex<f64>,
}

type Job = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The benchmark's own reads of the items it sizes: on a thread of their own, with a
/// client of their own, so that all their CPU time (the HTTP connections' too) is that
/// thread's, whatever the route does beside them (a batch's projections run together).
struct Books {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    table: Arc<dyn Table>,
    /// The thread's CPU clock.
    clock: libc::clockid_t,
}

impl Books {
    fn start(table_name: String) -> Self {
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut clock: libc::clockid_t = 0;
                // SAFETY: pthread_getcpuclockid writes only into the clock id it is given.
                unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
                let config = support::aws_config().await;
                let table: Arc<dyn Table> = Arc::new(marquee::store::dynamo::DynamoTable::new(
                    aws_sdk_dynamodb::Client::new(&config),
                    table_name,
                ));
                ready.send((clock, table)).unwrap();
                while let Some(job) = queue.recv().await {
                    tokio::spawn(job);
                }
            });
        });
        let (clock, table) = started.recv().unwrap();
        Self { jobs, table, clock }
    }

    /// The thread's CPU time so far.
    fn cpu_ms(&self) -> f64 {
        clock_ms(self.clock)
    }

    /// What `work` answers, run on the books' thread with the books' table.
    async fn on_thread<T, F>(&self, work: impl FnOnce(Arc<dyn Table>) -> F) -> T
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let work = work(self.table.clone());
        let job: Job = Box::pin(async move {
            let _ = reply.send(work.await);
        });
        self.jobs.send(job).unwrap();
        answer.await.unwrap()
    }

    /// The items at `keys` now (`None` where absent).
    async fn items(&self, keys: Vec<Key>) -> Vec<Option<Item>> {
        self.on_thread(|table| async move {
            let mut items = Vec::with_capacity(keys.len());
            for key in &keys {
                items.push(table.get(key).await.unwrap());
            }
            items
        })
        .await
    }

    /// The items at `keys` that exist.
    async fn batch(&self, keys: Vec<Key>) -> Result<Vec<Item>, StoreError> {
        self.on_thread(|table| async move { table.batch_get(&keys).await })
            .await
    }
}

impl SizedTable {
    /// Counts a call to the port that makes `requests` requests (a batch's calls) in
    /// `round_trips` round trips ([`Counts::call`]).
    async fn call(&self, requests: u64, round_trips: u64) -> InFlight<'_> {
        self.calls.fetch_add(requests, Ordering::Relaxed);
        self.counts.call(round_trips).await
    }

    /// [`SizedTable::call`] for a batch read of `keys`: none when there are none.
    async fn batch_get_call(&self, keys: &[Key]) -> Option<InFlight<'_>> {
        if keys.is_empty() {
            return None;
        }
        Some(
            self.call(batch_get_requests(keys), batch_get_round_trips(keys))
                .await,
        )
    }

    /// Runs `work`, sizing done on the route's thread, keeping its CPU time apart.
    fn aside<T>(&self, work: impl FnOnce() -> T) -> T {
        let start = clock_ms(libc::CLOCK_THREAD_CPUTIME_ID);
        let out = work();
        *self.overhead_cpu_ms.lock().unwrap() += clock_ms(libc::CLOCK_THREAD_CPUTIME_ID) - start;
        out
    }

    fn write_key(write: &Write) -> Key {
        match write {
            Write::Put { item, .. } => Key::of(item).expect("items carry their key"),
            Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => {
                key.clone()
            }
        }
    }

    fn bill_get(&self, item: Option<&Item>, consistent: bool) {
        let size = item.map(item_size).unwrap_or(0);
        self.counts.consume(
            None,
            Units {
                read: read_units(size, consistent),
                write: 0.0,
            },
        );
    }

    /// Each key is billed apart; a missing one at the minimum.
    fn bill_batch_get(&self, keys: &[Key], items: &[Item], consistent: bool) {
        if keys.is_empty() {
            return;
        }
        let found: f64 = items
            .iter()
            .map(|i| read_units(item_size(i), consistent))
            .sum();
        let missing = keys.len().saturating_sub(items.len()) as f64 * read_units(0, consistent);
        self.counts.consume(
            None,
            Units {
                read: found + missing,
                write: 0.0,
            },
        );
    }

    async fn before(&self, writes: &[Write]) -> Vec<Option<Item>> {
        self.books
            .items(writes.iter().map(Self::write_key).collect())
            .await
    }

    /// Bills the writes done (`applied`) or refused (only the table, at the old size).
    async fn bill(&self, writes: &[Write], before: Vec<Option<Item>>, applied: bool, factor: f64) {
        let after = if applied {
            self.books
                .items(writes.iter().map(Self::write_key).collect())
                .await
        } else {
            vec![None; writes.len()]
        };
        self.aside(|| self.bill_now(writes, before, after, applied, factor));
    }

    fn bill_now(
        &self,
        writes: &[Write],
        before: Vec<Option<Item>>,
        after: Vec<Option<Item>>,
        applied: bool,
        factor: f64,
    ) {
        for ((write, old), new) in writes.iter().zip(before).zip(after) {
            let old_size = old.as_ref().map(item_size).unwrap_or(0);
            if !applied || matches!(write, Write::Check { .. }) {
                self.counts.consume(
                    None,
                    Units {
                        read: 0.0,
                        write: factor * write_units(old_size),
                    },
                );
                continue;
            }
            let new_size = new.as_ref().map(item_size).unwrap_or(0);
            self.counts.consume(
                None,
                Units {
                    read: 0.0,
                    write: factor * write_units(old_size.max(new_size)),
                },
            );
            for index in Index::ALL {
                let was = old.as_ref().and_then(|i| in_index(i, index));
                let is = new.as_ref().and_then(|i| in_index(i, index));
                let units = match (was, is) {
                    (Some(a), Some(b)) if a != b => write_units(old_size) + write_units(new_size),
                    (Some(_), Some(_)) if old == new => 0.0,
                    (Some(_), Some(_)) | (None, Some(_)) => write_units(new_size),
                    (Some(_), None) => write_units(old_size),
                    (None, None) => 0.0,
                };
                if units > 0.0 {
                    self.counts.consume(
                        Some(index.name()),
                        Units {
                            read: 0.0,
                            write: units,
                        },
                    );
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Table for SizedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let item = {
            let _call = self.call(1, 1).await;
            self.inner.get(key).await?
        };
        self.bill_get(item.as_ref(), true);
        Ok(item)
    }

    async fn get_eventual(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let item = {
            let _call = self.call(1, 1).await;
            self.inner.get_eventual(key).await?
        };
        self.bill_get(item.as_ref(), false);
        Ok(item)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let items = {
            let _call = self.batch_get_call(keys).await;
            self.inner.batch_get(keys).await?
        };
        self.bill_batch_get(keys, &items, true);
        Ok(items)
    }

    async fn batch_get_eventual(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let items = {
            let _call = self.batch_get_call(keys).await;
            self.inner.batch_get_eventual(keys).await?
        };
        self.bill_batch_get(keys, &items, false);
        Ok(items)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let page = {
            let _call = self.call(1, 1).await;
            self.inner.query(query).await?
        };
        // A projection saves transfer, not units: whole items are billed.
        let bytes: u64 = if query.attributes.is_some() {
            let keys: Vec<Key> = page.items.iter().filter_map(Key::of).collect();
            let whole = self.books.batch(keys).await?;
            self.aside(|| whole.iter().map(item_size).sum())
        } else {
            self.aside(|| page.items.iter().map(item_size).sum())
        };
        self.counts.consume(
            query.index.map(Index::name),
            Units {
                read: read_units(bytes, false),
                write: 0.0,
            },
        );
        Ok(page)
    }

    // A write's call is under way from the moment the route makes it, its sizing read
    // included: calls the route makes together then overlap as they would without it.

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        let call = self.call(1, 1).await;
        let writes = [write];
        let before = self.before(&writes).await;
        let [write] = writes;
        let copy = write.clone();
        let result = self.inner.write(write).await;
        drop(call);
        self.bill(&[copy], before, result.is_ok(), 1.0).await;
        result
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let call = self.call(1, 1).await;
        let before = self.before(&writes).await;
        let copy = writes.clone();
        let result = self.inner.transact(writes).await;
        drop(call);
        self.bill(&copy, before, result.is_ok(), 2.0).await;
        result
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return self.inner.batch_write(writes).await;
        }
        let call = self
            .call(
                batch_write_requests(&writes),
                batch_write_round_trips(&writes),
            )
            .await;
        let before = self.before(&writes).await;
        let copy = writes.clone();
        let result = self.inner.batch_write(writes).await;
        drop(call);
        self.bill(&copy, before, result.is_ok(), 1.0).await;
        result
    }
}

/// What one route cost over the times the journeys called it.
#[derive(Default)]
struct RouteCost {
    requests: u64,
    calls: u64,
    round_trips: u64,
    consumed: Consumed,
    cpu_ms: f64,
    wall_ms: f64,
}

/// Each route's costs, from the table's counts around each call of it.
struct Meter {
    sized: Arc<SizedTable>,
    costs: BTreeMap<&'static str, RouteCost>,
}

struct Bench {
    env: Env,
    meter: Meter,
}

/// The CPU time this process has used, all threads (the stand-ins of Stripe and the
/// sign-in provider run in it too, but are idle in the steps measured; moto is apart).
fn cpu_ms() -> f64 {
    clock_ms(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// The CPU time a clock has counted: the process's, a thread's.
fn clock_ms(clock: libc::clockid_t) -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec it is given.
    unsafe { libc::clock_gettime(clock, &mut now) };
    now.tv_sec as f64 * 1e3 + now.tv_nsec as f64 / 1e6
}

/// The route that answers `method path`.
fn route_of(method: &Method, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES
        .iter()
        .find(|r| {
            let pattern: Vec<&str> = r.path.split('/').collect();
            r.method.as_str() == method.as_str()
                && pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p == s || p.starts_with('{'))
        })
        .unwrap_or_else(|| panic!("no route answers {method} {path}"))
        .name
}

impl Meter {
    async fn measure<F: Future>(&mut self, route: &'static str, work: F) -> F::Output {
        self.sized.counts.take_consumed();
        self.sized.calls.swap(0, Ordering::Relaxed);
        self.sized.counts.round_trips.swap(0, Ordering::Relaxed);
        *self.sized.overhead_cpu_ms.lock().unwrap() = 0.0;
        let (cpu, books, wall) = (cpu_ms(), self.sized.books.cpu_ms(), Instant::now());
        let out = work.await;
        let cost = self.costs.entry(route).or_default();
        let books = self.sized.books.cpu_ms() - books;
        cost.cpu_ms += cpu_ms() - cpu - books - *self.sized.overhead_cpu_ms.lock().unwrap();
        cost.wall_ms += wall.elapsed().as_secs_f64() * 1e3;
        cost.requests += 1;
        cost.calls += self.sized.calls.swap(0, Ordering::Relaxed);
        cost.round_trips += self.sized.counts.round_trips.swap(0, Ordering::Relaxed);
        let consumed = self.sized.counts.take_consumed();
        cost.consumed.table.read += consumed.table.read;
        cost.consumed.table.write += consumed.table.write;
        for (index, units) in consumed.indexes {
            let at = cost.consumed.indexes.entry(index).or_default();
            at.read += units.read;
            at.write += units.write;
        }
        out
    }
}

impl Bench {
    async fn start() -> Self {
        let mut env = Env::aws().await;
        let sized = Arc::new(SizedTable {
            inner: env.app.table.clone(),
            counts: Arc::default(),
            calls: AtomicU64::new(0),
            books: Books::start(env.app.config.table_name.clone()),
            overhead_cpu_ms: Default::default(),
        });
        env.app.table = sized.clone();
        env.api = marquee::routes::router(env.app.clone(), |_| true);
        Self {
            env,
            meter: Meter {
                sized,
                costs: BTreeMap::new(),
            },
        }
    }

    /// One request, which must succeed; its answer.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Value {
        let request = support::request(method.clone(), path, token, body, headers);
        let (status, _, answer) = self
            .meter
            .measure(
                route_of(&method, path),
                support::call(&self.env.api, request),
            )
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        answer
    }

    async fn get(&mut self, path: &str, token: Option<&str>) -> Value {
        self.call(Method::GET, path, token, None, &[]).await
    }

    async fn post(&mut self, path: &str, token: Option<&str>, body: Value) -> Value {
        self.call(Method::POST, path, token, Some(body), &[]).await
    }

    /// The mail worker on what the mail queue holds.
    async fn mail_worker(&mut self) {
        let url = self.env.app.config.mail_queue_url.clone().unwrap();
        let bodies = receive_all(&url).await;
        if bodies.is_empty() {
            return;
        }
        let failed = self
            .meter
            .measure(
                marquee::background::MAIL_WORKER,
                marquee::background::mail_worker(&self.env.app, &bodies),
            )
            .await;
        assert!(failed.is_empty(), "mail jobs failed: {failed:?}");
    }

    /// The stream indexer on the movies whose changes the table's stream carried.
    async fn stream_indexer(&mut self, movies: &[String]) -> u64 {
        let report = self
            .meter
            .measure(
                marquee::background::CATALOG_STREAM_INDEXER,
                marquee::background::catalog_stream_indexer(&self.env.app, movies),
            )
            .await;
        assert!(report.failed.is_empty(), "projections failed: {report:?}");
        report.projected as u64
    }

    /// Write units a route or function has spent so far (table and indexes).
    fn written(&self, name: &str) -> f64 {
        self.meter.costs.get(name).map_or(0.0, |cost| {
            cost.consumed.table.write + cost.consumed.indexes.values().map(|u| u.write).sum::<f64>()
        })
    }

    /// Changes to `movie` end to end, made within one batching window of the table's
    /// stream: the write units of their routes, then of the one projection the stream's
    /// batch starts.
    async fn end_to_end(
        &mut self,
        movie: &str,
        changes: Vec<(Method, String, &str, Value)>,
    ) -> (f64, f64) {
        let routes: BTreeSet<&str> = changes
            .iter()
            .map(|(method, path, _, _)| route_of(method, path))
            .collect();
        let routes_written = |bench: &Self| routes.iter().map(|r| bench.written(r)).sum::<f64>();
        let stream = marquee::background::CATALOG_STREAM_INDEXER;
        let (route_before, projection_before) = (routes_written(&*self), self.written(stream));
        let announced = vec![movie.to_string(); changes.len()];
        for (method, path, token, body) in changes {
            self.call(method, &path, Some(token), Some(body), &[]).await;
        }
        self.stream_indexer(&announced).await;
        (
            routes_written(&*self) - route_before,
            self.written(stream) - projection_before,
        )
    }

    async fn indexer(&mut self) -> u64 {
        let report = self
            .meter
            .measure(
                marquee::background::CATALOG_INDEXER,
                marquee::background::catalog_indexer(&self.env.app, 100),
            )
            .await
            .unwrap();
        report.projected as u64
    }

    fn memory_of(name: &str) -> u32 {
        ROUTES
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.memory_mb)
            .or_else(|| BACKGROUND.iter().find(|b| b.name == name).map(|_| 256))
            .unwrap()
    }

    fn table(&self) -> String {
        let mut out = String::from(
            "| route | memory MB | requests | table calls | round trips | RRU table | RRU by index | WRU table | WRU by index | CPU ms here | Lambda ms (model) | DynamoDB $/1M | Lambda $/1M |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for (route, cost) in &self.meter.costs {
            let n = cost.requests as f64;
            let per = |x: f64| x / n;
            // Units per index, "GSI1 2, GSI3 1" (0 when none).
            let by_index = |units: fn(&Units) -> f64| {
                let named: Vec<String> = cost
                    .consumed
                    .indexes
                    .iter()
                    .filter(|(_, u)| units(u) > 0.0)
                    .map(|(name, u)| format!("{name} {}", round(per(units(u)))))
                    .collect();
                if named.is_empty() {
                    "0".to_string()
                } else {
                    named.join(", ")
                }
            };
            // (0.0 + : an empty f64 sum is -0.)
            let index_reads: f64 =
                0.0 + cost.consumed.indexes.values().map(|u| u.read).sum::<f64>();
            let index_write_total: f64 =
                0.0 + cost.consumed.indexes.values().map(|u| u.write).sum::<f64>();
            let rru = per(cost.consumed.table.read + index_reads);
            let wru = per(cost.consumed.table.write + index_write_total);
            let memory = Self::memory_of(route);
            let calls = per(cost.calls as f64);
            let round_trips = per(cost.round_trips as f64);
            let cpu = per(cost.cpu_ms);
            let lambda_ms = lambda_ms(cpu, round_trips, memory);
            let dynamo = rru * PRICE_PER_MILLION_RRU + wru * PRICE_PER_MILLION_WRU;
            let lambda = LAMBDA_PRICE_PER_MILLION_REQUESTS
                + f64::from(memory) / 1024.0 * lambda_ms / 1e3 * 1e6 * LAMBDA_PRICE_PER_GB_SECOND;
            out.push_str(&format!(
                "| `{route}` | {memory} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {:.3} | {:.3} |\n",
                cost.requests,
                round(calls),
                round(round_trips),
                round(per(cost.consumed.table.read)),
                by_index(|u| u.read),
                round(per(cost.consumed.table.write)),
                by_index(|u| u.write),
                cpu,
                lambda_ms,
                dynamo,
                lambda,
            ));
        }
        out
    }

    /// For each function, the memory size that bills least under the model.
    fn cheapest_memory(&self) -> String {
        let mut out = String::from(
            "| route | configured MB | Lambda $/1M at 128 / 256 / 512 / 1024 MB | cheapest |\n|---|---|---|---|\n",
        );
        for (route, cost) in &self.meter.costs {
            let n = cost.requests as f64;
            let (cpu, round_trips) = (cost.cpu_ms / n, cost.round_trips as f64 / n);
            let prices: Vec<(u32, f64)> = [128u32, 256, 512, 1024]
                .into_iter()
                .map(|mb| {
                    let ms = lambda_ms(cpu, round_trips, mb);
                    (
                        mb,
                        LAMBDA_PRICE_PER_MILLION_REQUESTS
                            + f64::from(mb) / 1024.0 * ms / 1e3 * 1e6 * LAMBDA_PRICE_PER_GB_SECOND,
                    )
                })
                .collect();
            let cheapest = prices.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
            out.push_str(&format!(
                "| `{route}` | {} | {} | {cheapest} |\n",
                Self::memory_of(route),
                prices
                    .iter()
                    .map(|(_, p)| format!("{p:.2}"))
                    .collect::<Vec<_>>()
                    .join(" / "),
            ));
        }
        out
    }
}

/// Billed duration under the model: this machine's CPU time scaled to the function's
/// share of a vCPU, plus a round trip for each table call that waited for the one before
/// (calls made together wait once), rounded up to Lambda's 1 ms.
fn lambda_ms(cpu_ms: f64, round_trips: f64, memory_mb: u32) -> f64 {
    let share = (f64::from(memory_mb) / FULL_VCPU_MB).min(1.0);
    (cpu_ms / share + round_trips * ASSUMED_ROUND_TRIP_MS).ceil()
}

fn round(x: f64) -> String {
    let text = format!("{x:.1}");
    text.strip_suffix(".0").unwrap_or(&text).to_string()
}

/// A viewer's like of a movie, as [`Bench::end_to_end`] takes it.
fn like_of<'a>(movie: &str, token: &'a str) -> (Method, String, &'a str, Value) {
    (
        Method::PUT,
        format!("/movies/{movie}/reaction"),
        token,
        json!({"value": "like"}),
    )
}

async fn order(bench: &mut Bench, token: &str, key: &str) -> Value {
    bench
        .call(
            Method::POST,
            "/orders",
            Some(token),
            None,
            &[("idempotency-key", key)],
        )
        .await
}

#[tokio::test]
#[ignore = "a benchmark: infra/bench/cost runs it on the moto stand-in"]
async fn cost_per_route_on_dynamodb() {
    const VIEWERS: usize = 5;
    let mut bench = Bench::start().await;
    let (showtime, movies) = support::shop_of(&bench.env, 200, 40).await;
    let genres = bench.get("/genres", None).await;
    // The moderator who uploads media, made before metering starts.
    let (moderator, _, _) = bench
        .env
        .account("moderator", marquee::role::Role::Moderator)
        .await;
    bench.env.run_mail_jobs().await;
    // The movies whose clicks are measured end to end, none of them among the first five
    // (the journeys' own): two nobody touched, and one the demo's history gives hundreds
    // of viewers' likes, ratings and favourites.
    let mut untouched = Vec::new();
    let mut crowded = None;
    for movie in movies.iter().skip(VIEWERS).rev() {
        let record = bench.env.app.table.get(&index::record_key(movie)).await;
        let popularity = index::Counters::read(&record.unwrap().unwrap()).popularity();
        match popularity {
            0 => untouched.push(movie.clone()),
            100.. if crowded.is_none() => crowded = Some((movie.clone(), popularity)),
            _ => {}
        }
    }
    let (crowded, crowd) = crowded.expect("a movie the demo's history made popular");
    let [fresh, liked_at_once, ..] = &untouched[..] else {
        panic!("two movies nobody touched: {untouched:?}");
    };
    let (fresh, liked_at_once) = (fresh.clone(), liked_at_once.clone());
    // From here the mail worker is measured as its own function.
    bench.env.mail_worker = false;
    bench.meter.costs.clear();

    let genre = genres["items"][0]["id"].as_str().unwrap().to_string();
    let mut tokens = Vec::new();
    for viewer in 0..VIEWERS {
        // Sign-up, activation and sign-in.
        let email = format!("viewer{viewer}.{}@example.com", ulid::Ulid::new());
        let password = "Velvet-Lantern-Orbit-42";
        bench
            .post(
                "/auth/register",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        bench.mail_worker().await;
        let token = bench.env.token_from_email(&email, "Activate");
        bench
            .post("/auth/activate", None, json!({"token": token}))
            .await;
        let pair = bench
            .post(
                "/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        let access = pair["access_token"].as_str().unwrap().to_string();
        let refreshed = bench
            .post(
                "/auth/refresh",
                None,
                json!({"refresh_token": pair["refresh_token"]}),
            )
            .await;
        assert!(refreshed["access_token"].is_string());
        bench.get("/me", Some(&access)).await;

        // Browsing: the first page, a sorted page, a genre, a search, the next page.
        let first = bench.get("/movies", None).await;
        bench.get("/movies?sort=title", None).await;
        bench.get(&format!("/movies?genre={genre}"), None).await;
        bench.get("/movies?q=night", None).await;
        if let Some(cursor) = first["next_cursor"].as_str() {
            bench.get(&format!("/movies?cursor={cursor}"), None).await;
        }
        let movie = &movies[viewer % movies.len()];
        bench.get(&format!("/movies/{movie}"), None).await;
        bench.get(&format!("/movies/{movie}/comments"), None).await;

        // Engagement, projected by the indexer's next sweep.
        bench
            .call(
                Method::PUT,
                &format!("/movies/{movie}/reaction"),
                Some(&access),
                Some(json!({"value": "like"})),
                &[],
            )
            .await;
        bench
            .call(
                Method::PUT,
                &format!("/movies/{movie}/rating"),
                Some(&access),
                Some(json!({"score": 8})),
                &[],
            )
            .await;
        bench
            .call(
                Method::PUT,
                &format!("/me/favorites/{movie}"),
                Some(&access),
                None,
                &[],
            )
            .await;
        tokens.push((access, movie.clone()));
    }
    // What the table's stream carries to the stream indexer: each engaged movie.
    let engaged: Vec<String> = tokens.iter().map(|(_, movie)| movie.clone()).collect();
    let mut projected = bench.stream_indexer(&engaged).await;

    // Cart, order, checkout and Stripe's webhook.
    for (viewer, (access, movie)) in tokens.iter().enumerate() {
        bench
            .post("/cart/items", Some(access), json!({"movie_id": movie}))
            .await;
        bench
            .post(
                "/cart/items",
                Some(access),
                json!({"showtime_id": showtime, "quantity": 2}),
            )
            .await;
        bench.get("/cart", Some(access)).await;
        let placed = order(&mut bench, access, &format!("order-{viewer}")).await;
        let id = placed["id"].as_str().unwrap().to_string();
        let started = bench
            .post(&format!("/orders/{id}/checkout"), Some(access), json!({}))
            .await;
        let session = support::checkout_session_id(&started);
        let paid = support::paid_session(
            &session,
            &id,
            "paid",
            &format!("pi_{viewer}"),
            placed["total"]["amount"].as_i64().unwrap(),
            placed["total"]["currency"].as_str().unwrap(),
        );
        let (status, body) = bench
            .meter
            .measure(
                "stripe-webhook",
                bench.env.stripe_event(
                    &format!("evt_{viewer}"),
                    "checkout.session.completed",
                    paid,
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        bench.get(&format!("/orders/{id}"), Some(access)).await;
        bench.get("/orders", Some(access)).await;
        bench.get("/me/purchases", Some(access)).await;
        bench.mail_worker().await;
    }
    // Watching: a moderator uploads a movie's trailer and feature (the bytes go to the store
    // by part URL, unmetered); each buyer of it plays the feature, beats, renews and looks
    // at what to continue.
    let clip = crate::watching::clip();
    let watched = &tokens[0].1;
    for kind in ["trailer", "feature"] {
        let started = bench
            .post(
                &format!("/movies/{watched}/media/{kind}/uploads"),
                Some(&moderator),
                json!({"content_type": "video/mp4", "size_bytes": clip.len()}),
            )
            .await;
        let (status, etag) = crate::watching::put_part(
            &bench.env,
            started["parts"][0]["url"].as_str().unwrap(),
            clip.clone(),
        )
        .await;
        assert_eq!(status, 200);
        let upload = started["upload_id"].as_str().unwrap();
        bench
            .post(
                &format!("/movies/{watched}/media/{kind}/uploads/{upload}/complete"),
                Some(&moderator),
                json!({"parts": [{"number": 1, "etag": etag.unwrap()}]}),
            )
            .await;
    }
    for (access, movie) in tokens.iter().filter(|(_, m)| m == watched) {
        bench
            .post(
                &format!("/movies/{movie}/playback"),
                None,
                json!({"kind": "trailer"}),
            )
            .await;
        let played = bench
            .post(
                &format!("/movies/{movie}/playback"),
                Some(access),
                json!({"kind": "feature"}),
            )
            .await;
        for second in [5.0, 10.0] {
            bench
                .call(
                    Method::PUT,
                    &format!("/movies/{movie}/progress"),
                    Some(access),
                    Some(json!({"position_s": second, "duration_s": 12.0, "grant_id": played["grant_id"]})),
                    &[],
                )
                .await;
        }
        bench
            .post(
                &format!("/movies/{movie}/playback"),
                Some(access),
                json!({"kind": "feature", "grant_id": played["grant_id"]}),
            )
            .await;
        bench.get("/me/continue-watching", Some(access)).await;
    }
    // Purchases counted on the shelves, through the stream; then the reconciling sweep,
    // which finds nothing left.
    projected += bench.stream_indexer(&engaged).await;
    assert_eq!(
        bench.indexer().await,
        0,
        "the stream left nothing to the sweep"
    );

    // One like and two edits of a movie nobody touched, each end to end: the route, then
    // the projection the stream starts.
    let stream = marquee::background::CATALOG_STREAM_INDEXER;
    let path = format!("/movies/{fresh}");
    let like = bench
        .end_to_end(&fresh, vec![like_of(&fresh, &tokens[0].0)])
        .await;
    let current = bench.get(&path, None).await;
    // What no card shows: two words more in the description.
    let description = format!(
        "{} Newly restored.",
        current["description"].as_str().unwrap()
    );
    let edit = bench
        .end_to_end(
            &fresh,
            vec![(
                Method::PATCH,
                path.clone(),
                &moderator,
                json!({ "description": description }),
            )],
        )
        .await;
    // What every card shows: the price, a cent up.
    let mut price = current["price"].clone();
    price["amount"] = json!(price["amount"].as_i64().unwrap() + 1);
    let repricing = bench
        .end_to_end(
            &fresh,
            vec![(
                Method::PATCH,
                path.clone(),
                &moderator,
                json!({ "price": price }),
            )],
        )
        .await;
    // Every viewer likes another movie nobody touched, within one batching window of the
    // stream: one projection carries all their likes, as it does a popular movie's.
    let likes = tokens
        .iter()
        .map(|(access, _)| like_of(&liked_at_once, access))
        .collect::<Vec<_>>();
    let burst_size = likes.len();
    let burst = bench.end_to_end(&liked_at_once, likes).await;
    // One like of the crowded movie: its card changes, its entries stay within their step.
    let crowd_like = bench
        .end_to_end(&crowded, vec![like_of(&crowded, &tokens[0].0)])
        .await;
    bench
        .meter
        .measure(
            marquee::background::EXPIRY_SCHEDULER,
            marquee::background::expiry_scheduler(&bench.env.app),
        )
        .await
        .unwrap();

    let batches = bench.meter.costs[stream].requests;
    println!(
        "\ncatalog-stream-indexer: {projected} movies projected in {batches} batches, {} WRU per movie (table and indexes); a like of a movie nobody touched end to end {} WRU (the route {}, its projection {}); {burst_size} likes of another in one batching window end to end {} WRU each (the routes {}, their one projection {}); a like of a movie of popularity {crowd} end to end {} WRU (the route {}, its projection {}); an edit of the description end to end {} WRU (the route, which projects at once, {}; the stream's call after it {}); an edit of the price end to end {} WRU (the route {}; the stream's call {})",
        round(
            (bench.written(stream) - like.1 - burst.1 - crowd_like.1 - edit.1 - repricing.1)
                / projected as f64
        ),
        round(like.0 + like.1),
        round(like.0),
        round(like.1),
        round((burst.0 + burst.1) / burst_size as f64),
        round(burst.0),
        round(burst.1),
        round(crowd_like.0 + crowd_like.1),
        round(crowd_like.0),
        round(crowd_like.1),
        round(edit.0 + edit.1),
        round(edit.0),
        round(edit.1),
        round(repricing.0 + repricing.1),
        round(repricing.0),
        round(repricing.1),
    );
    println!("\n{}", bench.table());
    println!("{}", bench.cheapest_memory());
}
