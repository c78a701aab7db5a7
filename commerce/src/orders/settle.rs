//! What verified provider events do to an order. Each change is one transaction that also
//! claims the event and checks the order's status, so a repeat, a concurrent twin or an
//! event that arrives after the order moved on changes nothing.

use super::notices;
use super::{Order, Status, hold_key, key, load, pending_key, seat_release, status_update};
use crate::cart::{self, Kind};
use crate::payments::{self, PaymentStatus};
use marquee_accounts::accounts::user;
use marquee_accounts::notifications::Template;
use marquee_catalog::catalog::index;
use marquee_catalog::engagement::mine::purchase_key;
use marquee_core::app::App;
use marquee_core::http::problem::Problem;
use marquee_core::store::{Condition, Index, Key, StoreError, Update, Write, entity_item};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Attempts when a concurrent writer touches the same items.
const ATTEMPTS: usize = 4;

/// Commits an event's changes with its claim; `Ok(true)` if they applied, `Ok(false)` if
/// the claim or a status guard said the event is already reflected (it is then remembered
/// on its own).
async fn apply(app: &App, claim: Write, changes: Vec<Write>) -> Result<bool, Problem> {
    let mut writes = vec![claim.clone()];
    writes.extend(changes);
    for _ in 0..ATTEMPTS {
        match app.table.transact(writes.clone()).await {
            Ok(()) => return Ok(true),
            Err(StoreError::TransactionCanceled { .. }) => {
                record_only(app, claim).await?;
                return Ok(false);
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::unavailable())
}

/// An event with nothing (more) to change: remembered, so a repeat is recognised.
pub async fn record_only(app: &App, claim: Write) -> Result<(), Problem> {
    match app.table.write(claim).await {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn receipt_context(app: &App, order: &Order) -> Value {
    json!({
        "order_id": order.id,
        "lines": order.lines.iter().map(|l| json!({
            "title": l.title,
            "kind": l.kind,
            "quantity": l.quantity,
            "line_total": l.line_total.to_string(),
            "showing": showing(l),
        })).collect::<Vec<_>>(),
        "total": order.total.to_string(),
        "link": format!("{}/#/orders/{}", app.config.public_url, order.id),
    })
}

/// When and where a ticket line's showtime is, as a receipt says it, in the cinema's time
/// ("Tue 8 Dec 2026, 15:00 CET at Le Grand Rex"); nothing for a movie, or an order placed
/// before lines kept their showtime.
fn showing(line: &super::OrderLine) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let starts = time::OffsetDateTime::parse(line.starts_at.as_deref()?, &Rfc3339).ok()?;
    let day = marquee_core::clock::local_time(starts, line.time_zone.as_deref().unwrap_or("UTC"));
    Some(match &line.cinema {
        Some(cinema) => format!("{day} at {cinema}"),
        None => day,
    })
}

/// What a paid checkout session says was paid, as the event has it.
pub struct PaidSession<'a> {
    pub session_id: &'a str,
    /// Our payment record, from the session's metadata.
    pub payment_id: Option<&'a str>,
    pub payment_intent: &'a str,
    /// Minor units.
    pub amount_total: Option<i64>,
    pub currency: Option<&'a str>,
}

/// checkout.session.completed (paid) and async_payment_succeeded: the order is paid, its
/// movies granted, its seats kept for good, and a receipt owed. Only a payment of the
/// session stored for one of the order's payments, for exactly the order's total, pays it
/// (the order id in an event is only a hint: other Stripe products let a buyer choose
/// `client_reference_id`); any other is rejected and its money sent back.
pub async fn paid(
    app: &App,
    order_id: &str,
    paid: &PaidSession<'_>,
    claim: Write,
) -> Result<(), Problem> {
    let payment_intent = paid.payment_intent;
    let Some(order) = load(app, order_id).await? else {
        return reject(app, None, paid, "it names no order of ours", claim).await;
    };
    // Read together: what the checks below and the settlement need of the order.
    let (payment, buyer, listed) = tokio::join!(
        payment_of(app, &order, paid.payment_id, Some(paid.session_id)),
        user::find(app, &order.user_id),
        movies_still_listed(app, &order),
    );
    let Some(payment) = payment? else {
        return reject(
            app,
            Some(&order),
            paid,
            "its checkout session is not one this order opened",
            claim,
        )
        .await;
    };
    let currency_matches = paid
        .currency
        .is_some_and(|c| c.eq_ignore_ascii_case(&order.total.currency));
    if paid.amount_total != Some(order.total.amount) || !currency_matches {
        return reject(
            app,
            Some(&order),
            paid,
            "its amount or currency is not the order's total",
            claim,
        )
        .await;
    }
    if order.status != Status::Pending {
        if order.payment_intent.as_deref() != Some(payment_intent) {
            refund_paid_after_end(app, &order, &payment, payment_intent).await?;
        }
        return record_only(app, claim).await;
    }
    let Some(buyer) = buyer? else {
        return Err(Problem::internal());
    };
    let writes = settlement(
        app,
        &order,
        &payment,
        &buyer.email,
        payment_intent,
        &listed?,
    );
    if apply(app, claim, writes).await? {
        tracing::info!(order_id, "order paid");
        marquee_core::metrics::count(marquee_core::metrics::Metric::PaymentsSettled);
    }
    // Idempotent: repeats of the event tidy the cart again.
    let bought: Vec<String> = order.lines.iter().map(|l| l.line_id.clone()).collect();
    cart::remove_lines(app, &order.user_id, &bought).await?;
    Ok(())
}

/// A payment for an order that ended (it lapsed or was canceled at that very moment): the
/// money goes back rather than selling seats that may be gone, and the payment says why.
async fn refund_paid_after_end(
    app: &App,
    order: &Order,
    payment: &payments::Payment,
    payment_intent: &str,
) -> Result<(), Problem> {
    tracing::error!(
        order_id = order.id,
        payment_intent,
        "payment for an ended order; refunding"
    );
    payments::gateway::of(app)
        .refund(&payments::gateway::RefundRequest {
            order_id: order.id.clone(),
            payment_intent: payment_intent.to_string(),
            amount: order.total.amount,
            currency: order.total.currency.clone(),
            idempotency_key: format!("lapsed-{}-{payment_intent}", order.id),
        })
        .await?;
    let now = app.clock.now().unix_timestamp();
    app.table
        .write(Write::update(
            payments::key(&payment.id),
            payments::status_update(PaymentStatus::Refunded, now)
                .set("payment_intent", payment_intent)
                .set("hint", "Paid after the order had ended; refunded in full"),
        ))
        .await?;
    Ok(())
}

/// The writes that settle a pending order paid through `payment_intent`: the order paid
/// (if still pending) and counted in the sales, its cart's pending mark and its seat hold
/// gone, the intent mapped to it, the receipt owed to `email`, the payment succeeded, and
/// each movie granted (and counted on the movie's record while it is `listed`).
fn settlement(
    app: &App,
    order: &Order,
    payment: &payments::Payment,
    email: &str,
    payment_intent: &str,
    listed: &HashSet<String>,
) -> Vec<Write> {
    let now = app.clock.now().unix_timestamp();
    let mut writes = vec![
        Write::update(
            key(&order.id),
            status_update(Status::Paid, now)
                .set("paid_at", now)
                .set("payment_intent", payment_intent)
                .set(Index::Gsi3.pk(), "SALES")
                .set(Index::Gsi3.sk(), format!("{now:012}#{}", order.id)),
        )
        .when(Condition::eq("status", Status::Pending.as_str())),
        Write::delete(pending_key(&order.user_id, &order.cart)),
        Write::delete(hold_key(&order.id)),
        Write::put(entity_item(
            "payment_intent",
            &payments::intent_key(payment_intent),
            &json!({"order_id": order.id}),
        )),
        notices::owed(
            &order.id,
            "receipt",
            Template::OrderReceipt,
            email,
            receipt_context(app, order),
        ),
    ];
    writes.push(Write::update(
        payments::key(&payment.id),
        payments::status_update(PaymentStatus::Succeeded, now)
            .set("payment_intent", payment_intent)
            .remove("hint"),
    ));
    for line in order.lines.iter().filter(|l| l.kind == Kind::Movie) {
        writes.push(Write::put(entity_item(
            "purchase",
            &purchase_key(&order.user_id, &line.movie_id),
            &json!({"movie_id": line.movie_id, "order_id": order.id, "purchased_at": now}),
        )));
        if listed.contains(line.movie_id.as_str()) {
            writes.push(index::marked(
                Update::new().add("purchase_count", 1),
                &line.movie_id,
                now,
            ));
        }
    }
    writes
}

/// The order's payment record an event is about: the one the event names (or the order's
/// current one), when it belongs to the order and, if the event names its checkout
/// session, was opened for that very session.
async fn payment_of(
    app: &App,
    order: &Order,
    named: Option<&str>,
    session_id: Option<&str>,
) -> Result<Option<payments::Payment>, Problem> {
    let id = named
        .map(str::to_string)
        .or_else(|| order.checkout.as_ref().map(|c| c.payment_id.clone()));
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(payments::load(app, &id).await?.filter(|p| {
        p.order_id == order.id && session_id.is_none_or(|session| p.session_id == session)
    }))
}

/// A paid session that does not pay an order of ours: nothing is sold, the event is
/// remembered, the order's owner sees it in their security log, operators in the log,
/// and money that moved goes back in full.
async fn reject(
    app: &App,
    order: Option<&Order>,
    paid: &PaidSession<'_>,
    why: &str,
    claim: Write,
) -> Result<(), Problem> {
    let order_id = order.map(|o| o.id.as_str()).unwrap_or("none");
    tracing::error!(
        security_event = "payment_rejected",
        order_id,
        session = paid.session_id,
        payment_intent = paid.payment_intent,
        amount_total = paid.amount_total,
        currency = paid.currency,
        "a payment that does not match its order was rejected: {why}"
    );
    marquee_core::metrics::count(marquee_core::metrics::Metric::PaymentsRejected);
    if let Some(order) = order {
        marquee_accounts::auth::security_log::record(
            app,
            &order.user_id,
            marquee_accounts::auth::security_log::EventType::PaymentRejected,
            &Default::default(),
            format!(
                "a payment naming order {} was not accepted ({why}); its money is sent back",
                order.id
            ),
        )
        .await;
    }
    if let (Some(amount), Some(currency)) = (paid.amount_total, paid.currency)
        && amount > 0
        && !paid.payment_intent.is_empty()
    {
        payments::gateway::of(app)
            .refund(&payments::gateway::RefundRequest {
                order_id: order_id.to_string(),
                payment_intent: paid.payment_intent.to_string(),
                amount,
                currency: currency.to_ascii_uppercase(),
                idempotency_key: format!("rejected-{}", paid.payment_intent),
            })
            .await?;
    }
    record_only(app, claim).await
}

/// The movies the order bought that are still in the catalogue (their purchase counters
/// can move; a deleted movie's cannot).
async fn movies_still_listed(app: &App, order: &Order) -> Result<HashSet<String>, Problem> {
    let keys = order
        .lines
        .iter()
        .filter(|l| l.kind == Kind::Movie)
        .map(|l| index::record_key(&l.movie_id))
        .collect();
    Ok(
        marquee_core::store::batch_get_by_key(app.table.as_ref(), keys)
            .await?
            .values()
            .filter_map(|item| item.get("id").and_then(Value::as_str).map(str::to_string))
            .collect(),
    )
}

/// payment_intent.payment_failed and async_payment_failed: the payment is marked failed
/// with what to do next; the order stays pending, so the buyer can try again.
pub async fn payment_failed(
    app: &App,
    order_id: &str,
    payment_id: Option<&str>,
    hint: String,
    claim: Write,
) -> Result<(), Problem> {
    let Some(order) = load(app, order_id).await? else {
        return record_only(app, claim).await;
    };
    let Some(payment) = payment_of(app, &order, payment_id, None).await? else {
        return record_only(app, claim).await;
    };
    let now = app.clock.now().unix_timestamp();
    // Only a payment still open can fail: a late failure of a retried card changes nothing.
    let failed = Write::update(
        payments::key(&payment.id),
        payments::status_update(PaymentStatus::Failed, now).set("hint", hint),
    )
    .when(
        Condition::eq("status", PaymentStatus::Pending.as_str())
            .or(Condition::eq("status", PaymentStatus::Failed.as_str())),
    );
    apply(app, claim, vec![failed]).await?;
    Ok(())
}

/// checkout.session.expired: if it was the order's current session, the order ends and its
/// seats go back; an earlier session's payment is only closed.
pub async fn session_expired(
    app: &App,
    order_id: &str,
    session_id: &str,
    payment_id: Option<&str>,
    claim: Write,
) -> Result<(), Problem> {
    let Some(order) = load(app, order_id).await? else {
        return record_only(app, claim).await;
    };
    let current = order.status == Status::Pending
        && order
            .checkout
            .as_ref()
            .is_some_and(|c| c.session_id == session_id);
    if current {
        // The session is the authority on this lapse: no waiting for the order's own clock.
        if !super::end_pending_now(app, &order, vec![claim.clone()]).await? {
            record_only(app, claim).await?;
        }
    } else if let Some(payment) = payment_of(app, &order, payment_id, None).await? {
        let now = app.clock.now().unix_timestamp();
        let closed = payments::end_pending_payment(&payment.id, PaymentStatus::Canceled, now);
        apply(app, claim, vec![closed]).await?;
    } else {
        record_only(app, claim).await?;
    }
    Ok(())
}

/// charge.refunded (in full): the order is refunded, its movies no longer granted, its
/// seats given back, and a confirmation owed. Returns the order's id.
pub async fn refunded(
    app: &App,
    payment_intent: &str,
    claim: Write,
) -> Result<Option<String>, Problem> {
    let order_id = app
        .table
        .get(&payments::intent_key(payment_intent))
        .await?
        .and_then(|item| {
            item.get("order_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let Some(order) = (match &order_id {
        Some(id) => load(app, id).await?,
        None => None,
    }) else {
        tracing::warn!(payment_intent, "a refund for an unknown payment");
        record_only(app, claim).await?;
        return Ok(None);
    };
    if !matches!(order.status, Status::Paid | Status::RefundRequested) {
        record_only(app, claim).await?;
        return Ok(Some(order.id));
    }
    let now = app.clock.now().unix_timestamp();
    // Read together: the buyer, to write to, and what the refund undoes.
    let (buyer, revoked, seats_back) = tokio::join!(
        user::find(app, &order.user_id),
        grants_revoked(app, &order, now),
        seats_given_back(app, &order),
    );
    let Some(buyer) = buyer? else {
        return Err(Problem::internal());
    };
    let mut writes = vec![
        Write::update(
            key(&order.id),
            status_update(Status::Refunded, now).set("refunded_at", now),
        )
        .when(
            Condition::eq("status", Status::Paid.as_str())
                .or(Condition::eq("status", Status::RefundRequested.as_str())),
        ),
        notices::owed(
            &order.id,
            "refund",
            Template::OrderRefunded,
            &buyer.email,
            receipt_context(app, &order),
        ),
    ];
    if let Some(open) = &order.checkout {
        writes.push(Write::update(
            payments::key(&open.payment_id),
            payments::status_update(PaymentStatus::Refunded, now),
        ));
    }
    writes.extend(revoked?);
    writes.extend(seats_back?);
    if apply(app, claim, writes).await? {
        tracing::info!(order_id = %order.id, "order refunded");
        marquee_core::metrics::count(marquee_core::metrics::Metric::Refunds);
    }
    Ok(Some(order.id))
}

/// The writes that take back the movies a refunded order granted: only the grants this
/// order made (a movie bought again later stays owned), each movie's purchase count
/// lowered while it is listed.
async fn grants_revoked(app: &App, order: &Order, now: i64) -> Result<Vec<Write>, Problem> {
    let grants: Vec<Key> = order
        .lines
        .iter()
        .filter(|l| l.kind == Kind::Movie)
        .map(|l| purchase_key(&order.user_id, &l.movie_id))
        .collect();
    let (granted, listed) = tokio::join!(
        marquee_core::store::batch_get_by_key(app.table.as_ref(), grants),
        movies_still_listed(app, order),
    );
    let listed = listed?;
    let mut writes = Vec::new();
    for item in granted?.into_values() {
        if item.get("order_id").and_then(Value::as_str) != Some(order.id.as_str()) {
            continue;
        }
        let Some(movie_id) = item.get("movie_id").and_then(Value::as_str) else {
            continue;
        };
        writes.push(
            Write::update(
                purchase_key(&order.user_id, movie_id),
                Update::new().set("revoked", true).set("revoked_at", now),
            )
            .when(Condition::eq("order_id", order.id.as_str())),
        );
        if listed.contains(movie_id) {
            writes.push(index::marked(
                Update::new().add("purchase_count", -1),
                movie_id,
                now,
            ));
        }
    }
    Ok(writes)
}

/// The writes that give a refunded order's seats back, on the showtimes still scheduled.
async fn seats_given_back(app: &App, order: &Order) -> Result<Vec<Write>, Problem> {
    use marquee_catalog::catalog::showtimes;
    let tickets: Vec<(&str, u16)> = order
        .lines
        .iter()
        .filter(|l| l.kind == Kind::Ticket)
        .filter_map(|l| Some((l.showtime_id.as_deref()?, l.quantity)))
        .collect();
    let keys = tickets.iter().map(|(s, _)| showtimes::key(s)).collect();
    let still_scheduled = marquee_core::store::batch_get_by_key(app.table.as_ref(), keys).await?;
    Ok(tickets
        .into_iter()
        .filter(|(showtime, _)| still_scheduled.contains_key(&showtimes::key(showtime)))
        .map(|(showtime, quantity)| seat_release(showtime, quantity))
        .collect())
}
