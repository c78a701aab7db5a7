//! Movies: their fields, the records they name, and the detail view that names them back.
//! (Browsing, search and engagement come with their own indexes and counters.)

use super::genres::Genre;
use super::people::{Actor, Director, Producer};
use super::records::{self, Record, Reference, Stored, reference};
use crate::app::App;
use crate::http::Path;
use crate::http::problem::{FieldError, Problem};
use crate::store::Key;
use axum::extract::State;
use garde::Validate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::Date;
use time::macros::format_description;

pub struct Movie;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Minor units (cents).
    #[garde(range(min = 0, max = 1_000_000))]
    pub amount: i64,
    /// ISO 4217, e.g. `EUR`.
    #[garde(pattern(r"^[A-Z]{3}$"))]
    pub currency: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovieInput {
    #[garde(length(min = 1, max = 200))]
    pub title: String,
    #[serde(default)]
    #[garde(length(max = 5000))]
    pub description: String,
    /// `YYYY-MM-DD`.
    #[garde(skip)]
    pub release_date: String,
    #[garde(range(min = 1, max = 1000))]
    pub duration_min: u16,
    /// E.g. `PG-13`, `12A`.
    #[garde(length(min = 1, max = 10))]
    pub certification: String,
    #[garde(dive)]
    pub price: Price,
    #[serde(default)]
    #[garde(length(max = 10), inner(length(min = 1, max = 40)))]
    pub genre_ids: Vec<String>,
    #[serde(default)]
    #[garde(length(max = 50), inner(length(min = 1, max = 40)))]
    pub actor_ids: Vec<String>,
    #[serde(default)]
    #[garde(length(max = 10), inner(length(min = 1, max = 40)))]
    pub producer_ids: Vec<String>,
    #[serde(default)]
    #[garde(length(max = 10), inner(length(min = 1, max = 40)))]
    pub director_ids: Vec<String>,
    /// Whether it can be bought now.
    #[serde(default = "yes")]
    #[garde(skip)]
    pub available: bool,
    /// ISO 3166-1 alpha-2 codes where it may be sold; empty means everywhere.
    #[serde(default)]
    #[garde(length(max = 250), inner(pattern(r"^[A-Z]{2}$")))]
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
        match Date::parse(
            &input.release_date,
            format_description!("[year]-[month]-[day]"),
        ) {
            Ok(date) if date.year() >= 1888 => Vec::new(),
            _ => vec![FieldError {
                field: "release_date".into(),
                message: "must be a date as YYYY-MM-DD, from 1888 on".into(),
            }],
        }
    }

    fn view(stored: &Stored<MovieInput>, _today: Date) -> MovieView {
        MovieView {
            id: stored.id.clone(),
            fields: stored.fields.clone(),
            version: stored.version,
        }
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
    pub cast: Vec<Named>,
    pub producers: Vec<Named>,
    pub directors: Vec<Named>,
    pub version: i64,
}

/// The movie with the names of everything it references, in one batch read.
pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::Json<MovieDetail>, Problem> {
    let stored = records::load::<Movie>(&app, &id).await?;
    let refs = Movie::references(&stored.fields);
    let keys: Vec<Key> = refs.iter().map(|r| r.key.clone()).collect();
    let names: HashMap<Key, String> = app
        .table
        .batch_get(&keys)
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
    Ok(axum::Json(MovieDetail {
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
        cast: named("actor_ids"),
        producers: named("producer_ids"),
        directors: named("director_ids"),
        version: stored.version,
    }))
}
