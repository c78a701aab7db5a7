//! Refunds: the owner asks on a paid order, an admin approves (the provider refunds, with
//! an idempotency key per order), and the provider's charge.refunded event completes it.

use super::{Order, Status, key, load, own, status_update};
use crate::payments::gateway::RefundRequest;
use axum::extract::State;
use axum::http::StatusCode;
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::Path;
use marquee_core::http::extract::Json;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::Problem;
use marquee_core::http::validate;
use marquee_core::store::{Condition, StoreError, Update, Write};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefundState {
    pub reason: String,
    /// Epoch seconds.
    pub requested_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// The provider's refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundAsk {
    /// Why (1 to 1000 characters).
    #[garde(length(chars, min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

fn not_in(status: Status, wanted: &str) -> Problem {
    Problem::conflict(
        "wrong_status",
        format!("{wanted}; this order is {}", status.as_str()),
    )
}

/// `POST /orders/{id}/refund`: the owner asks for a refund of a paid order.
pub async fn request(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
    Json(ask): Json<RefundAsk>,
) -> Result<(StatusCode, axum::Json<Order>), Problem> {
    let reason = ask.reason.trim().to_string();
    let mut errors = validate::fields(&ask);
    validate::not_blank(&mut errors, "reason", &ask.reason);
    validate::finish(errors)?;
    let order = own(&app, &caller, &id).await?;
    if order.status != Status::Paid {
        return Err(not_in(order.status, "Only paid orders can be refunded"));
    }
    let now = app.clock.now().unix_timestamp();
    let state = RefundState {
        reason,
        requested_at: now,
        approved_at: None,
        approved_by: None,
        refund_id: None,
    };
    let asked = app
        .table
        .write(
            Write::update(
                key(&order.id),
                status_update(Status::RefundRequested, now).set(
                    "refund",
                    serde_json::to_value(&state).map_err(|_| Problem::internal())?,
                ),
            )
            .when(Condition::eq("status", Status::Paid.as_str())),
        )
        .await;
    match asked {
        Ok(_) => {}
        Err(StoreError::ConditionFailed) => {
            let now = load(&app, &id).await?.map_or(order.status, |o| o.status);
            return Err(not_in(now, "Only paid orders can be refunded"));
        }
        Err(e) => return Err(e.into()),
    }
    let order = load(&app, &id).await?.ok_or_else(Problem::internal)?;
    Ok((StatusCode::ACCEPTED, axum::Json(order)))
}

/// `POST /admin/orders/{id}/refund`: an admin approves a requested refund; the provider
/// refunds, and its event marks the order refunded.
pub async fn approve(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<Order>), Problem> {
    let order = load(&app, &id)
        .await?
        .ok_or_else(|| Problem::not_found("No such order"))?;
    if order.status != Status::RefundRequested {
        return Err(not_in(
            order.status,
            "Only orders whose owner asked for a refund can be refunded",
        ));
    }
    let Some(payment_intent) = order.payment_intent.clone() else {
        return Err(Problem::internal());
    };
    let refund_id = crate::payments::gateway::of(&app)
        .refund(&RefundRequest {
            order_id: order.id.clone(),
            payment_intent,
            amount: order.total.amount,
            currency: order.total.currency.clone(),
            idempotency_key: format!("refund-{}", order.id),
        })
        .await?;
    let now = app.clock.now().unix_timestamp();
    // The provider's event may already have completed the refund: then this is history.
    let Some(mut state) = order.refund.clone() else {
        return Err(Problem::internal());
    };
    state.approved_at = Some(now);
    state.approved_by = Some(caller.user_id.clone());
    state.refund_id = Some(refund_id);
    let noted = app
        .table
        .write(
            Write::update(
                key(&order.id),
                Update::new().set(
                    "refund",
                    serde_json::to_value(&state).map_err(|_| Problem::internal())?,
                ),
            )
            .when(Condition::eq("status", Status::RefundRequested.as_str())),
        )
        .await;
    match noted {
        Ok(_) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    let order = load(&app, &id).await?.ok_or_else(Problem::internal)?;
    Ok((StatusCode::ACCEPTED, axum::Json(order)))
}
