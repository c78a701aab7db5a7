//! The signed-in caller's own marks on a movie, shown by movies-get.

use super::favorites::favorite_key;
use super::reactions::{Reaction, rating_key, reaction_key, reaction_of, score_of};
use crate::app::App;
use crate::http::problem::Problem;
use crate::store::Key;
use serde::Serialize;

/// What the commerce feature writes when a user owns a movie.
pub fn purchase_key(user_id: &str, movie_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("PURCHASE#{movie_id}"))
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Mine {
    pub reaction: Option<Reaction>,
    pub rating: Option<i64>,
    pub favorite: bool,
    pub purchased: bool,
}

/// One batch read of the caller's items on the movie.
pub async fn mine(app: &App, user_id: &str, movie_id: &str) -> Result<Mine, Problem> {
    let keys = [
        reaction_key(movie_id, user_id),
        rating_key(movie_id, user_id),
        favorite_key(user_id, movie_id),
        purchase_key(user_id, movie_id),
    ];
    let mut mine = Mine::default();
    for item in app.table.batch_get(&keys).await? {
        let Some(key) = Key::of(&item) else { continue };
        if key == keys[0] {
            mine.reaction = reaction_of(&item);
        } else if key == keys[1] {
            mine.rating = score_of(&item);
        } else if key == keys[2] {
            mine.favorite = true;
        } else if key == keys[3] {
            // A refunded purchase stays on record but no longer grants the movie.
            mine.purchased = item.get("revoked").and_then(|v| v.as_bool()) != Some(true);
        }
    }
    Ok(mine)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PurchasesQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A movie the caller owns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Owned {
    #[serde(flatten)]
    pub movie: crate::catalog::index::Card,
    /// Epoch seconds.
    pub purchased_at: Option<i64>,
    /// Where the viewer stopped watching it, in seconds (absent: not started).
    pub position_s: Option<f64>,
}

/// `GET /me/purchases`: the movies the caller owns (a refunded one no longer counts), in
/// the order bought, with where the viewer stopped; one query and two batch reads per page.
pub async fn purchases(
    axum::extract::State(app): axum::extract::State<App>,
    caller: crate::http::guard::Principal,
    crate::http::Query(query): crate::http::Query<PurchasesQuery>,
) -> Result<axum::Json<crate::http::pagination::Page<Owned>>, Problem> {
    let limit = crate::http::pagination::page_limit(query.limit)?;
    let page = app
        .table
        .query(
            &crate::store::Query::partition(format!("USER#{}", caller.user_id))
                .sort_key(crate::store::SortKey::BeginsWith("PURCHASE#".into()))
                .limit(limit)
                .after(query.cursor),
        )
        .await?;
    let owned: Vec<(String, Option<i64>)> = page
        .items
        .iter()
        .filter(|item| item.get("revoked").and_then(|v| v.as_bool()) != Some(true))
        .filter_map(|item| {
            let sk = item.get(crate::store::schema::SK)?.as_str()?;
            let movie = sk.strip_prefix("PURCHASE#")?.to_string();
            Some((movie, item.get("purchased_at").and_then(|v| v.as_i64())))
        })
        .collect();
    let ids: Vec<String> = owned.iter().map(|(id, _)| id.clone()).collect();
    let mut cards = crate::catalog::index::cards(&app, &ids).await?;
    let positions = super::progress::positions(&app, &caller.user_id, &ids).await?;
    let items = owned
        .into_iter()
        .filter_map(|(id, purchased_at)| {
            Some(Owned {
                position_s: positions.get(&id).map(|p| p.position_s),
                movie: cards.remove(&id)?.card,
                purchased_at,
            })
        })
        .collect();
    Ok(axum::Json(crate::http::pagination::Page {
        items,
        next_cursor: page.next_cursor,
    }))
}
