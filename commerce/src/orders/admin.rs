//! Staff views of orders: the filtered list and the sales report.

use super::{Order, Status, by_status, by_user};
use crate::cart::Kind;
use crate::staff_list::{self, Filters, Listing, range_ms};
use axum::extract::State;
use marquee_catalog::catalog::movies::Price;
use marquee_core::app::App;
use marquee_core::http::Query;
use marquee_core::http::pagination::Page;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::store::{self, Index, SortKey, from_entity_item};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `GET /admin/orders`.
pub async fn list(
    State(app): State<App>,
    Query(filters): Query<Filters>,
) -> Result<axum::Json<Page<Order>>, Problem> {
    let status = match filters.status.as_deref() {
        None => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            staff_list::bad_status("pending, paid, canceled, expired, refund_requested, refunded")
        })?),
    };
    let listing = Listing {
        entity: "order",
        all: "ORDERS".into(),
        by_user,
        by_status: status.map(by_status),
        status: status.map(Status::as_str),
    };
    Ok(axum::Json(
        staff_list::page(&app, &listing, &filters).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SalesQuery {
    /// `YYYY-MM-DD` (UTC), inclusive; default 30 days before `to`.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive; default today.
    pub to: Option<String>,
}

/// Revenue and units of one day, or of one movie, in one currency.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// Paid, minor units; refunded orders are left out.
    pub revenue: i64,
    /// Refunded, minor units.
    pub refunded: i64,
    pub currency: String,
    /// Movies sold plus tickets sold.
    pub units: i64,
    pub tickets: i64,
    /// Paid orders; refunded ones are left out (of a movie's tally: those that bought it).
    pub orders: i64,
    /// Orders refunded, whose amounts make `refunded`.
    pub refunded_orders: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DaySales {
    pub date: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MovieSales {
    pub movie_id: String,
    pub title: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Sales {
    pub from: String,
    pub to: String,
    pub total: Tally,
    pub by_day: Vec<DaySales>,
    /// Highest revenue first.
    pub by_movie: Vec<MovieSales>,
}

/// The longest range one report reads.
const MAX_DAYS: i64 = 366;

/// One more order in `tally`, paid or refunded; its lines are added by [`add`].
fn count_order(tally: &mut Tally, refunded: bool) {
    if refunded {
        tally.refunded_orders += 1;
    } else {
        tally.orders += 1;
    }
}

fn add(tally: &mut Tally, price: &Price, refunded: bool, quantity: u16, kind: Kind) {
    if tally.currency.is_empty() {
        tally.currency = price.currency.clone();
    }
    if refunded {
        tally.refunded += price.amount;
        return;
    }
    tally.revenue += price.amount;
    tally.units += i64::from(quantity);
    if kind == Kind::Ticket {
        tally.tickets += i64::from(quantity);
    }
}

/// `GET /admin/sales`: from the paid orders of the range (GSI3 `SALES`, by payment time).
pub async fn sales(
    State(app): State<App>,
    Query(query): Query<SalesQuery>,
) -> Result<axum::Json<Sales>, Problem> {
    let fmt = marquee_core::clock::DATE;
    let today = app.clock.now().date();
    let to = query
        .to
        .clone()
        .unwrap_or_else(|| today.format(fmt).unwrap_or_default());
    let (_, end_ms) = range_ms(None, Some(&to))?;
    let end_date = time::OffsetDateTime::from_unix_timestamp((end_ms / 1000) as i64)
        .map_err(|_| Problem::internal())?
        .date();
    let from = query.from.clone().unwrap_or_else(|| {
        (end_date - time::Duration::days(29))
            .format(fmt)
            .unwrap_or_default()
    });
    let (start_ms, _) = range_ms(Some(&from), Some(&to))?;
    if (end_ms - start_ms) / 86_400_000 >= MAX_DAYS as u64 {
        return Err(Problem::invalid_query(vec![FieldError {
            field: "from".into(),
            message: format!("a report covers at most {MAX_DAYS} days"),
        }]));
    }
    let mut days: BTreeMap<String, Tally> = BTreeMap::new();
    let mut movies: BTreeMap<String, (String, Tally)> = BTreeMap::new();
    let mut total = Tally::default();
    let mut q = store::Query::on(Index::Gsi3, "SALES")
        .sort_key(SortKey::Between(
            format!("{:012}#", start_ms / 1000),
            format!("{:012}#~", end_ms / 1000),
        ))
        .limit(store::MAX_QUERY_LIMIT);
    loop {
        let page = app.table.query(&q).await?;
        for item in page.items {
            let order: Order = from_entity_item("order", item)?;
            let refunded = order.status == Status::Refunded;
            let paid_at = order.paid_at.unwrap_or(order.created_at);
            let date = time::OffsetDateTime::from_unix_timestamp(paid_at)
                .map_err(|_| Problem::internal())?
                .date()
                .format(fmt)
                .unwrap_or_default();
            let day = days.entry(date).or_default();
            count_order(day, refunded);
            count_order(&mut total, refunded);
            let mut counted = BTreeSet::new();
            for line in &order.lines {
                add(day, &line.line_total, refunded, line.quantity, line.kind);
                add(
                    &mut total,
                    &line.line_total,
                    refunded,
                    line.quantity,
                    line.kind,
                );
                let movie = movies
                    .entry(line.movie_id.clone())
                    .or_insert_with(|| (line.title.clone(), Tally::default()));
                // The movie and tickets to see it, in one order, are one order of it.
                if counted.insert(line.movie_id.as_str()) {
                    count_order(&mut movie.1, refunded);
                }
                add(
                    &mut movie.1,
                    &line.line_total,
                    refunded,
                    line.quantity,
                    line.kind,
                );
            }
        }
        match page.next_cursor {
            Some(cursor) => q.cursor = Some(cursor),
            None => break,
        }
    }
    let mut by_movie: Vec<MovieSales> = movies
        .into_iter()
        .map(|(movie_id, (title, tally))| MovieSales {
            movie_id,
            title,
            tally,
        })
        .collect();
    by_movie.sort_by_key(|m| std::cmp::Reverse(m.tally.revenue));
    Ok(axum::Json(Sales {
        from,
        to,
        total,
        by_day: days
            .into_iter()
            .map(|(date, tally)| DaySales { date, tally })
            .collect(),
        by_movie,
    }))
}
