//! Where a viewer stopped in a movie: one item per viewer and movie in the viewer's own
//! partition, written by every progress beat (the player sends one every few seconds; a
//! beat is one unconditional write). "Continue watching" reads the viewer's items with
//! one query and their cards with one batch read.

use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::Problem;
use marquee_core::store::{Item, Key, Query, SortKey, StoreError, Write, entity_item};
use serde::{Deserialize, Serialize};

const PREFIX: &str = "PROGRESS#";
/// A movie watched this far is finished: it leaves "continue watching" and plays from the
/// start next time.
pub const FINISHED_SHARE: f64 = 0.95;

pub fn progress_key(user_id: &str, movie_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), format!("{PREFIX}{movie_id}"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub position_s: f64,
    pub duration_s: f64,
    /// Epoch seconds.
    pub updated_at: i64,
}

impl Progress {
    pub fn of(item: &Item) -> Option<Self> {
        serde_json::from_value(serde_json::Value::Object(item.clone())).ok()
    }

    pub fn finished(&self) -> bool {
        self.duration_s > 0.0 && self.position_s >= self.duration_s * FINISHED_SHARE
    }

    /// Where the next playback starts: here, or at the start once finished.
    pub fn resume_at(&self) -> f64 {
        if self.finished() {
            0.0
        } else {
            self.position_s
        }
    }
}

/// Keeps where the viewer is now.
pub async fn record(
    app: &App,
    user_id: &str,
    movie_id: &str,
    progress: &Progress,
) -> Result<(), StoreError> {
    let item = entity_item("progress", &progress_key(user_id, movie_id), progress);
    app.table.write(Write::put(item)).await.map(|_| ())
}

/// Where the viewer stopped in each of `movie_ids` they started.
pub async fn positions(
    app: &App,
    user_id: &str,
    movie_ids: &[String],
) -> Result<std::collections::HashMap<String, Progress>, StoreError> {
    let keys: Vec<Key> = movie_ids.iter().map(|m| progress_key(user_id, m)).collect();
    Ok(app
        .table
        .batch_get(&keys)
        .await?
        .into_iter()
        .filter_map(|item| {
            let movie = Key::of(&item)?.sk.strip_prefix(PREFIX)?.to_string();
            Some((movie, Progress::of(&item)?))
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContinueQuery {
    /// How many movies (default 20, at most 100).
    pub limit: Option<u32>,
}

/// A movie the viewer started and has not finished.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Started {
    pub movie: crate::catalog::index::Card,
    pub position_s: f64,
    pub duration_s: f64,
    /// Epoch seconds of the last beat.
    pub updated_at: i64,
}

/// The most progress items one answer reads: a viewer's started movies, bounded.
const MAX_READ: u32 = 1_000;

/// `GET /me/continue-watching`: started, unfinished movies, the latest watched first.
pub async fn continue_watching(
    axum::extract::State(app): axum::extract::State<App>,
    caller: Principal,
    marquee_core::http::Query(query): marquee_core::http::Query<ContinueQuery>,
) -> Result<axum::Json<marquee_core::http::pagination::Page<Started>>, Problem> {
    let limit = marquee_core::http::pagination::page_limit(query.limit)? as usize;
    let page = app
        .table
        .query(
            &Query::partition(format!("USER#{}", caller.user_id))
                .sort_key(SortKey::BeginsWith(PREFIX.into()))
                .limit(MAX_READ),
        )
        .await?;
    let mut started: Vec<(String, Progress)> = page
        .items
        .iter()
        .filter_map(|item| {
            let movie = Key::of(item)?.sk.strip_prefix(PREFIX)?.to_string();
            Some((movie, Progress::of(item)?))
        })
        .filter(|(_, p)| p.position_s > 0.0 && !p.finished())
        .collect();
    started.sort_by_key(|(_, p)| std::cmp::Reverse(p.updated_at));
    started.truncate(limit);
    let ids: Vec<String> = started.iter().map(|(id, _)| id.clone()).collect();
    let mut cards = crate::catalog::index::cards(&app, &ids).await?;
    let items = started
        .into_iter()
        .filter_map(|(id, p)| {
            Some(Started {
                movie: cards.remove(&id)?.card,
                position_s: p.position_s,
                duration_s: p.duration_s,
                updated_at: p.updated_at,
            })
        })
        .collect();
    Ok(axum::Json(marquee_core::http::pagination::Page {
        items,
        next_cursor: None,
    }))
}
