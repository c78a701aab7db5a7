//! The signed-in caller's own marks on movies (me-marks), and the movies they own.

use super::favorites::favorite_key;
use super::reactions::{Reaction, rating_key, reaction_key, reaction_of, score_of};
use marquee_core::app::App;
use marquee_core::http::problem::Problem;
use marquee_core::store::Key;
use serde::Serialize;

/// What the commerce feature writes when a user owns a movie.
pub fn purchase_key(user_id: &str, movie_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("PURCHASE#{movie_id}"))
}

/// How many movies one me-marks request may ask about.
pub const MAX_MARKED: usize = 100;

/// The caller's own marks on one movie.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Marks {
    pub movie_id: String,
    pub reaction: Option<Reaction>,
    /// 1 to 10.
    pub rating: Option<i64>,
    pub favorite: bool,
    /// Owned (a refunded purchase no longer counts).
    pub purchased: bool,
    /// Where the viewer stopped watching it, in seconds (absent: not started).
    pub position_s: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MarksList {
    /// One entry per movie asked about, in the order asked.
    pub items: Vec<Marks>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarksQuery {
    /// Movie ids, comma-separated, 1 to 100.
    pub ids: Option<String>,
}

/// The movie ids of a me-marks query: distinct, in order; 400 `invalid_query` when there
/// are none, more than [`MAX_MARKED`], or one is not an id.
fn marked_ids(query: &MarksQuery) -> Result<Vec<String>, Problem> {
    let refuse = |message: &str| {
        Problem::invalid_query(vec![marquee_core::http::problem::FieldError {
            field: "ids".into(),
            message: message.into(),
        }])
    };
    let listed = query.ids.as_deref().unwrap_or("").trim();
    if listed.is_empty() {
        return Err(refuse("name 1 to 100 movie ids, comma-separated"));
    }
    let mut ids: Vec<String> = Vec::new();
    for id in listed.split(',').map(str::trim) {
        let plausible = !id.is_empty()
            && id.len() <= 40
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plausible {
            return Err(refuse("each id is 1 to 40 letters, digits, '-' or '_'"));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    if ids.len() > MAX_MARKED {
        return Err(refuse("at most 100 movies at once"));
    }
    Ok(ids)
}

/// `GET /me/marks?ids=a,b`: the caller's reaction, rating, favourite, purchase and
/// progress on each movie named, in one batch read; public pages stay the same for
/// everyone, and a client overlays these.
pub async fn marks(
    axum::extract::State(app): axum::extract::State<App>,
    caller: marquee_core::http::guard::Principal,
    marquee_core::http::Query(query): marquee_core::http::Query<MarksQuery>,
) -> Result<axum::Json<MarksList>, Problem> {
    let ids = marked_ids(&query)?;
    let user = caller.user_id.as_str();
    let mut keys = Vec::with_capacity(ids.len() * 5);
    for movie in &ids {
        keys.push(reaction_key(movie, user));
        keys.push(rating_key(movie, user));
        keys.push(favorite_key(user, movie));
        keys.push(purchase_key(user, movie));
        keys.push(super::progress::progress_key(user, movie));
    }
    let mut found: std::collections::HashMap<Key, marquee_core::store::Item> = app
        .table
        .batch_get(&keys)
        .await?
        .into_iter()
        .filter_map(|item| Some((Key::of(&item)?, item)))
        .collect();
    let items = ids
        .into_iter()
        .zip(keys.chunks(5))
        .map(|(movie_id, keys)| {
            let mut marks = Marks {
                movie_id,
                ..Marks::default()
            };
            if let Some(item) = found.remove(&keys[0]) {
                marks.reaction = reaction_of(&item);
            }
            if let Some(item) = found.remove(&keys[1]) {
                marks.rating = score_of(&item);
            }
            marks.favorite = found.remove(&keys[2]).is_some();
            if let Some(item) = found.remove(&keys[3]) {
                // A refunded purchase stays on record but no longer grants the movie.
                marks.purchased = item.get("revoked").and_then(|v| v.as_bool()) != Some(true);
            }
            if let Some(item) = found.remove(&keys[4]) {
                marks.position_s = super::progress::Progress::of(&item).map(|p| p.position_s);
            }
            marks
        })
        .collect();
    Ok(axum::Json(MarksList { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(listed: &str) -> Result<Vec<String>, Problem> {
        marked_ids(&MarksQuery {
            ids: Some(listed.into()),
        })
    }

    #[test]
    fn ids_are_listed_once_in_order_and_bounded() {
        assert_eq!(ids(" b, a ,b").unwrap(), ["b", "a"]);
        assert!(ids("").is_err() && ids("a,,b").is_err() && ids("a b").is_err());
        let hundred: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
        assert_eq!(ids(&hundred.join(",")).unwrap().len(), 100);
        let more = format!("{},m100", hundred.join(","));
        assert_eq!(ids(&more).unwrap_err().code, "invalid_query");
    }
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
/// the order bought, with where the viewer stopped: per page, one query, then the cards and
/// the positions read together.
pub async fn purchases(
    axum::extract::State(app): axum::extract::State<App>,
    caller: marquee_core::http::guard::Principal,
    marquee_core::http::Query(query): marquee_core::http::Query<PurchasesQuery>,
) -> Result<axum::Json<marquee_core::http::pagination::Page<Owned>>, Problem> {
    let limit = marquee_core::http::pagination::page_limit(query.limit)?;
    let page = app
        .table
        .query(
            &marquee_core::store::Query::partition(format!("USER#{}", caller.user_id))
                .sort_key(marquee_core::store::SortKey::BeginsWith("PURCHASE#".into()))
                .limit(limit)
                .after(query.cursor),
        )
        .await?;
    let owned: Vec<(String, Option<i64>)> = page
        .items
        .iter()
        .filter(|item| item.get("revoked").and_then(|v| v.as_bool()) != Some(true))
        .filter_map(|item| {
            let sk = item.get(marquee_core::store::schema::SK)?.as_str()?;
            let movie = sk.strip_prefix("PURCHASE#")?.to_string();
            Some((movie, item.get("purchased_at").and_then(|v| v.as_i64())))
        })
        .collect();
    let ids: Vec<String> = owned.iter().map(|(id, _)| id.clone()).collect();
    let (cards, positions) = tokio::join!(
        crate::catalog::index::cards(&app, &ids),
        super::progress::positions(&app, &caller.user_id, &ids),
    );
    let (mut cards, positions) = (cards?, positions?);
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
    Ok(axum::Json(marquee_core::http::pagination::Page {
        items,
        next_cursor: page.next_cursor,
    }))
}
