//! Expiring items: sessions, activation and reset tokens, holds and pending orders. Each
//! carries `expires_at` (checked on every read), a `ttl` (DynamoDB's lazy backstop) and
//! keys on the EXPIRY index, bucketed by day, so a scheduled sweep (commerce's
//! `expiry::sweep_due`) finds what is due with bounded queries and hands it to the worker
//! through the queue.

use crate::store::{Index, Item, schema};
use serde_json::Value;

pub const EXPIRES_AT: &str = "expires_at";

/// One due item, as the sweep queues it for the worker (and every feature's share of the
/// worker reads it back).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Due {
    pub pk: String,
    pub sk: String,
}

impl Due {
    /// The item a queued message names, if it is one.
    pub fn key_of(body: &str) -> Option<crate::store::Key> {
        let due: Due = serde_json::from_str(body).ok()?;
        Some(crate::store::Key::new(due.pk, due.sk))
    }
}

/// The day bucket an expiry falls in.
pub fn bucket(expires_at: i64) -> String {
    format!("EXPIRY#{}", expires_at.div_euclid(86_400))
}

/// Sort key: the due time first, zero-padded so strings sort as numbers.
fn sort_key(expires_at: i64, pk: &str) -> String {
    format!("{expires_at:012}#{pk}")
}

/// The attributes that make an item expire at `expires_at` (epoch seconds).
pub fn attributes(pk: &str, expires_at: i64) -> Vec<(&'static str, Value)> {
    vec![
        (EXPIRES_AT, expires_at.into()),
        (schema::TTL, expires_at.into()),
        (Index::Expiry.pk(), bucket(expires_at).into()),
        (Index::Expiry.sk(), sort_key(expires_at, pk).into()),
    ]
}

/// Sets the expiry attributes on an item under construction.
pub fn stamp(item: &mut Item, expires_at: i64) {
    let pk = item
        .get(schema::PK)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for (attr, value) in attributes(&pk, expires_at) {
        item.insert(attr.to_string(), value);
    }
}

/// True when the item's `expires_at` has passed (TTL deletion is lazy: reads must check).
pub fn has_expired(item: &Item, now: i64) -> bool {
    item.get(EXPIRES_AT)
        .and_then(Value::as_i64)
        .is_some_and(|at| at <= now)
}

/// The write that uses up a single-use expiring item (an emailed link, a sign-in step, a
/// provider sign-in's state or login code): it fails if the item is gone or expired by now.
pub fn use_up(key: crate::store::Key, now: i64) -> crate::store::Write {
    use crate::store::{Cmp, Condition};
    crate::store::Write::delete(key).when(Condition::Exists.and(Condition::compare(
        EXPIRES_AT,
        Cmp::Gt,
        now,
    )))
}

/// The item at `key` if it exists and has not expired by now (the TTL deletes lazily).
pub async fn get_live(
    table: &dyn crate::store::Table,
    key: &crate::store::Key,
    now: i64,
) -> Result<Option<Item>, crate::store::StoreError> {
    Ok(table.get(key).await?.filter(|item| !has_expired(item, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_by_time_and_buckets_by_day() {
        assert!(sort_key(999, "A") < sort_key(1_000, "A"));
        assert_eq!(bucket(86_399), bucket(0));
        assert_ne!(bucket(86_400), bucket(0));
        let mut item = Item::new();
        item.insert("PK".into(), "SESSION#1".into());
        stamp(&mut item, 100);
        assert_eq!(item["EXPIRY_SK"], "000000000100#SESSION#1");
        assert!(has_expired(&item, 100));
        assert!(!has_expired(&item, 99));
    }
}
