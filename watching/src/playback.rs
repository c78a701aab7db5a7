//! Playback and progress. A grant is one live stream of a feature: at most
//! [`MAX_STREAMS`] per account, each living [`GRANT_TTL_SECS`] past its last beat. They
//! sit in three fixed slots of the viewer's partition (`STREAM#1..3`), so starting one is
//! one query of three items and one conditional write, and two starts at once cannot both
//! take the last slot. A playback URL lives for the movie's length plus a margin (capped):
//! the grant limits how many streams start, the URL's expiry how long one plays.

use crate::signers;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use garde::Validate;
use marquee_catalog::catalog::index::record_key;
use marquee_catalog::catalog::media::{MediaFile, MediaKind};
use marquee_catalog::engagement::mine::purchase_key;
use marquee_catalog::engagement::progress::{self, Progress, progress_key};
use marquee_core::App;
use marquee_core::http::guard::{Origin, Principal};
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, validate};
use marquee_core::store::{Cmp, Condition, Item, Key, Query, SortKey, StoreError, Update, Write};
use serde::{Deserialize, Serialize};

pub const MAX_STREAMS: usize = 3;
/// A grant lapses this long after its last progress beat.
pub const GRANT_TTL_SECS: i64 = 120;
/// A URL outlives the movie's length by this much (pauses, seeks back), within the
/// configured cap (6 h by default).
pub const URL_MARGIN_SECS: i64 = 30 * 60;

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybackStart {
    #[garde(skip)]
    pub kind: MediaKind,
    /// A live grant of this movie to renew instead of opening another stream.
    #[garde(inner(length(chars, min = 1, max = 40)))]
    pub grant_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Playback {
    /// Plays in a browser `<video>` as it is (Range requests), until `expires_at`.
    pub url: String,
    /// Epoch seconds.
    pub expires_at: i64,
    /// The stream's grant (features only): send it with progress beats, and to renew.
    pub grant_id: Option<String>,
    /// Where to start: where the viewer stopped, or 0.
    pub position_s: f64,
}

fn slot_key(user_id: &str, slot: usize) -> Key {
    Key::new(format!("USER#{user_id}"), format!("STREAM#{slot}"))
}

struct Slot {
    number: usize,
    grant_id: Option<String>,
    movie_id: Option<String>,
    expires_at: i64,
}

async fn slots(app: &App, user_id: &str) -> Result<Vec<Slot>, StoreError> {
    let page = app
        .table
        .query(
            &Query::partition(format!("USER#{user_id}"))
                .sort_key(SortKey::BeginsWith("STREAM#".into()))
                .limit(MAX_STREAMS as u32 + 1),
        )
        .await?;
    let found: Vec<&Item> = page.items.iter().collect();
    Ok((1..=MAX_STREAMS)
        .map(|number| {
            let key = slot_key(user_id, number);
            let item = found.iter().find(|i| Key::of(i).as_ref() == Some(&key));
            let text = |name: &str| item.and_then(|i| i.get(name)?.as_str().map(str::to_string));
            Slot {
                number,
                grant_id: text("grant_id"),
                movie_id: text("movie_id"),
                expires_at: item
                    .and_then(|i| i.get("expires_at")?.as_i64())
                    .unwrap_or(0),
            }
        })
        .collect())
}

/// The write that gives the live grant `grant_id` in `slot` another [`GRANT_TTL_SECS`];
/// it fails if the grant lapsed or the slot changed hands meanwhile.
fn extension(user_id: &str, slot: &Slot, grant_id: &str, now: i64) -> Write {
    Write::update(
        slot_key(user_id, slot.number),
        Update::new().set("expires_at", now + GRANT_TTL_SECS),
    )
    .when(Condition::eq("grant_id", grant_id).and(Condition::compare(
        "expires_at",
        Cmp::Gt,
        now,
    )))
}

fn too_many(retry_after: i64) -> Problem {
    let mut problem = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_streams",
        "Too many streams at once",
    )
    .detail(format!(
        "This account is already playing {MAX_STREAMS} movies; stop one, or try again shortly"
    ));
    problem.retry_after_secs = Some(retry_after.max(1) as u64);
    problem
}

/// Renews the caller's live grant `grant_id` of `movie_id`, or takes a free slot for a
/// new one. Gives the grant's id.
async fn grant(
    app: &App,
    user_id: &str,
    movie_id: &str,
    renew: Option<&str>,
) -> Result<String, Problem> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let now = app.clock.now().unix_timestamp();
        let slots = slots(app, user_id).await?;
        let live = |s: &&Slot| s.expires_at > now && s.grant_id.is_some();
        if let Some(wanted) = renew
            && let Some(slot) = slots.iter().filter(live).find(|s| {
                s.grant_id.as_deref() == Some(wanted) && s.movie_id.as_deref() == Some(movie_id)
            })
        {
            match app.table.write(extension(user_id, slot, wanted, now)).await {
                Ok(_) => return Ok(wanted.to_string()),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let Some(free) = slots.iter().find(|s| !live(s)) else {
            let soonest = slots.iter().map(|s| s.expires_at).min().unwrap_or(now + 1);
            return Err(too_many(soonest - now));
        };
        let grant_id = ulid::Ulid::new().to_string();
        let key = slot_key(user_id, free.number);
        let mut item = Item::new();
        item.insert(
            marquee_core::store::schema::PK.into(),
            key.pk.clone().into(),
        );
        item.insert(
            marquee_core::store::schema::SK.into(),
            key.sk.clone().into(),
        );
        item.insert("entity".into(), "stream".into());
        item.insert("grant_id".into(), grant_id.clone().into());
        item.insert("movie_id".into(), movie_id.into());
        item.insert("expires_at".into(), (now + GRANT_TTL_SECS).into());
        // The slot is taken only if still free: not there, or lapsed.
        let free_now = Condition::NotExists.or(Condition::compare("expires_at", Cmp::Le, now));
        match app.table.write(Write::put(item).when(free_now)).await {
            Ok(_) => {
                marquee_core::metrics::count(marquee_core::metrics::Metric::PlaybackGrants);
                return Ok(grant_id);
            }
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(marquee_catalog::engagement::busy())
}

/// When a URL for a file of `duration_s` seconds lapses: lives `cap_secs` at most.
pub fn url_expiry(now: i64, duration_s: f64, cap_secs: i64) -> i64 {
    now + (duration_s.ceil() as i64 + URL_MARGIN_SECS).min(cap_secs)
}

/// `POST /movies/{id}/playback`: a trailer for anyone; a feature for its buyer (a purchase
/// not refunded) and the staff, within the streams allowed.
pub async fn start(
    State(app): State<App>,
    Path(movie_id): Path<String>,
    origin: Origin,
    headers: HeaderMap,
    Json(input): Json<PlaybackStart>,
) -> Result<axum::Json<Playback>, Problem> {
    validate::finish(validate::fields(&input))?;
    // Public for trailers; a caller who sends a token is checked (a bad one is 401).
    let caller = if headers.contains_key(axum::http::header::AUTHORIZATION) {
        Some(marquee_accounts::auth::login::authenticate(&app, &headers, &origin).await?)
    } else {
        None
    };
    if input.kind == MediaKind::Feature && caller.is_none() {
        return Err(Problem::unauthorized().detail("Sign in to play the feature"));
    }
    let mut keys = vec![record_key(&movie_id)];
    if let Some(caller) = &caller {
        keys.push(purchase_key(&caller.user_id, &movie_id));
        keys.push(progress_key(&caller.user_id, &movie_id));
    }
    let found = marquee_core::store::batch_get_by_key(app.table.as_ref(), keys.clone()).await?;
    let Some(movie) = found.get(&keys[0]) else {
        return Err(marquee_catalog::engagement::no_movie());
    };
    let Some(file) = MediaFile::of(movie, input.kind) else {
        return Err(Problem::not_found(format!(
            "This movie has no {} yet",
            input.kind.as_str()
        )));
    };
    let signers = signers(&app)?;
    let now = app.clock.now().unix_timestamp();
    let expires_at = url_expiry(now, file.duration_s, app.config.media.url_max_secs);
    if input.kind == MediaKind::Trailer {
        return Ok(axum::Json(Playback {
            url: signers.signer.public_url(&file.object),
            expires_at,
            grant_id: None,
            position_s: 0.0,
        }));
    }
    let Some(caller) = caller else {
        return Err(Problem::unauthorized());
    };
    if !may_play_feature(&caller, found.get(&keys[1])) {
        return Err(
            Problem::new(StatusCode::FORBIDDEN, "not_purchased", "Not purchased")
                .detail("Buy this movie to watch it"),
        );
    }
    let grant_id = grant(&app, &caller.user_id, &movie_id, input.grant_id.as_deref()).await?;
    let position_s = found
        .get(&keys[2])
        .and_then(Progress::of)
        .map(|p| p.resume_at())
        .unwrap_or(0.0);
    Ok(axum::Json(Playback {
        url: signers.signer.signed_url(&file.object, expires_at),
        expires_at,
        grant_id: Some(grant_id),
        position_s,
    }))
}

/// The staff, and the buyer of a purchase not refunded.
fn may_play_feature(caller: &Principal, purchase: Option<&Item>) -> bool {
    if caller.role >= marquee_core::role::Role::Moderator {
        return true;
    }
    purchase.is_some_and(|p| p.get("revoked").and_then(|v| v.as_bool()) != Some(true))
}

/// The longest a movie may be (a sanity bound on reported positions).
const MAX_DURATION_S: f64 = 24.0 * 3600.0;

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressBeat {
    #[garde(range(min = 0.0, max = MAX_DURATION_S))]
    pub position_s: f64,
    #[garde(range(min = 0.0, max = MAX_DURATION_S))]
    pub duration_s: f64,
    /// The stream's grant: the beat keeps it alive.
    #[garde(inner(length(chars, min = 1, max = 40)))]
    pub grant_id: Option<String>,
}

/// `PUT /movies/{id}/progress`: where the viewer is now; keeps their grant alive.
pub async fn beat(
    State(app): State<App>,
    caller: Principal,
    Path(movie_id): Path<String>,
    Json(input): Json<ProgressBeat>,
) -> Result<StatusCode, Problem> {
    validate::finish(validate::fields(&input))?;
    if input.position_s > input.duration_s {
        return Err(Problem::validation(vec![FieldError {
            field: "position_s".into(),
            message: "must not pass duration_s".into(),
        }]));
    }
    let user_id = &caller.user_id;
    // The movie checked and the grant's slot found together; then the position kept and
    // the grant renewed together.
    let (movie, slots) = tokio::join!(
        marquee_catalog::engagement::require_movie(&app, &movie_id),
        async {
            match &input.grant_id {
                Some(_) => slots(&app, user_id).await.map(Some),
                None => Ok(None),
            }
        }
    );
    movie?;
    let slots = slots?;
    let now = app.clock.now().unix_timestamp();
    let progress = Progress {
        position_s: input.position_s,
        duration_s: input.duration_s,
        updated_at: now,
    };
    let renewal = async {
        match (&input.grant_id, slots) {
            (Some(grant_id), Some(slots)) => keep_alive(&app, user_id, &slots, grant_id, now).await,
            _ => Ok(()),
        }
    };
    let (recorded, renewed) = tokio::join!(
        progress::record(&app, user_id, &movie_id, &progress),
        renewal
    );
    recorded?;
    renewed?;
    Ok(StatusCode::NO_CONTENT)
}

/// Extends the caller's live grant among their `slots`; a lapsed or unknown one stays as
/// it is (the player asks for a new one through playback-start).
async fn keep_alive(
    app: &App,
    user_id: &str,
    slots: &[Slot],
    grant_id: &str,
    now: i64,
) -> Result<(), Problem> {
    for slot in slots {
        if slot.grant_id.as_deref() == Some(grant_id) && slot.expires_at > now {
            match app
                .table
                .write(extension(user_id, slot, grant_id, now))
                .await
            {
                Ok(_) | Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_lives_for_the_movie_and_a_margin_and_at_most_six_hours() {
        let cap = marquee_core::config::MAX_PLAYBACK_URL_SECS;
        assert_eq!(
            url_expiry(1_000, 5_400.2, cap),
            1_000 + 5_401 + URL_MARGIN_SECS
        );
        assert_eq!(url_expiry(1_000, 90_000.0, cap), 1_000 + 6 * 3600);
        assert_eq!(url_expiry(1_000, 12.0, 10), 1_010);
    }
}
