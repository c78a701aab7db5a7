//! Reference records of the catalogue (genres, people, cinemas): one implementation of
//! create, read, list-by-name, update and delete, specialised by [`Record`].
//!
//! Keys: the record is `<PREFIX>#<id>` / `RECORD`; the by-name listing is GSI1
//! `<PREFIX>S` sorted by `<lowercased name>#<id>`. Where names are unique, a claim item
//! `<PREFIX>_NAME#<lowercased name>` is written with the record under
//! `attribute_not_exists`. Updates are JSON merge patches (RFC 7396) applied to the
//! record's fields, guarded by its `version` (and by `If-Match` when the client sends it).

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::pagination::{Page, page_limit};
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, Query, validate};
use marquee_core::store::{
    Cmp, Condition, Index, Item, Key, SortKey, StoreError, Update, Write, entity_item,
    from_entity_item, schema,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::Date;

pub trait Record: Send + Sync + 'static {
    /// Singular, for messages and the `entity` attribute: `genre`.
    const KIND: &'static str;
    /// Key prefix: `GENRE`.
    const PREFIX: &'static str;
    /// Names are unique, case-insensitively.
    const UNIQUE_NAMES: bool = false;
    type Input: Serialize + DeserializeOwned + Validate<Context = ()> + Clone + Send + Sync;
    type View: Serialize + Send;

    fn name(input: &Self::Input) -> &str;
    /// Rules the validation attributes cannot express (dates, fields some kinds lack).
    fn check(_input: &Self::Input, _today: Date) -> Vec<FieldError> {
        Vec::new()
    }
    fn view(stored: &Stored<Self::Input>, today: Date) -> Self::View;
    /// Records this one names; each keeps an exact count of the records naming it.
    fn references(_input: &Self::Input) -> Vec<Reference> {
        Vec::new()
    }
    /// The count that must be zero before the record may go.
    const IN_USE_COUNT: &'static str = "movie_count";
    /// Why a record still counted is not deleted.
    const IN_USE_REASON: &'static str = "movies still reference it";
    /// Attributes the record's item carries besides its fields (index keys).
    fn marks(_stored: &Stored<Self::Input>) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
    /// The shelf of the browse index holding the movies that name this record (see
    /// `catalog::index`), which `get` pages through.
    fn shelf(_id: &str) -> Option<String> {
        None
    }
    /// Writes that go with the record's deletion, in its transaction (`now`: epoch seconds).
    fn deletion_writes(_id: &str, _item: &Item, _now: i64) -> Vec<Write> {
        Vec::new()
    }
    /// Runs once a create, update or delete of the record has committed.
    fn after_write(_app: &App, _id: &str) -> impl Future<Output = ()> + Send {
        async {}
    }
    /// Runs once a deletion has committed, with the record as it was.
    fn after_delete(
        _app: &App,
        _stored: &Stored<Self::Input>,
    ) -> impl Future<Output = Result<(), Problem>> + Send {
        async { Ok(()) }
    }
}

/// One record naming another, from the input field that holds the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub field: &'static str,
    pub kind: &'static str,
    pub id: String,
    pub key: Key,
}

/// A reference from `field` to the record `id` of kind `R`.
pub fn reference<R: Record>(field: &'static str, id: &str) -> Reference {
    Reference {
        field,
        kind: R::KIND,
        id: id.to_string(),
        key: key::<R>(id),
    }
}

/// The count kept on every referenced record.
const REFERRERS: &str = "movie_count";

fn count_change(reference: &Reference, delta: i64) -> Write {
    let write = Write::update(reference.key.clone(), Update::new().add(REFERRERS, delta));
    if delta > 0 {
        // The referenced record must still be there: this serialises with its deletion.
        write.when(Condition::Exists)
    } else {
        write
    }
}

fn unknown_reference(r: &Reference) -> FieldError {
    FieldError {
        field: r.field.into(),
        message: format!("no {} has the id {}", r.kind, r.id),
    }
}

/// 422 naming every reference that is listed twice or names nothing.
async fn check_references(app: &App, references: &[Reference]) -> Result<(), Problem> {
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in references {
        if !seen.insert(&r.key) {
            errors.push(FieldError {
                field: r.field.into(),
                message: format!("lists {} twice", r.id),
            });
        }
    }
    validate::finish(errors)?;
    let keys: Vec<Key> = references.iter().map(|r| r.key.clone()).collect();
    let found: std::collections::HashSet<Key> = app
        .table
        .batch_get(&keys)
        .await?
        .iter()
        .filter_map(Key::of)
        .collect();
    validate::finish(
        references
            .iter()
            .filter(|r| !found.contains(&r.key))
            .map(unknown_reference)
            .collect(),
    )
}

/// Why a record's transaction was canceled: a referenced record vanished meanwhile, the new
/// name (claimed at position 1) is taken, or the record itself changed.
fn cancellation<R: Record>(
    failed: &[usize],
    claims_name: bool,
    first_reference: usize,
    references: &[Reference],
) -> Problem {
    if let Some(r) = vanished(failed, first_reference, references) {
        return Problem::validation(vec![unknown_reference(r)]);
    }
    if claims_name && failed.contains(&1) {
        return name_taken::<R>();
    }
    Problem::conflict(
        "concurrent_update",
        format!("The {} was changed meanwhile; read it again", R::KIND),
    )
}

/// Which reference a canceled transaction's failed positions point at, from `first`.
fn vanished<'a>(failed: &[usize], first: usize, refs: &'a [Reference]) -> Option<&'a Reference> {
    failed
        .iter()
        .filter_map(|p| p.checked_sub(first))
        .find_map(|i| refs.get(i))
}

/// A record as stored: its fields, and what the catalogue keeps about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored<I> {
    pub id: String,
    pub fields: I,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Movies that reference this record (kept by the movies feature).
    #[serde(default)]
    pub movie_count: i64,
}

pub fn key<R: Record>(id: &str) -> Key {
    Key::new(format!("{}#{id}", R::PREFIX), "RECORD")
}

fn listing<R: Record>() -> String {
    format!("{}S", R::PREFIX)
}

fn name_claim<R: Record>(name: &str) -> Key {
    Key::new(
        format!("{}_NAME#{}", R::PREFIX, name.trim().to_lowercase()),
        "NAME",
    )
}

fn to_item<R: Record>(stored: &Stored<R::Input>) -> Result<Item, Problem> {
    let mut item = entity_item(R::KIND, &key::<R>(&stored.id), stored);
    item.insert(Index::Gsi1.pk().into(), listing::<R>().into());
    item.insert(
        Index::Gsi1.sk().into(),
        format!(
            "{}#{}",
            R::name(&stored.fields).trim().to_lowercase(),
            stored.id
        )
        .into(),
    );
    for (attr, value) in R::marks(stored) {
        item.insert(attr.into(), value);
    }
    Ok(item)
}

fn from_item<R: Record>(item: Item) -> Result<Stored<R::Input>, Problem> {
    Ok(from_entity_item(R::KIND, item)?)
}

fn claim_item<R: Record>(name: &str, id: &str) -> Item {
    entity_item(
        &format!("{}_name", R::KIND),
        &name_claim::<R>(name),
        &json!({ "id": id }),
    )
}

fn not_found<R: Record>() -> Problem {
    Problem::not_found(format!("No such {}", R::KIND))
}

fn name_taken<R: Record>() -> Problem {
    Problem::conflict("name_taken", format!("A {} with this name exists", R::KIND))
}

fn checked<R: Record>(input: &R::Input, today: Date) -> Result<(), Problem> {
    let mut errors = validate::fields(input);
    validate::not_blank(&mut errors, "name", R::name(input));
    errors.extend(R::check(input, today));
    validate::finish(errors)
}

/// The version the client last saw, from `If-Match: "<version>"` (a write's ETag) or
/// `"<version>.<digest>"` (a cached read's).
pub fn expected_version(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .map(|v| v.split_once('.').map_or(v, |(version, _)| version))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| Problem::bad_request("If-Match must be a version this API gave out"))
}

/// 412: `If-Match` named a version that is no longer current.
pub fn version_mismatch(current: i64) -> Problem {
    Problem::new(
        StatusCode::PRECONDITION_FAILED,
        "version_mismatch",
        "The record changed since you read it",
    )
    .detail(format!("It is at version {current} now"))
}

/// A record's view with its version as ETag.
fn answer<R: Record>(status: StatusCode, stored: &Stored<R::Input>, today: Date) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", stored.version))],
        axum::Json(R::view(stored, today)),
    )
        .into_response()
}

pub async fn load<R: Record>(app: &App, id: &str) -> Result<Stored<R::Input>, Problem> {
    match app.table.get(&key::<R>(id)).await? {
        Some(item) => from_item::<R>(item),
        None => Err(not_found::<R>()),
    }
}

pub async fn create<R: Record>(
    axum::extract::State(app): axum::extract::State<App>,
    Json(input): Json<R::Input>,
) -> Result<Response, Problem> {
    let stored = insert::<R>(&app, input).await?;
    Ok(answer::<R>(
        StatusCode::CREATED,
        &stored,
        app.clock.now().date(),
    ))
}

/// Checks and stores a new record (what `create` does, for seeding and other features).
pub async fn insert<R: Record>(app: &App, input: R::Input) -> Result<Stored<R::Input>, Problem> {
    let stored = insert_unprojected::<R>(app, input).await?;
    R::after_write(app, &stored.id).await;
    Ok(stored)
}

/// [`insert`] without what follows the write (a movie's projection).
async fn insert_unprojected<R: Record>(
    app: &App,
    input: R::Input,
) -> Result<Stored<R::Input>, Problem> {
    let stored = new_stored::<R>(app, input)?;
    let references = R::references(&stored.fields);
    check_references(app, &references).await?;
    let mut writes = vec![Write::put(to_item::<R>(&stored)?).when(Condition::NotExists)];
    if R::UNIQUE_NAMES {
        writes.push(
            Write::put(claim_item::<R>(R::name(&stored.fields), &stored.id))
                .when(Condition::NotExists),
        );
    }
    let first_reference = writes.len();
    writes.extend(references.iter().map(|r| count_change(r, 1)));
    match app.table.transact(writes).await {
        Ok(()) => Ok(stored),
        // The id is new to this request: if the record is stored, this request stored it
        // (a transaction the store applied but answered late, retried by the SDK).
        Err(StoreError::TransactionCanceled { failed })
            if failed.contains(&0) && app.table.get(&key::<R>(&stored.id)).await?.is_some() =>
        {
            Ok(stored)
        }
        Err(StoreError::TransactionCanceled { failed }) => Err(cancellation::<R>(
            &failed,
            R::UNIQUE_NAMES,
            first_reference,
            &references,
        )),
        Err(e) => Err(e.into()),
    }
}

/// A new record and its item as [`insert`] would store it, checked but not written: for
/// the bulk seeder, which writes many at once and counts references itself.
pub fn new_record<R: Record>(
    app: &App,
    input: R::Input,
) -> Result<(Stored<R::Input>, Item), Problem> {
    let stored = new_stored::<R>(app, input)?;
    let item = to_item::<R>(&stored)?;
    Ok((stored, item))
}

/// A checked new record at its first version, made now.
fn new_stored<R: Record>(app: &App, input: R::Input) -> Result<Stored<R::Input>, Problem> {
    let now = app.clock.now();
    checked::<R>(&input, now.date())?;
    Ok(Stored {
        id: ulid::Ulid::new().to_string(),
        fields: input,
        version: 1,
        created_at: now.unix_timestamp(),
        updated_at: now.unix_timestamp(),
        movie_count: 0,
    })
}

/// Adds to each referenced record's movie count (the bulk seeder's, once per record).
pub async fn add_referrers(
    app: &App,
    counts: std::collections::HashMap<Key, i64>,
) -> Result<(), Problem> {
    for (key, count) in counts {
        app.table
            .write(Write::update(key, Update::new().add(REFERRERS, count)).when(Condition::Exists))
            .await?;
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TheirMovies {
    /// Page size of the record's movies (default 20, at most 100).
    pub movies_limit: Option<u32>,
    /// The `movies.next_cursor` of the previous answer.
    pub movies_cursor: Option<String>,
}

/// The record, and for genres and people a page of their movies by title (`movies`).
pub async fn get<R: Record>(
    axum::extract::State(app): axum::extract::State<App>,
    Path(id): Path<String>,
    Query(page): Query<TheirMovies>,
) -> Result<Response, Problem> {
    let stored = load::<R>(&app, &id).await?;
    let Some(facet) = R::shelf(&id) else {
        return Ok(answer::<R>(StatusCode::OK, &stored, app.clock.now().date()));
    };
    let limit = page_limit(page.movies_limit).map_err(|_| {
        Problem::invalid_query(vec![FieldError {
            field: "movies_limit".into(),
            message: format!("must be 1 to {}", marquee_core::http::pagination::MAX_LIMIT),
        }])
    })?;
    let found = app
        .table
        .query(
            &marquee_core::store::Query::partition(super::index::shelf_pk(
                &facet,
                super::index::Sort::Title,
            ))
            .limit(limit)
            .after(page.movies_cursor)
            .attributes(&[]),
        )
        .await?;
    let ids: Vec<String> = found
        .items
        .iter()
        .filter_map(super::index::entry_item_movie)
        .collect();
    let mut cards = super::index::cards(&app, &ids).await?;
    let movies: Vec<_> = ids
        .iter()
        .filter_map(|id| cards.remove(id).map(|s| s.card))
        .collect();
    let mut body = serde_json::to_value(R::view(&stored, app.clock.now().date()))
        .map_err(|_| Problem::internal())?;
    body["movies"] = json!(Page {
        items: movies,
        next_cursor: found.next_cursor,
    });
    Ok((
        StatusCode::OK,
        [(header::ETAG, format!("\"{}\"", stored.version))],
        axum::Json(body),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Name prefix, case-insensitive.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// By name, one index query per page whatever the collection's size.
pub async fn list<R: Record>(
    axum::extract::State(app): axum::extract::State<App>,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<Page<R::View>>, Problem> {
    let limit = page_limit(query.limit)?;
    let mut q = marquee_core::store::Query::on(Index::Gsi1, listing::<R>())
        .limit(limit)
        .after(query.cursor);
    if let Some(prefix) = query
        .q
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
    {
        q = q.sort_key(SortKey::BeginsWith(prefix));
    }
    let page = app.table.query(&q).await?;
    let today = app.clock.now().date();
    let items = page
        .items
        .into_iter()
        .map(|item| from_item::<R>(item).map(|s| R::view(&s, today)))
        .collect::<Result<_, _>>()?;
    Ok(axum::Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// RFC 7396: objects merge, `null` removes, anything else replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (k, v) in patch {
                if v.is_null() {
                    // A null for a member the record does not have stays, so that reading
                    // the result refuses it when no such field exists.
                    if target.remove(k).is_none() {
                        target.insert(k.clone(), Value::Null);
                    }
                } else {
                    merge(target.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

pub async fn update<R: Record>(
    axum::extract::State(app): axum::extract::State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<Value>,
) -> Result<Response, Problem> {
    let expected = expected_version(&headers)?;
    let current = load::<R>(&app, &id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(version_mismatch(current.version));
    }
    let mut fields = serde_json::to_value(&current.fields).map_err(|_| Problem::internal())?;
    merge(&mut fields, &patch);
    let input: R::Input = marquee_core::http::body::read(fields).map_err(Problem::validation)?;
    let now = app.clock.now();
    // A patch that changes nothing writes nothing: the record keeps its version, so other
    // clients' If-Match stays good.
    if serde_json::to_value(&input).ok() == serde_json::to_value(&current.fields).ok() {
        return Ok(answer::<R>(StatusCode::OK, &current, now.date()));
    }
    checked::<R>(&input, now.date())?;
    let updated = Stored {
        fields: input,
        version: current.version + 1,
        updated_at: now.unix_timestamp(),
        ..current.clone()
    };
    let mut update = Update::new();
    for (attr, value) in to_item::<R>(&updated)? {
        if attr != schema::PK && attr != schema::SK && attr != REFERRERS {
            update = update.set(attr, value);
        }
    }
    let mut writes =
        vec![Write::update(key::<R>(&id), update).when(Condition::eq("version", current.version))];
    let old_name = R::name(&current.fields).trim().to_lowercase();
    let new_name = R::name(&updated.fields).trim().to_lowercase();
    let renames = R::UNIQUE_NAMES && old_name != new_name;
    if renames {
        writes.push(Write::put(claim_item::<R>(&new_name, &id)).when(Condition::NotExists));
        writes.push(Write::delete(name_claim::<R>(&old_name)));
    }
    let before = R::references(&current.fields);
    let after = R::references(&updated.fields);
    let added: Vec<Reference> = after
        .iter()
        .filter(|r| !before.iter().any(|b| b.key == r.key))
        .cloned()
        .collect();
    check_references(&app, &after).await?;
    let first_reference = writes.len();
    writes.extend(added.iter().map(|r| count_change(r, 1)));
    writes.extend(
        before
            .iter()
            .filter(|b| !after.iter().any(|r| r.key == b.key))
            .map(|r| count_change(r, -1)),
    );
    match app.table.transact(writes).await {
        Ok(()) => {
            R::after_write(&app, &id).await;
            Ok(answer::<R>(StatusCode::OK, &updated, now.date()))
        }
        Err(StoreError::TransactionCanceled { failed }) => {
            Err(cancellation::<R>(&failed, renames, first_reference, &added))
        }
        Err(e) => Err(e.into()),
    }
}

/// Refused while the record is in use (see [`Record::IN_USE_COUNT`]).
pub async fn delete<R: Record>(
    axum::extract::State(app): axum::extract::State<App>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let Some(item) = app.table.get(&key::<R>(&id)).await? else {
        return Err(not_found::<R>());
    };
    let current = from_item::<R>(item.clone())?;
    let unused = Condition::AttrNotExists(R::IN_USE_COUNT.into()).or(Condition::compare(
        R::IN_USE_COUNT,
        Cmp::Le,
        0,
    ));
    let mut writes = vec![Write::delete(key::<R>(&id)).when(Condition::Exists.and(unused))];
    if R::UNIQUE_NAMES {
        writes.push(Write::delete(name_claim::<R>(R::name(&current.fields))));
    }
    writes.extend(
        R::references(&current.fields)
            .iter()
            .map(|r| count_change(r, -1)),
    );
    writes.extend(R::deletion_writes(
        &id,
        &item,
        app.clock.now().unix_timestamp(),
    ));
    match app.table.transact(writes).await {
        Ok(()) => {
            // The index and the carts holding the record: neither waits for the other.
            let ((), withdrawn) =
                tokio::join!(R::after_write(&app, &id), R::after_delete(&app, &current));
            withdrawn?;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::conflict(
            "in_use",
            format!("This {} cannot be deleted: {}", R::KIND, R::IN_USE_REASON),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::merge;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"name": "Ana", "bio": "x", "nested": {"a": 1, "b": 2}});
        merge(
            &mut target,
            &json!({"bio": null, "nested": {"b": null, "c": 3}, "name": "Bo"}),
        );
        assert_eq!(target, json!({"name": "Bo", "nested": {"a": 1, "c": 3}}));
        // A null for a member that is not there is kept, for the reader to refuse.
        let mut target = json!({"name": "Ana"});
        merge(&mut target, &json!({"unknown": null}));
        assert_eq!(target, json!({"name": "Ana", "unknown": null}));
        let mut list = json!({"screens": [1, 2]});
        merge(&mut list, &json!({"screens": [3]}));
        assert_eq!(list, json!({"screens": [3]}));
    }
}
