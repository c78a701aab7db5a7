//! Showtimes: a movie on one screen of a cinema at a time, with seats to sell.
//!
//! Keys: `SHOWTIME#<id>` / `RECORD`, listed through GSI1 `SHOWTIMES#CINEMA#<id>`, GSI3
//! `SHOWTIMES#MOVIE#<id>` and GSI4 `SHOWTIMES`, each sorted by `<starts_at>#<id>` (RFC 3339
//! in UTC sorts as time). No two showtimes may overlap on a screen. Index reads can lag, so
//! the check reads the screen's day plans instead: `SCREEN#<cinema>#<n>` / `DAY#<date>`
//! lists the showtimes starting that day. A new showtime reads the plans of its day and the
//! days either side (a show may run past midnight) and commits only if none changed since.

use super::cinemas::{Cinema, CinemaInput};
use super::index;
use super::movies::{Movie, MovieInput, Price};
use super::records::{self, Record, Stored};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::pagination::{Page, page_limit};
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, Query, validate};
use marquee_core::store::{
    self, Condition, Index, Item, Key, SortKey, StoreError, Update, Write, entity_item,
    from_entity_item,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowtimeInput {
    #[garde(length(chars, min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub movie_id: String,
    #[garde(length(chars, min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub cinema_id: String,
    /// The screen's number in the cinema.
    #[garde(range(min = 1, max = 99))]
    #[schema(minimum = 1, maximum = 99)]
    pub screen: u16,
    /// RFC 3339, in the future.
    #[garde(length(chars, min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40, format = DateTime)]
    pub starts_at: String,
    #[garde(dive)]
    pub price: Price,
    /// Seats on sale; at most the screen's (the default).
    #[garde(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    pub seats: Option<u16>,
}

/// What a showtime's PATCH may change (moving it is deleting and creating it again).
#[derive(Debug, Clone, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowtimePatch {
    #[garde(dive)]
    pub price: Option<Price>,
    #[garde(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    pub seats: Option<u16>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Showtime {
    id: String,
    movie_id: String,
    movie_title: String,
    cinema_id: String,
    cinema_name: String,
    /// The cinema's, copied when the show is scheduled as its name is: the show is said in
    /// the time its start was given in. A show stored before cinemas kept one says UTC.
    #[serde(default = "marquee_core::clock::utc_zone")]
    time_zone: String,
    screen: u16,
    /// RFC 3339 UTC.
    starts_at: String,
    ends_at: String,
    price: Price,
    seats: u16,
    /// Seats held by pending orders or sold (kept by the orders feature).
    #[serde(default)]
    seats_taken: i64,
    version: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShowtimeView {
    pub id: String,
    pub movie_id: String,
    pub movie_title: String,
    pub cinema_id: String,
    pub cinema_name: String,
    /// The cinema's time zone, IANA (`Europe/Paris`): a ticket says the start in it.
    pub time_zone: String,
    pub screen: u16,
    /// RFC 3339, UTC.
    pub starts_at: String,
    pub ends_at: String,
    pub price: Price,
    pub seats: u16,
    pub seats_left: i64,
    pub version: i64,
}

impl ShowtimeView {
    /// Whether it has begun (an unreadable start counts as begun: no tickets then).
    pub fn has_started(&self, now: time::OffsetDateTime) -> bool {
        time::OffsetDateTime::parse(
            &self.starts_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_or(true, |t| t <= now)
    }
}

impl Showtime {
    fn view(&self) -> ShowtimeView {
        ShowtimeView {
            id: self.id.clone(),
            movie_id: self.movie_id.clone(),
            movie_title: self.movie_title.clone(),
            cinema_id: self.cinema_id.clone(),
            cinema_name: self.cinema_name.clone(),
            time_zone: self.time_zone.clone(),
            screen: self.screen,
            starts_at: self.starts_at.clone(),
            ends_at: self.ends_at.clone(),
            price: self.price.clone(),
            seats: self.seats,
            seats_left: (i64::from(self.seats) - self.seats_taken).max(0),
            version: self.version,
        }
    }
}

pub fn key(id: &str) -> Key {
    Key::new(format!("SHOWTIME#{id}"), "RECORD")
}

const ALL: &str = "SHOWTIMES";

fn by_cinema(cinema_id: &str) -> String {
    format!("SHOWTIMES#CINEMA#{cinema_id}")
}

fn by_movie(movie_id: &str) -> String {
    format!("SHOWTIMES#MOVIE#{movie_id}")
}

fn plan_key(cinema_id: &str, screen: u16, day: Date) -> Key {
    Key::new(format!("SCREEN#{cinema_id}#{screen}"), format!("DAY#{day}"))
}

fn utc(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn to_item(s: &Showtime) -> Item {
    let mut item = entity_item("showtime", &key(&s.id), s);
    let sort = format!("{}#{}", s.starts_at, s.id);
    for (index, pk) in [
        (Index::Gsi1, by_cinema(&s.cinema_id)),
        (Index::Gsi3, by_movie(&s.movie_id)),
        (Index::Gsi4, ALL.to_string()),
    ] {
        item.insert(index.pk().into(), pk.into());
        item.insert(index.sk().into(), sort.clone().into());
    }
    item
}

fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// A screen's plan for one day: the showtimes starting that day, and its version.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DayPlan {
    #[serde(default)]
    slots: Vec<Slot>,
    #[serde(default)]
    version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    id: String,
    starts_at: String,
    ends_at: String,
}

fn plan_version_is(version: i64) -> Condition {
    if version == 0 {
        Condition::AttrNotExists("version".into())
    } else {
        Condition::eq("version", version)
    }
}

pub async fn create(
    State(app): State<App>,
    Json(input): Json<ShowtimeInput>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        axum::Json<ShowtimeView>,
    ),
    Problem,
> {
    let showtime = schedule(&app, input).await?;
    Ok((
        StatusCode::CREATED,
        [(header::ETAG, format!("\"{}\"", showtime.version))],
        axum::Json(showtime),
    ))
}

/// How far ahead a showtime may be scheduled (a cinema's programme, not a calendar's end).
pub const MAX_DAYS_AHEAD: i64 = 2 * 366;

/// Checks and stores a new showtime (what `create` does).
pub async fn schedule(app: &App, input: ShowtimeInput) -> Result<ShowtimeView, Problem> {
    schedule_many(app, vec![input])
        .await?
        .pop()
        .ok_or_else(Problem::internal)
}

/// Checks and stores new showtimes, answering them in the order given. The movies and
/// cinemas are read once, and so are the day plans of each screen; every input is checked
/// (fields, then clashes with stored shows and with one another) before anything is
/// written. Each screen's shows then commit in as few transactions as the store takes, each
/// only if none of its day plans changed meanwhile: a conflict there leaves the screens
/// committed before it stored.
pub async fn schedule_many(
    app: &App,
    inputs: Vec<ShowtimeInput>,
) -> Result<Vec<ShowtimeView>, Problem> {
    let now = app.clock.now();
    for input in &inputs {
        validate::finish(validate::fields(input))?;
    }
    let keys: Vec<Key> = inputs
        .iter()
        .flat_map(|i| {
            [
                index::record_key(&i.movie_id),
                records::key::<Cinema>(&i.cinema_id),
            ]
        })
        .collect();
    let found = store::batch_get_by_key(app.table.as_ref(), keys).await?;
    let mut showtimes = Vec::with_capacity(inputs.len());
    for input in inputs {
        showtimes.push(new_showtime(input, &found, now)?);
    }
    let mut plans = day_plans(app, &showtimes).await?;
    // The plans' versions as stored, which each commit checks and moves on.
    let mut versions: BTreeMap<Key, i64> =
        plans.iter().map(|(k, p)| (k.clone(), p.version)).collect();
    place(&showtimes, &mut plans)?;
    let mut screens: BTreeMap<(String, u16), Vec<&Showtime>> = BTreeMap::new();
    for show in &showtimes {
        screens
            .entry((show.cinema_id.clone(), show.screen))
            .or_default()
            .push(show);
    }
    for ((cinema_id, screen), shows) in screens {
        commit_screen(app, &cinema_id, screen, shows, &plans, &mut versions).await?;
    }
    Ok(showtimes.iter().map(Showtime::view).collect())
}

/// The day plans of the screens `showtimes` are on: the days each starts and the days
/// either side (a show may run past midnight), empty where none is stored. One batch read.
async fn day_plans(app: &App, showtimes: &[Showtime]) -> Result<BTreeMap<Key, DayPlan>, Problem> {
    let plan_keys: BTreeSet<Key> = showtimes
        .iter()
        .flat_map(|show| {
            let day = start_day(show);
            [day.previous_day(), Some(day), day.next_day()]
                .into_iter()
                .flatten()
                .map(|d| plan_key(&show.cinema_id, show.screen, d))
        })
        .collect();
    let wanted = plan_keys.iter().cloned().collect();
    let mut stored = store::batch_get_by_key(app.table.as_ref(), wanted).await?;
    Ok(plan_keys
        .into_iter()
        .map(|k| {
            let plan = stored
                .remove(&k)
                .and_then(|i| serde_json::from_value(Value::Object(i)).ok())
                .unwrap_or_default();
            (k, plan)
        })
        .collect())
}

/// Puts each show in its start day's plan, in turn, unless it overlaps a show already on
/// its screen that day or either side (stored, or placed before it): 409 `screen_busy`.
fn place(showtimes: &[Showtime], plans: &mut BTreeMap<Key, DayPlan>) -> Result<(), Problem> {
    for show in showtimes {
        let day = start_day(show);
        // Times of one format and offset compare as text.
        if let Some(clash) = [day.previous_day(), Some(day), day.next_day()]
            .into_iter()
            .flatten()
            .filter_map(|d| plans.get(&plan_key(&show.cinema_id, show.screen, d)))
            .flat_map(|p| &p.slots)
            .find(|slot| slot.starts_at < show.ends_at && show.starts_at < slot.ends_at)
        {
            return Err(Problem::conflict(
                "screen_busy",
                format!(
                    "Screen {} is showing {} from {} to {}",
                    show.screen, clash.id, clash.starts_at, clash.ends_at
                ),
            ));
        }
        if let Some(plan) = plans.get_mut(&plan_key(&show.cinema_id, show.screen, day)) {
            plan.slots.push(Slot {
                id: show.id.clone(),
                starts_at: show.starts_at.clone(),
                ends_at: show.ends_at.clone(),
            });
        }
    }
    Ok(())
}

/// Stores one screen's new `shows` with their day plans, as many days a transaction as it
/// holds (a day is never split), each only if its plans are still at `versions`, which
/// move on as each commits.
async fn commit_screen(
    app: &App,
    cinema_id: &str,
    screen: u16,
    shows: Vec<&Showtime>,
    plans: &BTreeMap<Key, DayPlan>,
    versions: &mut BTreeMap<Key, i64>,
) -> Result<(), Problem> {
    let mut by_day: BTreeMap<Date, Vec<&Showtime>> = BTreeMap::new();
    for show in shows {
        by_day.entry(start_day(show)).or_default().push(show);
    }
    let days: Vec<Date> = by_day.keys().copied().collect();
    let mut first = 0;
    while first < days.len() {
        let mut last = first + 1;
        while last < days.len()
            && commit_size(&by_day, &days[first..=last]) <= store::MAX_TRANSACTION_WRITES
        {
            last += 1;
        }
        let chunk = &days[first..last];
        let writes = commit_writes(cinema_id, screen, &by_day, chunk, plans, versions);
        let sample = &by_day[&chunk[0]][0].id;
        match app.table.transact(writes).await {
            Ok(()) => {}
            // The shows' ids are new to this call: if one is stored, this call stored
            // it (a transaction the store applied but answered late, retried by the SDK).
            Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict)
                if app.table.get(&key(sample)).await?.is_some() => {}
            Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict) => {
                return Err(Problem::conflict(
                    "screen_busy",
                    "The screen's schedule changed meanwhile; try again",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        for day in chunk {
            if let Some(version) = versions.get_mut(&plan_key(cinema_id, screen, *day)) {
                *version += 1;
            }
        }
        first = last;
    }
    Ok(())
}

/// A showtime from its input, the movie and cinema it names among `found`, or the input's
/// errors.
fn new_showtime(
    input: ShowtimeInput,
    found: &HashMap<Key, Item>,
    now: OffsetDateTime,
) -> Result<Showtime, Problem> {
    let mut errors = Vec::new();
    let starts = OffsetDateTime::parse(&input.starts_at, &Rfc3339).ok();
    match starts {
        None => errors.push(invalid("starts_at", "must be an RFC 3339 time")),
        Some(t) if t <= now => errors.push(invalid("starts_at", "must be in the future")),
        Some(t) if t > now + Duration::days(MAX_DAYS_AHEAD) => errors.push(invalid(
            "starts_at",
            format!("must be within {MAX_DAYS_AHEAD} days from now"),
        )),
        Some(_) => {}
    }
    let movie: Option<Stored<MovieInput>> = found
        .get(&index::record_key(&input.movie_id))
        .map(|item| from_entity_item(Movie::KIND, item.clone()))
        .transpose()?;
    let cinema: Option<Stored<CinemaInput>> = found
        .get(&records::key::<Cinema>(&input.cinema_id))
        .and_then(|item| from_entity_item(Cinema::KIND, item.clone()).ok());
    if movie.is_none() {
        errors.push(invalid(
            "movie_id",
            format!("no movie has the id {}", input.movie_id),
        ));
    }
    let screen = match &cinema {
        None => {
            errors.push(invalid(
                "cinema_id",
                format!("no cinema has the id {}", input.cinema_id),
            ));
            None
        }
        Some(cinema) => screen_of(&cinema.fields, input.screen, &mut errors),
    };
    if let (Some(screen_seats), Some(seats)) = (screen, input.seats)
        && seats > screen_seats
    {
        errors.push(invalid(
            "seats",
            format!("screen {} has {screen_seats} seats", input.screen),
        ));
    }
    validate::finish(errors)?;
    let (Some(starts), Some(movie), Some(cinema), Some(screen_seats)) =
        (starts, movie, cinema, screen)
    else {
        return Err(Problem::internal());
    };
    let ends = starts + Duration::minutes(i64::from(movie.fields.duration_min));
    Ok(Showtime {
        id: ulid::Ulid::new().to_string(),
        movie_id: movie.id,
        movie_title: movie.fields.title.trim().to_string(),
        cinema_id: cinema.id,
        cinema_name: cinema.fields.name.trim().to_string(),
        time_zone: cinema.fields.time_zone,
        screen: input.screen,
        starts_at: utc(starts),
        ends_at: utc(ends),
        price: input.price,
        seats: input.seats.unwrap_or(screen_seats),
        seats_taken: 0,
        version: 1,
    })
}

/// The UTC day a show starts (its `starts_at` is written from a valid time).
fn start_day(show: &Showtime) -> Date {
    OffsetDateTime::parse(&show.starts_at, &Rfc3339)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
}

/// The days either side of `days` that are not among them: their plans are only checked.
fn neighbours(days: &[Date]) -> BTreeSet<Date> {
    days.iter()
        .flat_map(|d| [d.previous_day(), d.next_day()])
        .flatten()
        .filter(|d| !days.contains(d))
        .collect()
}

/// How many writes [`commit_writes`] makes for `days`.
fn commit_size(by_day: &BTreeMap<Date, Vec<&Showtime>>, days: &[Date]) -> usize {
    days.iter().map(|d| by_day[d].len() + 1).sum::<usize>() + neighbours(days).len() + 1
}

/// The writes of one screen's commit of `days`: per day its shows and its plan; a check
/// of each neighbouring plan; the cinema's count of showtimes.
fn commit_writes(
    cinema_id: &str,
    screen: u16,
    by_day: &BTreeMap<Date, Vec<&Showtime>>,
    days: &[Date],
    plans: &BTreeMap<Key, DayPlan>,
    versions: &BTreeMap<Key, i64>,
) -> Vec<Write> {
    let version_of = |k: &Key| versions.get(k).copied().unwrap_or_default();
    let mut writes = Vec::new();
    let mut shows = 0i64;
    for day in days {
        for show in &by_day[day] {
            writes.push(Write::put(to_item(show)).when(Condition::NotExists));
            shows += 1;
        }
        let plan_key = plan_key(cinema_id, screen, *day);
        // The day's stored slots and all its new shows: a day is never split.
        let slots = plans
            .get(&plan_key)
            .map(|p| p.slots.clone())
            .unwrap_or_default();
        let condition = plan_version_is(version_of(&plan_key));
        writes.push(
            Write::update(
                plan_key,
                Update::new()
                    .set("slots", serde_json::to_value(&slots).unwrap_or_default())
                    .add("version", 1),
            )
            .when(condition),
        );
    }
    for day in neighbours(days) {
        let plan_key = plan_key(cinema_id, screen, day);
        // Neighbouring days must not have changed meanwhile either.
        let condition = plan_version_is(version_of(&plan_key));
        writes.push(Write::check(plan_key, condition));
    }
    // Counted on the cinema, which is not deleted while it has showtimes.
    writes.push(
        Write::update(
            records::key::<Cinema>(cinema_id),
            Update::new().add(Cinema::IN_USE_COUNT, shows),
        )
        .when(Condition::Exists),
    );
    writes
}

/// The seats of a cinema's screen, or an error naming the screen.
fn screen_of(cinema: &CinemaInput, number: u16, errors: &mut Vec<FieldError>) -> Option<u16> {
    let seats = cinema
        .screens
        .iter()
        .find(|s| s.number == number)
        .map(|s| s.seats);
    if seats.is_none() {
        let numbers: Vec<String> = cinema
            .screens
            .iter()
            .map(|s| s.number.to_string())
            .collect();
        errors.push(invalid(
            "screen",
            format!("the cinema has screens {}", numbers.join(", ")),
        ));
    }
    seats
}

async fn load(app: &App, id: &str) -> Result<(Showtime, Item), Problem> {
    let item = app
        .table
        .get(&key(id))
        .await?
        .ok_or_else(|| Problem::not_found("No such showtime"))?;
    Ok((from_entity_item("showtime", item.clone())?, item))
}

/// A showtime as shown, if it exists.
pub async fn find(app: &App, id: &str) -> Result<Option<ShowtimeView>, Problem> {
    match app.table.get(&key(id)).await? {
        Some(item) => Ok(Some(view_of(item)?)),
        None => Ok(None),
    }
}

/// A showtime item read back as shown.
pub fn view_of(item: Item) -> Result<ShowtimeView, StoreError> {
    from_entity_item::<Showtime>("showtime", item).map(|s| s.view())
}

pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::Json<ShowtimeView>, Problem> {
    Ok(axum::Json(load(&app, &id).await?.0.view()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ShowtimeQuery {
    pub cinema: Option<String>,
    pub movie: Option<String>,
    /// `YYYY-MM-DD` (UTC); without it, upcoming showtimes from now.
    pub date: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// By start time: one index query per page (a cinema's, a movie's, or all), the date a key
/// condition; with both cinema and movie, the cinema's showtimes are read and filtered.
pub async fn list(
    State(app): State<App>,
    Query(query): Query<ShowtimeQuery>,
) -> Result<axum::Json<Page<ShowtimeView>>, Problem> {
    let limit = page_limit(query.limit)?;
    let date = match &query.date {
        Some(d) => Some(
            Date::parse(d, marquee_core::clock::DATE)
                .map_err(|_| Problem::invalid_query(vec![invalid("date", "must be YYYY-MM-DD")]))?,
        ),
        None => None,
    };
    let (index, pk) = match (&query.cinema, &query.movie) {
        (Some(cinema), _) => (Index::Gsi1, by_cinema(cinema)),
        (None, Some(movie)) => (Index::Gsi3, by_movie(movie)),
        (None, None) => (Index::Gsi4, ALL.to_string()),
    };
    let condition = match date {
        Some(d) => SortKey::BeginsWith(d.to_string()),
        None => SortKey::Ge(utc(app.clock.now())),
    };
    // A cinema's schedule filtered to one movie reads on until the page is full (or
    // enough was examined), each read sized to what is still missing, so the cursor always
    // follows the last showtime examined.
    let mut items = Vec::new();
    let mut cursor = query.cursor;
    let mut examined = 0;
    loop {
        let page = app
            .table
            .query(
                &store::Query::on(index, pk.clone())
                    .sort_key(condition.clone())
                    .limit(limit - items.len() as u32)
                    .after(cursor.take()),
            )
            .await?;
        examined += page.items.len();
        for item in page.items {
            let showtime: Showtime = from_entity_item("showtime", item)?;
            if query.movie.as_ref().is_none_or(|m| *m == showtime.movie_id) {
                items.push(showtime.view());
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() || items.len() as u32 >= limit || examined >= MAX_EXAMINED {
            break;
        }
    }
    Ok(axum::Json(Page {
        items,
        next_cursor: cursor,
    }))
}

/// The most schedule entries one filtered page reads, so a page stays bounded.
const MAX_EXAMINED: usize = 1000;

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<ShowtimePatch>,
) -> Result<axum::Json<ShowtimeView>, Problem> {
    validate::finish(validate::fields(&patch))?;
    let (mut showtime, _) = load(&app, &id).await?;
    if let Some(expected) = records::expected_version(&headers)?
        && expected != showtime.version
    {
        return Err(records::version_mismatch(showtime.version));
    }
    let cinema = records::load::<Cinema>(&app, &showtime.cinema_id).await?;
    let mut errors = Vec::new();
    let screen_seats = screen_of(&cinema.fields, showtime.screen, &mut errors);
    if let (Some(seats), Some(max)) = (patch.seats, screen_seats) {
        if seats > max {
            errors.push(invalid("seats", format!("the screen has {max} seats")));
        }
        if i64::from(seats) < showtime.seats_taken {
            errors.push(invalid(
                "seats",
                format!("{} seats are already taken", showtime.seats_taken),
            ));
        }
    }
    validate::finish(errors)?;
    // What stays as it is is not written; a patch that changes nothing keeps the version.
    let price = patch.price.filter(|p| *p != showtime.price);
    let seats = patch.seats.filter(|s| *s != showtime.seats);
    if price.is_none() && seats.is_none() {
        return Ok(axum::Json(showtime.view()));
    }
    let mut update = Update::new().set("version", showtime.version + 1);
    let mut condition = Condition::eq("version", showtime.version);
    if let Some(price) = price {
        update = update.set("price", json!(price));
        showtime.price = price;
    }
    if let Some(seats) = seats {
        update = update.set("seats", seats);
        // Orders hold seats with a conditional counter: never below what is taken.
        condition = condition.and(
            Condition::compare("seats_taken", store::Cmp::Le, i64::from(seats))
                .or(Condition::AttrNotExists("seats_taken".into())),
        );
        showtime.seats = seats;
    }
    match app
        .table
        .write(Write::update(key(&id), update).when(condition))
        .await
    {
        Ok(_) => {
            showtime.version += 1;
            Ok(axum::Json(showtime.view()))
        }
        Err(StoreError::ConditionFailed) => Err(Problem::conflict(
            "concurrent_update",
            "The showtime was changed meanwhile; read it again",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Refused once seats are taken.
pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let (showtime, _) = load(&app, &id).await?;
    let day = OffsetDateTime::parse(&showtime.starts_at, &Rfc3339)
        .map_err(|_| Problem::internal())?
        .date();
    let plan_key = plan_key(&showtime.cinema_id, showtime.screen, day);
    let plan: DayPlan = app
        .table
        .get(&plan_key)
        .await?
        .and_then(|i| serde_json::from_value(Value::Object(i)).ok())
        .unwrap_or_default();
    let slots: Vec<Slot> = plan.slots.into_iter().filter(|s| s.id != id).collect();
    let untaken = Condition::AttrNotExists("seats_taken".into()).or(Condition::compare(
        "seats_taken",
        store::Cmp::Le,
        0,
    ));
    let writes = vec![
        Write::delete(key(&id)).when(Condition::Exists.and(untaken)),
        Write::update(
            plan_key,
            Update::new()
                .set("slots", serde_json::to_value(&slots).unwrap_or_default())
                .add("version", 1),
        )
        .when(plan_version_is(plan.version)),
        Write::update(
            records::key::<Cinema>(&showtime.cinema_id),
            Update::new().add(Cinema::IN_USE_COUNT, -1),
        ),
    ];
    match app.table.transact(writes).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(
            Problem::conflict("seats_taken", "Tickets for this showtime are held or sold"),
        ),
        Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict) => {
            Err(Problem::conflict(
                "concurrent_update",
                "The schedule changed meanwhile; try again",
            ))
        }
        Err(e) => Err(e.into()),
    }
}
