//! What viewers do with movies: reactions (like / dislike), ratings, favourites and
//! comments. Each per-user item and the movie's counter change in one transaction, so the
//! counters stay exact under concurrent clicks; the movie is marked for the next index
//! sweep instead of having its shelves rewritten per click (see `catalog::index`).

pub mod comments;
pub mod favorites;
pub mod mine;
pub mod progress;
pub mod reactions;

use crate::catalog::index::{self, Counters};
use crate::catalog::movies::MovieCounts;
use marquee_core::app::App;
use marquee_core::http::problem::Problem;
use marquee_core::store::{StoreError, Write};

/// Attempts of a read-then-transact change before giving up on a busy item.
const ATTEMPTS: usize = 5;

/// The movie's counts as they are now.
pub async fn counts(app: &App, movie_id: &str) -> Result<MovieCounts, Problem> {
    match app.table.get(&index::record_key(movie_id)).await? {
        Some(item) => Ok(MovieCounts::from(&Counters::read(&item))),
        None => Err(no_movie()),
    }
}

pub fn no_movie() -> Problem {
    Problem::not_found("No such movie")
}

/// 404 unless the movie exists (a read that may lag a write by a second costs half).
pub async fn require_movie(app: &App, movie_id: &str) -> Result<(), Problem> {
    match app.table.get_eventual(&index::record_key(movie_id)).await? {
        Some(_) => Ok(()),
        None => Err(no_movie()),
    }
}

/// How a change built from a fresh read ended.
pub enum Outcome {
    Done,
    /// Someone changed the same items meanwhile: read again.
    Retry,
}

/// Runs a transaction whose first write is the movie's counter update; a failure there
/// means the movie does not exist.
pub async fn commit(app: &App, writes: Vec<Write>) -> Result<Outcome, Problem> {
    match app.table.transact(writes).await {
        Ok(()) => Ok(Outcome::Done),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(no_movie()),
        Err(StoreError::TransactionCanceled { .. } | StoreError::Conflict) => Ok(Outcome::Retry),
        Err(e) => Err(e.into()),
    }
}

pub fn busy() -> Problem {
    Problem::conflict("busy", "Too many changes at once; try again")
}
