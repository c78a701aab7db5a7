//! Emails an order owes (receipt, refund confirmation), sent once each. A notice is written
//! in the same transaction as the change that owes it, then sent by whoever handles an
//! event of the order: a short lease keeps concurrent handlers from sending it twice, and
//! it is deleted once sent. A failed send keeps it, and the provider's retry sends it.

use marquee_accounts::notifications::{self, Template};
use marquee_core::app::App;
use marquee_core::http::problem::Problem;
use marquee_core::store::{Key, Query, SortKey, StoreError, Update, Write, entity_item, lease};
use serde_json::Value;

/// How long a sender may take before another may try.
const LEASE_SECS: i64 = 120;

fn notice_key(order_id: &str, name: &str) -> Key {
    Key::new(format!("ORDER#{order_id}"), format!("NOTICE#{name}"))
}

/// The notice, for the transaction that owes it.
pub fn owed(order_id: &str, name: &str, template: Template, to: &str, context: Value) -> Write {
    Write::put(entity_item(
        "notice",
        &notice_key(order_id, name),
        &serde_json::json!({
            "template": template.name(),
            "to": to,
            "context": context,
        }),
    ))
}

/// Sends what the order still owes.
pub async fn deliver(app: &App, order_id: &str) -> Result<(), Problem> {
    let owed = app
        .table
        .query(
            &Query::partition(format!("ORDER#{order_id}"))
                .sort_key(SortKey::BeginsWith("NOTICE#".into()))
                .limit(10),
        )
        .await?;
    for item in owed.items {
        let Some(key) = Key::of(&item) else { continue };
        let now = app.clock.now().unix_timestamp();
        match app.table.write(lease(key.clone(), now, LEASE_SECS)).await {
            Ok(_) => {}
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
        let template = item
            .get("template")
            .and_then(Value::as_str)
            .and_then(Template::from_name);
        let to = item.get("to").and_then(Value::as_str).unwrap_or_default();
        let Some(template) = template else {
            tracing::error!(?key, "dropping a notice with an unknown template");
            app.table.write(Write::delete(key)).await?;
            continue;
        };
        let context = item.get("context").cloned().unwrap_or(Value::Null);
        if let Err(e) = notifications::send(app, template, to, context).await {
            app.table
                .write(Write::update(key, Update::new().remove("lease_until")))
                .await?;
            tracing::error!(error = %e, order_id, "an order email was not sent; kept for retry");
            return Err(Problem::unavailable());
        }
        app.table.write(Write::delete(key)).await?;
    }
    Ok(())
}
