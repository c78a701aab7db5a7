//! Orders, made from the cart: prices copied, ticket seats held, one order per
//! Idempotency-Key and per set of items still pending.
//!
//! Keys: `ORDER#<id>` / `RECORD`, listed per owner through GSI1 `ORDERS#USER#<user>`
//! (ids are ULIDs: newest first). In the order's transaction: `USER#<user>` /
//! `IDEMPOTENCY#<key>` (the key's order, and the digest of the items it was made from),
//! `USER#<user>` / `PENDING#<items digest>` (while pending: the same items again return this
//! order; other items that overlap a pending order are refused, so an item waits in at most
//! one), `ORDER#<id>` / `HOLD` (expires with the order: the expiry sweep hands it to
//! [`expire`]), and for each ticket line a conditional counter on the showtime
//! (`seats_taken` stays at most `seats`), so seats are never oversold.

pub mod admin;
pub mod checkout;
pub mod notices;
pub mod refunds;
pub mod settle;

use crate::cart::{self, Kind};
use crate::expiry;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use marquee_catalog::catalog::movies::Price;
use marquee_catalog::catalog::showtimes;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::pagination::{Page, PageQuery, newest_first};
use marquee_core::http::problem::Problem;
use marquee_core::http::{Path, Query};
use marquee_core::secret::digest;
use marquee_core::store::{
    Cmp, Condition, Index, Item, Key, StoreError, Update, Write, entity_item, from_entity_item,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a pending order holds its seats and prices.
pub const PENDING_SECS: i64 = 30 * 60;
/// Attempts when other buyers take seats between the read and the write.
const ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Paid,
    Canceled,
    Expired,
    RefundRequested,
    Refunded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
            Self::RefundRequested => "refund_requested",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Paid,
            Self::Canceled,
            Self::Expired,
            Self::RefundRequested,
            Self::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    /// The cart line it came from.
    pub line_id: String,
    pub kind: Kind,
    pub movie_id: String,
    pub showtime_id: Option<String>,
    pub title: String,
    /// Tickets: when the showtime starts (RFC 3339, UTC), copied at order time.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// Tickets: the cinema's name, copied at order time.
    #[serde(default)]
    pub cinema: Option<String>,
    /// Tickets: the cinema's time zone (IANA), copied at order time.
    #[serde(default)]
    pub time_zone: Option<String>,
    pub quantity: u16,
    /// Copied at order time.
    pub unit_price: Price,
    pub line_total: Price,
}

/// A cart line the order left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeftOut {
    pub line_id: String,
    pub title: String,
    pub reason: String,
    /// Why, as the code adding the line to a cart now would be refused with
    /// (`too_few_seats` for tickets sold meanwhile, also when another buyer took the last
    /// seats while this order was placed).
    #[serde(default = "unavailable")]
    pub code: String,
    /// Tickets: the seats left at the showtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_left: Option<i64>,
}

fn unavailable() -> String {
    "unavailable".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub id: String,
    pub user_id: String,
    pub status: Status,
    pub lines: Vec<OrderLine>,
    pub total: Price,
    #[serde(default)]
    pub left_out: Vec<LeftOut>,
    /// Epoch seconds.
    pub created_at: i64,
    /// When a pending order lapses (epoch seconds).
    pub expires_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    /// The digest of the cart it was made from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schema(ignore)]
    pub cart: String,
    /// The payment session open for this order, once checkout has started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<checkout::OpenCheckout>,
    /// The payment attempt being started (see `checkout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub next_payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub next_payment_expires_at: Option<i64>,
    /// New prices or left-out items found at checkout, applied once the buyer confirms by
    /// checking out again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repricing: Option<checkout::Repricing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    /// Epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<refunds::RefundState>,
}

/// The sparse index partition of orders in one status (admin lists filter by it).
fn by_status(status: Status) -> String {
    format!("ORDERS#STATUS#{}", status.as_str())
}

/// Sets an order's status and keeps its status index entry in step.
pub(crate) fn status_update(to: Status, now: i64) -> Update {
    Update::new()
        .set("status", to.as_str())
        .set(Index::Gsi5.pk(), by_status(to))
        .set("updated_at", now)
}

pub fn key(id: &str) -> Key {
    Key::new(format!("ORDER#{id}"), "RECORD")
}

pub(crate) fn hold_key(id: &str) -> Key {
    Key::new(format!("ORDER#{id}"), "HOLD")
}

fn by_user(user_id: &str) -> String {
    format!("ORDERS#USER#{user_id}")
}

fn idempotency_key(user_id: &str, key: &str) -> Key {
    Key::new(
        format!("USER#{user_id}"),
        format!("IDEMPOTENCY#{}", digest(key)),
    )
}

pub(crate) fn pending_key(user_id: &str, items: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("PENDING#{items}"))
}

/// What a cart asked for, as a digest: the same lines and quantities give the same one,
/// whatever of it could be ordered.
fn cart_digest(items: &[cart::LineView]) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .map(|l| format!("{}:{}", l.id, l.quantity))
        .collect();
    parts.sort();
    digest(&parts.join(","))
}

fn order_item(order: &Order) -> Item {
    let mut item = entity_item("order", &key(&order.id), order);
    item.insert(Index::Gsi1.pk().into(), by_user(&order.user_id).into());
    item.insert(Index::Gsi1.sk().into(), order.id.clone().into());
    item.insert(Index::Gsi4.pk().into(), "ORDERS".into());
    item.insert(Index::Gsi4.sk().into(), order.id.clone().into());
    item.insert(Index::Gsi5.pk().into(), by_status(order.status).into());
    item.insert(Index::Gsi5.sk().into(), order.id.clone().into());
    item
}

pub async fn load(app: &App, id: &str) -> Result<Option<Order>, Problem> {
    match app.table.get(&key(id)).await? {
        Some(item) => Ok(Some(from_entity_item("order", item)?)),
        None => Ok(None),
    }
}

/// The caller's order (others' orders do not exist for them).
pub(crate) async fn own(app: &App, caller: &Principal, id: &str) -> Result<Order, Problem> {
    match load(app, id).await? {
        Some(order) if order.user_id == caller.user_id => Ok(order),
        _ => Err(Problem::not_found("No such order")),
    }
}

fn seat_hold(showtime_id: &str, seats: u16, quantity: u16) -> Write {
    let room = i64::from(seats) - i64::from(quantity);
    Write::update(
        showtimes::key(showtime_id),
        Update::new().add("seats_taken", i64::from(quantity)),
    )
    .when(Condition::eq("seats", i64::from(seats)).and(
        Condition::AttrNotExists("seats_taken".into()).or(Condition::compare(
            "seats_taken",
            Cmp::Le,
            room,
        )),
    ))
}

pub(crate) fn seat_release(showtime_id: &str, quantity: u16) -> Write {
    Write::update(
        showtimes::key(showtime_id),
        Update::new().add("seats_taken", -i64::from(quantity)),
    )
    .when(Condition::Exists)
}

/// How `orders-create` answered: a new order, or one that already stood for this request.
pub enum Created {
    New(Order),
    Existing(Order),
}

/// How many of a user's newest orders are read for pending ones: a pending order lapses
/// within the hour, so it is among the newest.
const RECENT_ORDERS: u32 = 25;

/// The user's live pending order holding any of `line_ids`, if there is one.
async fn pending_holding(
    app: &App,
    user_id: &str,
    line_ids: &[&str],
) -> Result<Option<Order>, Problem> {
    let now = app.clock.now().unix_timestamp();
    let page = app
        .table
        .query(
            &marquee_core::store::Query::on(Index::Gsi1, by_user(user_id))
                .descending()
                .limit(RECENT_ORDERS),
        )
        .await?;
    for item in page.items {
        let order: Order = from_entity_item("order", item)?;
        let holds = order
            .lines
            .iter()
            .any(|l| line_ids.contains(&l.line_id.as_str()));
        if order.status == Status::Pending && order.expires_at > now && holds {
            return Ok(Some(order));
        }
    }
    Ok(None)
}

/// Makes an order of the caller's cart (see the module's notes for what guards it).
pub async fn create_from_cart(
    app: &App,
    user_id: &str,
    request_key: &str,
) -> Result<Created, Problem> {
    let claim_key = idempotency_key(user_id, request_key);
    let mut sold_out: Vec<String> = Vec::new();
    for _ in 0..ATTEMPTS {
        let view = cart::view(app, user_id).await?;
        if view.items.is_empty() {
            return Err(Problem::conflict("cart_empty", "Your cart is empty"));
        }
        // Before availability, which this request's own twin may have just used up.
        let items = cart_digest(&view.items);
        let line_ids: Vec<&str> = view.items.iter().map(|i| i.id.as_str()).collect();
        // Read together: this request's claim, the pending order of this very cart, and
        // any pending order holding one of its lines.
        let this_cart = pending_key(user_id, &items);
        let (claim, pending, holding) = tokio::join!(
            app.table.get(&claim_key),
            app.table.get(&this_cart),
            pending_holding(app, user_id, &line_ids),
        );
        if let Some(claim) = claim? {
            return existing_for_key(app, &claim, &items).await;
        }
        if let Some(pending) = pending?
            && let Some(order) = pending_order(app, &pending).await?
        {
            return Ok(Created::Existing(order));
        }
        // An item waits in at most one pending order: a cart that grew since its last
        // order does not put the same movie or seats in a second one.
        if let Some(other) = holding? {
            // A twin of this request (the same key) may have just placed that order.
            if let Some(claim) = app.table.get(&claim_key).await? {
                return existing_for_key(app, &claim, &items).await;
            }
            return Err(already_pending(&other, &line_ids));
        }
        let priced = price_lines(view.items, &sold_out);
        if priced.lines.is_empty() {
            return Err(nothing_to_order(&priced.left_out));
        }
        let order = new_pending_order(app, user_id, priced.lines, priced.left_out, &items);
        let writes = placing_writes(&order, &claim_key, &this_cart, &items, &priced.holds);
        match app.table.transact(writes).await {
            Ok(()) => return Ok(Created::New(order)),
            Err(StoreError::TransactionCanceled { failed }) => {
                // Seats gone: those lines are left out on the next attempt; a claim taken
                // by a concurrent twin of this request: its order is read on the next one.
                sold_out.extend(
                    failed
                        .iter()
                        .filter_map(|p| p.checked_sub(FIRST_HOLD))
                        .filter_map(|i| priced.holds.get(i).map(|(line, _)| line.clone())),
                );
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::conflict(
        "busy",
        "Many buyers at once; try again in a moment",
    ))
}

/// 409 `in_pending_order`: the lines of this cart that already wait in `other`.
fn already_pending(other: &Order, line_ids: &[&str]) -> Problem {
    let titles: Vec<&str> = other
        .lines
        .iter()
        .filter(|l| line_ids.contains(&l.line_id.as_str()))
        .map(|l| l.title.as_str())
        .collect();
    Problem::conflict(
        "in_pending_order",
        format!(
            "{} already waits in your pending order {}: pay for it or cancel it first",
            titles.join(", "),
            other.id
        ),
    )
    .with("pending_order", serde_json::json!(other.id))
}

/// A cart's lines as an order takes them: the lines it can sell at their live prices, the
/// lines it leaves out and why, and a seat hold for each ticket line (by line id).
struct PricedLines {
    lines: Vec<OrderLine>,
    left_out: Vec<LeftOut>,
    holds: Vec<(String, Write)>,
}

/// Prices the cart view's lines; `sold_out` names the ticket lines whose seats another
/// buyer took while an earlier attempt placed this order.
fn price_lines(items: Vec<cart::LineView>, sold_out: &[String]) -> PricedLines {
    let mut priced = PricedLines {
        lines: Vec::new(),
        left_out: Vec::new(),
        holds: Vec::new(),
    };
    for item in items {
        // Seats another buyer took while this order was placed are refused as adding
        // them to the cart now would be.
        let raced = sold_out.contains(&item.id);
        let seats_left = if raced {
            item.seats_left
                .map(|left| left.min(i64::from(item.quantity) - 1))
        } else {
            item.seats_left
        };
        let (reason, code) = if raced {
            (
                Some(crate::cart::too_few_seats_detail(seats_left.unwrap_or(0))),
                Some("too_few_seats".to_string()),
            )
        } else {
            (
                item.unavailable_reason.clone(),
                item.unavailable_code.clone(),
            )
        };
        let (Some(unit_price), Some(line_total), None) = (
            item.unit_price.clone(),
            item.line_total.clone(),
            reason.clone(),
        ) else {
            priced.left_out.push(LeftOut {
                line_id: item.id.clone(),
                title: item.title.clone(),
                reason: reason.unwrap_or_else(|| "Not available".into()),
                code: code.unwrap_or_else(unavailable),
                seats_left: seats_left.filter(|_| item.kind == Kind::Ticket),
            });
            continue;
        };
        // Conditioned on the seats the cart view read: a showtime whose seats changed
        // since fails its hold, as one sold out meanwhile does.
        if let (Kind::Ticket, Some(showtime_id)) = (item.kind, &item.showtime_id) {
            let seats = item.seats.unwrap_or(0);
            priced.holds.push((
                item.id.clone(),
                seat_hold(showtime_id, seats, item.quantity),
            ));
        }
        priced.lines.push(OrderLine {
            line_id: item.id,
            kind: item.kind,
            movie_id: item.movie_id,
            showtime_id: item.showtime_id,
            title: item.title,
            starts_at: item.starts_at,
            cinema: item.cinema,
            time_zone: item.time_zone,
            quantity: item.quantity,
            unit_price,
            line_total,
        });
    }
    priced
}

/// A new pending order of `lines` (at least one), lapsing after `PENDING_SECS`.
fn new_pending_order(
    app: &App,
    user_id: &str,
    lines: Vec<OrderLine>,
    left_out: Vec<LeftOut>,
    cart: &str,
) -> Order {
    let now = app.clock.now().unix_timestamp();
    let currency = lines[0].line_total.currency.clone();
    Order {
        id: ulid::Ulid::new().to_string(),
        user_id: user_id.to_string(),
        status: Status::Pending,
        total: Price {
            amount: lines.iter().map(|l| l.line_total.amount).sum(),
            currency,
        },
        lines,
        left_out,
        created_at: now,
        expires_at: now + PENDING_SECS,
        updated_at: now,
        cart: cart.to_string(),
        checkout: None,
        next_payment_id: None,
        next_payment_expires_at: None,
        repricing: None,
        payment_intent: None,
        paid_at: None,
        refund: None,
    }
}

/// Where the seat holds start among [`placing_writes`]: a cancelled transaction names its
/// failed writes by position.
const FIRST_HOLD: usize = 4;

/// Placing `order`, in one transaction: the order, this request's claim on its key, the
/// claim of this very cart, the hold that lapses the order, then the seat holds.
fn placing_writes(
    order: &Order,
    claim_key: &Key,
    this_cart: &Key,
    cart: &str,
    holds: &[(String, Write)],
) -> Vec<Write> {
    let mut hold = entity_item(
        "order_hold",
        &hold_key(&order.id),
        &serde_json::json!({"order_id": order.id}),
    );
    expiry::stamp(&mut hold, order.expires_at);
    let mut writes = vec![
        Write::put(order_item(order)).when(Condition::NotExists),
        Write::put(entity_item(
            "idempotency",
            claim_key,
            &serde_json::json!({"order_id": order.id, "items": cart}),
        ))
        .when(Condition::NotExists),
        Write::put(entity_item(
            "pending_order",
            this_cart,
            &serde_json::json!({"order_id": order.id}),
        ))
        .when(Condition::NotExists),
        Write::put(hold),
    ];
    debug_assert_eq!(writes.len(), FIRST_HOLD);
    writes.extend(holds.iter().map(|(_, w)| w.clone()));
    writes
}

/// Why no order was placed: tickets alone, with too few seats left, answer as adding them
/// would (`too_few_seats`, with `seats_left` when one showtime is concerned); otherwise
/// `nothing_to_order`. Either way `left_out` says what each line lacks.
fn nothing_to_order(left_out: &[LeftOut]) -> Problem {
    let problem = match left_out {
        [only] if only.code == "too_few_seats" => {
            crate::cart::too_few_seats(only.seats_left.unwrap_or(0))
        }
        all if !all.is_empty() && all.iter().all(|l| l.code == "too_few_seats") => {
            Problem::conflict("too_few_seats", "Too few seats are left for your tickets")
        }
        _ => Problem::conflict(
            "nothing_to_order",
            "Nothing in your cart can be ordered now",
        ),
    };
    problem
        .detail(
            left_out
                .iter()
                .map(|l| format!("{}: {}", l.title, l.reason))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .with("left_out", serde_json::json!(left_out))
}

async fn existing_for_key(app: &App, claim: &Item, items: &str) -> Result<Created, Problem> {
    if claim.get("items").and_then(Value::as_str) != Some(items) {
        return Err(Problem::validation(vec![
            marquee_core::http::problem::FieldError {
                field: "Idempotency-Key".into(),
                message: "was used for an order of other items; use a new key for this cart".into(),
            },
        ]));
    }
    let id = claim
        .get("order_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match load(app, id).await? {
        Some(order) => Ok(Created::Existing(order)),
        None => Err(Problem::internal()),
    }
}

async fn pending_order(app: &App, claim: &Item) -> Result<Option<Order>, Problem> {
    let Some(id) = claim.get("order_id").and_then(Value::as_str) else {
        return Ok(None);
    };
    Ok(load(app, id).await?.filter(|o| o.status == Status::Pending))
}

/// `POST /orders`.
pub async fn create(
    State(app): State<App>,
    caller: Principal,
    headers: HeaderMap,
) -> Result<(StatusCode, axum::Json<Order>), Problem> {
    let request_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            Problem::bad_request("An Idempotency-Key header (1 to 255 characters) is required")
        })?;
    match create_from_cart(&app, &caller.user_id, request_key).await? {
        Created::New(order) => {
            marquee_core::metrics::count(marquee_core::metrics::Metric::OrdersPlaced);
            Ok((StatusCode::CREATED, axum::Json(order)))
        }
        Created::Existing(order) => Ok((StatusCode::OK, axum::Json(order))),
    }
}

/// `GET /orders`: the caller's orders, newest first.
pub async fn list(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<Page<Order>>, Problem> {
    let partition = by_user(&caller.user_id);
    let page = newest_first(
        app.table.as_ref(),
        "order",
        marquee_core::store::Query::on(Index::Gsi1, partition),
        query,
    );
    Ok(axum::Json(page.await?))
}

/// `GET /orders/{id}`.
pub async fn get(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Order>, Problem> {
    Ok(axum::Json(own(&app, &caller, &id).await?))
}

/// Ends a pending order (canceled by its owner, expired, or its payment session expired),
/// releasing what it held.
async fn end_pending(app: &App, order: &Order, to: Status) -> Result<bool, Problem> {
    end(app, order, to, to == Status::Expired, Vec::new()).await
}

/// Expires a pending order whatever its own clock says (its payment session lapsed).
pub(crate) async fn end_pending_now(
    app: &App,
    order: &Order,
    extra: Vec<Write>,
) -> Result<bool, Problem> {
    end(app, order, Status::Expired, false, extra).await
}

async fn end(
    app: &App,
    order: &Order,
    to: Status,
    only_when_due: bool,
    extra: Vec<Write>,
) -> Result<bool, Problem> {
    let now = app.clock.now().unix_timestamp();
    let mut guard = Condition::eq("status", Status::Pending.as_str());
    if only_when_due {
        guard = guard.and(Condition::compare("expires_at", Cmp::Le, now));
    }
    let mut writes = vec![
        Write::update(key(&order.id), status_update(to, now)).when(guard),
        Write::delete(pending_key(&order.user_id, &order.cart)),
        Write::delete(hold_key(&order.id)),
    ];
    writes.extend(order.lines.iter().filter_map(|l| {
        l.showtime_id
            .as_deref()
            .map(|s| seat_release(s, l.quantity))
    }));
    if let Some(open) = &order.checkout {
        writes.push(crate::payments::end_pending_payment(
            &open.payment_id,
            crate::payments::PaymentStatus::Canceled,
            now,
        ));
    }
    writes.extend(extra);
    match app.table.transact(writes).await {
        Ok(()) => Ok(true),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// `POST /orders/{id}/cancel`: pending orders only. An open payment session is ended first
/// at the provider, so that it can no longer be paid.
pub async fn cancel(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Order>, Problem> {
    let order = own(&app, &caller, &id).await?;
    if order.status == Status::Pending
        && let Some(open) = &order.checkout
        && open.expires_at > app.clock.now().unix_timestamp()
    {
        match crate::payments::gateway::of(&app)
            .expire_checkout(&open.session_id)
            .await
        {
            Ok(()) => {}
            Err(crate::payments::gateway::GatewayError::Refused(why)) => {
                return Err(Problem::conflict(
                    "payment_in_progress",
                    "The payment for this order is being completed; it cannot be canceled now",
                )
                .detail(why));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if order.status != Status::Pending || !end_pending(&app, &order, Status::Canceled).await? {
        let now = load(&app, &id).await?.map_or(order.status, |o| o.status);
        return Err(Problem::conflict(
            "not_pending",
            format!(
                "Only pending orders can be canceled; this one is {}",
                now.as_str()
            ),
        ));
    }
    let order = load(&app, &id).await?.ok_or_else(Problem::internal)?;
    Ok(axum::Json(order))
}

/// The expiry worker's step for a lapsed order hold: expires the order if it is still
/// pending and due (releasing its seats), and drops the hold either way.
pub async fn expire(app: &App, hold: &Key) -> Result<(), StoreError> {
    let Some(id) = hold.pk.strip_prefix("ORDER#") else {
        return Ok(());
    };
    let order = match load(app, id).await {
        Ok(order) => order,
        Err(_) => return Err(StoreError::Backend("reading an order failed".into())),
    };
    match order {
        Some(order) if order.status == Status::Pending => {
            if order.expires_at > app.clock.now().unix_timestamp() {
                return Ok(());
            }
            end_pending(app, &order, Status::Expired)
                .await
                .map_err(|p| StoreError::Backend(p.to_string()))?;
            Ok(())
        }
        _ => {
            app.table.write(Write::delete(hold.clone())).await?;
            Ok(())
        }
    }
}

/// Whether an expiring item is an order's hold (which the worker ends through [`expire`]).
pub fn is_hold(key: &Key) -> bool {
    key.pk.starts_with("ORDER#") && key.sk == "HOLD"
}
