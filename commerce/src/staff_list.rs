//! The staff lists of orders and payments: newest first, filtered by user, status and a
//! date range. Ids are ULIDs, so a date range is a range of sort keys; the partition is the
//! narrowest one the filters name (the user's, else the status's, else all), and a status
//! asked for together with a user is filtered while reading, within a read budget.

use marquee_core::app::App;
use marquee_core::http::pagination::{Page, page_limit};
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::store::{Index, Query, SortKey, from_entity_item};
use serde::Deserialize;
use serde_json::Value;
use time::{Date, Duration};

/// Items one filtered page may read before it answers with what it found.
const READ_BUDGET: usize = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    /// A user id.
    pub user: Option<String>,
    pub status: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive.
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Where one kind of record is listed.
pub struct Listing {
    pub entity: &'static str,
    /// The GSI4 partition of all of them.
    pub all: String,
    /// The GSI1 partition of one user's.
    pub by_user: fn(&str) -> String,
    /// The GSI5 partition of the status asked for.
    pub by_status: Option<String>,
    pub status: Option<&'static str>,
}

pub fn bad_status(allowed: &str) -> Problem {
    Problem::invalid_query(vec![FieldError {
        field: "status".into(),
        message: format!("must be one of {allowed}"),
    }])
}

fn date(field: &str, text: &str) -> Result<Date, Problem> {
    Date::parse(text, marquee_core::clock::DATE).map_err(|_| {
        Problem::invalid_query(vec![FieldError {
            field: field.into(),
            message: "must be a date, YYYY-MM-DD".into(),
        }])
    })
}

/// The epoch milliseconds from the start of `from` to the end of `to`.
pub fn range_ms(from: Option<&str>, to: Option<&str>) -> Result<(u64, u64), Problem> {
    let start = match from {
        Some(text) => date("from", text)?.midnight().assume_utc().unix_timestamp() * 1000,
        None => 0,
    };
    let end = match to {
        Some(text) => {
            (date("to", text)? + Duration::days(1))
                .midnight()
                .assume_utc()
                .unix_timestamp()
                * 1000
                - 1
        }
        None => i64::MAX / 2,
    };
    if start > end {
        return Err(Problem::invalid_query(vec![FieldError {
            field: "to".into(),
            message: "must not be before from".into(),
        }]));
    }
    Ok((start.max(0) as u64, end.max(0) as u64))
}

fn id_bounds(filters: &Filters) -> Result<Option<SortKey>, Problem> {
    if filters.from.is_none() && filters.to.is_none() {
        return Ok(None);
    }
    let (start, end) = range_ms(filters.from.as_deref(), filters.to.as_deref())?;
    Ok(Some(SortKey::Between(
        ulid::Ulid::from_parts(start, 0).to_string(),
        ulid::Ulid::from_parts(end, u128::MAX).to_string(),
    )))
}

pub async fn page<T: serde::de::DeserializeOwned>(
    app: &App,
    listing: &Listing,
    filters: &Filters,
) -> Result<Page<T>, Problem> {
    let limit = page_limit(filters.limit)?;
    let bounds = id_bounds(filters)?;
    let (index, pk, status_filter) = match (&filters.user, &listing.by_status) {
        (Some(user), _) => (Index::Gsi1, (listing.by_user)(user), listing.status),
        (None, Some(partition)) => (Index::Gsi5, partition.clone(), None),
        (None, None) => (Index::Gsi4, listing.all.clone(), None),
    };
    let mut query = Query::on(index, pk)
        .descending()
        .after(filters.cursor.clone());
    if let Some(bounds) = bounds {
        query = query.sort_key(bounds);
    }
    let Some(status) = status_filter else {
        let found = app.table.query(&query.limit(limit)).await?;
        return Ok(Page::of_entities(listing.entity, found)?);
    };
    let mut items = Vec::new();
    let mut read = 0;
    loop {
        let found = app.table.query(&query.clone().limit(100)).await?;
        let exhausted = found.next_cursor.is_none();
        for item in found.items {
            read += 1;
            let cursor = query.cursor_after(&item);
            if item.get("status").and_then(Value::as_str) == Some(status) {
                items.push(from_entity_item(listing.entity, item)?);
            }
            if items.len() == limit as usize || read == READ_BUDGET {
                return Ok(Page {
                    items,
                    next_cursor: Some(cursor),
                });
            }
        }
        if exhausted {
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
        query.cursor = found.next_cursor;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_range_covers_whole_days_and_refuses_bad_input() {
        let (start, end) = range_ms(Some("2026-01-01"), Some("2026-01-01")).unwrap();
        assert_eq!(start, 1_767_225_600_000);
        assert_eq!(end, start + 86_400_000 - 1);
        assert!(range_ms(Some("2026-13-01"), None).is_err());
        assert!(range_ms(Some("2026-01-02"), Some("2026-01-01")).is_err());
        assert_eq!(range_ms(None, None).unwrap().0, 0);
    }
}
