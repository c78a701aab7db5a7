//! Payments: one record per payment session of an order, moved on only by verified
//! provider events (the webhook); the owner's payment history and the staff lists.
//!
//! Keys: `PAYMENT#<id>` / `RECORD` (ids are ULIDs: time-ordered), listed per owner through
//! GSI1 `PAYMENTS#USER#<user>`, all through GSI4 `PAYMENTS`, per status through GSI5
//! `PAYMENTS#STATUS#<status>`. `PAYMENT_INTENT#<id>` / `ORDER` finds the order of a
//! provider payment (refund events name the payment only).

pub mod gateway;
pub mod signature;
pub mod simulated;
pub mod stripe;
pub mod webhook;

use crate::staff_list::{self, Filters, Listing};
use axum::extract::State;
use marquee_catalog::catalog::movies::Price;
use marquee_core::app::App;
use marquee_core::http::Query;
use marquee_core::http::guard::Principal;
use marquee_core::http::pagination::{Page, PageQuery, newest_first};
use marquee_core::http::problem::Problem;
use marquee_core::store::{Condition, Index, Item, Key, Update, Write, entity_item};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Failed,
    Canceled,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Succeeded,
            Self::Failed,
            Self::Canceled,
            Self::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: String,
    pub order_id: String,
    pub user_id: String,
    pub amount: Price,
    pub status: PaymentStatus,
    /// The provider's checkout session.
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    /// What to do about a failed payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

pub fn key(id: &str) -> Key {
    Key::new(format!("PAYMENT#{id}"), "RECORD")
}

pub fn intent_key(payment_intent: &str) -> Key {
    Key::new(format!("PAYMENT_INTENT#{payment_intent}"), "ORDER")
}

fn by_user(user_id: &str) -> String {
    format!("PAYMENTS#USER#{user_id}")
}

fn by_status(status: PaymentStatus) -> String {
    format!("PAYMENTS#STATUS#{}", status.as_str())
}

pub fn new_payment_item(payment: &Payment) -> Item {
    let mut item = entity_item("payment", &key(&payment.id), payment);
    item.insert(Index::Gsi1.pk().into(), by_user(&payment.user_id).into());
    item.insert(Index::Gsi1.sk().into(), payment.id.clone().into());
    item.insert(Index::Gsi4.pk().into(), "PAYMENTS".into());
    item.insert(Index::Gsi4.sk().into(), payment.id.clone().into());
    item.insert(Index::Gsi5.pk().into(), by_status(payment.status).into());
    item.insert(Index::Gsi5.sk().into(), payment.id.clone().into());
    item
}

/// Moves a payment on, keeping its status index entry in step.
pub fn status_update(to: PaymentStatus, now: i64) -> Update {
    Update::new()
        .set("status", to.as_str())
        .set(Index::Gsi5.pk(), by_status(to))
        .set("updated_at", now)
}

/// Ends a payment that has not succeeded (its order ended first).
pub fn end_pending_payment(payment_id: &str, to: PaymentStatus, now: i64) -> Write {
    Write::update(key(payment_id), status_update(to, now)).when(
        Condition::eq("status", PaymentStatus::Pending.as_str())
            .or(Condition::eq("status", PaymentStatus::Failed.as_str())),
    )
}

pub async fn load(app: &App, id: &str) -> Result<Option<Payment>, Problem> {
    match app.table.get(&key(id)).await? {
        Some(item) => Ok(Some(marquee_core::store::from_entity_item(
            "payment", item,
        )?)),
        None => Ok(None),
    }
}

/// `GET /payments`: the caller's payments, newest first.
pub async fn list(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<PageQuery>,
) -> Result<axum::Json<Page<Payment>>, Problem> {
    let partition = by_user(&caller.user_id);
    let page = newest_first(
        app.table.as_ref(),
        "payment",
        marquee_core::store::Query::on(Index::Gsi1, partition),
        query,
    );
    Ok(axum::Json(page.await?))
}

/// `GET /admin/payments`: every payment, filtered by user, status and date range.
pub async fn admin_list(
    State(app): State<App>,
    Query(filters): Query<Filters>,
) -> Result<axum::Json<Page<Payment>>, Problem> {
    let status = match filters.status.as_deref() {
        None => None,
        Some(s) => Some(PaymentStatus::parse(s).ok_or_else(|| {
            staff_list::bad_status("pending, succeeded, failed, canceled, refunded")
        })?),
    };
    let listing = Listing {
        entity: "payment",
        all: "PAYMENTS".into(),
        by_user,
        by_status: status.map(by_status),
        status: status.map(PaymentStatus::as_str),
    };
    Ok(axum::Json(
        staff_list::page(&app, &listing, &filters).await?,
    ))
}
