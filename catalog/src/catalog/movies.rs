//! Movies: their fields, the records they name, and the detail view that names them back.
//! Browsing and search read the index that `index` derives from these records.

use super::genres::Genre;
use super::index;
use super::people::{Actor, Director, Producer};
use super::records::{Record, Reference, Stored, reference};
use axum::extract::State;
use garde::Validate;
use marquee_core::app::App;
use marquee_core::http::Path;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::validate;
use marquee_core::store::{Item, Key, Write};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::Date;

pub struct Movie;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Minor units (cents).
    #[garde(range(min = 0, max = 1_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub amount: i64,
    /// ISO 4217, e.g. `EUR`.
    #[garde(pattern(r"^[A-Z]{3}$"))]
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: String,
}

/// `12.50 EUR` (minor units shown as hundredths).
impl std::fmt::Display for Price {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:02} {}",
            self.amount / 100,
            self.amount % 100,
            self.currency
        )
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Vertigo", "description": "A detective, a fall, a second chance.",
    "release_date": "1958-05-09", "duration_min": 128, "certification": "PG",
    "price": {"amount": 399, "currency": "EUR"}}))]
pub struct MovieInput {
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[serde(default)]
    #[garde(length(chars, max = 5000))]
    #[schema(max_length = 5000)]
    pub description: String,
    /// `YYYY-MM-DD`.
    #[garde(skip)]
    #[schema(format = Date)]
    pub release_date: String,
    #[garde(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    pub duration_min: u16,
    /// E.g. `PG-13`, `12A`.
    #[garde(length(chars, min = 1, max = 10))]
    #[schema(min_length = 1, max_length = 10)]
    pub certification: String,
    #[garde(dive)]
    pub price: Price,
    // At most 45 references: an update that swaps them all still fits one transaction
    // (the record, 45 counts up and 45 down).
    #[serde(default)]
    #[garde(
        custom(marquee_core::http::validate::items(0, 5)),
        inner(length(chars, min = 1, max = 40))
    )]
    #[schema(max_items = 5)]
    pub genre_ids: Vec<String>,
    #[serde(default)]
    #[garde(
        custom(marquee_core::http::validate::items(0, 30)),
        inner(length(chars, min = 1, max = 40))
    )]
    #[schema(max_items = 30)]
    pub actor_ids: Vec<String>,
    #[serde(default)]
    #[garde(
        custom(marquee_core::http::validate::items(0, 5)),
        inner(length(chars, min = 1, max = 40))
    )]
    #[schema(max_items = 5)]
    pub producer_ids: Vec<String>,
    #[serde(default)]
    #[garde(
        custom(marquee_core::http::validate::items(0, 5)),
        inner(length(chars, min = 1, max = 40))
    )]
    #[schema(max_items = 5)]
    pub director_ids: Vec<String>,
    /// Whether it can be bought now.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub available: bool,
    /// ISO 3166-1 alpha-2 codes where it may be sold; empty means everywhere.
    #[serde(default)]
    #[garde(
        custom(marquee_core::http::validate::items(0, 250)),
        inner(pattern(r"^[A-Z]{2}$"))
    )]
    #[schema(max_items = 250)]
    pub regions: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MovieView {
    pub id: String,
    #[serde(flatten)]
    pub fields: MovieInput,
    pub version: i64,
}

impl Record for Movie {
    const KIND: &'static str = "movie";
    const PREFIX: &'static str = "MOVIE";
    const IN_USE_COUNT: &'static str = "purchase_count";
    const IN_USE_REASON: &'static str = "viewers bought it; make it unavailable instead";
    type Input = MovieInput;
    type View = MovieView;

    fn name(input: &MovieInput) -> &str {
        &input.title
    }

    fn check(input: &MovieInput, _today: Date) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !matches!(
            Date::parse(&input.release_date, marquee_core::clock::DATE),
            Ok(date) if date.year() >= 1888
        ) {
            errors.push(FieldError {
                field: "release_date".into(),
                message: "must be a date as YYYY-MM-DD, from 1888 on".into(),
            });
        }
        validate::not_blank(&mut errors, "certification", &input.certification);
        errors
    }

    fn view(stored: &Stored<MovieInput>, _today: Date) -> MovieView {
        MovieView {
            id: stored.id.clone(),
            fields: stored.fields.clone(),
            version: stored.version,
        }
    }

    /// Every write of the record marks it for the index projection.
    fn marks(stored: &Stored<MovieInput>) -> Vec<(&'static str, serde_json::Value)> {
        index::mark(&stored.id)
            .into_iter()
            .map(|(attr, value)| (attr, value.into()))
            .chain([(index::MARKED_AT, stored.updated_at.into())])
            .collect()
    }

    fn deletion_writes(id: &str, item: &Item, now: i64) -> Vec<Write> {
        let mut writes = vec![index::tombstone(id, item)];
        writes.extend(super::media::removal_of_movie(item, now));
        writes
    }

    async fn after_write(app: &App, id: &str) {
        // On failure the mark stays and the scheduled sweep projects the movie.
        if let Err(e) = index::project(app, id).await {
            tracing::warn!(movie = id, error = %e, "indexing the movie failed; the sweep retries");
        }
    }

    async fn after_delete(app: &App, stored: &Stored<MovieInput>) -> Result<(), Problem> {
        withdraw_from_carts(app, stored).await
    }

    fn references(input: &MovieInput) -> Vec<Reference> {
        let mut refs = Vec::new();
        refs.extend(
            input
                .genre_ids
                .iter()
                .map(|id| reference::<Genre>("genre_ids", id)),
        );
        refs.extend(
            input
                .actor_ids
                .iter()
                .map(|id| reference::<Actor>("actor_ids", id)),
        );
        refs.extend(
            input
                .producer_ids
                .iter()
                .map(|id| reference::<Producer>("producer_ids", id)),
        );
        refs.extend(
            input
                .director_ids
                .iter()
                .map(|id| reference::<Director>("director_ids", id)),
        );
        refs
    }
}

/// A record a movie names, with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MovieDetail {
    pub id: String,
    pub title: String,
    pub description: String,
    pub release_date: String,
    pub duration_min: u16,
    pub certification: String,
    pub price: Price,
    pub available: bool,
    pub regions: Vec<String>,
    pub genres: Vec<Named>,
    /// The actors credited, in order, named.
    pub actors: Vec<Named>,
    pub producers: Vec<Named>,
    pub directors: Vec<Named>,
    #[serde(flatten)]
    pub counts: MovieCounts,
    /// Which media the movie has (playback-start plays them).
    pub media: super::media::MediaSummary,
    pub version: i64,
}

/// What viewers did with a movie, kept exact.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MovieCounts {
    pub likes: i64,
    pub dislikes: i64,
    pub rating_average: Option<f64>,
    pub rating_count: i64,
    pub favorites: i64,
    pub comment_count: i64,
    pub popularity: i64,
}

impl From<&index::Counters> for MovieCounts {
    fn from(c: &index::Counters) -> Self {
        Self {
            likes: c.likes,
            dislikes: c.dislikes,
            rating_average: c.rating_average(),
            rating_count: c.rating_count,
            favorites: c.favorites,
            comment_count: c.comment_count,
            popularity: c.popularity(),
        }
    }
}

/// The movie with the names of everything it references, in one batch read; the same
/// for every caller (their own marks come from me-marks), tagged with its version.
pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<
    (
        [(axum::http::HeaderName, String); 1],
        axum::Json<MovieDetail>,
    ),
    Problem,
> {
    // A page of what is there: a read that may lag a write by a second costs half.
    let Some(item) = app.table.get_eventual(&index::record_key(&id)).await? else {
        return Err(Problem::not_found("No such movie"));
    };
    let counters = index::Counters::read(&item);
    let media = super::media::MediaSummary::of(&item);
    let stored: Stored<MovieInput> = marquee_core::store::from_entity_item(Movie::KIND, item)?;
    let refs = Movie::references(&stored.fields);
    let keys: Vec<Key> = refs.iter().map(|r| r.key.clone()).collect();
    let names: HashMap<Key, String> = app
        .table
        .batch_get_eventual(&keys)
        .await?
        .into_iter()
        .filter_map(|item| {
            let key = Key::of(&item)?;
            let fields = item.get("fields")?;
            let name = fields
                .get("name")
                .or_else(|| fields.get("title"))?
                .as_str()?;
            Some((key, name.trim().to_string()))
        })
        .collect();
    let named = |field: &str| -> Vec<Named> {
        refs.iter()
            .filter(|r| r.field == field)
            .filter_map(|r| {
                Some(Named {
                    id: r.id.clone(),
                    name: names.get(&r.key)?.clone(),
                })
            })
            .collect()
    };
    let f = &stored.fields;
    let version = [(axum::http::header::ETAG, format!("\"{}\"", stored.version))];
    Ok((
        version,
        axum::Json(MovieDetail {
            id: stored.id.clone(),
            title: f.title.clone(),
            description: f.description.clone(),
            release_date: f.release_date.clone(),
            duration_min: f.duration_min,
            certification: f.certification.clone(),
            price: f.price.clone(),
            available: f.available,
            regions: f.regions.clone(),
            genres: named("genre_ids"),
            actors: named("actor_ids"),
            producers: named("producer_ids"),
            directors: named("director_ids"),
            counts: MovieCounts::from(&counters),
            media,
            version: stored.version,
        }),
    ))
}

/// GSI3 partition of the cart lines that hold a movie: the cart feature files its movie
/// lines there, so a deleted movie finds them without reading any cart.
pub fn in_carts_pk(movie_id: &str) -> String {
    format!("IN_CARTS#{movie_id}")
}

/// Marks the cart lines of a deleted movie unavailable and tells the moderators.
async fn withdraw_from_carts(app: &App, movie: &Stored<MovieInput>) -> Result<(), Problem> {
    use marquee_core::store::{Condition, Index, Query, StoreError, Update};
    let mut lines = 0;
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(
                &Query::on(Index::Gsi3, in_carts_pk(&movie.id))
                    .limit(100)
                    .after(cursor),
            )
            .await?;
        for key in page.items.iter().filter_map(Key::of) {
            let mark = Update::new()
                .set("unavailable", true)
                .set("unavailable_reason", "withdrawn from the catalogue");
            // A line that left its cart meanwhile stays gone.
            match app
                .table
                .write(Write::update(key, mark).when(Condition::Exists))
                .await
            {
                Ok(_) => lines += 1,
                Err(StoreError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if lines > 0 {
        let context = serde_json::json!({
            "title": movie.fields.title.trim(),
            "movie_id": movie.id,
            "lines": lines,
        });
        for email in marquee_accounts::accounts::admin::emails_with_role(
            app,
            marquee_core::role::Role::Moderator,
        )
        .await?
        {
            marquee_accounts::mail_jobs::owe_now(
                app,
                marquee_accounts::mail_jobs::MailJob::notice(
                    marquee_accounts::notifications::Template::MovieWithdrawn,
                    &email,
                    context.clone(),
                ),
            )
            .await;
        }
    }
    Ok(())
}
