//! Favourites: a user's own shelf, listed with the filters and sorts of movies-list.

use super::{ATTEMPTS, Outcome, busy, commit, no_movie};
use crate::catalog::browse::{self, BrowseQuery};
use crate::catalog::index;
use axum::extract::State;
use axum::http::StatusCode;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::pagination::Page;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Path, Query};
use marquee_core::store::{self, Cmp, Condition, Key, SortKey, Update, Write, entity_item};
use serde_json::json;

/// Favourites a user may keep: what bounds the cost of listing them in any order.
pub const MAX_FAVORITES: i64 = 500;

pub fn favorite_key(user_id: &str, movie_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("FAVORITE#{movie_id}"))
}

fn tally_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "FAVORITES")
}

pub async fn add(
    State(app): State<App>,
    caller: Principal,
    Path(movie_id): Path<String>,
) -> Result<StatusCode, Problem> {
    let user = &caller.user_id;
    for _ in 0..ATTEMPTS {
        if app
            .table
            .get(&favorite_key(user, &movie_id))
            .await?
            .is_some()
        {
            return Ok(StatusCode::NO_CONTENT);
        }
        let entry = entity_item(
            "favorite",
            &favorite_key(user, &movie_id),
            &json!({"movie_id": movie_id, "at": app.clock.now().unix_timestamp()}),
        );
        let room = Condition::AttrNotExists("count".into()).or(Condition::compare(
            "count",
            Cmp::Lt,
            MAX_FAVORITES,
        ));
        let writes = vec![
            index::marked(
                Update::new().add("favorites", 1),
                &movie_id,
                app.clock.now().unix_timestamp(),
            ),
            Write::put(entry).when(Condition::NotExists),
            Write::update(tally_key(user), Update::new().add("count", 1)).when(room),
        ];
        match app.table.transact(writes).await {
            Ok(()) => return Ok(StatusCode::NO_CONTENT),
            Err(store::StoreError::TransactionCanceled { failed }) if failed == [2] => {
                return Err(Problem::conflict(
                    "too_many_favorites",
                    format!("You can keep {MAX_FAVORITES} favourites; remove one first"),
                ));
            }
            Err(store::StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
                return Err(no_movie());
            }
            Err(store::StoreError::TransactionCanceled { .. } | store::StoreError::Conflict) => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy())
}

pub async fn remove(
    State(app): State<App>,
    caller: Principal,
    Path(movie_id): Path<String>,
) -> Result<StatusCode, Problem> {
    let user = &caller.user_id;
    for _ in 0..ATTEMPTS {
        if app
            .table
            .get(&favorite_key(user, &movie_id))
            .await?
            .is_none()
        {
            return Ok(StatusCode::NO_CONTENT);
        }
        let mut writes = vec![
            Write::delete(favorite_key(user, &movie_id)).when(Condition::Exists),
            Write::update(tally_key(user), Update::new().add("count", -1)),
        ];
        // A movie deleted since keeps no counter to move.
        if app
            .table
            .get(&index::record_key(&movie_id))
            .await?
            .is_some()
        {
            writes.insert(
                0,
                index::marked(
                    Update::new().add("favorites", -1),
                    &movie_id,
                    app.clock.now().unix_timestamp(),
                ),
            );
        }
        match commit(&app, writes).await {
            Ok(Outcome::Done) => return Ok(StatusCode::NO_CONTENT),
            Ok(Outcome::Retry) | Err(_) => continue,
        }
    }
    Err(busy())
}

/// The movie ids a user keeps (at most [`MAX_FAVORITES`]).
pub async fn favorite_ids(app: &App, user_id: &str) -> Result<Vec<String>, Problem> {
    let page = app
        .table
        .query(
            &store::Query::partition(format!("USER#{user_id}"))
                .sort_key(SortKey::BeginsWith("FAVORITE#".into()))
                .limit(MAX_FAVORITES as u32),
        )
        .await?;
    Ok(page
        .items
        .iter()
        .filter_map(|i| i.get("movie_id")?.as_str().map(str::to_string))
        .collect())
}

pub async fn list(
    State(app): State<App>,
    caller: Principal,
    Query(query): Query<BrowseQuery>,
) -> Result<axum::Json<Page<Box<serde_json::value::RawValue>>>, Problem> {
    let (filters, plan) = browse::parse(query)?;
    let ids = favorite_ids(&app, &caller.user_id).await?;
    Ok(axum::Json(
        browse::from_candidates(&app, &filters, &plan, &ids).await?,
    ))
}
