//! Actors, producers and directors: one shape, three collections.

use super::records::{Record, Stored};
use garde::Validate;
use marquee_core::http::problem::FieldError;
use marquee_core::http::validate;
use serde::{Deserialize, Serialize};
use time::Date;

#[derive(Debug, Clone, Serialize, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ana Torrent", "birth_date": "1966-07-12",
    "bio": "Spanish actress; her debut came at seven."}))]
pub struct PersonInput {
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `YYYY-MM-DD`.
    #[garde(skip)]
    pub birth_date: Option<String>,
    #[garde(length(chars, max = 4000))]
    #[schema(max_length = 4000)]
    pub bio: Option<String>,
    /// An https URL.
    #[garde(length(chars, max = 2048))]
    #[schema(max_length = 2048)]
    pub photo_url: Option<String>,
    /// Producers only.
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub company: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub birth_date: Option<String>,
    /// Derived from `birth_date`, today.
    pub age: Option<i32>,
    pub bio: Option<String>,
    pub photo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    pub movie_count: i64,
    pub version: i64,
}

fn parse_date(value: &str) -> Option<Date> {
    Date::parse(value, marquee_core::clock::DATE).ok()
}

/// Whole years between `born` and `today`.
pub fn age(born: Date, today: Date) -> i32 {
    let mut years = today.year() - born.year();
    if (today.month() as u8, today.day()) < (born.month() as u8, born.day()) {
        years -= 1;
    }
    years
}

fn check(input: &PersonInput, today: Date, takes_company: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    if let Some(value) = &input.birth_date {
        match parse_date(value) {
            Some(date) if date <= today && date.year() >= 1850 => {}
            Some(_) => bad("birth_date", "must be a past date after 1850"),
            None => bad("birth_date", "must be a date as YYYY-MM-DD"),
        }
    }
    if let Some(url) = &input.photo_url
        && (!url.starts_with("https://") || url.len() <= 8 || url.chars().any(char::is_whitespace))
    {
        bad("photo_url", "must be an https URL");
    }
    if input.company.is_some() && !takes_company {
        bad("company", "only producers have a company");
    }
    if let Some(company) = &input.company {
        validate::not_blank(&mut errors, "company", company);
    }
    errors
}

fn view(stored: &Stored<PersonInput>, today: Date) -> PersonView {
    let fields = &stored.fields;
    PersonView {
        id: stored.id.clone(),
        name: fields.name.trim().to_string(),
        age: fields
            .birth_date
            .as_deref()
            .and_then(parse_date)
            .map(|b| age(b, today)),
        birth_date: fields.birth_date.clone(),
        bio: fields.bio.clone(),
        photo_url: fields.photo_url.clone(),
        company: fields.company.clone(),
        movie_count: stored.movie_count,
        version: stored.version,
    }
}

macro_rules! person_kind {
    ($kind:ident, $name:literal, $prefix:literal, $company:literal) => {
        pub struct $kind;

        impl Record for $kind {
            const KIND: &'static str = $name;
            const PREFIX: &'static str = $prefix;
            type Input = PersonInput;
            type View = PersonView;

            fn shelf(id: &str) -> Option<String> {
                Some(format!("{}#{id}", $prefix))
            }

            /// Their movies are searched by this name: a rename re-indexes them.
            async fn after_write(app: &marquee_core::app::App, id: &str) {
                let facet = format!("{}#{id}", $prefix);
                if let Err(e) = super::index::mark_shelf(app, &facet).await {
                    tracing::warn!(person = id, error = %e, "marking their movies for re-indexing failed");
                }
            }

            fn name(input: &PersonInput) -> &str {
                &input.name
            }

            fn check(input: &PersonInput, today: Date) -> Vec<FieldError> {
                check(input, today, $company)
            }

            fn view(stored: &Stored<PersonInput>, today: Date) -> PersonView {
                view(stored, today)
            }
        }
    };
}

person_kind!(Actor, "actor", "ACTOR", false);
person_kind!(Producer, "producer", "PRODUCER", true);
person_kind!(Director, "director", "DIRECTOR", false);

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age(date!(1990 - 06 - 15), date!(2026 - 06 - 14)), 35);
        assert_eq!(age(date!(1990 - 06 - 15), date!(2026 - 06 - 15)), 36);
        assert_eq!(age(date!(2000 - 02 - 29), date!(2026 - 02 - 28)), 25);
    }
}
