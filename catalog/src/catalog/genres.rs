use super::records::{Record, Stored};
use garde::Validate;
use serde::{Deserialize, Serialize};

pub struct Genre;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Film noir"}))]
pub struct GenreInput {
    #[garde(length(chars, min = 1, max = 50))]
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GenreView {
    pub id: String,
    pub name: String,
    /// Movies in this genre.
    pub movie_count: i64,
    pub version: i64,
}

impl Record for Genre {
    const KIND: &'static str = "genre";
    const PREFIX: &'static str = "GENRE";
    const UNIQUE_NAMES: bool = true;
    type Input = GenreInput;
    type View = GenreView;

    fn shelf(id: &str) -> Option<String> {
        Some(format!("GENRE#{id}"))
    }

    fn name(input: &GenreInput) -> &str {
        &input.name
    }

    /// Cards show genre names: a rename re-indexes the genre's movies.
    async fn after_write(app: &marquee_core::app::App, id: &str) {
        if let Err(e) = super::index::mark_shelf(app, &format!("GENRE#{id}")).await {
            tracing::warn!(genre = id, error = %e, "marking its movies for re-indexing failed");
        }
    }

    fn view(stored: &Stored<GenreInput>, _today: time::Date) -> GenreView {
        GenreView {
            id: stored.id.clone(),
            name: stored.fields.name.trim().to_string(),
            movie_count: stored.movie_count,
            version: stored.version,
        }
    }
}
