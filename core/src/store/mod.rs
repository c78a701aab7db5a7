//! The `Table` port: DynamoDB's single-table vocabulary and nothing more.
//!
//! Items are JSON objects. Key attributes (`PK`, `SK` and the index keys) are strings;
//! everything else is whatever serde makes of an entity. Both adapters (DynamoDB and the
//! embedded SQLite file) pass the same contract suite in `tests/table_contract.rs`.

mod condition;
pub mod counting;
mod cursor;
pub mod dynamo;
pub mod schema;
#[cfg(feature = "embedded")]
pub mod sqlite;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub use condition::{Cmp, Condition};
pub use schema::Index;

/// A stored item: attribute name to value.
pub type Item = Map<String, Value>;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// Reads the key of an item, if it has one.
    pub fn of(item: &Item) -> Option<Self> {
        Some(Self::new(
            item.get(schema::PK)?.as_str()?,
            item.get(schema::SK)?.as_str()?,
        ))
    }
}

/// The changes of one update, applied as DynamoDB's `SET`, `REMOVE` and `ADD`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    /// Set only where the attribute is absent (`SET a = if_not_exists(a, v)`).
    pub set_if_absent: Vec<(String, Value)>,
    pub remove: Vec<String>,
    pub add: Vec<(String, i64)>,
}

impl Update {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set.push((attr.into(), value.into()));
        self
    }

    /// Sets `attr` unless the item has it already (the first of several writes wins).
    pub fn set_if_absent(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_if_absent.push((attr.into(), value.into()));
        self
    }

    pub fn remove(mut self, attr: impl Into<String>) -> Self {
        self.remove.push(attr.into());
        self
    }

    /// Adds `delta` to a numeric attribute, starting from 0 when it is absent. Adding to
    /// the same attribute twice adds the sum (DynamoDB refuses one path twice).
    pub fn add(mut self, attr: impl Into<String>, delta: i64) -> Self {
        let attr = attr.into();
        match self.add.iter_mut().find(|(a, _)| *a == attr) {
            Some((_, total)) => *total += delta,
            None => self.add.push((attr, delta)),
        }
        self
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.set_if_absent.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
    }
}

/// One write. Alone it is one call; several go together through [`Table::transact`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    /// Creates the item when it does not exist, as DynamoDB's UpdateItem does.
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Only in transactions: the write set commits only if this item meets the condition.
    Check { key: Key, condition: Condition },
}

impl Write {
    pub fn put(item: Item) -> Self {
        Self::Put {
            item,
            condition: None,
        }
    }

    pub fn update(key: Key, update: Update) -> Self {
        Self::Update {
            key,
            update,
            condition: None,
        }
    }

    pub fn delete(key: Key) -> Self {
        Self::Delete {
            key,
            condition: None,
        }
    }

    pub fn check(key: Key, condition: Condition) -> Self {
        Self::Check { key, condition }
    }

    /// Makes the write conditional (replacing any condition it had).
    pub fn when(mut self, cond: Condition) -> Self {
        match &mut self {
            Self::Put { condition, .. }
            | Self::Update { condition, .. }
            | Self::Delete { condition, .. } => *condition = Some(cond),
            Self::Check { condition, .. } => *condition = cond,
        }
        self
    }

    fn key(&self) -> Result<Key, StoreError> {
        match self {
            Self::Put { item, .. } => Key::of(item).ok_or_else(|| {
                StoreError::Invalid("a put item needs string PK and SK attributes".into())
            }),
            Self::Update { key, .. } | Self::Delete { key, .. } | Self::Check { key, .. } => {
                Ok(key.clone())
            }
        }
    }

    fn condition(&self) -> Option<&Condition> {
        match self {
            Self::Put { condition, .. }
            | Self::Update { condition, .. }
            | Self::Delete { condition, .. } => condition.as_ref(),
            Self::Check { condition, .. } => Some(condition),
        }
    }
}

/// What a single write hands back.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Put and Check.
    Done,
    /// Update: the item as it is after the update.
    Updated(Item),
    /// Delete: the item as it was, if there was one.
    Deleted(Option<Item>),
}

/// A condition on the sort key (or on an index's sort key) of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Eq(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
    Between(String, String),
    BeginsWith(String),
}

/// A query on one partition of the table or of an index.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub index: Option<Index>,
    pub pk: String,
    pub sk: Option<SortKey>,
    pub forward: bool,
    pub limit: u32,
    pub cursor: Option<String>,
    /// Only these attributes of each item, with the keys a cursor needs (DynamoDB's
    /// `ProjectionExpression`); `None` reads whole items. Read units are those of the whole
    /// items either way: what it saves is transfer and decoding.
    pub attributes: Option<&'static [&'static str]>,
}

/// The most items one query returns; DynamoDB pages by size anyway.
pub const MAX_QUERY_LIMIT: u32 = 1000;

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: None,
            pk: pk.into(),
            sk: None,
            forward: true,
            limit: 100,
            cursor: None,
            attributes: None,
        }
    }

    pub fn on(index: Index, pk: impl Into<String>) -> Self {
        Self {
            index: Some(index),
            ..Self::partition(pk)
        }
    }

    pub fn sort_key(mut self, cond: SortKey) -> Self {
        self.sk = Some(cond);
        self
    }

    pub fn descending(mut self) -> Self {
        self.forward = false;
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }

    pub fn attributes(mut self, names: &'static [&'static str]) -> Self {
        self.attributes = Some(names);
        self
    }

    /// The attributes a projected query reads: those asked for and the item's position.
    fn projected(&self) -> Option<Vec<&'static str>> {
        let names = self.attributes?;
        let mut all = cursor::position_attrs(self.index);
        for name in names {
            if !all.contains(name) {
                all.push(name);
            }
        }
        Some(all)
    }

    /// The cursor that continues this query after `item`, one of its results: for callers
    /// that stop part way through a page.
    pub fn cursor_after(&self, item: &Item) -> String {
        cursor::encode(self.index, item)
    }

    fn validate(&self) -> Result<(), StoreError> {
        if self.limit == 0 || self.limit > MAX_QUERY_LIMIT {
            return Err(StoreError::Invalid(format!(
                "query limit must be 1..={MAX_QUERY_LIMIT}"
            )));
        }
        Ok(())
    }
}

/// One page of a query; `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

impl Page {
    /// The page of `query` from items read up to one past its limit: that one, when
    /// there, only says that more follow.
    fn up_to_limit(query: &Query, mut items: Vec<Item>) -> Self {
        let next_cursor = if items.len() > query.limit as usize {
            items.truncate(query.limit as usize);
            items.last().map(|last| cursor::encode(query.index, last))
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("the condition of the write was not met")]
    ConditionFailed,
    /// Positions (in the order given) of the writes whose conditions were not met.
    #[error("transaction canceled: conditions failed at {failed:?}")]
    TransactionCanceled { failed: Vec<usize> },
    /// Another writer touched the same items at the same time; trying again may succeed.
    #[error("conflicting concurrent write")]
    Conflict,
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("invalid request to the table: {0}")]
    Invalid(String),
    /// The table did not answer in time, was unreachable or throttled: a retry later may
    /// succeed.
    #[error("table unavailable: {0}")]
    Unavailable(String),
    /// A stored item cannot be read as what it should be: no retry fixes that.
    #[error("malformed item: {0}")]
    Malformed(String),
    #[error("table backend failed: {0}")]
    Backend(String),
}

/// The most writes one transaction takes (DynamoDB's limit).
pub const MAX_TRANSACTION_WRITES: usize = 100;

#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;

    /// The items that exist among `keys`, each once (a key may be given twice), in no
    /// particular order.
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError>;

    /// [`Table::get`] that may miss writes of the last second or so: DynamoDB's eventually
    /// consistent read, at half the read units of the strongly consistent `get`. For pages
    /// that show what is there, never for a read that a write or a check depends on.
    async fn get_eventual(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.get(key).await
    }

    /// [`Table::batch_get`], eventually consistent like [`Table::get_eventual`].
    async fn batch_get_eventual(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.batch_get(keys).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    async fn write(&self, write: Write) -> Result<Written, StoreError>;

    /// All or nothing. A failed condition cancels every write and is reported by position.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// Unconditional puts and deletes, each applied on its own (DynamoDB's BatchWriteItem):
    /// for derived items that a repeat of the same batch rewrites identically.
    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    /// The keys of every committed write, as they happen: the embedded backend's stand-in
    /// for the table's DynamoDB stream. `None` where the table has no such feed in
    /// process (DynamoDB's stream reaches a Lambda function instead).
    fn changes(&self) -> Option<ChangeFeed> {
        None
    }

    /// How many writes have committed in this process, where the table can tell (the
    /// embedded backend): an answer made at one count is current while it holds.
    fn commits(&self) -> Option<u64> {
        None
    }
}

/// Receives the keys each committed write touched (one message per write, transaction or
/// batch). A receiver that falls behind is told how much it missed
/// (`RecvError::Lagged`), so it can catch up another way.
pub type ChangeFeed = tokio::sync::broadcast::Receiver<std::sync::Arc<[Key]>>;

/// The keys of a batch read, each once (DynamoDB refuses a request that repeats one).
fn distinct_keys(keys: &[Key]) -> Vec<Key> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    keys
}

/// Checks what both adapters refuse alike in a batch write.
fn validate_batch(writes: &[Write]) -> Result<(), StoreError> {
    for w in writes {
        match w {
            Write::Put {
                condition: None, ..
            }
            | Write::Delete {
                condition: None, ..
            } => {
                w.key()?;
            }
            _ => {
                return Err(StoreError::Invalid(
                    "a batch write takes unconditional puts and deletes only".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The items that exist among `keys`, by key.
pub async fn batch_get_by_key(
    table: &dyn Table,
    keys: Vec<Key>,
) -> Result<std::collections::HashMap<Key, Item>, StoreError> {
    Ok(by_key(table.batch_get(&keys).await?))
}

/// [`batch_get_by_key`], read eventually consistently (for what only shows).
pub async fn batch_get_eventual_by_key(
    table: &dyn Table,
    keys: Vec<Key>,
) -> Result<std::collections::HashMap<Key, Item>, StoreError> {
    Ok(by_key(table.batch_get_eventual(&keys).await?))
}

fn by_key(items: Vec<Item>) -> std::collections::HashMap<Key, Item> {
    items
        .into_iter()
        .filter_map(|item| Some((Key::of(&item)?, item)))
        .collect()
}

/// The item of an entity: its fields (absent ones left out), its key and what it is.
pub fn entity_item(entity: &str, key: &Key, fields: &impl serde::Serialize) -> Item {
    let mut item = match serde_json::to_value(fields) {
        Ok(Value::Object(map)) => map,
        // Entities are structs of plain data: they always serialise to an object.
        other => panic!("entity {entity} did not serialise to an object: {other:?}"),
    };
    item.retain(|_, v| !v.is_null());
    item.insert(schema::PK.into(), key.pk.clone().into());
    item.insert(schema::SK.into(), key.sk.clone().into());
    item.insert("entity".into(), entity.into());
    item
}

/// An entity read back from its item.
pub fn from_entity_item<T: serde::de::DeserializeOwned>(
    entity: &str,
    item: Item,
) -> Result<T, StoreError> {
    let key = Key::of(&item).map(|k| format!("{}/{}", k.pk, k.sk));
    serde_json::from_value(Value::Object(item)).map_err(|e| {
        StoreError::Malformed(format!(
            "{entity} {}: {e}",
            key.as_deref().unwrap_or("(no key)")
        ))
    })
}

/// The write that leases an item to one worker for `secs` (`lease_until`): it fails while
/// another worker's lease is live, and the lease lapses by itself if that worker dies.
/// Release it by removing `lease_until`.
pub fn lease(key: Key, now: i64, secs: i64) -> Write {
    Write::update(key, Update::new().set("lease_until", now + secs)).when(Condition::Exists.and(
        Condition::AttrNotExists("lease_until".into()).or(Condition::compare(
            "lease_until",
            Cmp::Lt,
            now,
        )),
    ))
}

/// Checks what both adapters refuse alike before a transaction reaches the backend.
fn validate_transaction(writes: &[Write]) -> Result<(), StoreError> {
    if writes.is_empty() || writes.len() > MAX_TRANSACTION_WRITES {
        return Err(StoreError::Invalid(format!(
            "a transaction takes 1..={MAX_TRANSACTION_WRITES} writes"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for w in writes {
        if !seen.insert(w.key()?) {
            return Err(StoreError::Invalid(
                "a transaction may touch each item only once".into(),
            ));
        }
    }
    Ok(())
}

fn validate_single(write: &Write) -> Result<(), StoreError> {
    match write {
        Write::Check { .. } => Err(StoreError::Invalid(
            "a condition check only makes sense inside a transaction".into(),
        )),
        Write::Update { update, .. } if update.is_empty() => Err(StoreError::Invalid(
            "an update needs at least one change".into(),
        )),
        _ => write.key().map(|_| ()),
    }
}
