//! `orders-checkout`: re-checks what a pending order costs now and hands the buyer to the
//! payment provider's hosted page. A change of price or availability answers 409 with the
//! new total and is remembered on the order; checking out again confirms it, and only then
//! is the order changed. The order's status moves on only through provider events.

use super::{Order, OrderLine, PENDING_SECS, Status, hold_key, key, load, own, seat_release};
use crate::cart::{Kind, movie_refusal, owns};
use crate::expiry;
use crate::payments::gateway::{CheckoutLine, CheckoutRequest, GatewayError};
use crate::payments::{self, Payment, PaymentStatus};
use axum::extract::State;
use marquee_accounts::accounts::user;
use marquee_catalog::catalog::index;
use marquee_catalog::catalog::movies::{Movie, MovieInput, Price};
use marquee_catalog::catalog::records::{Record, Stored};
use marquee_catalog::catalog::showtimes;
use marquee_catalog::engagement::mine::purchase_key;
use marquee_core::app::App;
use marquee_core::http::Path;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::Problem;
use marquee_core::store::{
    Condition, Key, StoreError, Update, Write, batch_get_by_key, entity_item, from_entity_item,
};
use serde::{Deserialize, Serialize};

/// How long the provider's page stays payable (Stripe's shortest is 30 minutes).
pub const SESSION_SECS: i64 = PENDING_SECS + 60;
/// How long past its session an order waits for the provider's last events before the
/// expiry sweep ends it.
const GRACE_SECS: i64 = 10 * 60;
/// The longest an order may hold its seats and prices, whatever happens: no payment page
/// may stay open past its creation plus this, so checking out again and again cannot keep
/// seats from everyone else.
pub const MAX_HOLD_SECS: i64 = 2 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenCheckout {
    pub session_id: String,
    pub payment_id: String,
    pub url: String,
    /// Epoch seconds.
    pub expires_at: i64,
}

/// What the order would become, waiting for the buyer's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Repricing {
    pub lines: Vec<OrderLine>,
    pub total: Price,
    pub dropped: Vec<super::LeftOut>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckoutStarted {
    pub order_id: String,
    pub checkout_url: String,
    pub total: Price,
    /// Epoch seconds: the payment page lapses then.
    pub expires_at: i64,
}

/// The order's lines as they could be bought now, and those that cannot.
async fn reprice(app: &App, order: &Order, country: Option<&str>) -> Result<Repricing, Problem> {
    let mut keys: Vec<Key> = Vec::new();
    for line in &order.lines {
        match (&line.kind, &line.showtime_id) {
            (Kind::Ticket, Some(showtime)) => keys.push(showtimes::key(showtime)),
            _ => {
                keys.push(index::record_key(&line.movie_id));
                keys.push(purchase_key(&order.user_id, &line.movie_id));
            }
        }
    }
    let found = batch_get_by_key(app.table.as_ref(), keys).await?;
    let now = app.clock.now();
    let mut lines = Vec::new();
    let mut dropped = Vec::new();
    for line in &order.lines {
        let current: Result<Price, (&str, String)> = match (&line.kind, &line.showtime_id) {
            (Kind::Ticket, Some(showtime)) => {
                match found
                    .get(&showtimes::key(showtime))
                    .and_then(|item| showtimes::view_of(item.clone()).ok())
                {
                    Some(s) if s.has_started(now) => {
                        Err(("showtime_started", "This showtime has started".into()))
                    }
                    Some(s) => Ok(s.price),
                    None => Err(("unavailable", "This showtime was canceled".into())),
                }
            }
            _ => {
                let movie: Option<Stored<MovieInput>> = found
                    .get(&index::record_key(&line.movie_id))
                    .and_then(|item| from_entity_item(Movie::KIND, item.clone()).ok());
                match movie {
                    None => Err(("unavailable", "This movie was withdrawn".into())),
                    Some(_) if owns(found.get(&purchase_key(&order.user_id, &line.movie_id))) => {
                        Err(("already_owned", "You own this movie now".into()))
                    }
                    Some(m) => match movie_refusal(&m.fields, country) {
                        Some(refusal) => Err(refusal),
                        None => Ok(m.fields.price),
                    },
                }
            }
        };
        match current {
            Ok(unit_price) => lines.push(OrderLine {
                line_total: Price {
                    amount: unit_price.amount * i64::from(line.quantity),
                    currency: unit_price.currency.clone(),
                },
                unit_price,
                ..line.clone()
            }),
            Err((code, reason)) => dropped.push(super::LeftOut {
                line_id: line.line_id.clone(),
                title: line.title.clone(),
                reason,
                code: code.to_string(),
                seats_left: None,
            }),
        }
    }
    let total = Price {
        amount: lines.iter().map(|l| l.line_total.amount).sum(),
        currency: order.total.currency.clone(),
    };
    Ok(Repricing {
        lines,
        total,
        dropped,
    })
}

fn changes_problem(order: &Order, repricing: &Repricing) -> Problem {
    let mut what: Vec<String> = Vec::new();
    for line in &repricing.lines {
        if let Some(before) = order.lines.iter().find(|l| l.line_id == line.line_id)
            && before.unit_price != line.unit_price
        {
            what.push(format!(
                "{}: {} -> {}",
                line.title, before.unit_price, line.unit_price
            ));
        }
    }
    what.extend(
        repricing
            .dropped
            .iter()
            .map(|d| format!("{}: left out ({})", d.title, d.reason)),
    );
    Problem::conflict(
        "order_changed",
        "Prices or availability changed since the order was made; check out again to accept",
    )
    .detail(format!(
        "New total {} (was {}). {}",
        repricing.total,
        order.total,
        what.join("; ")
    ))
    .with("new_total", serde_json::json!(repricing.total))
    .with("changes", serde_json::json!(what))
}

/// One attempt at payment: the payment record's id and the session's expiry, fixed on the
/// order before Stripe is called, so that a twin of the request sends Stripe the very same
/// request (and, under the same idempotency key, gets the same session).
struct Attempt {
    payment_id: String,
    expires_at: i64,
}

fn fresh_attempt(order: &Order, now: i64) -> Option<Attempt> {
    match (&order.next_payment_id, order.next_payment_expires_at) {
        // Stripe wants at least 30 minutes left; an attempt older than a minute is redone.
        (Some(id), Some(expires_at)) if expires_at > now + SESSION_SECS - 60 => Some(Attempt {
            payment_id: id.clone(),
            expires_at,
        }),
        _ => None,
    }
}

/// Fixes the attempt and lets go of the order's previous session (so that its expiry event
/// no longer ends the order); a previous session not yet lapsed is closed at Stripe, so an
/// order is never paid through two. If Stripe says it is being paid, that payment decides.
async fn begin_attempt(app: &App, order: &Order, now: i64) -> Result<Attempt, Problem> {
    let attempt = match fresh_attempt(order, now) {
        Some(attempt) => attempt,
        None => {
            let attempt = Attempt {
                payment_id: ulid::Ulid::new().to_string(),
                expires_at: now + SESSION_SECS,
            };
            let unchanged = match &order.next_payment_id {
                Some(old) => Condition::eq("next_payment_id", old.as_str()),
                None => Condition::AttrNotExists("next_payment_id".into()),
            };
            let fixed = app
                .table
                .write(
                    Write::update(
                        key(&order.id),
                        Update::new()
                            .set("next_payment_id", attempt.payment_id.as_str())
                            .set("next_payment_expires_at", attempt.expires_at)
                            .remove("checkout"),
                    )
                    .when(Condition::eq("status", Status::Pending.as_str()).and(unchanged)),
                )
                .await;
            match fixed {
                Ok(_) => attempt,
                Err(StoreError::ConditionFailed) => {
                    // A twin fixed its attempt first: this request makes the same one.
                    let now_order = load(app, &order.id).await?.ok_or_else(Problem::internal)?;
                    match fresh_attempt(&now_order, now) {
                        Some(theirs) if now_order.status == Status::Pending => theirs,
                        _ => return Err(not_pending(&now_order)),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    if let Some(open) = order.checkout.as_ref().filter(|o| o.expires_at > now) {
        match crate::payments::gateway::of(app)
            .expire_checkout(&open.session_id)
            .await
        {
            Ok(()) => {}
            Err(GatewayError::Refused(why)) => {
                return Err(Problem::conflict(
                    "payment_in_progress",
                    "The payment for this order is being completed",
                )
                .detail(why));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(attempt)
}

fn not_pending(order: &Order) -> Problem {
    Problem::conflict(
        "not_pending",
        format!(
            "Only pending orders can be paid; this one is {}",
            order.status.as_str()
        ),
    )
}

/// `POST /orders/{id}/checkout`.
pub async fn checkout(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<CheckoutStarted>, Problem> {
    let order = own(&app, &caller, &id).await?;
    let now = app.clock.now().unix_timestamp();
    // A page still open is handed back as it is: its prices are the ones being paid.
    if let Some(open) = payable(&order, now)? {
        return Ok(axum::Json(CheckoutStarted::of(&order, open)));
    }
    let buyer = user::find(&app, &order.user_id)
        .await?
        .ok_or_else(Problem::internal)?;
    let repricing = reprice(&app, &order, buyer.country.as_deref()).await?;
    let unchanged = confirmed_prices(&app, &order, &repricing).await?;
    let Attempt {
        payment_id,
        expires_at,
    } = begin_attempt(&app, &order, now).await?;
    let session = crate::payments::gateway::of(&app)
        .create_checkout(&checkout_request(
            &app,
            &order,
            &repricing,
            &payment_id,
            buyer.email,
            expires_at,
        ))
        .await?;
    let payment = Payment {
        id: payment_id,
        order_id: order.id.clone(),
        user_id: order.user_id.clone(),
        amount: repricing.total.clone(),
        status: PaymentStatus::Pending,
        session_id: session.id.clone(),
        payment_intent: None,
        hint: None,
        created_at: now,
        updated_at: now,
    };
    let open = OpenCheckout {
        session_id: session.id,
        payment_id: payment.id.clone(),
        url: session.url,
        expires_at,
    };
    let writes = session_writes(&order, &repricing, unchanged, &payment, &open, now)?;
    match app.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
            // A twin of this request stored its session first (the same one: the
            // provider's idempotency key is the same); hand back what it stored.
            let now_order = load(&app, &order.id).await?.ok_or_else(Problem::internal)?;
            return match &now_order.checkout {
                Some(open) if now_order.status == Status::Pending => {
                    Ok(axum::Json(CheckoutStarted::of(&now_order, open)))
                }
                _ => Err(not_pending(&now_order)),
            };
        }
        Err(e) => return Err(e.into()),
    }
    marquee_core::metrics::count(marquee_core::metrics::Metric::CheckoutsStarted);
    Ok(axum::Json(CheckoutStarted {
        order_id: order.id,
        checkout_url: open.url,
        total: repricing.total,
        expires_at,
    }))
}

impl CheckoutStarted {
    /// The answer for a page the order already has open.
    fn of(order: &Order, open: &OpenCheckout) -> Self {
        Self {
            order_id: order.id.clone(),
            checkout_url: open.url.clone(),
            total: order.total.clone(),
            expires_at: open.expires_at,
        }
    }
}

/// Whether `order` may be paid now: its page, when one is open for at least another
/// minute; `None` when a new page is needed; a problem when it cannot be paid.
fn payable(order: &Order, now: i64) -> Result<Option<&OpenCheckout>, Problem> {
    if order.status != Status::Pending {
        return Err(not_pending(order));
    }
    if order.expires_at <= now {
        // Lapsed, and the expiry sweep has not reached it yet: its seats are going back.
        return Err(Problem::conflict(
            "order_lapsed",
            "This order has lapsed; order again from your cart",
        ));
    }
    if let Some(open) = order.checkout.as_ref().filter(|o| o.expires_at > now + 60) {
        return Ok(Some(open));
    }
    if now + SESSION_SECS > order.created_at + MAX_HOLD_SECS {
        return Err(Problem::conflict(
            "hold_ended",
            "This order has held its items as long as an order may",
        )
        .detail("Cancel it and order again from your cart"));
    }
    Ok(None)
}

/// Whether the order may be paid at `repricing`'s prices: yes when nothing changed
/// (`true`) or when the buyer already saw these changes (`false`: the order takes them
/// with its page). A first change is remembered on the order and answered 409.
async fn confirmed_prices(
    app: &App,
    order: &Order,
    repricing: &Repricing,
) -> Result<bool, Problem> {
    let unchanged = repricing.dropped.is_empty() && repricing.lines == order.lines;
    let confirmed = order.repricing.as_ref() == Some(repricing);
    if !unchanged && !confirmed {
        app.table
            .write(
                Write::update(
                    key(&order.id),
                    Update::new().set("repricing", json(repricing)?),
                )
                .when(Condition::eq("status", Status::Pending.as_str())),
            )
            .await?;
        return Err(changes_problem(order, repricing));
    }
    if repricing.lines.is_empty() {
        return Err(Problem::conflict(
            "nothing_to_pay",
            "Nothing in this order can be bought now; cancel it",
        ));
    }
    Ok(unchanged)
}

/// What the provider's page asks the buyer to pay for.
fn checkout_request(
    app: &App,
    order: &Order,
    repricing: &Repricing,
    payment_id: &str,
    user_email: String,
    expires_at: i64,
) -> CheckoutRequest {
    CheckoutRequest {
        order_id: order.id.clone(),
        payment_id: payment_id.to_string(),
        user_email,
        currency: repricing.total.currency.clone(),
        lines: repricing
            .lines
            .iter()
            .map(|l| CheckoutLine {
                name: match l.kind {
                    Kind::Movie => l.title.clone(),
                    Kind::Ticket => format!("{} (ticket)", l.title),
                },
                unit_amount: l.unit_price.amount,
                quantity: l.quantity,
            })
            .collect(),
        success_url: app
            .config
            .checkout_url(&app.config.checkout_success_url, &order.id),
        cancel_url: app
            .config
            .checkout_url(&app.config.checkout_cancel_url, &order.id),
        expires_at,
        idempotency_key: format!("checkout-{payment_id}"),
    }
}

/// A value of the order as its item stores it.
fn json(value: &impl Serialize) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(value).map_err(|_| Problem::internal())
}

/// One transaction: the order takes its new page (and the confirmed prices, unless
/// `unchanged`) while it still waits for this attempt, the hold lapses after the page, the
/// payment is recorded, a page opened before is ended, and tickets left out give their
/// seats back.
fn session_writes(
    order: &Order,
    repricing: &Repricing,
    unchanged: bool,
    payment: &Payment,
    open: &OpenCheckout,
    now: i64,
) -> Result<Vec<Write>, Problem> {
    let lapses_at = open.expires_at + GRACE_SECS;
    let mut update = Update::new()
        .set("checkout", json(open)?)
        .remove("next_payment_id")
        .remove("next_payment_expires_at")
        .set("expires_at", lapses_at)
        .set("updated_at", now)
        .remove("repricing");
    if !unchanged {
        update = update
            .set("lines", json(&repricing.lines)?)
            .set("total", json(&repricing.total)?);
    }
    let mut hold = entity_item(
        "order_hold",
        &hold_key(&order.id),
        &serde_json::json!({"order_id": order.id}),
    );
    expiry::stamp(&mut hold, lapses_at);
    let mut writes = vec![
        Write::update(key(&order.id), update).when(
            Condition::eq("status", Status::Pending.as_str())
                .and(Condition::eq("next_payment_id", payment.id.as_str())),
        ),
        Write::put(hold),
        Write::put(payments::new_payment_item(payment)).when(Condition::NotExists),
    ];
    if let Some(previous) = &order.checkout {
        writes.push(payments::end_pending_payment(
            &previous.payment_id,
            PaymentStatus::Canceled,
            now,
        ));
    }
    writes.extend(
        repricing
            .dropped
            .iter()
            .filter_map(|d| order.lines.iter().find(|l| l.line_id == d.line_id))
            .filter_map(|l| Some(seat_release(l.showtime_id.as_deref()?, l.quantity))),
    );
    Ok(writes)
}
