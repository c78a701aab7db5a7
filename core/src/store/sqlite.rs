//! The embedded `Table` adapter: one SQLite file in WAL mode, so that several processes
//! (the local server, `cargo lambda watch`'s one process per function) can share it, and
//! so that reads go on beside a write: one connection writes, a few others only read, and
//! each read sees the last commit. Every call runs on the blocking thread pool, never on
//! the async runtime's workers.
//! Index keys are generated columns over the item's JSON, with partial indexes, so an item
//! sits in an index exactly when it has both of that index's keys, as in DynamoDB.

use super::{
    Condition, Index, Item, Key, Page, Query, SortKey, StoreError, Table, Update, Write, Written,
    cursor, schema, validate_single, validate_transaction,
};
use async_trait::async_trait;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, TransactionBehavior, params, types::Value as Sql,
};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub struct SqliteTable {
    /// The one connection that writes: SQLite lets one writer in at a time anyway, and
    /// writers queue here rather than spin on the file lock.
    writer: Arc<Mutex<Connection>>,
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

struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Readers {
    /// A connection, waiting for one to come back when all are lent.
    fn lend(&self) -> Lent<'_> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(conn) = idle.pop() {
                return Lent {
                    readers: self,
                    conn: Some(conn),
                };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// A lent reader, given back when dropped (after a panic too).
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.readers.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(conn);
            drop(idle);
            self.readers.returned.notify_one();
        }
    }
}

fn column(index: Index, key: &str) -> String {
    format!("{}_{}", index.name().to_lowercase(), key)
}

fn generated_column(index: Index, key: &str) -> String {
    let attr = if key == "pk" { index.pk() } else { index.sk() };
    format!(
        "{} TEXT GENERATED ALWAYS AS (item ->> '$.{attr}') VIRTUAL",
        column(index, key)
    )
}

fn schema_sql() -> String {
    let mut generated = String::new();
    for index in Index::ALL {
        for key in ["pk", "sk"] {
            generated.push_str(&format!(",\n  {}", generated_column(index, key)));
        }
    }
    format!(
        "CREATE TABLE IF NOT EXISTS items (\n  pk TEXT NOT NULL,\n  sk TEXT NOT NULL,\n  item TEXT NOT NULL{generated},\n  PRIMARY KEY (pk, sk)\n) WITHOUT ROWID;"
    )
}

fn indexes_sql() -> String {
    let mut indexes = String::new();
    for index in Index::ALL {
        let (pk, sk) = (column(index, "pk"), column(index, "sk"));
        indexes.push_str(&format!(
            "CREATE INDEX IF NOT EXISTS items_{name} ON items({pk}, {sk}, pk, sk) WHERE {pk} IS NOT NULL AND {sk} IS NOT NULL;\n",
            name = index.name().to_lowercase()
        ));
    }
    indexes
}

/// A file made before an index existed gets its columns (virtual: nothing is rewritten).
fn add_missing_index_columns(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_xinfo('items')")
        .map_err(backend)?;
    let present: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    for index in Index::ALL {
        for key in ["pk", "sk"] {
            if !present.contains(&column(index, key)) {
                conn.execute_batch(&format!(
                    "ALTER TABLE items ADD COLUMN {}",
                    generated_column(index, key)
                ))
                .map_err(backend)?;
            }
        }
    }
    Ok(())
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

fn load(conn: &Connection, key: &Key) -> Result<Option<Item>, StoreError> {
    conn.prepare_cached("SELECT item FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut s| {
            s.query_row(params![key.pk, key.sk], |r| r.get::<_, String>(0))
                .optional()
        })
        .map_err(backend)?
        .map(|t| parse_item(&t))
        .transpose()
}

fn store(conn: &Connection, item: &Item) -> Result<(), StoreError> {
    check_key_attributes(item)?;
    let key = Key::of(item).ok_or_else(|| StoreError::Invalid("item without a key".into()))?;
    conn.prepare_cached("INSERT OR REPLACE INTO items (pk, sk, item) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| {
            let text = serde_json::to_string(item).expect("a JSON map serialises");
            s.execute(params![key.pk, key.sk, text])
        })
        .map_err(backend)?;
    Ok(())
}

fn remove(conn: &Connection, key: &Key) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .and_then(|mut s| s.execute(params![key.pk, key.sk]))
        .map_err(backend)?;
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
fn perform(conn: &Connection, write: &Write, current: Option<Item>) -> Result<Written, StoreError> {
    match write {
        Write::Put { item, .. } => store(conn, item).map(|_| Written::Done),
        Write::Update { key, update, .. } => {
            let item = apply(current, key, update)?;
            store(conn, &item)?;
            Ok(Written::Updated(item))
        }
        Write::Delete { key, .. } => {
            remove(conn, key)?;
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
        let conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        // Pages of 16 KiB hold a shelf item (about 2 KB) whole; at SQLite's default 4 KiB,
        // every one spills onto an overflow page. Only a new file takes it.
        conn.execute_batch(
            "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        )
        .map_err(backend)?;
        conn.execute_batch(PAGE_CACHE).map_err(backend)?;
        // The writer's pages stay in memory until their transaction commits: a large one
        // (the seeder's) would otherwise spill pages to the log and write them again.
        conn.execute_batch(WRITER_CACHE).map_err(backend)?;
        conn.execute_batch(&schema_sql()).map_err(backend)?;
        add_missing_index_columns(&conn)?;
        conn.execute_batch(&indexes_sql()).map_err(backend)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(backend)?;
            reader.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
            reader.execute_batch(PAGE_CACHE).map_err(backend)?;
            readers.push(reader);
        }
        Ok(Self {
            writer: Arc::new(Mutex::new(conn)),
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

    /// Runs `f` on the writer, on the blocking thread pool.
    async fn write_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    /// Runs `f` on a reader, on the blocking thread pool.
    async fn read_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut lent = readers.lend();
            let conn = lent
                .conn
                .as_mut()
                .expect("a lent reader holds its connection");
            f(conn)
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

/// A text column, borrowed from the row (`None` for SQL NULL).
fn column_text<'r>(row: &'r rusqlite::Row, column: usize) -> Result<Option<&'r str>, StoreError> {
    row.get_ref(column)
        .map_err(backend)?
        .as_str_or_null()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

/// Some attributes of a stored item: the text is scanned once, and only the attributes
/// named are decoded (faster than SQLite's `->`, which parses the whole item per column).
fn projected_item(text: &str, names: &[&str]) -> Result<Item, StoreError> {
    let malformed = |e: serde_json::Error| StoreError::Malformed(format!("stored item: {e}"));
    let all: HashMap<&str, &RawValue> = serde_json::from_str(text).map_err(malformed)?;
    let mut item = Item::new();
    for name in names {
        if let Some(raw) = all.get(name) {
            let value = serde_json::from_str(raw.get()).map_err(malformed)?;
            item.insert((*name).to_string(), value);
        }
    }
    Ok(item)
}

/// The statement of a query and its arguments.
fn query_sql(query: &Query) -> Result<(String, Vec<Sql>), StoreError> {
    let start = cursor::decode(query)?;
    let (pk_col, sk_col) = match query.index {
        None => ("pk".to_string(), "sk".to_string()),
        Some(index) => (column(index, "pk"), column(index, "sk")),
    };
    let mut args = vec![Sql::Text(query.pk.clone())];
    // Arguments are compared as `CAST(?n AS TEXT)`: compared bare, a bound value is one
    // the planner may use (to order by a column it fixes, or to prove the partial index's
    // `IS NOT NULL`), and SQLite then prepares the statement again at every bind. The
    // partial index's conditions are spelt out for the same reason.
    let mut sql = format!(
        "SELECT item FROM items WHERE {pk_col} IS NOT NULL AND {sk_col} IS NOT NULL AND {pk_col} = {}",
        argument(1)
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
            .map(|v| {
                args.push(Sql::Text(v));
                argument(args.len())
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

fn run_query(conn: &Connection, query: &Query) -> Result<Page, StoreError> {
    let (sql, args) = query_sql(query)?;
    let projected = query.projected();
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(args))
        .map_err(backend)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let text = column_text(row, 0)?.unwrap_or_default();
        items.push(match &projected {
            None => parse_item(text)?,
            Some(names) => projected_item(text, names)?,
        });
    }
    let next_cursor = if items.len() > query.limit as usize {
        items.truncate(query.limit as usize);
        items.last().map(|last| cursor::encode(query.index, last))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

#[async_trait]
impl Table for SqliteTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.read_with(move |conn| load(conn, &key)).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let keys = super::distinct_keys(keys);
        // One read transaction: every item from the same commit.
        self.read_with(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let mut found = Vec::with_capacity(keys.len());
            for key in &keys {
                found.extend(load(&tx, key)?);
            }
            Ok(found)
        })
        .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        query.validate()?;
        let query = query.clone();
        self.read_with(move |conn| run_query(conn, &query)).await
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        validate_single(&write)?;
        let (written, key) = self
            .write_with(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let key = write.key()?;
                let current = load(&tx, &key)?;
                if !condition_holds(&write, current.as_ref()) {
                    return Err(StoreError::ConditionFailed);
                }
                let written = perform(&tx, &write, current)?;
                tx.commit().map_err(backend)?;
                Ok((written, key))
            })
            .await?;
        self.announce(|| vec![key]);
        Ok(written)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let writes = self
            .write_with(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let mut currents = Vec::with_capacity(writes.len());
                let mut failed = Vec::new();
                for (position, write) in writes.iter().enumerate() {
                    let current = load(&tx, &write.key()?)?;
                    if !condition_holds(write, current.as_ref()) {
                        failed.push(position);
                    }
                    currents.push(current);
                }
                if !failed.is_empty() {
                    return Err(StoreError::TransactionCanceled { failed });
                }
                for (write, current) in writes.iter().zip(currents) {
                    perform(&tx, write, current)?;
                }
                tx.commit().map_err(backend)?;
                Ok(writes)
            })
            .await?;
        self.announce(|| keys_of(&writes));
        Ok(())
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        super::validate_batch(&writes)?;
        let writes = self
            .write_with(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                // Unconditional puts and deletes (validated above): nothing to read first.
                for write in &writes {
                    match write {
                        Write::Put { item, .. } => store(&tx, item)?,
                        other => remove(&tx, &other.key()?)?,
                    }
                }
                tx.commit().map_err(backend)?;
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
    use crate::store::{Update, entity_item};
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
        let conn = table.writer.lock().unwrap();
        for n in 0..6 {
            let key = Key::new(format!("MOVIE#{n}"), "RECORD");
            let mut item = entity_item("probe", &key, &serde_json::json!({ "n": n }));
            item.insert("GSI5PK".into(), format!("SHELF#{}", n % 2).into());
            item.insert("GSI5SK".into(), format!("{n:04}").into());
            store(&conn, &item).unwrap();
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
                let page = run_query(&conn, &first).unwrap();
                let next = Query {
                    cursor: page.next_cursor,
                    ..first
                };
                if next.cursor.is_some() {
                    run_query(&conn, &next).unwrap();
                    continued.push(next);
                }
            }
            for query in std::iter::once(shape).chain(continued) {
                let (sql, args) = query_sql(&query).unwrap();
                let stmt = conn.prepare_cached(&sql).unwrap();
                assert_eq!(
                    stmt.get_status(rusqlite::StatementStatus::RePrepare),
                    0,
                    "{sql}"
                );
                // And the plan still seeks the partition, on the index or the table's key.
                let plan: Vec<String> = conn
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
