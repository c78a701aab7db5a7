//! How the embedded file stores an item, at a fraction of its JSON's size:
//! - Partition keys, the table's and each index's, are numbers standing for key strings
//!   that `keys` holds once. A shelf's name (about 40 bytes) would otherwise be written
//!   in each of its items and again in each item's five index entries.
//! - The other attributes are JSON compressed with LZ4 against a dictionary of the
//!   project's item layouts (attribute names and the punctuation around them), so that
//!   even an item of a few hundred bytes compresses. The file keeps the dictionary it
//!   was made with: a later dictionary never misreads an older file.
//!
//! Sort keys stay text, since the indexes order by them. A file of the earlier layout
//! (each item's JSON whole, index keys generated from it) is converted when opened.

use super::backend;
use crate::store::{Index, Item, Key, StoreError, schema};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, types::Value as Sql};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// This layout's number, kept in the file's `user_version`.
const LAYOUT: i64 = 2;

/// The dictionary a new file is made with.
const DICTIONARY: &[u8] = include_bytes!("dictionary.txt");

/// Key numbers a connection remembers before it starts again (about 100 bytes each).
const REMEMBERED_KEYS: usize = 200_000;

pub(super) fn column(index: Index, key: &str) -> String {
    format!("{}_{}", index.name().to_lowercase(), key)
}

fn schema_sql() -> String {
    let mut columns = String::new();
    for index in Index::ALL {
        columns.push_str(&format!(
            ",\n  {} INTEGER,\n  {} TEXT",
            column(index, "pk"),
            column(index, "sk")
        ));
    }
    format!(
        "CREATE TABLE keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);\n\
         CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;\n\
         CREATE TABLE items (\n  pk INTEGER NOT NULL,\n  sk TEXT NOT NULL,\n  body BLOB NOT NULL{columns},\n  PRIMARY KEY (pk, sk)\n) WITHOUT ROWID;"
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

/// The columns a read selects, in the order [`Rows::item`] reads them.
pub(super) static ROW_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let mut columns = String::from("pk, sk, body");
    for index in Index::ALL {
        columns.push_str(&format!(
            ", {}, {}",
            column(index, "pk"),
            column(index, "sk")
        ));
    }
    columns
});

static LOAD_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {} FROM items WHERE pk = ?1 AND sk = ?2",
        *ROW_COLUMNS
    )
});

static STORE_SQL: LazyLock<String> = LazyLock::new(|| {
    let columns = 3 + 2 * Index::ALL.len();
    let placeholders: Vec<String> = (1..=columns).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT OR REPLACE INTO items ({}) VALUES ({})",
        *ROW_COLUMNS,
        placeholders.join(", ")
    )
});

/// The number standing for a key string bound as the `n`th argument, in a statement.
pub(super) fn key_number(argument: &str) -> String {
    format!("(SELECT id FROM keys WHERE key = {argument})")
}

/// Makes a new file's tables, or converts a file of the earlier layout, in one
/// transaction (another process opening the file meanwhile waits for it); then the
/// codec of the file's dictionary.
pub(super) fn prepare(conn: &mut Connection) -> Result<Codec, StoreError> {
    let (codec, converted) = prepare_tables(conn)?;
    if converted {
        // The earlier table's pages are free now: give them back to the disk.
        conn.execute_batch("VACUUM;").map_err(backend)?;
    }
    Ok(codec)
}

fn prepare_tables(conn: &mut Connection) -> Result<(Codec, bool), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let layout: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend)?;
    // Whether the file holds the earlier layout's table, to convert once the tables are made.
    let earlier = match layout {
        LAYOUT => false,
        0 => {
            let earlier = has_column(&tx, "items", "item")?;
            if earlier {
                tx.execute_batch("ALTER TABLE items RENAME TO items_earlier;")
                    .map_err(backend)?;
                for index in Index::ALL {
                    let name = index.name().to_lowercase();
                    tx.execute_batch(&format!("DROP INDEX IF EXISTS items_{name};"))
                        .map_err(backend)?;
                }
            }
            tx.execute_batch(&schema_sql()).map_err(backend)?;
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('dictionary', ?1)",
                [DICTIONARY],
            )
            .map_err(backend)?;
            tx.execute_batch(&format!("PRAGMA user_version = {LAYOUT};"))
                .map_err(backend)?;
            earlier
        }
        newer => {
            return Err(StoreError::Backend(format!(
                "the store file has layout {newer}, newer than this build's {LAYOUT}"
            )));
        }
    };
    let codec = file_codec(&tx)?;
    // Converted before the indexes are made: they are built once, from the whole table.
    if earlier {
        convert_earlier(&tx, &codec)?;
    }
    tx.execute_batch(&indexes_sql()).map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok((codec, earlier))
}

/// The codec of the dictionary the file was made with.
fn file_codec(conn: &Connection) -> Result<Codec, StoreError> {
    let dictionary: Vec<u8> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'dictionary'",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    Ok(Codec {
        dictionary: dictionary.into(),
    })
}

fn has_column(conn: &Connection, table: &str, name: &str) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT count(*) FROM pragma_table_xinfo(?1) WHERE name = ?2",
        [table, name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(backend)
}

/// Rewrites every item of the earlier layout's table into this one, then drops it.
fn convert_earlier(conn: &Connection, codec: &Codec) -> Result<(), StoreError> {
    let mut names = KeyNames::default();
    let mut rows = Rows::new(conn, &mut names, codec);
    let mut stmt = conn
        .prepare("SELECT item FROM items_earlier")
        .map_err(backend)?;
    let mut earlier = stmt.query([]).map_err(backend)?;
    while let Some(row) = earlier.next().map_err(backend)? {
        let text: String = row.get(0).map_err(backend)?;
        rows.store(&super::parse_item(&text)?)?;
    }
    drop(earlier);
    drop(stmt);
    conn.execute_batch("DROP TABLE items_earlier;")
        .map_err(backend)
}

/// Compresses and restores the attributes kept in an item's `body`.
#[derive(Clone)]
pub(super) struct Codec {
    dictionary: Arc<[u8]>,
}

impl Codec {
    fn compress(&self, item: &Item) -> Vec<u8> {
        let json = serde_json::to_vec(&Body(item)).expect("a JSON map serialises");
        lz4_flex::block::compress_prepend_size_with_dict(&json, &self.dictionary)
    }

    fn restore(&self, body: &[u8]) -> Result<Vec<u8>, StoreError> {
        lz4_flex::block::decompress_size_prepended_with_dict(body, &self.dictionary)
            .map_err(|e| StoreError::Malformed(format!("stored item: {e}")))
    }
}

/// An item's attributes but its keys, which have columns of their own.
struct Body<'a>(&'a Item);

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let attributes = self
            .0
            .iter()
            .filter(|(name, _)| !schema::is_key_attribute(name));
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in attributes {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Key strings by number and numbers by key string, as far as a connection has met them.
/// A number never changes its string once committed; the writer forgets what it learnt
/// in a transaction that rolled back, whose new numbers may be given to other keys.
#[derive(Default)]
pub(super) struct KeyNames {
    names: HashMap<i64, String>,
    numbers: HashMap<String, i64>,
}

impl KeyNames {
    pub(super) fn forget(&mut self) {
        self.names.clear();
        self.numbers.clear();
    }

    fn remember(&mut self, number: i64, key: &str) {
        if self.names.len() >= REMEMBERED_KEYS {
            self.forget();
        }
        self.names.insert(number, key.to_string());
        self.numbers.insert(key.to_string(), number);
    }

    /// The number standing for `key`, if it has one: no item has that partition key
    /// when it has none.
    fn known_number(&mut self, conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
        if let Some(number) = self.numbers.get(key) {
            return Ok(Some(*number));
        }
        let found = conn
            .prepare_cached("SELECT id FROM keys WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(backend)?;
        if let Some(number) = found {
            self.remember(number, key);
        }
        Ok(found)
    }

    /// The number standing for `key`, given it now when it has none.
    fn number(&mut self, conn: &Connection, key: &str) -> Result<i64, StoreError> {
        if let Some(number) = self.known_number(conn, key)? {
            return Ok(number);
        }
        let number = conn
            .prepare_cached("INSERT INTO keys (key) VALUES (?1) RETURNING id")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)))
            .map_err(backend)?;
        self.remember(number, key);
        Ok(number)
    }

    fn name(&mut self, conn: &Connection, number: i64) -> Result<String, StoreError> {
        if let Some(key) = self.names.get(&number) {
            return Ok(key.clone());
        }
        let key: String = conn
            .prepare_cached("SELECT key FROM keys WHERE id = ?1")
            .and_then(|mut s| s.query_row([number], |r| r.get(0)))
            .map_err(backend)?;
        self.remember(number, &key);
        Ok(key)
    }
}

/// Items read and written on one connection (or its open transaction).
pub(super) struct Rows<'a> {
    conn: &'a Connection,
    names: &'a mut KeyNames,
    codec: &'a Codec,
}

impl<'a> Rows<'a> {
    pub(super) fn new(conn: &'a Connection, names: &'a mut KeyNames, codec: &'a Codec) -> Self {
        Self { conn, names, codec }
    }

    pub(super) fn load(&mut self, key: &Key) -> Result<Option<Item>, StoreError> {
        let Some(pk) = self.names.known_number(self.conn, &key.pk)? else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(&LOAD_SQL).map_err(backend)?;
        let mut found = stmt.query(rusqlite::params![pk, key.sk]).map_err(backend)?;
        match found.next().map_err(backend)? {
            Some(row) => Ok(Some(self.item(row, None)?)),
            None => Ok(None),
        }
    }

    pub(super) fn store(&mut self, item: &Item) -> Result<(), StoreError> {
        super::check_key_attributes(item)?;
        let key = Key::of(item).ok_or_else(|| StoreError::Invalid("item without a key".into()))?;
        let mut values = vec![
            Sql::Integer(self.names.number(self.conn, &key.pk)?),
            Sql::Text(key.sk),
            Sql::Blob(self.codec.compress(item)),
        ];
        for index in Index::ALL {
            values.push(match item.get(index.pk()).and_then(Value::as_str) {
                Some(pk) => Sql::Integer(self.names.number(self.conn, pk)?),
                None => Sql::Null,
            });
            values.push(match item.get(index.sk()).and_then(Value::as_str) {
                Some(sk) => Sql::Text(sk.to_string()),
                None => Sql::Null,
            });
        }
        self.conn
            .prepare_cached(&STORE_SQL)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
            .map_err(backend)?;
        Ok(())
    }

    pub(super) fn remove(&mut self, key: &Key) -> Result<(), StoreError> {
        let Some(pk) = self.names.known_number(self.conn, &key.pk)? else {
            return Ok(());
        };
        self.conn
            .prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
            .and_then(|mut s| s.execute(rusqlite::params![pk, key.sk]))
            .map_err(backend)?;
        Ok(())
    }

    /// The item of a row selected as [`ROW_COLUMNS`] lists; with `names`, only those
    /// attributes (only they are decoded).
    pub(super) fn item(&mut self, row: &Row, names: Option<&[&str]>) -> Result<Item, StoreError> {
        let wanted = |name: &str| names.is_none_or(|names| names.contains(&name));
        let mut item = Item::new();
        let pk: i64 = row.get(0).map_err(backend)?;
        let pk_name = self.names.name(self.conn, pk)?;
        for (n, index) in Index::ALL.into_iter().enumerate() {
            let at = 3 + 2 * n;
            if wanted(index.pk())
                && let Some(number) = row.get::<_, Option<i64>>(at).map_err(backend)?
            {
                let key = if number == pk {
                    pk_name.clone()
                } else {
                    self.names.name(self.conn, number)?
                };
                item.insert(index.pk().into(), key.into());
            }
            if wanted(index.sk())
                && let Some(sk) = row.get::<_, Option<String>>(at + 1).map_err(backend)?
            {
                item.insert(index.sk().into(), sk.into());
            }
        }
        if wanted(schema::PK) {
            item.insert(schema::PK.into(), pk_name.into());
        }
        if wanted(schema::SK) {
            let sk: String = row.get(1).map_err(backend)?;
            item.insert(schema::SK.into(), sk.into());
        }
        let body = row
            .get_ref(2)
            .map_err(backend)?
            .as_blob()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let json = self.codec.restore(body)?;
        let malformed = |e: serde_json::Error| StoreError::Malformed(format!("stored item: {e}"));
        match names {
            None => {
                let Value::Object(attributes) = serde_json::from_slice(&json).map_err(malformed)?
                else {
                    return Err(StoreError::Malformed(
                        "stored item is not a JSON object".into(),
                    ));
                };
                item.extend(attributes);
            }
            Some(names) => {
                // The body is scanned once; only the attributes named are decoded.
                let all: HashMap<&str, &RawValue> =
                    serde_json::from_slice(&json).map_err(malformed)?;
                for name in names {
                    if let Some(raw) = all.get(name) {
                        let value = serde_json::from_str(raw.get()).map_err(malformed)?;
                        item.insert((*name).to_string(), value);
                    }
                }
            }
        }
        Ok(item)
    }
}
