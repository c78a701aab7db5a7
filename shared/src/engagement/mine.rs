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
