//! Likes and dislikes (one reaction per user per movie; switching moves the counts) and
//! ratings 1..10 (one per user, changeable; the sum and count give the exact average).

use super::{ATTEMPTS, Outcome, busy, commit, no_movie};
use crate::catalog::index::{self, Counters};
use crate::catalog::movies::MovieCounts;
use axum::extract::State;
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Json, Path, validate};
use marquee_core::store::{Condition, Key, Update, Write, entity_item};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reaction {
    Like,
    Dislike,
}

impl Reaction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Dislike => "dislike",
        }
    }

    /// The movie counter this reaction counts in.
    fn counter(self) -> &'static str {
        match self {
            Self::Like => "likes",
            Self::Dislike => "dislikes",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "like" => Some(Self::Like),
            "dislike" => Some(Self::Dislike),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionInput {
    /// `like` or `dislike`.
    #[garde(skip)]
    pub value: Reaction,
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 10.
    #[garde(range(min = 1, max = 10))]
    #[schema(minimum = 1, maximum = 10)]
    pub score: i64,
}

pub fn reaction_key(movie_id: &str, user_id: &str) -> Key {
    Key::new(format!("MOVIE#{movie_id}"), format!("REACTION#{user_id}"))
}

pub fn rating_key(movie_id: &str, user_id: &str) -> Key {
    Key::new(format!("MOVIE#{movie_id}"), format!("RATING#{user_id}"))
}

/// One user's single value on a movie (a reaction or a score), and how the movie's
/// counters follow it.
trait Choice: Copy + PartialEq {
    const ENTITY: &'static str;
    fn key(movie_id: &str, user_id: &str) -> Key;
    fn read(item: &Value) -> Option<Self>;
    fn value(self) -> Value;
    /// The movie's counters that change, and by how much, when this value arrives
    /// (`sign` 1) or leaves (`sign` -1).
    fn counts(self, sign: i64) -> Vec<(&'static str, i64)>;
}

impl Choice for Reaction {
    const ENTITY: &'static str = "reaction";
    fn key(movie_id: &str, user_id: &str) -> Key {
        reaction_key(movie_id, user_id)
    }
    fn read(value: &Value) -> Option<Self> {
        value.as_str().and_then(Reaction::parse)
    }
    fn value(self) -> Value {
        self.as_str().into()
    }
    fn counts(self, sign: i64) -> Vec<(&'static str, i64)> {
        vec![(self.counter(), sign)]
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(i64);

impl Choice for Score {
    const ENTITY: &'static str = "rating";
    fn key(movie_id: &str, user_id: &str) -> Key {
        rating_key(movie_id, user_id)
    }
    fn read(value: &Value) -> Option<Self> {
        value.as_i64().map(Score)
    }
    fn value(self) -> Value {
        self.0.into()
    }
    fn counts(self, sign: i64) -> Vec<(&'static str, i64)> {
        vec![("rating_sum", sign * self.0), ("rating_count", sign)]
    }
}

/// Sets (`Some`) or clears (`None`) the caller's value, moving the counters exactly.
/// Answers the movie's counts as read with the caller's value, this change applied (a
/// change another viewer commits in between shows in the next read).
async fn choose<C: Choice>(
    app: &App,
    movie_id: &str,
    user_id: &str,
    wanted: Option<C>,
) -> Result<MovieCounts, Problem> {
    let key = C::key(movie_id, user_id);
    let record_key = index::record_key(movie_id);
    for _ in 0..ATTEMPTS {
        let (current, record) = tokio::join!(app.table.get(&key), app.table.get(&record_key));
        let Some(mut record) = record? else {
            return Err(no_movie());
        };
        let old = current?
            .as_ref()
            .and_then(|i| i.get("value"))
            .and_then(C::read);
        if old == wanted {
            return Ok(MovieCounts::from(&Counters::read(&record)));
        }
        let changes = old
            .map(|old| old.counts(-1))
            .into_iter()
            .chain(wanted.map(|new| new.counts(1)))
            .flatten();
        let mut update = Update::new();
        for (counter, by) in changes {
            update = update.add(counter, by);
            let was = record.get(counter).and_then(Value::as_i64).unwrap_or(0);
            record.insert(counter.into(), (was + by).into());
        }
        // The per-user item moves only from the value just read.
        let unchanged = match old {
            Some(old) => Condition::eq("value", old.value()),
            None => Condition::NotExists,
        };
        let own = match wanted {
            Some(new) => Write::put(entity_item(
                C::ENTITY,
                &key,
                &json!({
                    "movie_id": movie_id,
                    "user_id": user_id,
                    "value": new.value(),
                    "at": app.clock.now().unix_timestamp(),
                }),
            )),
            None => Write::delete(key.clone()),
        };
        let now = app.clock.now().unix_timestamp();
        let writes = vec![index::marked(update, movie_id, now), own.when(unchanged)];
        if let Outcome::Done = commit(app, writes).await? {
            return Ok(MovieCounts::from(&Counters::read(&record)));
        }
    }
    Err(busy())
}

pub async fn set_reaction(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
    Json(input): Json<ReactionInput>,
) -> Result<axum::Json<MovieCounts>, Problem> {
    Ok(axum::Json(
        choose(&app, &id, &caller.user_id, Some(input.value)).await?,
    ))
}

pub async fn clear_reaction(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<MovieCounts>, Problem> {
    Ok(axum::Json(
        choose::<Reaction>(&app, &id, &caller.user_id, None).await?,
    ))
}

pub async fn set_rating(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
    Json(input): Json<RatingInput>,
) -> Result<axum::Json<MovieCounts>, Problem> {
    validate::finish(validate::fields(&input))?;
    Ok(axum::Json(
        choose(&app, &id, &caller.user_id, Some(Score(input.score))).await?,
    ))
}

pub async fn clear_rating(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<MovieCounts>, Problem> {
    Ok(axum::Json(
        choose::<Score>(&app, &id, &caller.user_id, None).await?,
    ))
}

/// The caller's reaction and score read from their items.
pub fn reaction_of(item: &marquee_core::store::Item) -> Option<Reaction> {
    item.get("value").and_then(Reaction::read)
}

pub fn score_of(item: &marquee_core::store::Item) -> Option<i64> {
    item.get("value").and_then(Value::as_i64)
}
