//! The production `Table` adapter over `aws-sdk-dynamodb`.

use super::counting::{Counts, Units};
use super::{
    Condition, Index, Item, Key, Page, Query, SortKey, StoreError, Table, Update, Write, Written,
    cursor, schema, validate_single, validate_transaction,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest,
    GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType,
    Put, PutRequest, ReturnValue, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

type Attrs = HashMap<String, AttributeValue>;

pub struct DynamoTable {
    client: Client,
    table: String,
    /// Where consumed capacity goes, when asked for (benchmarks and tests).
    meter: Option<Arc<Counts>>,
}

/// What a call consumed: read or write units.
#[derive(Clone, Copy)]
enum Spent {
    Reading,
    Writing,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            meter: None,
        }
    }

    /// Asks DynamoDB, on every call, for the capacity it consumed on the table and on each
    /// index (`ReturnConsumedCapacity: INDEXES`), and adds it to `counts`.
    pub fn metered(mut self, counts: Arc<Counts>) -> Self {
        self.meter = Some(counts);
        self
    }

    fn capacity_wanted(&self) -> Option<ReturnConsumedCapacity> {
        self.meter.as_ref().map(|_| ReturnConsumedCapacity::Indexes)
    }

    fn note(&self, spent: Spent, consumed: &[ConsumedCapacity]) {
        let Some(counts) = &self.meter else { return };
        let units = |capacity: Option<f64>| {
            let n = capacity.unwrap_or(0.0);
            match spent {
                Spent::Reading => Units {
                    read: n,
                    write: 0.0,
                },
                Spent::Writing => Units {
                    read: 0.0,
                    write: n,
                },
            }
        };
        for c in consumed {
            // With INDEXES, `Table` is the table's own share and the total includes the
            // indexes; without it, the total is all there is.
            let own = c
                .table
                .as_ref()
                .map_or(c.capacity_units, |t| t.capacity_units);
            counts.consume(None, units(own));
            // Local indexes too: the table has none, but moto reports its GSIs there.
            let indexes = c.global_secondary_indexes.iter().flatten();
            for (name, capacity) in indexes.chain(c.local_secondary_indexes.iter().flatten()) {
                counts.consume(Some(name), units(capacity.capacity_units));
            }
        }
    }
}

/// DynamoDB's answers that mean "not now" rather than "never".
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

fn backend<E: ProvideErrorMetadata + std::fmt::Debug>(e: SdkError<E>) -> StoreError {
    match e.as_service_error() {
        Some(service) => {
            let code = service.code().unwrap_or("unknown");
            let detail = format!("{code}: {}", service.message().unwrap_or_default());
            if TRANSIENT_CODES.contains(&code) {
                StoreError::Unavailable(detail)
            } else {
                StoreError::Backend(detail)
            }
        }
        // Timeouts, connections that failed or dropped, answers that did not arrive whole.
        None => StoreError::Unavailable(format!("{e:?}")),
    }
}

fn to_attrs(item: &Item) -> Result<Attrs, StoreError> {
    serde_dynamo::to_item(Value::Object(item.clone()))
        .map_err(|e| StoreError::Invalid(format!("item cannot be stored: {e}")))
}

fn from_attrs(attrs: Attrs) -> Result<Item, StoreError> {
    serde_dynamo::from_item(attrs).map_err(|e| StoreError::Malformed(e.to_string()))
}

fn to_value(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Invalid(format!("value cannot be stored: {e}")))
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([
        (schema::PK.to_string(), AttributeValue::S(key.pk.clone())),
        (schema::SK.to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Builds expression strings with placeholders for every name and value.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_string());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn condition(&mut self, cond: &Condition) -> Result<String, StoreError> {
        Ok(match cond {
            Condition::Exists => {
                format!(
                    "attribute_exists({})",
                    self.name(Condition::existence_attr())
                )
            }
            Condition::NotExists => {
                format!(
                    "attribute_not_exists({})",
                    self.name(Condition::existence_attr())
                )
            }
            Condition::AttrExists(a) => format!("attribute_exists({})", self.name(a)),
            Condition::AttrNotExists(a) => format!("attribute_not_exists({})", self.name(a)),
            Condition::Compare { attr, cmp, value } => {
                let name = self.name(attr);
                let value = self.value(to_value(value)?);
                format!("{name} {} {value}", cmp.operator())
            }
            Condition::And(all) => self.join(all, " AND ")?,
            Condition::Or(any) => self.join(any, " OR ")?,
            Condition::Not(c) => format!("NOT ({})", self.condition(c)?),
        })
    }

    fn join(&mut self, parts: &[Condition], sep: &str) -> Result<String, StoreError> {
        let rendered: Result<Vec<String>, StoreError> = parts
            .iter()
            .map(|c| self.condition(c).map(|s| format!("({s})")))
            .collect();
        Ok(rendered?.join(sep))
    }

    fn update(&mut self, update: &Update) -> Result<String, StoreError> {
        let mut clauses = Vec::new();
        let mut sets = Vec::new();
        for (attr, value) in &update.set {
            let name = self.name(attr);
            let value = self.value(to_value(value)?);
            sets.push(format!("{name} = {value}"));
        }
        for (attr, value) in &update.set_if_absent {
            let name = self.name(attr);
            let value = self.value(to_value(value)?);
            sets.push(format!("{name} = if_not_exists({name}, {value})"));
        }
        if !sets.is_empty() {
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !update.remove.is_empty() {
            let names: Vec<String> = update.remove.iter().map(|a| self.name(a)).collect();
            clauses.push(format!("REMOVE {}", names.join(", ")));
        }
        if !update.add.is_empty() {
            let mut adds = Vec::new();
            for (attr, delta) in &update.add {
                let name = self.name(attr);
                let value = self.value(AttributeValue::N(delta.to_string()));
                adds.push(format!("{name} {value}"));
            }
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        Ok(clauses.join(" "))
    }

    fn sort_key(&mut self, attr: &str, cond: &SortKey) -> String {
        let name = self.name(attr);
        let mut val = |v: &str| self.value(AttributeValue::S(v.to_string()));
        match cond {
            SortKey::Eq(v) => format!("{name} = {}", val(v)),
            SortKey::Lt(v) => format!("{name} < {}", val(v)),
            SortKey::Le(v) => format!("{name} <= {}", val(v)),
            SortKey::Gt(v) => format!("{name} > {}", val(v)),
            SortKey::Ge(v) => format!("{name} >= {}", val(v)),
            SortKey::Between(a, b) => {
                let (a, b) = (val(a), val(b));
                format!("{name} BETWEEN {a} AND {b}")
            }
            SortKey::BeginsWith(p) => format!("begins_with({name}, {})", val(p)),
        }
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Attrs> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The write's condition rendered into `expr`, if it has one.
fn render_condition(write: &Write, expr: &mut Expr) -> Result<Option<String>, StoreError> {
    write.condition().map(|c| expr.condition(c)).transpose()
}

fn transact_item(table: &str, write: &Write) -> Result<TransactWriteItem, StoreError> {
    let mut expr = Expr::default();
    let condition = render_condition(write, &mut expr)?;
    let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
    let item = match write {
        Write::Put { item, .. } => TransactWriteItem::builder().put(
            Put::builder()
                .table_name(table)
                .set_item(Some(to_attrs(item)?))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(build)?,
        ),
        Write::Update { key, update, .. } => {
            let update_expression = expr.update(update)?;
            TransactWriteItem::builder().update(
                aws_sdk_dynamodb::types::Update::builder()
                    .table_name(table)
                    .set_key(Some(key_attrs(key)))
                    .update_expression(update_expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .build()
                    .map_err(build)?,
            )
        }
        Write::Delete { key, .. } => TransactWriteItem::builder().delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(build)?,
        ),
        Write::Check { key, .. } => TransactWriteItem::builder().condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_attrs(key)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .build()
                .map_err(build)?,
        ),
    };
    Ok(item.build())
}

fn is_condition_failure<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.code() == Some("ConditionalCheckFailedException"))
}

/// The most keys one BatchGetItem call takes.
pub const BATCH_GET_LIMIT: usize = 100;

impl DynamoTable {
    async fn get_item(&self, key: &Key, consistent: bool) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(consistent)
            .set_return_consumed_capacity(self.capacity_wanted())
            .send()
            .await
            .map_err(backend)?;
        self.note(Spent::Reading, out.consumed_capacity.as_slice());
        out.item.map(from_attrs).transpose()
    }

    async fn batch_get_items(
        &self,
        keys: &[Key],
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        use futures_util::{StreamExt, TryStreamExt};
        let calls: Vec<Vec<Attrs>> = super::distinct_keys(keys)
            .chunks(BATCH_GET_LIMIT)
            .map(|chunk| chunk.iter().map(key_attrs).collect())
            .collect();
        let found: Vec<Vec<Item>> = futures_util::stream::iter(calls)
            .map(|call| self.batch_get_call(call, consistent))
            .buffer_unordered(BATCH_CALLS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// One BatchGetItem call, and its retries of what DynamoDB left unprocessed.
    async fn batch_get_call(
        &self,
        mut pending: Vec<Attrs>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(pending.len());
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .set_return_consumed_capacity(self.capacity_wanted())
                .send()
                .await
                .map_err(backend)?;
            self.note(
                Spent::Reading,
                out.consumed_capacity.as_deref().unwrap_or_default(),
            );
            for attrs in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                found.push(from_attrs(attrs)?);
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                back_off(&mut attempt, "batch get").await?;
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.get_item(key, true).await
    }

    async fn get_eventual(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.get_item(key, false).await
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.batch_get_items(keys, true).await
    }

    async fn batch_get_eventual(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.batch_get_items(keys, false).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        query.validate()?;
        let start = cursor::decode(query)?;
        let (pk_attr, sk_attr) = match query.index {
            None => (schema::PK, schema::SK),
            Some(index) => (index.pk(), index.sk()),
        };
        let mut expr = Expr::default();
        let mut key_condition = format!(
            "{} = {}",
            expr.name(pk_attr),
            expr.value(AttributeValue::S(query.pk.clone()))
        );
        if let Some(cond) = &query.sk {
            key_condition.push_str(&format!(" AND {}", expr.sort_key(sk_attr, cond)));
        }
        let projection = query.projected().map(|names| {
            names
                .iter()
                .map(|n| expr.name(n))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let mut exclusive_start: Option<Attrs> = start.map(|position| {
            position
                .into_iter()
                .map(|(a, v)| (a.to_string(), AttributeValue::S(v)))
                .collect()
        });
        // One more than asked, so the last page is known to be the last.
        let wanted = query.limit as usize + 1;
        let mut items = Vec::new();
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.map(|i| i.name().to_string()))
                .key_condition_expression(&key_condition)
                .set_projection_expression(projection.clone())
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values())
                .scan_index_forward(query.forward)
                .limit((wanted - items.len()) as i32)
                .set_exclusive_start_key(exclusive_start.take())
                .set_return_consumed_capacity(self.capacity_wanted())
                .send()
                .await
                .map_err(backend)?;
            self.note(Spent::Reading, out.consumed_capacity.as_slice());
            for attrs in out.items.unwrap_or_default() {
                items.push(from_attrs(attrs)?);
            }
            match out.last_evaluated_key {
                Some(last) if items.len() < wanted => exclusive_start = Some(last),
                _ => break,
            }
        }
        Ok(Page::up_to_limit(query, items))
    }

    async fn write(&self, write: Write) -> Result<Written, StoreError> {
        validate_single(&write)?;
        let mut expr = Expr::default();
        let condition = render_condition(&write, &mut expr)?;
        match write {
            Write::Put { item, .. } => {
                let result = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(&item)?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .set_return_consumed_capacity(self.capacity_wanted())
                    .send()
                    .await;
                match result {
                    Ok(out) => {
                        self.note(Spent::Writing, out.consumed_capacity.as_slice());
                        Ok(Written::Done)
                    }
                    Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed),
                    Err(e) => Err(backend(e)),
                }
            }
            Write::Update { key, update, .. } => {
                let update_expression = expr.update(&update)?;
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&key)))
                    .update_expression(update_expression)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .return_values(ReturnValue::AllNew)
                    .set_return_consumed_capacity(self.capacity_wanted())
                    .send()
                    .await;
                match result {
                    Ok(out) => {
                        self.note(Spent::Writing, out.consumed_capacity.as_slice());
                        Ok(Written::Updated(from_attrs(
                            out.attributes.unwrap_or_default(),
                        )?))
                    }
                    Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed),
                    Err(e) => Err(backend(e)),
                }
            }
            Write::Delete { key, .. } => {
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&key)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .return_values(ReturnValue::AllOld)
                    .set_return_consumed_capacity(self.capacity_wanted())
                    .send()
                    .await;
                match result {
                    Ok(out) => {
                        self.note(Spent::Writing, out.consumed_capacity.as_slice());
                        let old = out.attributes.filter(|a| !a.is_empty());
                        Ok(Written::Deleted(old.map(from_attrs).transpose()?))
                    }
                    Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed),
                    Err(e) => Err(backend(e)),
                }
            }
            Write::Check { .. } => unreachable!("refused by validate_single"),
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let items = writes
            .iter()
            .map(|w| transact_item(&self.table, w))
            .collect::<Result<Vec<_>, _>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .set_return_consumed_capacity(self.capacity_wanted())
            .send()
            .await;
        let e = match result {
            Ok(out) => {
                self.note(
                    Spent::Writing,
                    out.consumed_capacity.as_deref().unwrap_or_default(),
                );
                return Ok(());
            }
            Err(e) => e,
        };
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        if let Some(TransactWriteItemsError::TransactionCanceledException(canceled)) =
            e.as_service_error()
        {
            let reasons = canceled.cancellation_reasons();
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(position, _)| position)
                .collect();
            if !failed.is_empty() {
                return Err(StoreError::TransactionCanceled { failed });
            }
            if reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
            {
                return Err(StoreError::Conflict);
            }
        }
        if e.as_service_error()
            .is_some_and(|s| s.code() == Some("TransactionConflictException"))
        {
            return Err(StoreError::Conflict);
        }
        Err(backend(e))
    }

    async fn batch_write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        use futures_util::{StreamExt, TryStreamExt};
        super::validate_batch(&writes)?;
        let requests = last_write_per_key(writes)?
            .iter()
            .map(write_request)
            .collect::<Result<Vec<_>, _>>()?;
        let calls: Vec<Vec<WriteRequest>> = requests
            .chunks(BATCH_WRITE_LIMIT)
            .map(<[WriteRequest]>::to_vec)
            .collect();
        futures_util::stream::iter(calls)
            .map(|call| self.batch_write_call(call))
            .buffer_unordered(BATCH_CALLS_IN_FLIGHT)
            .try_collect()
            .await
    }
}

impl DynamoTable {
    /// One BatchWriteItem call, and its retries of what DynamoDB left unprocessed.
    async fn batch_write_call(&self, mut pending: Vec<WriteRequest>) -> Result<(), StoreError> {
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .set_return_consumed_capacity(self.capacity_wanted())
                .send()
                .await
                .map_err(backend)?;
            self.note(
                Spent::Writing,
                out.consumed_capacity.as_deref().unwrap_or_default(),
            );
            pending = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
            if !pending.is_empty() {
                back_off(&mut attempt, "batch write").await?;
            }
        }
        Ok(())
    }
}

/// Waits before asking again for what DynamoDB left unprocessed (it was throttled), longer
/// each time; gives up after eight tries.
async fn back_off(attempt: &mut u32, call: &str) -> Result<(), StoreError> {
    *attempt += 1;
    if *attempt > 8 {
        return Err(StoreError::Unavailable(format!(
            "{call} kept being throttled"
        )));
    }
    tokio::time::sleep(std::time::Duration::from_millis(25 << *attempt)).await;
    Ok(())
}

/// A batch's writes, each key's last one only, in their order: what writing them one
/// after another would leave. DynamoDB refuses a key twice in one call, and the calls of
/// a batch run at the same time.
fn last_write_per_key(writes: Vec<Write>) -> Result<Vec<Write>, StoreError> {
    let mut last = HashMap::with_capacity(writes.len());
    for (position, write) in writes.iter().enumerate() {
        last.insert(write.key()?, position);
    }
    Ok(writes
        .into_iter()
        .enumerate()
        .filter(|(position, write)| {
            write
                .key()
                .is_ok_and(|key| last.get(&key) == Some(position))
        })
        .map(|(_, write)| write)
        .collect())
}

/// How many calls of one batch write or batch read are under way at once: a projection's
/// or the seeder's writes take the round trips of a few calls, not one per 25 writes, and
/// a search's cards those of one call, not one per 100 keys.
pub const BATCH_CALLS_IN_FLIGHT: usize = 8;

/// DynamoDB's limit on the writes of one BatchWriteItem call.
pub const BATCH_WRITE_LIMIT: usize = 25;

fn write_request(write: &Write) -> Result<WriteRequest, StoreError> {
    let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid(e.to_string());
    Ok(match write {
        Write::Put { item, .. } => WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(to_attrs(item)?))
                    .build()
                    .map_err(build)?,
            )
            .build(),
        Write::Delete { key, .. } => WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key_attrs(key)))
                    .build()
                    .map_err(build)?,
            )
            .build(),
        _ => return Err(StoreError::Invalid("not a batch write".into())),
    })
}

/// Creates the table with its indexes and TTL, as the SAM template declares it. Used by
/// the infra bootstrap command and by tests against a local DynamoDB endpoint.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let string_attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    };
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(schema::PK, KeyType::Hash)?)
        .key_schema(key(schema::SK, KeyType::Range)?)
        // As deployed: the catalogue's stream indexer reads each change's new image.
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        );
    for attr in schema::key_attributes() {
        create = create.attribute_definitions(string_attr(attr)?);
    }
    for index in Index::ALL {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name())
                .key_schema(key(index.pk(), KeyType::Hash)?)
                .key_schema(key(index.sk(), KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        );
    }
    create.send().await.map_err(backend)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(schema::TTL)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        )
        .send()
        .await
        .map_err(backend)?;
    Ok(())
}
