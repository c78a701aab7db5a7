//! The browse and search index of the movies, derived from each movie record.
//!
//! A movie's [`Card`] (what lists show, with its search words and its key in each order)
//! is kept once, in its card item ([`card_key`]). The movie stands on one *shelf* per facet
//! it has (all movies, its certification, each genre, each credited person), in each of
//! the five orders ([`Sort`]): a shelf in one order is a partition ([`shelf_pk`]) whose
//! entries hold nothing but their sort key, the movie's value in that order and its id.
//! A page reads its shelf's entries in order, then the cards they stand for together. The
//! word index holds one item per distinct folded word of the title, description and
//! people names: `TERMS#<first two letters>` / `<word>#<movie id>`, read by word prefix.
//!
//! So a like rewrites the one card, which shows the exact counts. The popularity and
//! rating orders move in steps: a movie's entries stay where they stand until its
//! popularity is a tenth away from their value (at least 1), or its average rating a tenth
//! of a point ([`ranked_sort_key`]). So a click on a popular movie moves none of them,
//! and a click on one few viewers touched moves its popularity entry on each shelf (a
//! delete and a put of a few dozen bytes). An edit of what a card shows rewrites the card,
//! and moves entries only in the orders whose value changed.
//!
//! The index is rewritten by [`project`], never by the click that changed a counter.
//! Every change to a movie (an edit, a like, a rating, a purchase) marks its record on
//! GSI2 (the to-index list, [`to_index_pk`]); edits project at once, engagement when the
//! table's stream brings the change to the stream indexer ([`stream_filter`],
//! [`project_if_awaiting`]), a burst of clicks in one batch; the [`project_marked`] sweep
//! reconciles the rest.
//! The movie's index state ([`state_key`], an item of its own, so that clicks do not carry
//! it) keeps what names every item the last projection wrote, and the card's digest
//! ([`Shelving`]), so the next projection deletes exactly what no longer applies and
//! writes only the items whose content changed. A short lease on the state keeps two
//! projections of one movie from interleaving. A deleted movie leaves a tombstone until
//! the projection has removed what its state names.

use super::genres::Genre;
use super::movies::{Movie, MovieInput, Named, Price};
use super::people::{Actor, Director, Producer};
use super::records::{self, Record, Stored};
use super::text;
use marquee_core::app::App;
use marquee_core::store::{
    Cmp, Condition, Index, Item, Key, MAX_QUERY_LIMIT, Query, StoreError, Update, Write,
    entity_item, from_entity_item,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the GSI2 partitions of movies whose index is behind their record begin with.
pub const TO_INDEX: &str = "MOVIES_TO_INDEX";
/// How many partitions the to-index list is spread over. Every click rewrites its movie's
/// entry on the list; on one partition key, the clicks on the whole catalogue would share
/// that key's 1,000 write units a second.
pub const TO_INDEX_PARTITIONS: u32 = 16;
/// How long a projection may hold a movie before another may take over.
const LEASE_MS: i64 = 30_000;
/// The lease, on the movie's index state: until when (epoch ms) a projection holds the
/// movie. (Records projected before the state had its own item carry one too, removed by
/// their next projection.)
const LEASE: &str = "indexing_until";
/// What records projected before the state had its own item still carry, removed by their
/// next projection.
const RECORD_LEFTOVERS: [&str; 3] = ["indexed", LEASE, "failed_projections"];

/// The exact counters kept on a movie record by engagement and commerce.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counters {
    #[serde(default)]
    pub likes: i64,
    #[serde(default)]
    pub dislikes: i64,
    #[serde(default)]
    pub rating_sum: i64,
    #[serde(default)]
    pub rating_count: i64,
    #[serde(default)]
    pub favorites: i64,
    #[serde(default)]
    pub purchase_count: i64,
    #[serde(default)]
    pub comment_count: i64,
}

impl Counters {
    /// The counters on a movie record (read in place: a record is larger than its counts).
    pub fn read(item: &Item) -> Self {
        let count = |name: &str| item.get(name).and_then(Value::as_i64).unwrap_or(0);
        Self {
            likes: count("likes"),
            dislikes: count("dislikes"),
            rating_sum: count("rating_sum"),
            rating_count: count("rating_count"),
            favorites: count("favorites"),
            purchase_count: count("purchase_count"),
            comment_count: count("comment_count"),
        }
    }

    /// Popularity: what viewers did with the movie, purchases weighing most.
    /// likes − dislikes + ratings + 2 × favourites + 5 × purchases.
    pub fn popularity(&self) -> i64 {
        self.likes - self.dislikes
            + self.rating_count
            + 2 * self.favorites
            + 5 * self.purchase_count
    }

    /// The average score in hundredths (`None` when nobody rated), rounded half up.
    pub fn rating_hundredths(&self) -> Option<i64> {
        (self.rating_count > 0)
            .then(|| (self.rating_sum * 200 + self.rating_count) / (2 * self.rating_count))
    }

    pub fn rating_average(&self) -> Option<f64> {
        self.rating_hundredths().map(|h| h as f64 / 100.0)
    }
}

/// A movie as lists show it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Card {
    pub id: String,
    pub title: String,
    pub release_date: String,
    pub duration_min: u16,
    pub certification: String,
    pub price: Price,
    pub available: bool,
    pub genre_ids: Vec<String>,
    pub actor_ids: Vec<String>,
    pub director_ids: Vec<String>,
    pub producer_ids: Vec<String>,
    /// The genres, named, so a list can show them without reading them.
    #[serde(default)]
    pub genres: Vec<Named>,
    /// The directors, named.
    #[serde(default)]
    pub directors: Vec<Named>,
    /// The first actors credited (at most [`CAST_ON_CARD`]), named. (Cards stored before
    /// the member was named `actors` say `cast`.)
    #[serde(default, alias = "cast")]
    pub actors: Vec<Named>,
    pub likes: i64,
    pub dislikes: i64,
    pub rating_average: Option<f64>,
    pub rating_count: i64,
    pub popularity: i64,
}

/// A movie as its card item holds it: the card and the folded words a search term is
/// matched against.
#[derive(Debug, Clone)]
pub struct Shelved {
    pub card: Card,
    /// The card as list pages send it: serialised once, when the movie is projected, and
    /// copied into every page as it is.
    pub card_json: Box<RawValue>,
    /// Hundredths of the average rating, 0 when unrated.
    pub rating_key: i64,
    pub words: Vec<String>,
}

/// What the filters read of a card, borrowed from its text: filtering the cards a page
/// reads decodes no names and copies no strings.
#[derive(Deserialize)]
pub struct CardFacts<'a> {
    #[serde(borrow)]
    pub release_date: Cow<'a, str>,
    #[serde(borrow)]
    pub certification: Cow<'a, str>,
    pub price: PriceAmount,
    #[serde(borrow)]
    pub genre_ids: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub actor_ids: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub director_ids: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub producer_ids: Vec<Cow<'a, str>>,
    pub rating_count: i64,
}

/// The part of a card's price the filters read.
#[derive(Deserialize)]
pub struct PriceAmount {
    pub amount: i64,
}

impl<'a> CardFacts<'a> {
    /// The facts of a serialised card.
    pub fn read(card: &'a RawValue) -> Result<Self, StoreError> {
        serde_json::from_str(card.get()).map_err(malformed_card)
    }
}

/// A movie's card item's own attributes, besides its keys: all that lists show of the
/// movie and filter it by, in one place.
#[derive(Serialize, Deserialize)]
struct CardFields {
    /// [`Shelved::card_json`].
    card: String,
    rating_key: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    words: Vec<String>,
    /// The movie's key in each order of its shelves (see [`Shelved::sort_key`]), by sort
    /// name: what a page of candidates is ordered by, and where its shelf entries stand.
    #[serde(default)]
    sort_keys: BTreeMap<String, String>,
}

/// The attribute that holds a card item's serialised card.
pub const CARD: &str = "card";
/// The card item attributes beside the card that the filters read (as [`CardFields`]
/// names them).
const RATING_KEY: &str = "rating_key";
const WORDS: &str = "words";

/// How many actors a card names.
pub const CAST_ON_CARD: usize = 5;

/// The names of what a movie credits (genres and people), read once per projection.
#[derive(Debug, Default)]
pub struct Credits {
    names: HashMap<Key, String>,
}

impl Credits {
    /// The names of the records at `keys`, in one batch read.
    pub async fn read(app: &App, keys: &[Key]) -> Result<Self, StoreError> {
        let mut credits = Credits::default();
        for item in app.table.batch_get(keys).await? {
            if let (Some(key), Some(name)) = (
                Key::of(&item),
                item.get("fields")
                    .and_then(|f| f.get("name"))
                    .and_then(Value::as_str),
            ) {
                credits.names.insert(key, name.trim().to_string());
            }
        }
        Ok(credits)
    }

    fn named<R: Record>(&self, ids: &[String]) -> Vec<Named> {
        ids.iter()
            .filter_map(|id| {
                Some(Named {
                    id: id.clone(),
                    name: self.names.get(&records::key::<R>(id))?.clone(),
                })
            })
            .collect()
    }

    /// The people's names, which search matches.
    fn people(&self, movie: &MovieInput) -> Vec<String> {
        let keys = people_keys(movie);
        keys.filter_map(|k| self.names.get(&k).cloned()).collect()
    }
}

/// The orders a shelf can be read in, one partition each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    Title,
    Price,
    ReleaseDate,
    Rating,
    Popularity,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Title,
        Sort::Price,
        Sort::ReleaseDate,
        Sort::Rating,
        Sort::Popularity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sort::Title => "title",
            Sort::Price => "price",
            Sort::ReleaseDate => "release_date",
            Sort::Rating => "rating",
            Sort::Popularity => "popularity",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The order a sort is read in when the caller names none.
    pub fn descending_by_default(self) -> bool {
        matches!(self, Sort::ReleaseDate | Sort::Rating | Sort::Popularity)
    }
}

/// Separates a sort value from the movie id that breaks ties: below every character a
/// folded title holds, so the key orders exactly as (value, id).
pub const TIE: char = '\u{1}';

/// Offsets popularity (which may be negative) into a fixed-width non-negative number.
const POPULARITY_OFFSET: i64 = 1_000_000_000;

pub fn title_value(title: &str) -> String {
    text::words(title).collect::<Vec<_>>().join(" ")
}

pub fn price_value(amount: i64) -> String {
    format!("{:010}", amount.max(0))
}

pub fn rating_value(hundredths: i64) -> String {
    format!("{:04}", hundredths.clamp(0, 1000))
}

pub fn popularity_value(popularity: i64) -> String {
    format!(
        "{:010}",
        (popularity + POPULARITY_OFFSET).clamp(0, 2 * POPULARITY_OFFSET)
    )
}

impl Shelved {
    /// The sort value of this card under `sort`, without the tie-breaker.
    pub fn sort_value(&self, sort: Sort) -> String {
        match sort {
            Sort::Title => title_value(&self.card.title),
            Sort::Price => price_value(self.card.price.amount),
            Sort::ReleaseDate => self.card.release_date.clone(),
            Sort::Rating => rating_value(self.rating_key),
            Sort::Popularity => popularity_value(self.card.popularity),
        }
    }

    /// The full sort key: unique, ordered as (value, id).
    pub fn sort_key(&self, sort: Sort) -> String {
        format!("{}{TIE}{}", self.sort_value(sort), self.card.id)
    }
}

/// The facet every movie is shelved under.
pub const ALL_FACET: &str = "ALL";

/// The partition of a shelf in one order: its entries' sort keys are the movies' keys in
/// that order ([`Shelved::sort_key`]).
pub fn shelf_pk(facet: &str, sort: Sort) -> String {
    format!("SHELF#{facet}#{}", sort.name())
}

/// Where a movie's card is kept, once.
pub fn card_key(movie_id: &str) -> Key {
    Key::new(format!("CARD#{movie_id}"), "CARD")
}

/// The movie a shelf entry stands for: the id after the tie-breaker of its sort key.
pub fn entry_movie(sort_key: &str) -> Option<&str> {
    sort_key.rsplit_once(TIE).map(|(_, id)| id)
}

/// The movie a shelf entry item (as a query of a shelf returns it) stands for.
pub fn entry_item_movie(item: &Item) -> Option<String> {
    Key::of(item).and_then(|key| entry_movie(&key.sk).map(str::to_string))
}

/// The facets a movie is shelved under.
fn facets(movie: &MovieInput) -> Vec<String> {
    let mut facets = vec![ALL_FACET.to_string(), cert_facet(&movie.certification)];
    let named = [
        ("GENRE", &movie.genre_ids),
        ("ACTOR", &movie.actor_ids),
        ("DIRECTOR", &movie.director_ids),
        ("PRODUCER", &movie.producer_ids),
    ];
    for (kind, ids) in named {
        facets.extend(ids.iter().map(|id| format!("{kind}#{id}")));
    }
    facets
}

pub fn cert_facet(certification: &str) -> String {
    format!("CERT#{}", certification.trim().to_uppercase())
}

pub fn terms_pk(word: &str) -> String {
    let bucket: String = word.chars().take(2).collect();
    format!("TERMS#{bucket}")
}

fn term_key(word: &str, movie_id: &str) -> Key {
    Key::new(terms_pk(word), format!("{word}#{movie_id}"))
}

/// The shelved form of a movie, with the names of the people it credits.
pub fn shelve(movie: &Stored<MovieInput>, counters: &Counters, credits: &Credits) -> Shelved {
    let f = &movie.fields;
    let mut words = BTreeSet::new();
    let people = credits.people(f);
    for text_part in [f.title.as_str(), f.description.as_str()]
        .into_iter()
        .chain(people.iter().map(String::as_str))
    {
        words.extend(text::words(text_part));
    }
    let card = Card {
        id: movie.id.clone(),
        title: f.title.trim().to_string(),
        release_date: f.release_date.clone(),
        duration_min: f.duration_min,
        certification: f.certification.trim().to_uppercase(),
        price: f.price.clone(),
        available: f.available,
        genre_ids: f.genre_ids.clone(),
        actor_ids: f.actor_ids.clone(),
        director_ids: f.director_ids.clone(),
        producer_ids: f.producer_ids.clone(),
        genres: credits.named::<Genre>(&f.genre_ids),
        directors: credits.named::<Director>(&f.director_ids),
        actors: credits.named::<Actor>(&f.actor_ids[..f.actor_ids.len().min(CAST_ON_CARD)]),
        likes: counters.likes,
        dislikes: counters.dislikes,
        rating_average: counters.rating_average(),
        rating_count: counters.rating_count,
        popularity: counters.popularity(),
    };
    Shelved {
        card_json: serde_json::value::to_raw_value(&card)
            .expect("a card serialises: it is plain data"),
        card,
        rating_key: counters.rating_hundredths().unwrap_or(0),
        words: words.into_iter().collect(),
    }
}

/// What a projection wrote, as the movie's index state keeps it (`shelved`): the inputs
/// that name every key it wrote (each entry, the card, each word) and the card's digest,
/// a few hundred bytes where a key and a digest per item would take several KB, and be
/// rewritten with every like.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Shelving {
    /// The digest of the card item written.
    card: String,
    facets: Vec<String>,
    /// The movie's key in each order, by sort name.
    sort_keys: BTreeMap<String, String>,
    words: Vec<String>,
}

/// The attribute of the index state that holds its [`Shelving`].
const SHELVING: &str = "shelved";

fn shelving_value(shelving: &Shelving) -> Value {
    serde_json::to_value(shelving).expect("a shelving serialises: it is plain data")
}

fn entry_item(key: &Key) -> Item {
    entity_item("shelf", key, &serde_json::json!({}))
}

fn term_item(word: &str, movie_id: &str) -> Item {
    entity_item(
        "term",
        &term_key(word, movie_id),
        &serde_json::json!({ "movie_id": movie_id }),
    )
}

impl Shelving {
    fn entry_keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.facets.iter().flat_map(move |facet| {
            Sort::ALL.into_iter().filter_map(move |sort| {
                let key = self.sort_keys.get(sort.name())?;
                Some(Key::new(shelf_pk(facet, sort), key.clone()))
            })
        })
    }

    /// Every key written, with the digest of the item there (the card's; entries and
    /// words hold what their key says, [`FOLLOWS_FROM_KEY`]).
    fn written(&self, movie_id: &str) -> HashMap<Key, Option<String>> {
        let follows = || Some(FOLLOWS_FROM_KEY.to_string());
        let mut written: HashMap<Key, Option<String>> =
            self.entry_keys().map(|key| (key, follows())).collect();
        written.insert(card_key(movie_id), Some(self.card.clone()));
        for word in &self.words {
            written.insert(term_key(word, movie_id), follows());
        }
        written
    }

    fn read(item: &Item) -> Option<Self> {
        serde_json::from_value(item.get(SHELVING)?.clone()).ok()
    }
}

/// What stands for the digest of an item that holds nothing its key does not say (a
/// shelf entry, a word's item): once its key is written, it is up to date, so no
/// projection needs to hash it.
const FOLLOWS_FROM_KEY: &str = "key";

/// How far a movie's popularity may drift from the value its shelf entries stand at
/// before they move: a tenth of that value, and at least 1 (so the order of movies few
/// viewers touched is exact). Clicks on a popular movie rewrite its card, which shows the
/// exact counts, and move its entries on every shelf only once in so many clicks.
fn popularity_still_ranked(ranked: i64, popularity: i64) -> bool {
    (popularity - ranked).abs() < (ranked.abs() / 10).max(1)
}

/// How far a movie's average rating may drift from the value its shelf entries stand at
/// before they move: less than a tenth of a point (hundredths, 0 when unrated, so a first
/// rating always moves them).
fn rating_still_ranked(ranked: i64, hundredths: i64) -> bool {
    (hundredths - ranked).abs() < 10
}

/// Whether a movie's entries may stay at `ranked` (the number their popularity or rating
/// key stands for) in the order of `sort`.
fn still_ranked(sort: Sort, ranked: i64, shelved: &Shelved) -> bool {
    match sort {
        Sort::Popularity => popularity_still_ranked(ranked, shelved.card.popularity),
        Sort::Rating => rating_still_ranked(ranked, shelved.rating_key),
        Sort::Title | Sort::Price | Sort::ReleaseDate => false,
    }
}

/// The number a popularity or rating sort value stands for (none for the exact orders).
fn ranked_number(sort: Sort, value: &str) -> Option<i64> {
    let number: i64 = value.parse().ok()?;
    match sort {
        Sort::Popularity => Some(number - POPULARITY_OFFSET),
        Sort::Rating => Some(number),
        Sort::Title | Sort::Price | Sort::ReleaseDate => None,
    }
}

/// The movie's key in the order of `sort`, given the key its entries stand at now
/// (`ranked`, from its last projection): that key while the movie's popularity or rating
/// stays within its step of it ([`popularity_still_ranked`], [`rating_still_ranked`]),
/// else its exact key. The other orders are always exact.
fn ranked_sort_key(shelved: &Shelved, sort: Sort, ranked: Option<&str>) -> String {
    let standing = ranked.and_then(|key| {
        let (value, id) = key.rsplit_once(TIE)?;
        let number = ranked_number(sort, value)?;
        (id == shelved.card.id).then_some((key, number))
    });
    match standing {
        Some((key, number)) if still_ranked(sort, number, shelved) => key.to_string(),
        _ => shelved.sort_key(sort),
    }
}

/// Every index item of a movie, each with its digest: its card, one entry per shelf and
/// order (its key alone: a click that moves no key writes none of them), and its search
/// words; and what the index state keeps of them. `ranked` is what the movie's last
/// projection wrote, if any: its popularity and rating entries stay where they stand
/// while the movie stays within their step ([`ranked_sort_key`]).
fn index_items(
    movie: &Stored<MovieInput>,
    shelved: &Shelved,
    ranked: Option<&Shelving>,
) -> (Vec<(Item, String)>, Shelving) {
    let sort_keys: BTreeMap<String, String> = Sort::ALL
        .into_iter()
        .map(|sort| {
            let standing = ranked.and_then(|r| r.sort_keys.get(sort.name()));
            let key = ranked_sort_key(shelved, sort, standing.map(String::as_str));
            (sort.name().to_string(), key)
        })
        .collect();
    let fields = CardFields {
        card: shelved.card_json.get().to_string(),
        rating_key: shelved.rating_key,
        words: shelved.words.clone(),
        sort_keys: sort_keys.clone(),
    };
    let card = entity_item("card", &card_key(&movie.id), &fields);
    let shelving = Shelving {
        card: digest(&card),
        facets: facets(&movie.fields),
        sort_keys,
        words: shelved.words.clone(),
    };
    let follows = || FOLLOWS_FROM_KEY.to_string();
    let mut items: Vec<(Item, String)> = shelving
        .entry_keys()
        .map(|key| (entry_item(&key), follows()))
        .collect();
    items.push((card, shelving.card.clone()));
    items.extend(
        shelved
            .words
            .iter()
            .map(|word| (term_item(word, &movie.id), follows())),
    );
    (items, shelving)
}

fn keys_value(keys: &[Key]) -> Value {
    keys.iter()
        .map(|k| serde_json::json!([k.pk, k.sk]))
        .collect()
}

/// The keys a projection wrote, each with the digest of the item it wrote there
/// (`[pk, sk, digest]` in `indexed`; an entry written before digests were kept, or a
/// tombstone's, has none, so its item is written again).
fn indexed(item: &Item, movie_id: &str) -> HashMap<Key, Option<String>> {
    let mut written = Shelving::read(item)
        .map(|shelving| shelving.written(movie_id))
        .unwrap_or_default();
    written.extend(earlier_indexed(item));
    written
}

/// Every key a movie's index state names (what its last projection wrote), in order.
pub fn written_keys(state: &Item, movie_id: &str) -> Vec<Key> {
    let mut keys: Vec<Key> = indexed(state, movie_id).into_keys().collect();
    keys.sort();
    keys
}

/// The keys and digests kept one by one, as projections did before [`Shelving`].
fn earlier_indexed(item: &Item) -> HashMap<Key, Option<String>> {
    item.get("indexed")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    let key = Key::new(e.get(0)?.as_str()?, e.get(1)?.as_str()?);
                    Some((key, e.get(2).and_then(Value::as_str).map(str::to_string)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What an index item holds, in 16 hex digits: equal digests, equal items.
fn digest(item: &Item) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_vec(item).expect("an item serialises");
    marquee_core::secret::hex(&Sha256::digest(text)[..8])
}

/// How a projection left the record.
enum Finished {
    /// Indexed, and taken off the to-index list: nothing changed meanwhile.
    Unmarked,
    /// Indexed as it was read, but it changed (or went) meanwhile: project it again.
    Changed,
}

pub fn record_key(movie_id: &str) -> Key {
    records::key::<Movie>(movie_id)
}

pub fn tombstone_key(movie_id: &str) -> Key {
    Key::new(format!("{}#{movie_id}", Movie::PREFIX), "TOMBSTONE")
}

/// The movie's index state: the keys it is indexed under, each with the digest of the
/// item written there (`indexed`), and the lease of the projection under way. Apart from
/// the record, so that a click, which rewrites the record, does not carry it.
pub fn state_key(movie_id: &str) -> Key {
    Key::new(format!("{}#{movie_id}", Movie::PREFIX), "INDEX")
}

/// The to-index list's partition a movie is marked on: `MOVIES_TO_INDEX#00` to `#15`,
/// the same for a movie on every machine and in every release (FNV-1a of its id).
pub fn to_index_pk(movie_id: &str) -> String {
    let hash = movie_id.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    to_index_partition(hash % TO_INDEX_PARTITIONS)
}

fn to_index_partition(n: u32) -> String {
    format!("{TO_INDEX}#{n:02}")
}

/// Every partition of the to-index list, and the single one used before it was spread
/// (marks made then are still swept).
fn to_index_partitions() -> impl Iterator<Item = String> {
    std::iter::once(TO_INDEX.to_string()).chain((0..TO_INDEX_PARTITIONS).map(to_index_partition))
}

/// The attributes that put a movie record (or tombstone) on the to-index list.
pub fn mark(movie_id: &str) -> [(&'static str, String); 2] {
    [
        (Index::Gsi2.pk(), to_index_pk(movie_id)),
        (Index::Gsi2.sk(), movie_id.to_string()),
    ]
}

/// When the movie's index fell behind its record: the first change since its last
/// projection (seconds). A projection that catches up reports the wait as
/// [`Metric::ProjectionLagSeconds`](marquee_core::metrics::Metric).
pub const MARKED_AT: &str = "marked_at";

/// An update that marks the movie for the next projection, for writes that change a
/// counter at `now`: the record must exist.
pub fn marked(update: Update, movie_id: &str, now: i64) -> Write {
    let mut update = update.add("revision", 1).set_if_absent(MARKED_AT, now);
    for (attr, value) in mark(movie_id) {
        update = update.set(attr, value);
    }
    Write::update(record_key(movie_id), update).when(Condition::Exists)
}

/// The tombstone a deleted movie leaves, marked for the projection that removes what its
/// index state names (and, for a record projected before the state had its own item,
/// the keys the record kept).
pub fn tombstone(movie_id: &str, record: &Item) -> Write {
    let mut item = entity_item(
        "movie_tombstone",
        &tombstone_key(movie_id),
        &serde_json::json!({ "id": movie_id }),
    );
    item.insert(
        "indexed".into(),
        keys_value(&indexed(record, movie_id).into_keys().collect::<Vec<_>>()),
    );
    for (attr, value) in mark(movie_id) {
        item.insert(attr.into(), value.into());
    }
    Write::put(item)
}

async fn write_all(app: &App, writes: Vec<Write>) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Ok(());
    }
    app.table.batch_write(writes).await
}

async fn delete_keys(app: &App, keys: impl IntoIterator<Item = Key>) -> Result<(), StoreError> {
    write_all(app, keys.into_iter().map(Write::delete).collect()).await
}

/// The records of the people a movie credits: actors, directors, producers.
fn people_keys(movie: &MovieInput) -> impl Iterator<Item = Key> + '_ {
    let actors = movie.actor_ids.iter().map(|id| records::key::<Actor>(id));
    let directors = movie
        .director_ids
        .iter()
        .map(|id| records::key::<Director>(id));
    let producers = movie
        .producer_ids
        .iter()
        .map(|id| records::key::<Producer>(id));
    actors.chain(directors).chain(producers)
}

/// The names of the genres and people a movie credits, in one batch read.
async fn credits(app: &App, movie: &MovieInput) -> Result<Credits, StoreError> {
    let keys: Vec<Key> = movie
        .genre_ids
        .iter()
        .map(|id| records::key::<Genre>(id))
        .chain(people_keys(movie))
        .collect();
    Credits::read(app, &keys).await
}

/// A new movie as a projection would leave it, for the bulk seeder: its record item
/// (`record`, as the record feature made it) with its counters and off the to-index list,
/// its index state (what names its index items, [`Shelving`]), and those index items.
pub fn projected(
    movie: &Stored<MovieInput>,
    mut record: Item,
    counters: &Counters,
    credits: &Credits,
) -> (Item, Item, Vec<Item>) {
    let (items, shelving) = index_items(movie, &shelve(movie, counters, credits), None);
    for attr in [Index::Gsi2.pk(), Index::Gsi2.sk(), MARKED_AT] {
        record.remove(attr);
    }
    let counts = [
        ("likes", counters.likes),
        ("dislikes", counters.dislikes),
        ("rating_sum", counters.rating_sum),
        ("rating_count", counters.rating_count),
        ("favorites", counters.favorites),
    ];
    for (attr, count) in counts.into_iter().filter(|(_, n)| *n != 0) {
        record.insert(attr.into(), count.into());
    }
    let mut state = Item::new();
    let key = state_key(&movie.id);
    state.insert(marquee_core::store::schema::PK.into(), key.pk.into());
    state.insert(marquee_core::store::schema::SK.into(), key.sk.into());
    state.insert(SHELVING.into(), shelving_value(&shelving));
    (
        record,
        state,
        items.into_iter().map(|(item, _)| item).collect(),
    )
}

/// Brings a movie's index in line with its record (or removes it, once deleted).
/// Safe to repeat and to run concurrently; when another projection holds the movie, or the
/// movie keeps changing, the mark stays for the next sweep.
pub async fn project(app: &App, movie_id: &str) -> Result<(), StoreError> {
    project_from(app, movie_id, None).await
}

/// [`project`], starting from the record when the caller has just read it.
async fn project_from(app: &App, movie_id: &str, mut read: Option<Item>) -> Result<(), StoreError> {
    let key = record_key(movie_id);
    let state_key = state_key(movie_id);
    // Keys this call wrote: if the movie goes meanwhile, they are removed too.
    let mut written: BTreeSet<Key> = BTreeSet::new();
    for _ in 0..3 {
        let record = match read.take() {
            Some(record) => record,
            None => match app.table.get(&key).await? {
                Some(record) => record,
                None => return remove_deleted(app, movie_id, written).await,
            },
        };
        let now_ms = (app.clock.now().unix_timestamp_nanos() / 1_000_000) as i64;
        let lease_until = now_ms + LEASE_MS;
        let lease = Write::update(state_key.clone(), Update::new().set(LEASE, lease_until)).when(
            Condition::AttrNotExists(LEASE.into()).or(Condition::compare(LEASE, Cmp::Lt, now_ms)),
        );
        let movie = from_entity_item::<Stored<MovieInput>>(Movie::KIND, record.clone());
        // The names the movie credits are read while the lease is taken.
        let names = async {
            match &movie {
                Ok(movie) => credits(app, &movie.fields).await,
                Err(_) => Ok(Credits::default()),
            }
        };
        let (leased, names) = tokio::join!(app.table.write(lease), names);
        let state = match leased {
            Ok(marquee_core::store::Written::Updated(state)) => state,
            Ok(_) => Item::new(),
            Err(StoreError::ConditionFailed) => return Ok(()),
            Err(e) => return Err(e),
        };
        let projected = match (movie, names) {
            (Ok(movie), Ok(names)) => {
                write_index(app, &movie, &record, &state, &names, &mut written).await
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match projected {
            Ok(Finished::Unmarked) => return Ok(()),
            Ok(Finished::Changed) => continue,
            Err(e) => {
                // Free the movie at once, so the next sweep (or a retry of the stream's
                // batch) projects it instead of waiting out the lease. The state is not
                // on the stream's filter: a failure starts nothing by itself.
                let release = Write::update(state_key.clone(), Update::new().remove(LEASE))
                    .when(Condition::eq(LEASE, lease_until));
                if let Err(release_error) = app.table.write(release).await {
                    tracing::warn!(movie = movie_id, error = %release_error, "releasing a projection lease failed");
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Writes the movie's index items whose content changed and deletes those that no longer
/// apply; then keeps what names them in the movie's index state, releasing the lease,
/// and, when nothing changed meanwhile, takes the record off the to-index list.
async fn write_index(
    app: &App,
    movie: &Stored<MovieInput>,
    record: &Item,
    state: &Item,
    credits: &Credits,
    written: &mut BTreeSet<Key>,
) -> Result<Finished, StoreError> {
    let counters = Counters::read(record);
    let ranked = Shelving::read(state);
    let (items, shelving) = index_items(movie, &shelve(movie, &counters, credits), ranked.as_ref());
    // A record projected before the state had its own item kept its keys itself.
    let mut previous = indexed(state, &movie.id);
    if previous.is_empty() {
        previous = indexed(record, &movie.id);
    }
    let mut desired = BTreeSet::new();
    let mut writes = Vec::new();
    for (item, item_digest) in items {
        let Some(key) = Key::of(&item) else { continue };
        if previous.get(&key).and_then(Option::as_deref) != Some(item_digest.as_str()) {
            writes.push(Write::put(item));
        }
        desired.insert(key);
    }
    let stale: BTreeSet<Key> = previous
        .into_keys()
        .chain(written.iter().cloned())
        .filter(|k| !desired.contains(k))
        .collect();
    writes.extend(stale.into_iter().map(Write::delete));
    write_all(app, writes).await?;
    written.extend(desired);

    let saved = Update::new()
        .set(SHELVING, shelving_value(&shelving))
        .remove("indexed")
        .remove(LEASE);
    app.table
        .write(Write::update(state_key(&movie.id), saved))
        .await?;
    let unchanged = Condition::eq("version", movie.version).and(match record.get("revision") {
        Some(revision) => Condition::eq("revision", revision.clone()),
        None => Condition::AttrNotExists("revision".into()),
    });
    let mut done = Update::new()
        .remove(Index::Gsi2.pk())
        .remove(Index::Gsi2.sk())
        .remove(MARKED_AT);
    for leftover in RECORD_LEFTOVERS
        .into_iter()
        .filter(|a| record.contains_key(*a))
    {
        done = done.remove(leftover);
    }
    match app
        .table
        .write(Write::update(record_key(&movie.id), done).when(Condition::Exists.and(unchanged)))
        .await
    {
        Ok(_) => {
            if let Some(marked_at) = record.get(MARKED_AT).and_then(Value::as_i64) {
                let lag = app.clock.now().unix_timestamp() - marked_at;
                marquee_core::metrics::record(
                    marquee_core::metrics::Metric::ProjectionLagSeconds,
                    lag.max(0) as u64,
                );
            }
            Ok(Finished::Unmarked)
        }
        // Changed or gone meanwhile: the next round reads it again.
        Err(StoreError::ConditionFailed) => Ok(Finished::Changed),
        Err(e) => Err(e),
    }
}

async fn remove_deleted(
    app: &App,
    movie_id: &str,
    mut keys: BTreeSet<Key>,
) -> Result<(), StoreError> {
    let (tombstone_at, state_at) = (tombstone_key(movie_id), state_key(movie_id));
    let (tombstone, state) = tokio::join!(app.table.get(&tombstone_at), app.table.get(&state_at));
    let (tombstone, state) = (tombstone?, state?);
    for left in [&tombstone, &state].into_iter().flatten() {
        keys.extend(indexed(left, movie_id).into_keys());
    }
    delete_keys(app, keys).await?;
    // The tombstone last: while it stands, a retry knows there is something to remove.
    if state.is_some() {
        app.table.write(Write::delete(state_at)).await?;
    }
    if tombstone.is_some() {
        app.table.write(Write::delete(tombstone_at)).await?;
    }
    Ok(())
}

/// The table stream's filter (Lambda event filtering): only records (and tombstones) of
/// movies marked for the index reach the stream indexer. A projection's own writes go to
/// the index state and the shelves, or take the mark off: they start nothing.
pub fn stream_filter() -> Value {
    serde_json::json!({
        "dynamodb": {
            "NewImage": {
                Index::Gsi2.pk(): { "S": [{ "prefix": TO_INDEX }] },
            }
        }
    })
}

/// The movie an item asks to be projected for, if any: a record (or a tombstone) marked
/// for the index. The change feed's test, as [`stream_filter`] is the stream's.
pub fn awaiting_projection(item: &Item) -> Option<&str> {
    let marked = item
        .get(Index::Gsi2.pk())
        .and_then(Value::as_str)
        .is_some_and(|pk| pk.starts_with(TO_INDEX));
    if !marked {
        return None;
    }
    item.get(Index::Gsi2.sk()).and_then(Value::as_str)
}

/// Projects a movie a change announced, when it still awaits it (another projection may
/// have taken its mark off since). Whether it did.
pub async fn project_if_awaiting(app: &App, movie_id: &str) -> Result<bool, StoreError> {
    match app.table.get(&record_key(movie_id)).await? {
        Some(record) => {
            let awaiting = awaiting_projection(&record).is_some();
            if awaiting {
                // The record just read starts the projection: no second read of it.
                project_from(app, movie_id, Some(record)).await?;
            }
            Ok(awaiting)
        }
        None => {
            let tombstone = app.table.get(&tombstone_key(movie_id)).await?;
            let awaiting = tombstone.as_ref().and_then(awaiting_projection).is_some();
            if awaiting {
                project(app, movie_id).await?;
            }
            Ok(awaiting)
        }
    }
}

/// The movie a changed key belongs to, when the change may concern the index: a movie's
/// record or tombstone.
pub fn changed_movie(key: &Key) -> Option<&str> {
    let id = key.pk.strip_prefix(Movie::PREFIX)?.strip_prefix('#')?;
    (key == &record_key(id) || key == &tombstone_key(id)).then_some(id)
}

/// What a sweep did.
#[derive(Debug, Default, Serialize)]
pub struct SweepReport {
    pub projected: usize,
    pub failed: usize,
}

/// The scheduled sweep: projects every marked movie (at most `max` of them per run),
/// partition by partition of the to-index list, a page's movies together.
pub async fn project_marked(app: &App, max: usize) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut seen = std::collections::HashSet::new();
    mark_earlier_layout(app, max).await?;
    for partition in to_index_partitions() {
        let mut cursor = None;
        loop {
            let page = app
                .table
                .query(&Query::on(Index::Gsi2, &partition).limit(100).after(cursor))
                .await?;
            let mut ids = Vec::new();
            for item in &page.items {
                let Some(id) = item.get(Index::Gsi2.sk()).and_then(Value::as_str) else {
                    continue;
                };
                if seen.len() >= max {
                    break;
                }
                if seen.insert(id.to_string()) {
                    ids.push(id);
                }
            }
            for (id, outcome) in each_movie(ids, |id| project(app, id)).await {
                match outcome {
                    Ok(()) => report.projected += 1,
                    Err(e) => {
                        report.failed += 1;
                        tracing::warn!(movie = id, error = %e, "projecting a movie failed");
                    }
                }
            }
            match page.next_cursor {
                Some(next) if seen.len() < max => cursor = Some(next),
                _ => break,
            }
        }
        if seen.len() >= max {
            break;
        }
    }
    Ok(report)
}

/// The shelf every movie stood on before each shelf was kept once per order (its items
/// keyed `MOVIE#<id>`). A projection removes a movie's item from it, so what is left names
/// the movies still indexed the earlier way.
pub const EARLIER_ALL_SHELF: &str = "SHELF#ALL";

/// Movies of the earlier layout one sweep marks at most: as many as a deployed sweep
/// projects (`INDEX_SWEEP_MAX`), one write each, [`PROJECTIONS_IN_FLIGHT`] at a time, a
/// second or two of the sweep's run; the sweep and the stream then move them.
const EARLIER_MARKS_PER_RUN: usize = 2_000;

/// Marks (at most `max` of) the movies still indexed the earlier way, so that this sweep
/// (and the stream, which the marks reach first) moves them to the shelves of today. Reads
/// the earlier shelf's keys page after page, each at most a query's limit: DynamoDB ends a
/// page at 1 MB read, about 400 of that layout's items.
async fn mark_earlier_layout(app: &App, max: usize) -> Result<usize, StoreError> {
    use futures_util::StreamExt;
    let most = max.clamp(1, EARLIER_MARKS_PER_RUN);
    let now = app.clock.now().unix_timestamp();
    let (mut seen, mut marked_now) = (0, 0);
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(
                &Query::partition(EARLIER_ALL_SHELF)
                    .limit(((most - seen) as u32).min(MAX_QUERY_LIMIT))
                    .after(cursor)
                    .attributes(&[]),
            )
            .await?;
        seen += page.items.len();
        let ids: Vec<String> = page
            .items
            .iter()
            .filter_map(|item| Some(Key::of(item)?.sk.strip_prefix("MOVIE#")?.to_string()))
            .collect();
        let mut marks = futures_util::stream::iter(ids)
            .map(|id| async move { app.table.write(marked(Update::new(), &id, now)).await })
            .buffer_unordered(PROJECTIONS_IN_FLIGHT);
        while let Some(outcome) = marks.next().await {
            match outcome {
                Ok(_) => marked_now += 1,
                // Deleted: its tombstone's projection removes what it left.
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
        match page.next_cursor {
            Some(next) if seen < most => cursor = Some(next),
            _ => return Ok(marked_now),
        }
    }
}

/// Projects the movies a stream batch (or the change feed) announced, those that still
/// await it; a movie named twice is projected once. How many it projected, and the
/// positions of the movies whose projection failed.
pub async fn project_announced(app: &App, movie_ids: &[String]) -> (usize, Vec<usize>) {
    let mut first = std::collections::HashMap::new();
    for (position, id) in movie_ids.iter().enumerate() {
        first.entry(id.as_str()).or_insert(position);
    }
    let ids: Vec<&str> = movie_ids
        .iter()
        .enumerate()
        .filter(|(position, id)| first.get(id.as_str()) == Some(position))
        .map(|(_, id)| id.as_str())
        .collect();
    let mut projected = 0;
    let mut failed = Vec::new();
    for (id, outcome) in each_movie(ids, |id| project_if_awaiting(app, id)).await {
        match outcome {
            Ok(awaited) => projected += usize::from(awaited),
            Err(e) => {
                tracing::warn!(movie = %id, error = %e, "projecting a changed movie failed");
                failed.push(first[id]);
            }
        }
    }
    (projected, failed)
}

/// How many movies a sweep or a stream batch projects at once. A projection spends its
/// time waiting on the table, on its own movie's items: a batch of changed movies then
/// takes about the round trips of one projection, not those of each in turn.
pub const PROJECTIONS_IN_FLIGHT: usize = 8;

/// `project` run on each movie, [`PROJECTIONS_IN_FLIGHT`] at a time: each movie's
/// outcome, in the order given.
async fn each_movie<'a, T, F>(
    ids: Vec<&'a str>,
    project: impl Fn(&'a str) -> F,
) -> Vec<(&'a str, Result<T, StoreError>)>
where
    F: Future<Output = Result<T, StoreError>>,
{
    use futures_util::StreamExt;
    let mut outcomes = Vec::with_capacity(ids.len());
    let mut running = futures_util::stream::FuturesOrdered::new();
    for id in ids {
        if running.len() == PROJECTIONS_IN_FLIGHT {
            outcomes.extend(running.next().await);
        }
        let projection = project(id);
        running.push_back(async move { (id, projection.await) });
    }
    while let Some(outcome) = running.next().await {
        outcomes.push(outcome);
    }
    outcomes
}

/// Marks every movie on a shelf for the next sweep (when something they are indexed by,
/// such as a credited name, changed). Reads the shelf a page at a time.
pub async fn mark_shelf(app: &App, facet: &str) -> Result<usize, StoreError> {
    let mut count = 0;
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(
                &Query::partition(shelf_pk(facet, Sort::Title))
                    .limit(100)
                    .after(cursor)
                    .attributes(&[]),
            )
            .await?;
        for item in &page.items {
            let Some(id) = entry_item_movie(item) else {
                continue;
            };
            let id = id.as_str();
            let now = app.clock.now().unix_timestamp();
            match app.table.write(marked(Update::new(), id, now)).await {
                Ok(_) => count += 1,
                // Deleted meanwhile: its projection removes it from the shelf.
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e),
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(count),
        }
    }
}

/// A movie's card item, read whole.
pub fn from_card_item(item: Item) -> Result<Shelved, StoreError> {
    let fields: CardFields = from_entity_item("card", item)?;
    let card_json = card_text(fields.card)?;
    Ok(Shelved {
        card: serde_json::from_str(card_json.get()).map_err(malformed_card)?,
        card_json,
        rating_key: fields.rating_key,
        words: fields.words,
    })
}

/// The serialised card of a card item.
pub fn item_card(item: &mut Item) -> Option<Result<Box<RawValue>, StoreError>> {
    Some(match item.remove(CARD)? {
        Value::String(card) => card_text(card),
        _ => Err(StoreError::Malformed("card is not text".into())),
    })
}

/// A card item's key in the order of `sort`.
pub fn item_sort_key(item: &Item, sort: Sort) -> Option<&str> {
    item.get("sort_keys")?.get(sort.name())?.as_str()
}

fn card_text(card: String) -> Result<Box<RawValue>, StoreError> {
    RawValue::from_string(card).map_err(malformed_card)
}

fn malformed_card(e: serde_json::Error) -> StoreError {
    StoreError::Malformed(format!("card: {e}"))
}

/// A card item's rating key and search words, read in place.
pub fn card_rating_and_words(item: &Item) -> (i64, impl Iterator<Item = &str> + Clone) {
    let rating_key = item.get(RATING_KEY).and_then(Value::as_i64).unwrap_or(0);
    let words = item.get(WORDS).and_then(Value::as_array);
    (
        rating_key,
        words.into_iter().flatten().filter_map(Value::as_str),
    )
}

/// The movie id a term item points at.
pub fn term_movie(item: &Item) -> Option<&str> {
    item.get("movie_id").and_then(Value::as_str)
}

/// The cards of some movies, by id (those without one are left out). Eventually
/// consistent, at half the read units: what callers do with a card is show it, as a list
/// page does.
pub async fn cards(app: &App, ids: &[String]) -> Result<HashMap<String, Shelved>, StoreError> {
    let keys: Vec<Key> = ids.iter().map(|id| card_key(id)).collect();
    let mut found = HashMap::new();
    for item in app.table.batch_get_eventual(&keys).await? {
        let shelved = from_card_item(item)?;
        found.insert(shelved.card.id.clone(), shelved);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_stored_with_its_cast_reads_as_actors() {
        let stored = serde_json::json!({
            "id": "m1", "title": "T", "release_date": "2000-01-01", "duration_min": 90,
            "certification": "PG", "price": {"amount": 100, "currency": "EUR"},
            "available": true, "genre_ids": [], "actor_ids": ["a1"], "director_ids": [],
            "producer_ids": [], "cast": [{"id": "a1", "name": "Ida Berg"}],
            "likes": 0, "dislikes": 0, "rating_average": null, "rating_count": 0,
            "popularity": 0
        });
        let card: Card = serde_json::from_value(stored).unwrap();
        assert_eq!(card.actors[0].name, "Ida Berg");
        let written = serde_json::to_value(&card).unwrap();
        assert!(
            written.get("cast").is_none() && written["actors"].is_array(),
            "{written}"
        );
    }

    #[test]
    fn a_marked_record_or_tombstone_awaits_projection() {
        let item = |marked: bool| -> Item {
            let mut item = serde_json::json!({"PK": "MOVIE#m1", "SK": "RECORD"});
            if marked {
                item["GSI2PK"] = TO_INDEX.into();
                item["GSI2SK"] = "m1".into();
            }
            item.as_object().unwrap().clone()
        };
        assert_eq!(awaiting_projection(&item(true)), Some("m1"));
        assert_eq!(awaiting_projection(&item(false)), None);
        assert_eq!(changed_movie(&record_key("m1")), Some("m1"));
        assert_eq!(changed_movie(&tombstone_key("m1")), Some("m1"));
        assert_eq!(changed_movie(&state_key("m1")), None);
        assert_eq!(changed_movie(&card_key("m1")), None);
        assert_eq!(
            changed_movie(&Key::new(shelf_pk("ALL", Sort::Title), "t\u{1}m1")),
            None
        );
    }

    #[test]
    fn the_to_index_list_spreads_movies_over_its_partitions_the_same_way_everywhere() {
        // Fixed values: a release that hashed differently would strand earlier marks.
        assert_eq!(to_index_pk(""), "MOVIES_TO_INDEX#05");
        assert_eq!(
            to_index_pk("01M92PCVPQHWQ6JJWHVJ8M8907"),
            "MOVIES_TO_INDEX#08"
        );
        let used: BTreeSet<String> = (0..1_000)
            .map(|n| to_index_pk(&format!("movie-{n}")))
            .collect();
        assert_eq!(used.len(), TO_INDEX_PARTITIONS as usize, "{used:?}");
        assert!(
            used.iter()
                .all(|pk| to_index_partitions().any(|p| &p == pk))
        );
        assert_eq!(
            awaiting_projection(
                &serde_json::json!({"GSI2PK": "MOVIES_TO_INDEX#03", "GSI2SK": "m1"})
                    .as_object()
                    .unwrap()
                    .clone()
            ),
            Some("m1")
        );
    }

    #[test]
    fn popularity_and_rating_follow_the_counters() {
        let c = Counters {
            likes: 10,
            dislikes: 3,
            rating_sum: 17,
            rating_count: 2,
            favorites: 1,
            purchase_count: 2,
            comment_count: 9,
        };
        assert_eq!(c.popularity(), 10 - 3 + 2 + 2 + 10);
        assert_eq!(c.rating_hundredths(), Some(850));
        let third = Counters {
            rating_sum: 20,
            rating_count: 3,
            ..Counters::default()
        };
        assert_eq!(third.rating_hundredths(), Some(667));
        assert_eq!(Counters::default().rating_average(), None);
    }

    fn movie(id: &str) -> Stored<MovieInput> {
        let fields = serde_json::json!({
            "title": "Vertigo", "release_date": "1958-05-09", "duration_min": 128,
            "certification": "PG", "price": {"amount": 399, "currency": "EUR"},
            "genre_ids": ["g1"]
        });
        Stored {
            id: id.into(),
            fields: serde_json::from_value(fields).unwrap(),
            version: 1,
            created_at: 0,
            updated_at: 0,
            movie_count: 0,
        }
    }

    /// What a projection of `movie` with `counters` keeps, after one that kept `ranked`.
    fn shelving(
        movie: &Stored<MovieInput>,
        counters: &Counters,
        ranked: Option<&Shelving>,
    ) -> Shelving {
        index_items(movie, &shelve(movie, counters, &Credits::default()), ranked).1
    }

    fn liked(likes: i64) -> Counters {
        Counters {
            likes,
            ..Counters::default()
        }
    }

    fn rated(rating_sum: i64, rating_count: i64) -> Counters {
        Counters {
            rating_sum,
            rating_count,
            ..Counters::default()
        }
    }

    fn key(shelving: &Shelving, sort: Sort) -> &str {
        &shelving.sort_keys[sort.name()]
    }

    #[test]
    fn popularity_entries_stay_while_the_movie_is_within_a_tenth_of_them() {
        let m = movie("m1");
        let exact = |popularity: i64| format!("{}{TIE}m1", popularity_value(popularity));
        let at_40 = shelving(&m, &liked(40), None);
        assert_eq!(key(&at_40, Sort::Popularity), exact(40));
        let at_43 = shelving(&m, &liked(43), Some(&at_40));
        assert_eq!(key(&at_43, Sort::Popularity), exact(40));
        // The card shows the exact count; only the entries wait.
        let (items, _) = index_items(
            &m,
            &shelve(&m, &liked(43), &Credits::default()),
            Some(&at_40),
        );
        let card = items
            .iter()
            .find(|(item, _)| Key::of(item) == Some(card_key("m1")))
            .map(|(item, _)| item[CARD].as_str().unwrap().to_string())
            .unwrap();
        assert!(card.contains("\"popularity\":43"), "{card}");
        // Drift counts from where the entries stand, up and down.
        let at_44 = shelving(&m, &liked(44), Some(&at_43));
        assert_eq!(key(&at_44, Sort::Popularity), exact(44));
        assert_eq!(
            key(&shelving(&m, &liked(36), Some(&at_40)), Sort::Popularity),
            exact(36)
        );
        assert_eq!(
            key(&shelving(&m, &liked(37), Some(&at_40)), Sort::Popularity),
            exact(40)
        );
        // Below 20 every click moves them: the order of little-touched movies is exact.
        let at_0 = shelving(&m, &liked(0), None);
        let at_1 = shelving(&m, &liked(1), Some(&at_0));
        assert_eq!(key(&at_1, Sort::Popularity), exact(1));
        let at_19 = shelving(&m, &liked(19), None);
        assert_eq!(
            key(&shelving(&m, &liked(20), Some(&at_19)), Sort::Popularity),
            exact(20)
        );
        // Another movie's keys are not taken.
        let other = shelving(&movie("m2"), &liked(41), Some(&at_40));
        assert_eq!(
            key(&other, Sort::Popularity),
            format!("{}{TIE}m2", popularity_value(41))
        );
    }

    #[test]
    fn rating_entries_stay_while_the_average_is_within_a_tenth_of_a_point() {
        let m = movie("m1");
        let exact = |hundredths: i64| format!("{}{TIE}m1", rating_value(hundredths));
        let unrated = shelving(&m, &rated(0, 0), None);
        let first = shelving(&m, &rated(8, 1), Some(&unrated));
        assert_eq!(key(&first, Sort::Rating), exact(800));
        let at_850 = shelving(&m, &rated(850, 100), None);
        // 851 / 101 ratings: 8.43, within a tenth of 8.50.
        let close = shelving(&m, &rated(851, 101), Some(&at_850));
        assert_eq!(key(&close, Sort::Rating), exact(850));
        // 861 / 102: 8.44, still within; 857 / 102: 8.40, a tenth off, moves them.
        let still = shelving(&m, &rated(861, 102), Some(&close));
        assert_eq!(key(&still, Sort::Rating), exact(850));
        assert_eq!(
            key(&shelving(&m, &rated(857, 102), Some(&still)), Sort::Rating),
            exact(840)
        );
        // A movie whose last rating is withdrawn moves to the unrated end.
        assert_eq!(
            key(&shelving(&m, &rated(0, 0), Some(&first)), Sort::Rating),
            exact(0)
        );
    }

    #[test]
    fn the_other_orders_are_always_exact() {
        let m = movie("m1");
        let before = shelving(&m, &liked(40), None);
        let mut cheaper = movie("m1");
        cheaper.fields.price.amount = 398;
        let after = shelving(&cheaper, &liked(40), Some(&before));
        assert_eq!(
            key(&after, Sort::Price),
            format!("{}{TIE}m1", price_value(398))
        );
        for sort in [Sort::Title, Sort::ReleaseDate, Sort::Popularity] {
            assert_eq!(key(&after, sort), key(&before, sort));
        }
    }

    #[test]
    fn sort_values_order_as_their_numbers() {
        assert!(price_value(999) < price_value(1000));
        assert!(popularity_value(-5) < popularity_value(0));
        assert!(popularity_value(0) < popularity_value(12));
        assert!(rating_value(95) < rating_value(1000));
        // The tie-breaker sorts a title before its longer sequels.
        assert!(format!("alien{TIE}Z") < format!("alien 2{TIE}A"));
        assert_eq!(
            title_value("  Léon: The Professional "),
            "leon the professional"
        );
    }
}
