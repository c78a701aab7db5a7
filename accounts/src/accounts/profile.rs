//! The signed-in user's own profile and sessions.

use super::user::{self, UserView, rfc3339};
use crate::auth::security_log::{self, EventType};
use crate::auth::session;
use axum::extract::State;
use axum::http::StatusCode;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::{FieldError, Problem};
use marquee_core::http::{Json, Path, validate};
use marquee_core::store::{Update, Write};
use serde::{Deserialize, Deserializer, Serialize};

/// PATCH semantics: an absent field stays, `null` clears, a value replaces.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Only profile fields: role, email and activity are not changed through this route.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// `YYYY-MM-DD`, in the past.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub date_of_birth: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub bio: Option<Option<String>>,
    /// An https URL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// ISO 3166-1 alpha-2, e.g. `FR`: where movies are sold to you (some are region-locked).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub country: Option<Option<String>>,
}

impl ProfilePatch {
    fn fields(&self) -> [(&'static str, &Option<Option<String>>); 6] {
        [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("date_of_birth", &self.date_of_birth),
            ("bio", &self.bio),
            ("avatar_url", &self.avatar_url),
            ("country", &self.country),
        ]
    }

    fn errors(&self, today: time::Date) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.into(),
                message: message.into(),
            })
        };
        for (field, value) in self.fields() {
            let Some(Some(value)) = value else { continue };
            let chars = value.chars().count();
            match field {
                "first_name" | "last_name" if value.trim().is_empty() || chars > 100 => {
                    bad(field, "must be 1 to 100 characters")
                }
                "bio" if chars > 2000 => bad(field, "must be at most 2000 characters"),
                "country" if chars != 2 || !value.chars().all(|c| c.is_ascii_uppercase()) => {
                    bad(field, "must be an ISO 3166-1 alpha-2 code such as FR")
                }
                "avatar_url"
                    if chars > 2048
                        || !value.starts_with("https://")
                        || value.len() <= "https://".len()
                        || value.chars().any(char::is_whitespace) =>
                {
                    bad(field, "must be an https URL of at most 2048 characters")
                }
                "date_of_birth" => match time::Date::parse(value, marquee_core::clock::DATE) {
                    Ok(date) if date < today && date.year() >= 1900 => {}
                    Ok(_) => bad(field, "must be a past date after 1900"),
                    Err(_) => bad(field, "must be a date as YYYY-MM-DD"),
                },
                _ => {}
            }
        }
        errors
    }
}

pub async fn me(
    State(app): State<App>,
    caller: Principal,
) -> Result<axum::Json<UserView>, Problem> {
    let user = user::find(&app, &caller.user_id)
        .await?
        .ok_or_else(Problem::unauthorized)?;
    Ok(axum::Json(user.full_view(&app).await?))
}

pub async fn update_me(
    State(app): State<App>,
    caller: Principal,
    Json(patch): Json<ProfilePatch>,
) -> Result<axum::Json<UserView>, Problem> {
    let today = app.clock.now().date();
    validate::finish(patch.errors(today))?;
    let mut update = Update::new();
    for (field, value) in patch.fields() {
        match value {
            None => {}
            Some(None) => update = update.remove(field),
            Some(Some(v)) => update = update.set(field, v.trim()),
        }
    }
    if update != Update::new() {
        app.table
            .write(
                Write::update(user::key(&caller.user_id), update)
                    .when(marquee_core::store::Condition::Exists),
            )
            .await?;
    }
    me(State(app), caller).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// The session this request was made with.
    pub current: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

pub async fn sessions(
    State(app): State<App>,
    caller: Principal,
) -> Result<axum::Json<SessionList>, Problem> {
    let now = app.clock.now().unix_timestamp();
    let (user, sessions) = tokio::join!(
        super::user::find(&app, &caller.user_id),
        session::list(&app, &caller.user_id)
    );
    let user = user?.ok_or_else(Problem::unauthorized)?;
    // Sessions of an earlier epoch are over even while their items wait to be tidied.
    let items = sessions?
        .into_iter()
        .filter(|s| session::holds(s, &user, now))
        .rev()
        .map(|s| SessionView {
            current: s.id == caller.session_id,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            expires_at: rfc3339(s.expires_at()),
            user_agent: s.user_agent,
            ip: s.ip,
            id: s.id,
        })
        .collect();
    Ok(axum::Json(SessionList {
        items,
        next_cursor: None,
    }))
}

pub async fn revoke_session(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let now = app.clock.now().unix_timestamp();
    match session::find_alive(&app, &id, now).await? {
        // Someone else's session is as good as absent.
        Some(s) if s.user_id == caller.user_id => {
            session::revoke(&app, &id).await?;
            security_log::record(
                &app,
                &caller.user_id,
                EventType::SessionRevoked,
                &caller.origin,
                format!(
                    "a session of {} ended from the session list",
                    s.user_agent.as_deref().unwrap_or("an unknown device")
                ),
            )
            .await;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(Problem::not_found("No such session")),
    }
}
