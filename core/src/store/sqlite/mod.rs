//! The embedded `Table` adapter: one SQLite file in WAL mode, so that several processes
//! (the local server, `cargo lambda watch`'s one process per function) can share it, and
//! so that reads go on beside a write: one connection writes, a few others only read, and
//! each read sees the last commit. Every call runs on the blocking thread pool, never on
//! the async runtime's workers.
//! Each index key has a column, under a partial index, so an item sits in an index exactly
//! when it has both of that index's keys, as in DynamoDB; how an item is stored is
//! [`stored`]'s.

mod stored;

use super::{
    Condition, Item, Key, Page, Query, SortKey, StoreError, Table, Update, Write, Written, cursor,
    schema, validate_single, validate_transaction,
};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, types::Value as Sql};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use stored::{Codec, KeyNames, Rows};

pub struct SqliteTable {
    /// The one connection that writes: SQLite lets one writer in at a time anyway, and
    /// writers queue here rather than spin on the file lock.
    writer: Arc<Mutex<Link>>,
    /// Connections that only read, lent one per call.
    readers: Arc<Readers>,
    /// Where committed writes are announced ([`Table::changes`]).
    feed: tokio::sync::broadcast::Sender<Arc<[Key]>>,
    /// Writes committed through this table ([`Table::commits`]).
    committed: std::sync::atomic::AtomicU64,
}

/// Announcements a slow follower may fall behind by before it is told it lagged.
const FEED_CAPACITY: usize = 4096;

/// How many reads run at once (each on its own connection and blocking thread).
const READERS: usize = 4;
/// How long a call waits for another process's lock on the file before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long opening waits for another process's write on the file before it says so.
const OPEN_BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// How long opening then waits: the process that opened a file of an earlier layout first
/// converts it, which takes minutes for a store of tens of thousands of movies, and
/// functions started together (`cargo lambda watch`) open the same file.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A connection, with the key numbers it has met and the file's codec.
struct Link {
    conn: Connection,
    names: KeyNames,
    codec: Codec,
}

impl Link {
    fn rows(&mut self) -> Rows<'_> {
        Rows::new(&self.conn, &mut self.names, &self.codec)
    }
}

struct Readers {
    idle: Mutex<Vec<Link>>,
    returned: Condvar,
}

impl Readers {
    /// A connection, waiting for one to come back when all are lent.
    fn lend(&self) -> Lent<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(link) = idle.pop() {
                return Lent {
                    readers: self,
                    link: Some(link),
                };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A lent reader, given back when dropped (after a panic too).
struct Lent<'a> {
    readers: &'a Readers,
    link: Option<Link>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            let mut idle = self.readers.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(link);
            drop(idle);
            self.readers.returned.notify_one();
        }
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Conflict
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn parse_item(text: &str) -> Result<Item, StoreError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(item)) => Ok(item),
        _ => Err(StoreError::Malformed(
            "stored item is not a JSON object".into(),
        )),
    }
}

/// DynamoDB refuses index keys that are not strings, and empty key strings; so do we.
fn check_key_attributes(item: &Item) -> Result<(), StoreError> {
    for attr in schema::key_attributes() {
        match item.get(attr) {
            None => {}
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => {
                return Err(StoreError::Invalid(format!(
                    "key attribute {attr} must be a non-empty string"
                )));
            }
        }
    }
    Ok(())
}

/// Applies an update to the current item, creating it from its key when absent.
fn apply(current: Option<Item>, key: &Key, update: &Update) -> Result<Item, StoreError> {
    let mut item = current.unwrap_or_else(|| {
        let mut fresh = Item::new();
        fresh.insert(schema::PK.into(), key.pk.clone().into());
        fresh.insert(schema::SK.into(), key.sk.clone().into());
        fresh
    });
    let touches_key = |a: &str| a == schema::PK || a == schema::SK;
    for (attr, value) in &update.set {
        if touches_key(attr) {
            return Err(StoreError::Invalid(
                "an update cannot change PK or SK".into(),
            ));
        }
        item.insert(attr.clone(), value.clone());
    }
    for (attr, value) in &update.set_if_absent {
        if touches_key(attr) {
            return Err(StoreError::Invalid(
                "an update cannot change PK or SK".into(),
            ));
        }
        item.entry(attr.clone()).or_insert_with(|| value.clone());
    }
    for attr in &update.remove {
        if touches_key(attr) {
            return Err(StoreError::Invalid(
                "an update cannot remove PK or SK".into(),
            ));
        }
        item.remove(attr);
    }
    for (attr, delta) in &update.add {
        let start = match item.get(attr) {
            None => 0,
            Some(v) => v.as_i64().ok_or_else(|| {
                StoreError::Invalid(format!("ADD needs a whole number in {attr}"))
            })?,
        };
        item.insert(attr.clone(), (start + delta).into());
    }
    Ok(item)
}

/// Runs one write inside an open SQLite transaction, after its condition held.
fn perform(rows: &mut Rows, write: &Write, current: Option<Item>) -> Result<Written, StoreError> {
    match write {
        Write::Put { item, .. } => rows.store(item).map(|_| Written::Done),
        Write::Update { key, update, .. } => {
            let item = apply(current, key, update)?;
            rows.store(&item)?;
            Ok(Written::Updated(item))
        }
        Write::Delete { key, .. } => {
            rows.remove(key)?;
            Ok(Written::Deleted(current))
        }
        Write::Check { .. } => Ok(Written::Done),
    }
}

fn condition_holds(write: &Write, current: Option<&Item>) -> bool {
    write
        .condition()
        .is_none_or(|c: &Condition| c.holds(current))
}

/// Pages read through a memory map, not a `pread` each, and a larger page cache per
/// connection for the index pages of the hot shelves.
const PAGE_CACHE: &str = "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;";
/// The writer's page cache: up to 256 MiB, taken only as pages are used.
const WRITER_CACHE: &str = "PRAGMA cache_size = -262144;";

impl SqliteTable {
    /// Opens (creating if needed) the table file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        }
        let mut conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        // Pages of 16 KiB: index entries are about 100 bytes, and a b-tree of larger pages
        // is shallower and fuller (at SQLite's default 4 KiB the 50k catalogue takes a
        // quarter more room). Only a new file takes it.
        conn.execute_batch(
            "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        )
        .map_err(backend)?;
        conn.execute_batch(PAGE_CACHE).map_err(backend)?;
        // The writer's pages stay in memory until their transaction commits: a large one
        // (the seeder's) would otherwise spill pages to the log and write them again.
        conn.execute_batch(WRITER_CACHE).map_err(backend)?;
        conn.busy_timeout(OPEN_BUSY_TIMEOUT).map_err(backend)?;
        let codec = match stored::prepare(&mut conn) {
            Err(StoreError::Conflict) => {
                tracing::warn!(
                    path = %path.display(),
                    "another process is writing the store file, perhaps converting it from an \
                     earlier layout; waiting for it (up to {} minutes)",
                    OPEN_TIMEOUT.as_secs() / 60
                );
                conn.busy_timeout(OPEN_TIMEOUT).map_err(backend)?;
                stored::prepare(&mut conn)?
            }
            prepared => prepared?,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(backend)?;
            reader.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
            reader.execute_batch(PAGE_CACHE).map_err(backend)?;
            readers.push(Link {
                conn: reader,
                names: KeyNames::default(),
                codec: codec.clone(),
            });
        }
        Ok(Self {
            writer: Arc::new(Mutex::new(Link {
                conn,
                names: KeyNames::default(),
                codec,
            })),
            readers: Arc::new(Readers {
                idle: Mutex::new(readers),
                returned: Condvar::new(),
            }),
            feed: tokio::sync::broadcast::channel(FEED_CAPACITY).0,
            committed: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Counts a committed write, and tells followers, if any, which keys it touched.
    fn announce(&self, keys: impl FnOnce() -> Vec<Key>) {
        self.committed
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        if self.feed.receiver_count() > 0 {
            // Only fails when every follower went meanwhile.
            let _ = self.feed.send(keys().into());
        }
    }

    /// Runs `f` in a transaction on the writer, on the blocking thread pool, and commits
    /// what it did when it succeeds.
    async fn write_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Rows) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let link = &mut *guard;
            let done = (|| {
                let tx = link
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let done = f(&mut Rows::new(&tx, &mut link.names, &link.codec))?;
                tx.commit().map_err(backend)?;
                Ok(done)
            })();
            if done.is_err() {
                // Rolled back: key numbers given in it may be given again, to other keys.
                link.names.forget();
            }
            done
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    /// Runs `f` on a reader, on the blocking thread pool.
    async fn read_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Link) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut lent = readers.lend();
            let link = lent
                .link
                .as_mut()
                .expect("a lent reader holds its connection");
            f(link)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

/// The `n`th bound argument, a text (see [`query_sql`]).
fn argument(n: usize) -> String {
    format!("CAST(?{n} AS TEXT)")
}

fn sort_key_sql(column: &str, cond: &SortKey, args: &mut Vec<Sql>) -> String {
    let mut arg = |v: &str| {
        args.push(Sql::Text(v.to_string()));
        argument(args.len())
    };
    match cond {
        SortKey::Eq(v) => format!("{column} = {}", arg(v)),
        SortKey::Lt(v) => format!("{column} < {}", arg(v)),
        SortKey::Le(v) => format!("{column} <= {}", arg(v)),
        SortKey::Gt(v) => format!("{column} > {}", arg(v)),
        SortKey::Ge(v) => format!("{column} >= {}", arg(v)),
        SortKey::Between(a, b) => format!("{column} BETWEEN {} AND {}", arg(a), arg(b)),
        SortKey::BeginsWith(p) => {
            // A range the index can seek, then the exact prefix test.
            let low = arg(p);
            let high = arg(&format!("{p}{}", char::MAX));
            format!(
                "{column} >= {low} AND {column} < {high} AND substr({column}, 1, length({low})) = {low}"
            )
        }
    }
}

/// The statement of a query and its arguments.
fn query_sql(query: &Query) -> Result<(String, Vec<Sql>), StoreError> {
    let start = cursor::decode(query)?;
    let (pk_col, sk_col) = match query.index {
        None => ("pk".to_string(), "sk".to_string()),
        Some(index) => (stored::column(index, "pk"), stored::column(index, "sk")),
    };
    let mut args = vec![Sql::Text(query.pk.clone())];
    // Arguments are compared as `CAST(?n AS TEXT)`: compared bare, a bound value is one
    // the planner may use (to order by a column it fixes, or to prove the partial index's
    // `IS NOT NULL`), and SQLite then prepares the statement again at every bind. The
    // partial index's conditions are spelt out for the same reason.
    let mut sql = format!(
        "SELECT {} FROM items WHERE {pk_col} IS NOT NULL AND {sk_col} IS NOT NULL AND {pk_col} = {}",
        *stored::ROW_COLUMNS,
        stored::key_number(&argument(1))
    );
    if let Some(cond) = &query.sk {
        sql.push_str(&format!(" AND {}", sort_key_sql(&sk_col, cond, &mut args)));
    }
    // Ties on an index sort key are broken by the table key, in both directions.
    let order_cols = match query.index {
        None => vec![sk_col.clone()],
        Some(_) => vec![sk_col.clone(), "pk".into(), "sk".into()],
    };
    let (op, dir) = if query.forward {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some(start) = start {
        let values: Vec<String> = match query.index {
            None => vec![start[schema::SK].clone()],
            Some(index) => vec![
                start[index.sk()].clone(),
                start[schema::PK].clone(),
                start[schema::SK].clone(),
            ],
        };
        let placeholders: Vec<String> = values
            .into_iter()
            .zip(&order_cols)
            .map(|(v, col)| {
                args.push(Sql::Text(v));
                // The table's partition key is stored as its number.
                match col.as_str() {
                    "pk" => stored::key_number(&argument(args.len())),
                    _ => argument(args.len()),
                }
            })
            .collect();
        sql.push_str(&format!(
            " AND ({}) {op} ({})",
            order_cols.join(", "),
            placeholders.join(", ")
        ));
    }
    let order: Vec<String> = order_cols.iter().map(|c| format!("{c} {dir}")).collect();
    sql.push_str(&format!(
        " ORDER BY {} LIMIT {}",
        order.join(", "),
        query.limit + 1
    ));
    Ok((sql, args))
}

fn run_query(link: &mut Link, query: &Query) -> Result<Page, StoreError> {
    let (sql, args) = query_sql(query)?;
    let projected = query.projected();
    let mut stmt = link.conn.prepare_cached(&sql).map_err(backend)?;
    let mut found = stmt
        .query(rusqlite::params_from_iter(args))
        .map_err(backend)?;
    let mut rows = Rows::new(&link.conn, &mut link.names, &link.codec);
    let mut items = Vec::new();
    while let Some(row) = found.next().map_err(backend)? {
        items.push(rows.item(row, projected.as_deref())?);
    }
    Ok(Page::up_to_limit(query, items))
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.read_with(move |link| link.rows().load(&key)).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let keys = super::distinct_keys(keys);
        // One read transaction: every item from the same commit.
        self.read_with(move |link| {
            let tx = link.conn.transaction().map_err(backend)?;
            let mut rows = Rows::new(&tx, &mut link.names, &link.codec);
            let mut found = Vec::with_capacity(keys.len());
            for key in &keys {
                found.extend(rows.load(key)?);
            }
            Ok(found)
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        query.validate()?;
        let query = query.clone();
        self.read_with(move |link| run_query(link, &query)).await
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        validate_single(&write)?;
        let (written, key) = self
            .write_with(move |rows| {
                let key = write.key()?;
                let current = rows.load(&key)?;
                if !condition_holds(&write, current.as_ref()) {
                    return Err(StoreError::ConditionFailed);
                }
                let written = perform(rows, &write, current)?;
                Ok((written, key))
            })
            .await?;
        self.announce(|| vec![key]);
        Ok(written)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let writes = self
            .write_with(move |rows| {
                let mut currents = Vec::with_capacity(writes.len());
                let mut failed = Vec::new();
                for (position, write) in writes.iter().enumerate() {
                    let current = rows.load(&write.key()?)?;
                    if !condition_holds(write, current.as_ref()) {
                        failed.push(position);
                    }
                    currents.push(current);
                }
                if !failed.is_empty() {
                    return Err(StoreError::TransactionCanceled { failed });
                }
                for (write, current) in writes.iter().zip(currents) {
                    perform(rows, write, current)?;
                }
                Ok(writes)
            })
            .await?;
        self.announce(|| keys_of(&writes));
        Ok(())
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        super::validate_batch(&writes)?;
        let writes = self
            .write_with(move |rows| {
                // Unconditional puts and deletes (validated above): nothing to read first.
                for write in &writes {
                    match write {
                        Write::Put { item, .. } => rows.store(item)?,
                        other => rows.remove(&other.key()?)?,
                    }
                }
                Ok(writes)
            })
            .await?;
        self.announce(|| keys_of(&writes));
        Ok(())
    }

    fn changes(&self) -> Option<super::ChangeFeed> {
        Some(self.feed.subscribe())
    }

    fn commits(&self) -> Option<u64> {
        Some(self.committed.load(std::sync::atomic::Ordering::Acquire))
    }
}

/// The keys some validated writes touched.
fn keys_of(writes: &[Write]) -> Vec<Key> {
    writes.iter().filter_map(|w| w.key().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Index, Update, entity_item};
    use std::time::Duration;

    fn table() -> (SqliteTable, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let table = SqliteTable::open(&dir.path().join("t.sqlite3")).unwrap();
        (table, dir)
    }

    /// A query's statement is prepared once per connection, however its arguments
    /// change: SQLite re-prepares a statement whose plan depended on a bound value.
    #[test]
    fn queries_are_not_prepared_again_for_new_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let table = SqliteTable::open(&path).unwrap();
        let mut link = table.writer.lock().unwrap();
        for n in 0..6 {
            let key = Key::new(format!("MOVIE#{n}"), "RECORD");
            let mut item = entity_item("probe", &key, &serde_json::json!({ "n": n }));
            item.insert("GSI5PK".into(), format!("SHELF#{}", n % 2).into());
            item.insert("GSI5SK".into(), format!("{n:04}").into());
            link.rows().store(&item).unwrap();
        }
        let shapes = [
            Query::on(Index::Gsi5, "SHELF#0").descending().limit(2),
            Query::on(Index::Gsi5, "SHELF#0")
                .descending()
                .limit(2)
                .attributes(&["n"]),
            Query::on(Index::Gsi5, "SHELF#0")
                .sort_key(SortKey::Between("0000".into(), "0004".into()))
                .limit(2),
            Query::partition("MOVIE#1").limit(2),
        ];
        for shape in shapes {
            let partitions = match shape.index {
                Some(_) => ["SHELF#0", "SHELF#1", "SHELF#0"],
                None => ["MOVIE#0", "MOVIE#1", "MOVIE#2"],
            };
            let mut continued = Vec::new();
            for pk in partitions {
                let first = Query {
                    pk: pk.into(),
                    ..shape.clone()
                };
                let page = run_query(&mut link, &first).unwrap();
                let next = Query {
                    cursor: page.next_cursor,
                    ..first
                };
                if next.cursor.is_some() {
                    run_query(&mut link, &next).unwrap();
                    continued.push(next);
                }
            }
            for query in std::iter::once(shape).chain(continued) {
                let (sql, args) = query_sql(&query).unwrap();
                let stmt = link.conn.prepare_cached(&sql).unwrap();
                assert_eq!(
                    stmt.get_status(rusqlite::StatementStatus::RePrepare),
                    0,
                    "{sql}"
                );
                // And the plan still seeks the partition, on the index or the table's key.
                let plan: Vec<String> = link
                    .conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .unwrap()
                    .query_map(rusqlite::params_from_iter(args), |r| r.get(3))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let seek = match query.index {
                    Some(_) => "SEARCH items USING INDEX items_gsi5 (gsi5_pk=?",
                    None => "SEARCH items USING PRIMARY KEY (pk=?",
                };
                assert!(plan.iter().any(|p| p.starts_with(seek)), "{sql}: {plan:?}");
            }
        }
    }

    /// Opening waits past its first second for another process's write on the file (as
    /// when that process converts the file from an earlier layout), and then opens it.
    #[tokio::test]
    async fn opening_waits_for_another_process_writing_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        drop(SqliteTable::open(&path).unwrap());
        let (locked, lock_taken) = std::sync::mpsc::channel();
        let holder = std::thread::spawn({
            let path = path.clone();
            move || {
                let other = Connection::open(&path).unwrap();
                other.execute_batch("BEGIN IMMEDIATE;").unwrap();
                locked.send(()).unwrap();
                std::thread::sleep(OPEN_BUSY_TIMEOUT * 3);
                other.execute_batch("COMMIT;").unwrap();
            }
        });
        lock_taken.recv().unwrap();
        let started = std::time::Instant::now();
        let table = SqliteTable::open(&path).unwrap();
        assert!(
            started.elapsed() >= OPEN_BUSY_TIMEOUT * 2,
            "it waited for the lock"
        );
        holder.join().unwrap();
        table
            .write(Write::put(
                serde_json::json!({"PK": "A", "SK": "B"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ))
            .await
            .unwrap();
    }

    /// A file of the earlier layout (each item's JSON whole, index keys generated from
    /// it) is converted when opened: every item reads back as it was, its index entries
    /// with it, and the earlier table is gone.
    #[tokio::test]
    async fn a_file_of_the_earlier_layout_is_converted_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let shelved = serde_json::json!({
            "PK": "SHELF#ALL", "SK": "MOVIE#1", "GSI5PK": "SHELF#ALL", "GSI5SK": "0007",
            "card": "{\"title\":\"Amélie\"}", "entity": "shelf"
        });
        let record = serde_json::json!({
            "PK": "MOVIE#1", "SK": "RECORD", "GSI2PK": "MOVIES_TO_INDEX#03",
            "GSI2SK": "MOVIE#1", "likes": 3, "fields": {"title": "Amélie", "tags": [1, null]}
        });
        {
            let earlier = Connection::open(&path).unwrap();
            earlier
                .execute_batch(
                    "CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, item TEXT NOT NULL,
                       gsi5_pk TEXT GENERATED ALWAYS AS (item ->> '$.GSI5PK') VIRTUAL,
                       gsi5_sk TEXT GENERATED ALWAYS AS (item ->> '$.GSI5SK') VIRTUAL,
                       PRIMARY KEY (pk, sk)) WITHOUT ROWID;
                     CREATE INDEX items_gsi5 ON items(gsi5_pk, gsi5_sk, pk, sk)
                       WHERE gsi5_pk IS NOT NULL AND gsi5_sk IS NOT NULL;",
                )
                .unwrap();
            for item in [&shelved, &record] {
                let (pk, sk) = (item["PK"].as_str().unwrap(), item["SK"].as_str().unwrap());
                earlier
                    .execute(
                        "INSERT INTO items (pk, sk, item) VALUES (?1, ?2, ?3)",
                        rusqlite::params![pk, sk, item.to_string()],
                    )
                    .unwrap();
            }
        }
        let table = SqliteTable::open(&path).unwrap();
        let as_item = |v: &Value| v.as_object().unwrap().clone();
        assert_eq!(
            table.get(&Key::new("MOVIE#1", "RECORD")).await.unwrap(),
            Some(as_item(&record))
        );
        let shelf = table
            .query(&Query::on(Index::Gsi5, "SHELF#ALL"))
            .await
            .unwrap();
        assert_eq!(shelf.items, vec![as_item(&shelved)]);
        let marked = table
            .query(&Query::on(Index::Gsi2, "MOVIES_TO_INDEX#03"))
            .await
            .unwrap();
        assert_eq!(marked.items, vec![as_item(&record)]);
        let link = table.writer.lock().unwrap();
        let tables: i64 = link
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'items_earlier'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the earlier table is dropped");
    }

    /// Partition keys are stored once each, as numbers: two items of one partition and
    /// its index entries share one, and a rolled-back write's new key leaves no number
    /// behind that another key could be misread as.
    #[tokio::test]
    async fn partition_keys_are_stored_once_and_a_rollback_forgets_its_numbers() {
        let (table, _dir) = table();
        let shelf = |sk: &str| {
            let mut item = entity_item("probe", &Key::new("SHELF#A", sk), &serde_json::json!({}));
            item.insert("GSI1PK".into(), "SHELF#A".into());
            item.insert("GSI1SK".into(), sk.into());
            item
        };
        table
            .transact(vec![Write::put(shelf("1")), Write::put(shelf("2"))])
            .await
            .unwrap();
        // A put of a new partition, rolled back when the transaction's next write fails
        // (an ADD to a text attribute), after the put was made.
        let refused = table
            .transact(vec![
                Write::put(entity_item(
                    "probe",
                    &Key::new("NEW#1", "R"),
                    &serde_json::json!({}),
                )),
                Write::update(Key::new("SHELF#A", "1"), Update::new().add("entity", 1)),
            ])
            .await;
        assert!(refused.is_err());
        table
            .write(put(&Key::new("OTHER#1", "R"), 1))
            .await
            .unwrap();
        table.write(put(&Key::new("NEW#1", "R"), 2)).await.unwrap();
        let keys: Vec<String> = table
            .writer
            .lock()
            .unwrap()
            .conn
            .prepare("SELECT key FROM keys ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, vec!["SHELF#A", "OTHER#1", "NEW#1"]);
        for (pk, n) in [("OTHER#1", 1), ("NEW#1", 2)] {
            let item = table.get(&Key::new(pk, "R")).await.unwrap().unwrap();
            assert_eq!(
                (item["PK"].as_str(), item["n"].as_i64()),
                (Some(pk), Some(n))
            );
        }
    }

    fn put(key: &Key, n: i64) -> Write {
        Write::put(entity_item("probe", key, &serde_json::json!({ "n": n })))
    }

    /// Another process holds the file's write lock: a write through the table waits for
    /// it, and reads go on beside the waiting write, from the last commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_go_on_while_a_write_waits_for_the_file() {
        let (table, dir) = table();
        let table = Arc::new(table);
        let key = Key::new("PROBE#1", "RECORD");
        table.write(put(&key, 1)).await.unwrap();

        let other = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let writing = tokio::spawn({
            let (table, key) = (table.clone(), key.clone());
            async move { table.write(put(&key, 2)).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!writing.is_finished(), "the write waits for the other lock");
        let read = tokio::time::timeout(Duration::from_secs(2), table.get(&key))
            .await
            .expect("a read does not queue behind the waiting write")
            .unwrap()
            .unwrap();
        assert_eq!(read["n"], 1, "the last commit");
        let listed = tokio::time::timeout(
            Duration::from_secs(2),
            table.query(&Query::partition("PROBE#1")),
        )
        .await
        .expect("a query does not queue either")
        .unwrap();
        assert_eq!(listed.items.len(), 1);

        other.execute_batch("ROLLBACK").unwrap();
        writing.await.unwrap().unwrap();
        assert_eq!(table.get(&key).await.unwrap().unwrap()["n"], 2);
    }

    /// Every committed write is announced with the keys it touched, once; a write whose
    /// condition failed changed nothing and is not.
    #[tokio::test]
    async fn committed_writes_are_announced_on_the_change_feed() {
        let (table, _dir) = table();
        let mut feed = table.changes().expect("the embedded table has a feed");
        let (a, b) = (Key::new("PROBE#A", "RECORD"), Key::new("PROBE#B", "RECORD"));
        table.write(put(&a, 1)).await.unwrap();
        table.transact(vec![put(&a, 2), put(&b, 2)]).await.unwrap();
        let refused = Write::update(a.clone(), Update::new().set("n", 3))
            .when(crate::store::Condition::eq("n", 99));
        assert!(table.write(refused).await.is_err());
        table
            .batch_write(vec![Write::delete(a.clone())])
            .await
            .unwrap();
        let mut seen = Vec::new();
        while let Ok(keys) = feed.try_recv() {
            seen.push(keys.to_vec());
        }
        assert_eq!(seen, vec![vec![a.clone()], vec![a.clone(), b], vec![a]]);
    }

    /// Transactions move units between two items while readers read both: each read sees
    /// a whole transaction (the total never changes) and none fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_beside_writes_see_whole_transactions() {
        let (table, _dir) = table();
        let table = Arc::new(table);
        let (a, b) = (
            Key::new("ACCOUNT#A", "RECORD"),
            Key::new("ACCOUNT#B", "RECORD"),
        );
        table
            .transact(vec![put(&a, 500), put(&b, 500)])
            .await
            .unwrap();
        let transfers = 200;
        let writer = tokio::spawn({
            let (table, a, b) = (table.clone(), a.clone(), b.clone());
            async move {
                for _ in 0..transfers {
                    table
                        .transact(vec![
                            Write::update(a.clone(), Update::new().add("moved", -1)),
                            Write::update(b.clone(), Update::new().add("moved", 1)),
                        ])
                        .await
                        .unwrap();
                }
            }
        });
        let mut readers = Vec::new();
        for _ in 0..READERS {
            let (table, a, b) = (table.clone(), a.clone(), b.clone());
            readers.push(tokio::spawn(async move {
                let mut reads = 0;
                loop {
                    let items = table.batch_get(&[a.clone(), b.clone()]).await.unwrap();
                    assert_eq!(items.len(), 2);
                    let moved: i64 = items
                        .iter()
                        .map(|i| i.get("moved").and_then(Value::as_i64).unwrap_or(0))
                        .sum();
                    assert_eq!(moved, 0, "a read saw half a transaction");
                    reads += 1;
                    let done = items
                        .iter()
                        .any(|i| i.get("moved") == Some(&transfers.into()));
                    if done {
                        return reads;
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
        writer.await.unwrap();
        for reader in readers {
            assert!(reader.await.unwrap() >= 1);
        }
    }
}
