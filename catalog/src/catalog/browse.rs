//! movies-list (and the favourites list): every filter and sort, combined, with cursors,
//! over the index kept by [`super::index`]. A page costs a bounded number of items read,
//! whatever the catalogue's size:
//!
//! | request | access path | items read per page |
//! |---|---|---|
//! | no filter, any sort | the entries of `SHELF#ALL` in the sort's order, then their cards together | `limit` + 1 entries, `limit` cards |
//! | actor, director, producer, genre or certification (one or more), any sort | the shelf of the first of those, in that order; the others filter the cards read | as above with one facet; at most [`READ_BUDGET`] entries and cards otherwise |
//! | price range with sort=price, years with sort=release_date, rating_min with sort=rating | a key condition on the shelf's entries | as above |
//! | any other range | filters the cards read | at most [`READ_BUDGET`] |
//! | `q` whose longest word (2+ letters) starts at most [`CANDIDATE_LIMIT`] indexed words | the word index `TERMS#<first two letters>` by prefix, then the cards of the movies found (one batch read), filtered and sorted in memory | at most 2 × [`CANDIDATE_LIMIT`] |
//! | `q` that is broader, or one letter | the shelf the filters pick (`SHELF#ALL` without a facet), the words (on the cards) and any other filters filtering the cards read | at most [`READ_BUDGET`] |
//! | `q` of no letter or digit (a blank `q` is no search) | none: nothing matches | 0 |
//! | favourites (at most [`crate::engagement::favorites::MAX_FAVORITES`] a user) | the user's favourites, then their cards, in memory | at most 2 × that |
//!
//! When filtering leaves a page short after [`READ_BUDGET`] entries, the page ends there
//! with a cursor: fewer items, never more cost. A cursor is the sort key of the last entry
//! examined, so it continues exactly, whichever path the next page takes.

use super::index::{self, CardFacts, Sort, TIE, shelf_pk};
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use marquee_core::app::App;
use marquee_core::http::pagination::{Page, page_limit};
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Query, validate};
use marquee_core::store::{self, Item, Key, SortKey, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// Shelf entries (each with its card) one page may examine when filters discard some.
pub const READ_BUDGET: u32 = 200;
/// Word-index entries a search term may match and still be answered from them alone.
pub const CANDIDATE_LIMIT: u32 = 300;
/// Search terms a query may hold.
const MAX_TERMS: usize = 8;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BrowseQuery {
    /// A genre id.
    pub genre: Option<String>,
    /// An actor id.
    pub actor: Option<String>,
    /// A director id.
    pub director: Option<String>,
    /// A producer id.
    pub producer: Option<String>,
    /// Released in or after this year.
    pub year_from: Option<i32>,
    /// Released in or before this year.
    pub year_to: Option<i32>,
    /// Minor units, inclusive.
    pub price_min: Option<i64>,
    /// Minor units, inclusive.
    pub price_max: Option<i64>,
    /// Average rating at least this (0 to 10); unrated movies have none.
    pub rating_min: Option<f64>,
    /// E.g. `PG-13`, case-insensitive.
    pub certification: Option<String>,
    /// Words; each must start a word of the title, description or a credited name. A
    /// search of no letter or digit (`!!!`) matches nothing.
    pub q: Option<String>,
    /// `title`, `price`, `release_date`, `rating` or `popularity` (default); `-price` descends.
    /// Popularity and rating order in steps: a movie moves once its popularity is a tenth
    /// (at least 1) from where it stands, or its average rating a tenth of a point; the
    /// counts each card shows are exact.
    pub sort: Option<String>,
    /// `asc` or `desc`; by default titles and prices ascend, the others descend.
    pub order: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// What a card must satisfy.
#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub genre: Option<String>,
    pub actor: Option<String>,
    pub director: Option<String>,
    pub producer: Option<String>,
    pub year_from: Option<i32>,
    pub year_to: Option<i32>,
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    /// In hundredths, as cards keep it.
    pub rating_min: Option<i64>,
    /// Upper-cased.
    pub certification: Option<String>,
    /// Folded words.
    pub terms: Vec<String>,
    /// A search for what no word starts with (punctuation, symbols): nothing matches it.
    pub searches_no_word: bool,
}

/// Order, size and position of a page.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sort: Sort,
    pub descending: bool,
    pub limit: u32,
    /// The sort key of the last item already examined.
    pub after: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: Sort,
    d: bool,
    k: String,
}

fn encode_cursor(plan: &Plan, key: &str) -> String {
    let cursor = Cursor {
        s: plan.sort,
        d: plan.descending,
        k: key.to_string(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

fn decode_cursor(raw: &str, sort: Sort, descending: bool) -> Result<String, Problem> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Cursor>(&bytes).ok())
        .filter(|c| c.s == sort && c.d == descending && c.k.contains(TIE))
        .map(|c| c.k)
        .ok_or_else(|| StoreError::InvalidCursor.into())
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

fn id_filter(value: Option<String>, name: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value.map(|v| v.trim().to_string());
    if value
        .as_ref()
        .is_some_and(|v| v.is_empty() || v.len() > 40 || v.contains('#'))
    {
        errors.push(field(name, "must be an id"));
    }
    value
}

/// Checks and normalises the query of a list: 400 `invalid_query` naming every bad
/// parameter.
pub fn parse(mut query: BrowseQuery) -> Result<(Filters, Plan), Problem> {
    let mut errors = Vec::new();
    let limit = page_limit(query.limit);
    if let Err(problem) = &limit {
        errors.extend(problem.errors.clone());
    }
    let genre = id_filter(query.genre.take(), "genre", &mut errors);
    let actor = id_filter(query.actor.take(), "actor", &mut errors);
    let director = id_filter(query.director.take(), "director", &mut errors);
    let producer = id_filter(query.producer.take(), "producer", &mut errors);
    check_ranges(&query, &mut errors);
    let rating_min = match query.rating_min {
        Some(r) if !(0.0..=10.0).contains(&r) => {
            errors.push(field("rating_min", "must be 0 to 10"));
            None
        }
        Some(r) => Some((r * 100.0 - 1e-6).ceil() as i64),
        None => None,
    };
    let certification = query
        .certification
        .map(|c| c.trim().to_uppercase())
        .filter(|c| !c.is_empty());
    if certification
        .as_ref()
        .is_some_and(|c| c.chars().count() > 10)
    {
        errors.push(field("certification", "at most 10 characters"));
    }
    let q = query.q.unwrap_or_default();
    let terms: Vec<String> = super::text::words(&q).collect();
    if q.chars().count() > 200 || terms.len() > MAX_TERMS {
        errors.push(field(
            "q",
            format!("at most {MAX_TERMS} words and 200 characters"),
        ));
    }
    let order = order_of(query.sort, query.order.as_deref(), &mut errors);
    validate::finish_query(errors)?;
    let (sort, descending) = order.unwrap_or((Sort::Popularity, false));
    let after = query
        .cursor
        .map(|raw| decode_cursor(&raw, sort, descending))
        .transpose()?;
    Ok((
        Filters {
            genre,
            actor,
            director,
            producer,
            year_from: query.year_from,
            year_to: query.year_to,
            price_min: query.price_min,
            price_max: query.price_max,
            rating_min,
            certification,
            searches_no_word: terms.is_empty() && !q.trim().is_empty(),
            terms,
        },
        Plan {
            sort,
            descending,
            limit: limit?,
            after,
        },
    ))
}

/// The years' and prices' bounds, each in range and the pair in order.
fn check_ranges(query: &BrowseQuery, errors: &mut Vec<FieldError>) {
    for (name, year) in [("year_from", query.year_from), ("year_to", query.year_to)] {
        if year.is_some_and(|y| !(1888..=9999).contains(&y)) {
            errors.push(field(name, "must be a year from 1888"));
        }
    }
    if let (Some(from), Some(to)) = (query.year_from, query.year_to)
        && from > to
    {
        errors.push(field("year_to", "must not be before year_from"));
    }
    for (name, price) in [
        ("price_min", query.price_min),
        ("price_max", query.price_max),
    ] {
        if price.is_some_and(|p| p < 0) {
            errors.push(field(name, "must not be negative"));
        }
    }
    if let (Some(min), Some(max)) = (query.price_min, query.price_max)
        && min > max
    {
        errors.push(field("price_max", "must not be below price_min"));
    }
}

/// The sort and its direction, from `sort` (`-` before it descends) and `order`, which
/// must agree; `None` when either is bad (the error pushed).
fn order_of(
    sort: Option<String>,
    order: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<(Sort, bool)> {
    let sort_text = sort.unwrap_or_else(|| "popularity".into());
    let (sort_name, minus) = match sort_text.strip_prefix('-') {
        Some(name) => (name, true),
        None => (sort_text.as_str(), false),
    };
    let sort = Sort::parse(sort_name);
    if sort.is_none() {
        errors.push(field(
            "sort",
            "must be title, price, release_date, rating or popularity (- before it descends)",
        ));
    }
    let descending = match order {
        None => minus || sort.is_some_and(Sort::descending_by_default),
        Some("asc") if !minus => false,
        Some("desc") => true,
        _ => {
            errors.push(field("order", "must be asc or desc, and agree with sort"));
            return None;
        }
    };
    Some((sort?, descending))
}

impl Filters {
    /// Whether a card passes, from what the filters read of it: its facts, the card
    /// item's rating key and its search words.
    fn match_facts<'w>(
        &self,
        card: &CardFacts,
        rating_key: i64,
        words: impl Iterator<Item = &'w str> + Clone,
    ) -> bool {
        let has = |want: &Option<String>, ids: &[Cow<str>]| {
            want.as_ref().is_none_or(|id| ids.iter().any(|x| x == id))
        };
        let year: i32 = card
            .release_date
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(0);
        has(&self.genre, &card.genre_ids)
            && has(&self.actor, &card.actor_ids)
            && has(&self.director, &card.director_ids)
            && has(&self.producer, &card.producer_ids)
            && self.year_from.is_none_or(|from| year >= from)
            && self.year_to.is_none_or(|to| year <= to)
            && self.price_min.is_none_or(|min| card.price.amount >= min)
            && self.price_max.is_none_or(|max| card.price.amount <= max)
            && self
                .rating_min
                .is_none_or(|min| card.rating_count > 0 && rating_key >= min)
            && self
                .certification
                .as_ref()
                .is_none_or(|c| *c == card.certification)
            && self
                .terms
                .iter()
                .all(|t| words.clone().any(|w| w.starts_with(t.as_str())))
    }

    /// Whether a card item passes; its card, to show, if so.
    fn pick(&self, mut item: Item) -> Result<Option<Box<RawValue>>, StoreError> {
        let Some(card) = index::item_card(&mut item) else {
            return Err(StoreError::Malformed("a card item without its card".into()));
        };
        let card = card?;
        let (rating_key, words) = index::card_rating_and_words(&item);
        let passes = self.match_facts(&CardFacts::read(&card)?, rating_key, words);
        Ok(passes.then_some(card))
    }

    /// The shelf a page is read from: the narrowest facet the filters name (the others,
    /// the ranges and the search words filter the cards read).
    fn facet(&self) -> String {
        let named = [
            ("ACTOR", &self.actor),
            ("DIRECTOR", &self.director),
            ("PRODUCER", &self.producer),
            ("GENRE", &self.genre),
        ];
        named
            .into_iter()
            .find_map(|(kind, id)| id.as_ref().map(|id| format!("{kind}#{id}")))
            .or_else(|| self.certification.as_deref().map(index::cert_facet))
            .unwrap_or_else(|| index::ALL_FACET.into())
    }

    /// How many facet filters are set (one of them picks the shelf).
    fn facet_count(&self) -> usize {
        [
            self.actor.is_some(),
            self.director.is_some(),
            self.producer.is_some(),
            self.genre.is_some(),
            self.certification.is_some(),
        ]
        .into_iter()
        .filter(|set| *set)
        .count()
    }

    /// The inclusive bounds of the sort value that the filters imply for `sort`.
    fn range(&self, sort: Sort) -> (Option<String>, Option<String>) {
        // Just above every key with this value: the tie-breaker and ids sort below it.
        let through = |value: String| format!("{value}{}", char::from(TIE as u8 + 1));
        match sort {
            Sort::Price => (
                self.price_min.map(index::price_value),
                self.price_max.map(|p| through(index::price_value(p))),
            ),
            Sort::ReleaseDate => (
                self.year_from.map(|y| format!("{y:04}")),
                self.year_to.map(|y| format!("{y:04}-99")),
            ),
            Sort::Rating => (self.rating_min.map(|r| index::rating_value(r.max(1))), None),
            Sort::Title | Sort::Popularity => (None, None),
        }
    }

    /// Whether cards read from the shelf may fail the filters (so reads go beyond `limit`).
    fn filters_beyond(&self, sort: Sort) -> bool {
        let ranged = |set: bool, own: Sort| set && sort != own;
        self.facet_count() > 1
            || !self.terms.is_empty()
            || ranged(
                self.year_from.is_some() || self.year_to.is_some(),
                Sort::ReleaseDate,
            )
            || ranged(
                self.price_min.is_some() || self.price_max.is_some(),
                Sort::Price,
            )
            || ranged(self.rating_min.is_some(), Sort::Rating)
    }

    /// The word the word index is asked about: the longest, as the most selective.
    fn search_word(&self) -> Option<&str> {
        self.terms
            .iter()
            .filter(|t| t.chars().count() >= 2)
            .max_by_key(|t| t.chars().count())
            .map(String::as_str)
    }
}

/// The one page of a list that nothing can match, read without a call.
fn no_match() -> Page<Box<RawValue>> {
    Page {
        items: Vec::new(),
        next_cursor: None,
    }
}

/// One page of the catalogue.
pub async fn browse(
    app: &App,
    filters: &Filters,
    plan: &Plan,
) -> Result<Page<Box<RawValue>>, Problem> {
    if filters.searches_no_word {
        return Ok(no_match());
    }
    if let Some(word) = filters.search_word() {
        let found = app
            .table
            .query(
                &store::Query::partition(index::terms_pk(word))
                    .sort_key(SortKey::BeginsWith(word.to_string()))
                    .limit(CANDIDATE_LIMIT),
            )
            .await?;
        if found.next_cursor.is_none() {
            let mut ids: Vec<String> = found
                .items
                .iter()
                .filter_map(|item| index::term_movie(item).map(str::to_string))
                .collect();
            ids.sort();
            ids.dedup();
            return from_candidates(app, filters, plan, &ids).await;
        }
    }
    from_shelf(app, filters, plan).await
}

/// A page from a bounded set of movies, filtered and sorted in memory: their cards in one
/// batch read, each filtered on its facts and ordered by its key in the sort's order, so
/// that no card is decoded whole.
pub async fn from_candidates(
    app: &App,
    filters: &Filters,
    plan: &Plan,
    ids: &[String],
) -> Result<Page<Box<RawValue>>, Problem> {
    if filters.searches_no_word {
        return Ok(no_match());
    }
    let past_cursor = |key: &str| match &plan.after {
        None => true,
        Some(after) if plan.descending => key < after.as_str(),
        Some(after) => key > after.as_str(),
    };
    let keys: Vec<Key> = ids.iter().map(|id| index::card_key(id)).collect();
    let mut keyed: Vec<(String, Box<RawValue>)> = Vec::with_capacity(keys.len());
    for item in app.table.batch_get_eventual(&keys).await? {
        let Some(key) = index::item_sort_key(&item, plan.sort).map(str::to_string) else {
            continue;
        };
        if !past_cursor(&key) {
            continue;
        }
        if let Some(card) = filters.pick(item)? {
            keyed.push((key, card));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if plan.descending {
        keyed.reverse();
    }
    let more = keyed.len() > plan.limit as usize;
    keyed.truncate(plan.limit as usize);
    let next_cursor = more
        .then(|| keyed.last().map(|(key, _)| encode_cursor(plan, key)))
        .flatten();
    Ok(Page {
        items: keyed.into_iter().map(|(_, card)| card).collect(),
        next_cursor,
    })
}

/// A page read in order from one shelf's entries, with the cards they stand for read
/// together, filtered, within [`READ_BUDGET`].
async fn from_shelf(
    app: &App,
    filters: &Filters,
    plan: &Plan,
) -> Result<Page<Box<RawValue>>, Problem> {
    let (mut low, mut high) = filters.range(plan.sort);
    if let Some(after) = &plan.after {
        let bound = if plan.descending { &mut high } else { &mut low };
        let tighter = match bound.take() {
            Some(b) if plan.descending => b.min(after.clone()),
            Some(b) => b.max(after.clone()),
            None => after.clone(),
        };
        *bound = Some(tighter);
    }
    let condition = match (low, high) {
        (Some(l), Some(h)) if l > h => return Ok(no_match()),
        (Some(l), Some(h)) => Some(SortKey::Between(l, h)),
        (Some(l), None) => Some(SortKey::Ge(l)),
        (None, Some(h)) => Some(SortKey::Le(h)),
        (None, None) => None,
    };
    let filtered = filters.filters_beyond(plan.sort);
    let chunk = if filtered {
        READ_BUDGET.min(100)
    } else {
        // One more than the page, so a full last page is known to be the last.
        plan.limit + 1
    };
    let mut query = store::Query::partition(shelf_pk(&filters.facet(), plan.sort))
        .limit(chunk)
        .attributes(&[]);
    query.sk = condition;
    if plan.descending {
        query = query.descending();
    }
    let mut items = Vec::new();
    let mut read = 0u32;
    let mut last_examined: Option<String> = None;
    loop {
        let page = app.table.query(&query).await?;
        let keys: Vec<String> = page
            .items
            .iter()
            .filter_map(|item| Key::of(item).map(|key| key.sk))
            .filter(|key| plan.after.as_deref() != Some(key.as_str()))
            .collect();
        let mut cards = HashMap::new();
        let mut fetched = 0;
        for (at, key) in keys.iter().enumerate() {
            if items.len() == plan.limit as usize {
                // A further entry exists: the page is full and the next one starts here.
                let cursor = last_examined.map(|k| encode_cursor(plan, &k));
                return Ok(Page {
                    items,
                    next_cursor: cursor,
                });
            }
            if at == fetched {
                // The cards of the entries still to examine, together: with no filter
                // left, only as many as the page still needs (an entry past a full page
                // only says that a next page exists).
                let wanted = if filtered {
                    keys.len() - at
                } else {
                    (plan.limit as usize - items.len()).min(keys.len() - at)
                };
                let card_keys: Vec<Key> = keys[at..at + wanted]
                    .iter()
                    .filter_map(|key| index::entry_movie(key).map(index::card_key))
                    .collect();
                cards = store::batch_get_eventual_by_key(app.table.as_ref(), card_keys).await?;
                fetched = at + wanted;
            }
            read += 1;
            // An entry without its card is of a movie being removed: its projection takes
            // the entry away too.
            let card = index::entry_movie(key)
                .and_then(|id| cards.remove(&index::card_key(id)))
                .map(|item| filters.pick(item))
                .transpose()?
                .flatten();
            items.extend(card);
            last_examined = Some(key.clone());
        }
        let exhausted = page.next_cursor.is_none();
        if exhausted {
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
        if read >= READ_BUDGET {
            let cursor = last_examined.map(|k| encode_cursor(plan, &k));
            return Ok(Page {
                items,
                next_cursor: cursor,
            });
        }
        query = query
            .limit(chunk.min(READ_BUDGET - read).max(1))
            .after(page.next_cursor);
    }
}

/// `GET /movies`.
pub async fn list(
    State(app): State<App>,
    Query(query): Query<BrowseQuery>,
) -> Result<axum::Json<Page<Box<RawValue>>>, Problem> {
    let (filters, plan) = parse(query)?;
    Ok(axum::Json(browse(&app, &filters, &plan).await?))
}
