//! The embedded `Table` adapter: one SQLite file in WAL mode, so that several processes
//! (the local server, `cargo lambda watch`'s one process per function) can share it.
//! Index keys are generated columns over the item's JSON, with partial indexes, so an item
//! sits in an index exactly when it has both of that index's keys, as in DynamoDB.

use super::{
    Condition, Index, Item, Key, Page, Query, SortKey, StoreError, Table, Update, Write, Written,
    cursor, schema, validate_single, validate_transaction,
};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, types::Value as Sql};
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct SqliteTable {
    conn: Arc<Mutex<Connection>>,
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
            s.execute(params![
                key.pk,
                key.sk,
                Value::Object(item.clone()).to_string()
            ])
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

impl SqliteTable {
    /// Opens (creating if needed) the table file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend(e.to_string()))?;
        }
        let conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(backend)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(backend)?;
        conn.execute_batch(&schema_sql()).map_err(backend)?;
        add_missing_index_columns(&conn)?;
        conn.execute_batch(&indexes_sql()).map_err(backend)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

fn sort_key_sql(column: &str, cond: &SortKey, args: &mut Vec<Sql>) -> String {
    let mut arg = |v: &str| {
        args.push(Sql::Text(v.to_string()));
        format!("?{}", args.len())
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

fn run_query(conn: &Connection, query: &Query) -> Result<Page, StoreError> {
    let start = cursor::decode(query)?;
    let (pk_col, sk_col) = match query.index {
        None => ("pk".to_string(), "sk".to_string()),
        Some(index) => (column(index, "pk"), column(index, "sk")),
    };
    let mut args = vec![Sql::Text(query.pk.clone())];
    let mut sql = format!("SELECT item FROM items WHERE {pk_col} = ?1 AND {sk_col} IS NOT NULL");
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
                format!("?{}", args.len())
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

    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))
        .map_err(backend)?;
    let mut items = Vec::new();
    for row in rows {
        items.push(parse_item(&row.map_err(backend)?)?);
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
        self.with(move |conn| load(conn, &key)).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let keys = super::distinct_keys(keys);
        self.with(move |conn| {
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
        self.with(move |conn| run_query(conn, &query)).await
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        validate_single(&write)?;
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let current = load(&tx, &write.key()?)?;
            if !condition_holds(&write, current.as_ref()) {
                return Err(StoreError::ConditionFailed);
            }
            let written = perform(&tx, &write, current)?;
            tx.commit().map_err(backend)?;
            Ok(written)
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        self.with(move |conn| {
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
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        super::validate_batch(&writes)?;
        self.with(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            for write in &writes {
                let current = load(&tx, &write.key()?)?;
                perform(&tx, write, current)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }
}
