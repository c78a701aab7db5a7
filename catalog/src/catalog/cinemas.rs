use super::records::{Record, Stored};
use garde::Validate;
use marquee_core::http::problem::FieldError;
use marquee_core::http::validate;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub struct Cinema;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Screen {
    #[garde(range(min = 1, max = 99))]
    #[schema(minimum = 1, maximum = 99)]
    pub number: u16,
    #[garde(range(min = 1, max = 1000))]
    #[schema(minimum = 1, maximum = 1000)]
    pub seats: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CinemaInput {
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    /// ISO 3166-1 alpha-2, e.g. `FR`.
    #[garde(length(chars, min = 2, max = 2), pattern(r"^[A-Z]{2}$"))]
    #[schema(min_length = 2, max_length = 2, pattern = r"^[A-Z]{2}$")]
    pub country: String,
    #[garde(custom(marquee_core::http::validate::items(1, 50)), dive)]
    #[schema(min_items = 1, max_items = 50)]
    pub screens: Vec<Screen>,
    /// The time the cinema keeps, by its IANA name (`Europe/Paris`): its showtimes are
    /// said in it. `UTC` when not given.
    #[serde(default = "marquee_core::clock::utc_zone")]
    #[garde(custom(marquee_core::clock::time_zone))]
    #[schema(
        default = "UTC",
        example = "Europe/Paris",
        min_length = 1,
        max_length = 64
    )]
    pub time_zone: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CinemaView {
    pub id: String,
    pub name: String,
    pub address: String,
    pub city: String,
    pub country: String,
    pub screens: Vec<Screen>,
    pub total_seats: u32,
    /// The cinema's time zone, IANA (`Europe/Paris`).
    pub time_zone: String,
    pub version: i64,
}

impl Record for Cinema {
    const KIND: &'static str = "cinema";
    const PREFIX: &'static str = "CINEMA";
    const IN_USE_COUNT: &'static str = "showtime_count";
    const IN_USE_REASON: &'static str = "it has showtimes";
    type Input = CinemaInput;
    type View = CinemaView;

    fn name(input: &CinemaInput) -> &str {
        &input.name
    }

    fn check(input: &CinemaInput, _today: time::Date) -> Vec<FieldError> {
        let mut errors = Vec::new();
        validate::not_blank(&mut errors, "address", &input.address);
        validate::not_blank(&mut errors, "city", &input.city);
        let mut seen = HashSet::new();
        if input.screens.iter().any(|s| !seen.insert(s.number)) {
            errors.push(FieldError {
                field: "screens".into(),
                message: "screen numbers must be unique".into(),
            });
        }
        errors
    }

    fn view(stored: &Stored<CinemaInput>, _today: time::Date) -> CinemaView {
        let f = &stored.fields;
        CinemaView {
            id: stored.id.clone(),
            name: f.name.trim().to_string(),
            address: f.address.clone(),
            city: f.city.clone(),
            country: f.country.clone(),
            total_seats: f.screens.iter().map(|s| u32::from(s.seats)).sum(),
            screens: f.screens.clone(),
            time_zone: f.time_zone.clone(),
            version: stored.version,
        }
    }
}
