//! The cart: movies (digital purchase) and tickets (seats at a showtime).
//!
//! Keys: `CART#<user>` / `LINE#<line id>`; a line's id is its item (`movie-<id>` or
//! `tickets-<showtime id>`), so a movie or a showtime is in a cart at most once. Movie
//! lines are also filed under GSI3 `IN_CARTS#<movie>`, where a deleted movie finds them.
//! A cart holds at most [`MAX_LINES`] lines, which bounds what viewing it reads. Prices
//! and availability are read live whenever the cart is shown: the cart promises nothing
//! until an order copies its prices and holds its seats.

use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use marquee_accounts::accounts::user;
use marquee_catalog::catalog::genres::Genre;
use marquee_catalog::catalog::index;
use marquee_catalog::catalog::movies::{Movie, MovieInput, Price, in_carts_pk};
use marquee_catalog::catalog::records::{self, Record, Stored};
use marquee_catalog::catalog::showtimes;
use marquee_catalog::engagement::mine::purchase_key;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, validate};
use marquee_core::store::{
    self, Condition, Index, Item, Key, SortKey, StoreError, Write, entity_item, from_entity_item,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Lines one cart may hold. Paying for an order writes two items per movie in one
/// transaction (the purchase and the movie's counter), within DynamoDB's 100.
pub const MAX_LINES: usize = 40;
/// Tickets one line may hold.
pub const MAX_TICKETS: u16 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Movie,
    Ticket,
}

/// A cart line as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub id: String,
    pub kind: Kind,
    pub movie_id: String,
    pub showtime_id: Option<String>,
    pub quantity: u16,
    pub added_at: i64,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    /// A movie to buy, or...
    #[garde(length(chars, min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub movie_id: Option<String>,
    /// ...tickets for a showtime, with `quantity`.
    #[garde(length(chars, min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub showtime_id: Option<String>,
    /// 1 to 10 tickets.
    #[garde(range(min = 1, max = 10))]
    #[schema(minimum = 1, maximum = 10)]
    pub quantity: Option<u16>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeQuantity {
    #[garde(range(min = 1, max = 10))]
    #[schema(minimum = 1, maximum = 10)]
    pub quantity: u16,
}

/// A line as the cart shows it, priced now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub id: String,
    pub kind: Kind,
    pub movie_id: String,
    pub title: String,
    pub genres: Vec<String>,
    pub release_year: Option<i32>,
    pub showtime_id: Option<String>,
    pub starts_at: Option<String>,
    pub cinema: Option<String>,
    /// Tickets: the cinema's time zone, IANA (`Europe/Paris`).
    pub time_zone: Option<String>,
    pub quantity: u16,
    pub unit_price: Option<Price>,
    pub line_total: Option<Price>,
    /// Whether it can be ordered now; `unavailable_reason` says why not.
    pub available: bool,
    pub unavailable_reason: Option<String>,
    /// The same, as a code to branch on: the code adding this line now would be refused
    /// with (`too_few_seats`, `showtime_started`, `unavailable`, `region_locked`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_code: Option<String>,
    /// Tickets: the seats left at the showtime now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_left: Option<i64>,
    /// Tickets: the showtime's seats in all, which an order's seat hold is conditioned on
    /// (not shown: clients have `seats_left`).
    #[serde(skip)]
    pub seats: Option<u16>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartView {
    pub items: Vec<LineView>,
    /// Of the available items.
    pub total: Price,
    pub item_count: usize,
}

fn cart_pk(user_id: &str) -> String {
    format!("CART#{user_id}")
}

fn line_key(user_id: &str, line_id: &str) -> Key {
    Key::new(cart_pk(user_id), format!("LINE#{line_id}"))
}

fn line_item(user_id: &str, line: &Line) -> Item {
    let mut item = entity_item("cart_line", &line_key(user_id, &line.id), line);
    if line.kind == Kind::Movie {
        item.insert(Index::Gsi3.pk().into(), in_carts_pk(&line.movie_id).into());
        item.insert(Index::Gsi3.sk().into(), user_id.into());
    }
    item
}

/// The lines of a user's cart, oldest first (one query: a cart is bounded).
pub async fn lines(app: &App, user_id: &str) -> Result<Vec<Line>, Problem> {
    let page = app
        .table
        .query(
            &store::Query::partition(cart_pk(user_id))
                .sort_key(SortKey::BeginsWith("LINE#".into()))
                .limit(MAX_LINES as u32 + 1),
        )
        .await?;
    let mut lines: Vec<Line> = page
        .items
        .into_iter()
        .map(|item| from_entity_item("cart_line", item))
        .collect::<Result<_, _>>()?;
    lines.sort_by_key(|l| l.added_at);
    Ok(lines)
}

fn refused(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::conflict(code, detail)
}

fn ticket_refused(
    code: &'static str,
    detail: String,
    showtime: &showtimes::ShowtimeView,
) -> Problem {
    match code {
        "too_few_seats" => too_few_seats(showtime.seats_left),
        _ => refused(code, detail),
    }
}

fn field_error(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError {
        field: field.into(),
        message: message.into(),
    }])
}

/// Why a movie cannot be bought by this user now, if it cannot.
pub(crate) fn movie_refusal(
    movie: &MovieInput,
    country: Option<&str>,
) -> Option<(&'static str, String)> {
    if !movie.available {
        return Some((
            "unavailable",
            "This movie is not for sale at the moment".into(),
        ));
    }
    if !movie.regions.is_empty() {
        match country {
            Some(c) if movie.regions.iter().any(|r| r == c) => {}
            Some(c) => {
                return Some((
                    "region_locked",
                    format!("This movie is not sold in your country ({c})"),
                ));
            }
            None => {
                return Some((
                    "region_locked",
                    "This movie is sold in some countries only: set your country in your profile"
                        .into(),
                ));
            }
        }
    }
    None
}

pub(crate) fn owns(item: Option<&Item>) -> bool {
    item.is_some_and(|i| i.get("revoked").and_then(Value::as_bool) != Some(true))
}

/// What a buyer is told when fewer seats are left than asked for.
pub fn too_few_seats_detail(seats_left: i64) -> String {
    match seats_left {
        0 => "No seats are left".into(),
        1 => "Only 1 seat is left".into(),
        n => format!("Only {n} seats are left"),
    }
}

/// 409 `too_few_seats`, with `seats_left` for the client to offer what remains.
pub fn too_few_seats(seats_left: i64) -> Problem {
    Problem::conflict("too_few_seats", too_few_seats_detail(seats_left))
        .with("seats_left", serde_json::json!(seats_left))
}

/// Why tickets for a showtime cannot be had now, if they cannot.
fn ticket_refusal(
    showtime: &showtimes::ShowtimeView,
    quantity: u16,
    now: OffsetDateTime,
) -> Option<(&'static str, String)> {
    if showtime.has_started(now) {
        return Some(("showtime_started", "This showtime has started".into()));
    }
    if showtime.seats_left < i64::from(quantity) {
        return Some(("too_few_seats", too_few_seats_detail(showtime.seats_left)));
    }
    None
}

/// Puts `line` in the cart that holds `current`; the cart's lines after it.
async fn add_line(
    app: &App,
    user_id: &str,
    mut current: Vec<Line>,
    line: Line,
    price: &Price,
) -> Result<Vec<Line>, Problem> {
    if current.len() >= MAX_LINES {
        return Err(refused(
            "cart_full",
            format!("A cart holds {MAX_LINES} items; order or remove some first"),
        ));
    }
    let cart_currency = current_currency(app, &current).await?;
    if let Some(currency) = cart_currency
        && currency != price.currency
    {
        return Err(refused(
            "currency_mismatch",
            format!(
                "This cart is in {currency}; order it before adding items in {}",
                price.currency
            ),
        ));
    }
    let put = Write::put(line_item(user_id, &line)).when(Condition::NotExists);
    match app.table.write(put).await {
        Ok(_) => {
            current.push(line);
            Ok(current)
        }
        Err(StoreError::ConditionFailed) => Err(refused(
            "already_in_cart",
            match line.kind {
                Kind::Movie => "This movie is already in your cart",
                Kind::Ticket => "Tickets for this showtime are in your cart: change their quantity",
            },
        )),
        Err(e) => Err(e.into()),
    }
}

/// The currency of the cart's first priced line.
async fn current_currency(app: &App, lines: &[Line]) -> Result<Option<String>, Problem> {
    let Some(first) = lines.first() else {
        return Ok(None);
    };
    Ok(match first.kind {
        Kind::Movie => records::load::<Movie>(app, &first.movie_id)
            .await
            .ok()
            .map(|m| m.fields.price.currency),
        Kind::Ticket => match &first.showtime_id {
            Some(id) => showtimes::find(app, id).await?.map(|s| s.price.currency),
            None => None,
        },
    })
}

pub async fn add(
    State(app): State<App>,
    caller: Principal,
    Json(input): Json<AddItem>,
) -> Result<(StatusCode, axum::Json<CartView>), Problem> {
    validate::finish(validate::fields(&input))?;
    let user_id = &caller.user_id;
    let now = app.clock.now();
    let cart = match (&input.movie_id, &input.showtime_id) {
        (Some(movie_id), None) => {
            if input.quantity.is_some_and(|q| q != 1) {
                return Err(field_error("quantity", "a movie is bought once"));
            }
            let bought = purchase_key(user_id, movie_id);
            // What the checks and the answer need, read together.
            let (movie, owner, purchase, current) = tokio::join!(
                records::load::<Movie>(&app, movie_id),
                user::find(&app, user_id),
                app.table.get(&bought),
                lines(&app, user_id),
            );
            let movie = movie
                .map_err(|_| field_error("movie_id", format!("no movie has the id {movie_id}")))?;
            let owner = owner?.ok_or_else(Problem::unauthorized)?;
            if let Some((code, why)) = movie_refusal(&movie.fields, owner.country.as_deref()) {
                return Err(refused(code, why));
            }
            if owns(purchase?.as_ref()) {
                return Err(refused("already_owned", "You already own this movie"));
            }
            let line = Line {
                id: format!("movie-{movie_id}"),
                kind: Kind::Movie,
                movie_id: movie_id.clone(),
                showtime_id: None,
                quantity: 1,
                added_at: now.unix_timestamp_nanos() as i64 / 1000,
            };
            let lines = add_line(&app, user_id, current?, line, &movie.fields.price).await?;
            view_of(&app, user_id, lines, owner.country).await?
        }
        (None, Some(showtime_id)) => {
            let quantity = input
                .quantity
                .ok_or_else(|| field_error("quantity", "how many tickets (1 to 10)"))?;
            let (showtime, owner, current) = tokio::join!(
                showtimes::find(&app, showtime_id),
                user::find(&app, user_id),
                lines(&app, user_id),
            );
            let showtime = showtime?.ok_or_else(|| {
                field_error(
                    "showtime_id",
                    format!("no showtime has the id {showtime_id}"),
                )
            })?;
            if let Some((code, why)) = ticket_refusal(&showtime, quantity, now) {
                return Err(ticket_refused(code, why, &showtime));
            }
            let line = Line {
                id: format!("tickets-{showtime_id}"),
                kind: Kind::Ticket,
                movie_id: showtime.movie_id.clone(),
                showtime_id: Some(showtime_id.clone()),
                quantity,
                added_at: now.unix_timestamp_nanos() as i64 / 1000,
            };
            let lines = add_line(&app, user_id, current?, line, &showtime.price).await?;
            let country = owner?.and_then(|u| u.country);
            view_of(&app, user_id, lines, country).await?
        }
        _ => {
            return Err(field_error(
                "movie_id",
                "give either movie_id, or showtime_id with quantity",
            ));
        }
    };
    Ok((StatusCode::CREATED, axum::Json(cart)))
}

pub async fn update(
    State(app): State<App>,
    caller: Principal,
    Path(line_id): Path<String>,
    Json(input): Json<ChangeQuantity>,
) -> Result<axum::Json<CartView>, Problem> {
    validate::finish(validate::fields(&input))?;
    let key = line_key(&caller.user_id, &line_id);
    let line: Line = match app.table.get(&key).await? {
        Some(item) => from_entity_item("cart_line", item)?,
        None => return Err(Problem::not_found("No such item in your cart")),
    };
    let Some(showtime_id) = line
        .showtime_id
        .as_deref()
        .filter(|_| line.kind == Kind::Ticket)
    else {
        return Err(field_error("quantity", "only tickets have a quantity"));
    };
    let showtime = showtimes::find(&app, showtime_id)
        .await?
        .ok_or_else(|| refused("unavailable", "This showtime was canceled"))?;
    if let Some((code, why)) = ticket_refusal(&showtime, input.quantity, app.clock.now()) {
        return Err(ticket_refused(code, why, &showtime));
    }
    let write = Write::update(key, store::Update::new().set("quantity", input.quantity))
        .when(Condition::Exists);
    match app.table.write(write).await {
        Ok(_) => Ok(axum::Json(view(&app, &caller.user_id).await?)),
        Err(StoreError::ConditionFailed) => Err(Problem::not_found("No such item in your cart")),
        Err(e) => Err(e.into()),
    }
}

pub async fn remove(
    State(app): State<App>,
    caller: Principal,
    Path(line_id): Path<String>,
) -> Result<StatusCode, Problem> {
    let delete = Write::delete(line_key(&caller.user_id, &line_id)).when(Condition::Exists);
    match app.table.write(delete).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::ConditionFailed) => Err(Problem::not_found("No such item in your cart")),
        Err(e) => Err(e.into()),
    }
}

/// Removes lines that were bought (whether or not they are still there).
pub async fn remove_lines(app: &App, user_id: &str, line_ids: &[String]) -> Result<(), Problem> {
    let deletes: Vec<Write> = line_ids
        .iter()
        .map(|id| Write::delete(line_key(user_id, id)))
        .collect();
    if !deletes.is_empty() {
        app.table.batch_write(deletes).await?;
    }
    Ok(())
}

pub async fn clear(State(app): State<App>, caller: Principal) -> Result<StatusCode, Problem> {
    let keys: Vec<Write> = lines(&app, &caller.user_id)
        .await?
        .iter()
        .map(|l| Write::delete(line_key(&caller.user_id, &l.id)))
        .collect();
    if !keys.is_empty() {
        app.table.batch_write(keys).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get(
    State(app): State<App>,
    caller: Principal,
) -> Result<axum::Json<CartView>, Problem> {
    Ok(axum::Json(view(&app, &caller.user_id).await?))
}

/// `GET /admin/users/{id}/cart`.
pub async fn get_for_admin(
    State(app): State<App>,
    Path(user_id): Path<String>,
) -> Result<axum::Json<CartView>, Problem> {
    if user::find(&app, &user_id).await?.is_none() {
        return Err(Problem::not_found("No such user"));
    }
    Ok(axum::Json(view(&app, &user_id).await?))
}

/// The cart priced and checked now: its lines and its owner read together, then one batch
/// read for the movies, showtimes and purchases the lines name and one for the genres.
pub async fn view(app: &App, user_id: &str) -> Result<CartView, Problem> {
    let (lines, owner) = tokio::join!(lines(app, user_id), user::find(app, user_id));
    let country = owner?.and_then(|u| u.country);
    view_of(app, user_id, lines?, country).await
}

/// [`view`], of the lines just read, for a buyer in `country`.
async fn view_of(
    app: &App,
    user_id: &str,
    lines: Vec<Line>,
    country: Option<String>,
) -> Result<CartView, Problem> {
    let mut keys: Vec<Key> = Vec::new();
    for line in &lines {
        keys.push(index::record_key(&line.movie_id));
        if let Some(id) = &line.showtime_id {
            keys.push(showtimes::key(id));
        }
        if line.kind == Kind::Movie {
            keys.push(purchase_key(user_id, &line.movie_id));
        }
    }
    let found = marquee_core::store::batch_get_by_key(app.table.as_ref(), keys).await?;
    let movie = |id: &str| -> Option<Stored<MovieInput>> {
        from_entity_item(Movie::KIND, found.get(&index::record_key(id))?.clone()).ok()
    };
    let genre_names = genre_names(app, lines.iter().filter_map(|l| movie(&l.movie_id))).await?;
    let now = app.clock.now();
    let items: Vec<LineView> = lines
        .into_iter()
        .map(|line| {
            let stored = movie(&line.movie_id);
            let showtime = line
                .showtime_id
                .as_deref()
                .and_then(|id| found.get(&showtimes::key(id)))
                .and_then(|item| showtimes::view_of(item.clone()).ok());
            let refusal = match (line.kind, &stored, &showtime) {
                (Kind::Movie, Some(m), _) => {
                    movie_refusal(&m.fields, country.as_deref()).or_else(|| {
                        owns(found.get(&purchase_key(user_id, &line.movie_id)))
                            .then(|| ("already_owned", "You own this movie now".to_string()))
                    })
                }
                (Kind::Movie, None, _) => {
                    Some(("unavailable", "This movie was withdrawn".to_string()))
                }
                (Kind::Ticket, _, Some(s)) => ticket_refusal(s, line.quantity, now),
                (Kind::Ticket, _, None) => {
                    Some(("unavailable", "This showtime was canceled".to_string()))
                }
            };
            line_view(
                line,
                stored.as_ref(),
                showtime.as_ref(),
                refusal,
                &genre_names,
            )
        })
        .collect();
    let mut total: Option<Price> = None;
    for line_total in items
        .iter()
        .filter(|i| i.available)
        .filter_map(|i| i.line_total.as_ref())
    {
        let sum = total.get_or_insert(Price {
            amount: 0,
            currency: line_total.currency.clone(),
        });
        sum.amount += line_total.amount;
    }
    let item_count = items.len();
    Ok(CartView {
        items,
        total: total.unwrap_or(Price {
            amount: 0,
            currency: "EUR".into(),
        }),
        item_count,
    })
}

/// The names of the genres `movies` are in, by their keys: one batch read.
async fn genre_names(
    app: &App,
    movies: impl Iterator<Item = Stored<MovieInput>>,
) -> Result<HashMap<Key, String>, Problem> {
    let genre_keys: Vec<Key> = movies
        .flat_map(|m| m.fields.genre_ids)
        .map(|g| records::key::<Genre>(&g))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(app
        .table
        .batch_get(&genre_keys)
        .await?
        .into_iter()
        .filter_map(|item| {
            let name = item
                .get("fields")?
                .get("name")?
                .as_str()?
                .trim()
                .to_string();
            Some((Key::of(&item)?, name))
        })
        .collect())
}

/// A line as the cart shows it: priced from its movie (`stored`, if still listed) or its
/// `showtime` (if still scheduled), with its `refusal` (a code and why), if any.
fn line_view(
    line: Line,
    stored: Option<&Stored<MovieInput>>,
    showtime: Option<&showtimes::ShowtimeView>,
    refusal: Option<(&'static str, String)>,
    genre_names: &HashMap<Key, String>,
) -> LineView {
    let unit_price = match line.kind {
        Kind::Movie => stored.map(|m| m.fields.price.clone()),
        Kind::Ticket => showtime.map(|s| s.price.clone()),
    };
    let (unavailable_code, refusal) = refusal.unzip();
    let line_total = unit_price.as_ref().map(|p| Price {
        amount: p.amount * i64::from(line.quantity),
        currency: p.currency.clone(),
    });
    LineView {
        title: stored
            .map(|m| m.fields.title.trim().to_string())
            .or_else(|| showtime.map(|s| s.movie_title.clone()))
            .unwrap_or_else(|| "(withdrawn)".into()),
        genres: stored
            .map(|m| {
                m.fields
                    .genre_ids
                    .iter()
                    .filter_map(|g| genre_names.get(&records::key::<Genre>(g)).cloned())
                    .collect()
            })
            .unwrap_or_default(),
        release_year: stored.and_then(|m| m.fields.release_date.get(..4)?.parse().ok()),
        starts_at: showtime.map(|s| s.starts_at.clone()),
        cinema: showtime.map(|s| s.cinema_name.clone()),
        time_zone: showtime.map(|s| s.time_zone.clone()),
        seats_left: showtime.map(|s| s.seats_left),
        seats: showtime.map(|s| s.seats),
        id: line.id,
        kind: line.kind,
        movie_id: line.movie_id,
        showtime_id: line.showtime_id,
        quantity: line.quantity,
        unit_price,
        line_total,
        available: refusal.is_none(),
        unavailable_reason: refusal,
        unavailable_code: unavailable_code.map(str::to_string),
    }
}
