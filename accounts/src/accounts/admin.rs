//! Admin user management, and the first admin of a fresh deployment.
//!
//! The number of active admins is a counter changed in the same transaction as the user,
//! guarded so that the last active admin can be neither demoted nor deactivated.

use super::user::{self, User, UserView};
use crate::auth::security_log::{self, EventType};
use crate::auth::{password, session};
use axum::extract::State;
use marquee_core::app::App;
use marquee_core::http::guard::{Origin, Principal};
use marquee_core::http::pagination::page_limit;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Json, Path, Query, validate};
use marquee_core::role::Role;
use marquee_core::store::{Cmp, Condition, Index, Key, StoreError, Update, Write};
use serde::{Deserialize, Serialize};

fn admin_count_key() -> Key {
    Key::new("STATS#ADMINS", "STATS")
}

const ACTIVE_ADMINS: &str = "active_admins";

/// The counter change that goes with a user becoming (+1) or ceasing to be (-1) an active
/// admin. Decrements refuse to reach zero.
pub fn admin_count_change(delta: i64) -> Write {
    let write = Write::update(admin_count_key(), Update::new().add(ACTIVE_ADMINS, delta));
    if delta < 0 {
        write.when(Condition::compare(ACTIVE_ADMINS, Cmp::Gt, -delta))
    } else {
        write
    }
}

pub async fn active_admins(app: &App) -> Result<i64, Problem> {
    Ok(app
        .table
        .get(&admin_count_key())
        .await?
        .and_then(|item| item.get(ACTIVE_ADMINS).and_then(|v| v.as_i64()))
        .unwrap_or(0))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// Email prefix, case-insensitive.
    pub email: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// The most index entries one listing reads while filtering, so a page stays bounded.
const MAX_EXAMINED: usize = 1000;

/// Lists users through the narrowest index for the filters: inactive users have a sparse
/// index of their own, roles have one each, and the rest is the full email-ordered index.
/// The filter an index does not cover is applied while reading, page by page, each page
/// sized to what is still missing so the cursor always follows the last item examined.
pub async fn list(
    State(app): State<App>,
    Query(filter): Query<UserFilter>,
) -> Result<axum::Json<UserPage>, Problem> {
    let limit = page_limit(filter.limit)?;
    let (partition, index) = match (filter.active, filter.role) {
        (Some(false), _) => (user::INACTIVE_USERS.to_string(), Index::Gsi3),
        (_, Some(role)) => (user::role_partition(role), Index::Gsi2),
        _ => (user::ALL_USERS.to_string(), Index::Gsi1),
    };
    let prefix = filter.email.as_deref().map(user::normalize_email);
    let mut items = Vec::new();
    let mut cursor = filter.cursor.clone();
    let mut examined = 0;
    loop {
        let wanted = limit - items.len() as u32;
        let mut query = marquee_core::store::Query::on(index, partition.clone())
            .limit(wanted)
            .after(cursor.take());
        if let Some(prefix) = prefix.as_ref().filter(|p| !p.is_empty()) {
            query = query.sort_key(marquee_core::store::SortKey::BeginsWith(prefix.clone()));
        }
        let page = app.table.query(&query).await?;
        examined += page.items.len();
        for item in page.items {
            let user = User::from_item(item)?;
            let keep = filter.role.is_none_or(|r| r == user.role)
                && filter.active.is_none_or(|a| a == user.active);
            if keep {
                items.push(user.view());
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() || items.len() as u32 >= limit || examined >= MAX_EXAMINED {
            break;
        }
    }
    Ok(axum::Json(UserPage {
        items,
        next_cursor: cursor,
    }))
}

pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::Json<UserView>, Problem> {
    let user = user::find(&app, &id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user"))?;
    Ok(axum::Json(user.full_view(&app).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Changes role and activity together, keeping the listing indexes and the admin count
/// in step; sessions end when the role changes or the account is deactivated. Answers the
/// changed user and, when the change ended their sessions, how many there were.
pub async fn change_role_or_activity(
    app: &App,
    user: &User,
    role: Role,
    active: bool,
    origin: &Origin,
) -> Result<(User, Option<usize>), Problem> {
    if role == user.role && active == user.active && active != user.deactivated {
        return Ok((user.clone(), None));
    }
    let was_admin = user.role == Role::Admin && user.active;
    let is_admin = role == Role::Admin && active;
    let deactivating = !active && (user.active || !user.deactivated);
    let changed = User {
        role,
        active,
        // An admin's "inactive" is a deactivation: no emailed link brings the account back.
        deactivated: !active,
        activation_digest: user.activation_digest.clone().filter(|_| active),
        reset_digest: user.reset_digest.clone().filter(|_| active),
        ..user.clone()
    };
    let mut update = Update::new()
        .set("role", role.as_str())
        .set("active", active)
        .set("deactivated", !active);
    for (attr, value) in changed.index_attributes(&user::normalize_email(&user.email)) {
        update = update.set(attr, value);
    }
    if active {
        update = update.remove(Index::Gsi3.pk()).remove(Index::Gsi3.sk());
    }
    let mut dead_links = Vec::new();
    if deactivating {
        // Links already emailed die with the deactivation.
        update = update
            .remove("activation_digest")
            .remove("activation_sent_at")
            .remove("reset_digest")
            .remove("reset_sent_at");
        dead_links = super::signup::dead_links(user);
    }
    if role != user.role || !active {
        update = session::end_all(update);
    }
    let mut writes =
        vec![Write::update(user::key(&user.id), update).when(
            Condition::eq("role", user.role.as_str()).and(Condition::eq("active", user.active)),
        )];
    match (was_admin, is_admin) {
        (true, false) => writes.push(admin_count_change(-1)),
        (false, true) => writes.push(admin_count_change(1)),
        _ => {}
    }
    writes.extend(dead_links);
    let now = app.clock.now().unix_timestamp();
    if role != user.role {
        writes.push(security_log::write(
            &user.id,
            EventType::RoleChanged,
            origin,
            format!(
                "from {} to {} by an admin",
                user.role.as_str(),
                role.as_str()
            ),
            now,
        ));
    }
    if active != user.active {
        let what = if active { "activated" } else { "deactivated" };
        writes.push(security_log::write(
            &user.id,
            EventType::ActivationChanged,
            origin,
            format!("{what} by an admin"),
            now,
        ));
    }
    match app.table.transact(writes).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { failed }) if failed == [1] => {
            return Err(Problem::conflict(
                "last_admin",
                "The last active admin cannot be demoted or deactivated",
            ));
        }
        Err(StoreError::TransactionCanceled { .. }) => {
            return Err(Problem::conflict(
                "concurrent_update",
                "The user was changed meanwhile; reload and try again",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let ended = if role != user.role || !active {
        Some(session::revoke_all(app, &user.id, None).await?)
    } else {
        None
    };
    Ok((changed, ended))
}

/// `admin-users-update`'s answer: the user as changed, and whether their sessions ended
/// (a role change or a deactivation signs them out everywhere; their next request needs a
/// new sign-in, which carries the new role).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserUpdated {
    #[serde(flatten)]
    pub user: UserView,
    /// True when this change ended the user's sessions.
    pub sessions_ended: bool,
    /// How many sessions ended.
    pub sessions_ended_count: usize,
}

pub async fn update(
    State(app): State<App>,
    caller: Principal,
    Path(id): Path<String>,
    Json(body): Json<UserUpdate>,
) -> Result<axum::Json<UserUpdated>, Problem> {
    let user = user::find(&app, &id)
        .await?
        .ok_or_else(|| Problem::not_found("No such user"))?;
    let role = body.role.unwrap_or(user.role);
    let active = body.active.unwrap_or(user.active);
    let (changed, ended) =
        change_role_or_activity(&app, &user, role, active, &caller.origin).await?;
    Ok(axum::Json(UserUpdated {
        user: changed.view(),
        sessions_ended: ended.is_some(),
        sessions_ended_count: ended.unwrap_or(0),
    }))
}

/// What [`ensure_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminSetup {
    Created,
    Promoted,
    AlreadyAdmin,
}

/// Creates an active admin with this email and password, or promotes (and activates) the
/// existing account. An account whose email was never proved (a sign-up not yet activated)
/// gets `new_password`: whoever registered it may not own the address. A proved account
/// keeps its own password.
pub async fn ensure_admin(
    app: &App,
    email: &str,
    new_password: &str,
) -> Result<(User, AdminSetup), Problem> {
    if let Some(existing) = user::find_by_email(app, email).await? {
        if existing.role == Role::Admin && existing.active {
            return Ok((existing, AdminSetup::AlreadyAdmin));
        }
        let existing = if existing.is_unproved() {
            let hash = strong_hash(email, new_password).await?;
            super::signup::take_over_unproved(app, &existing, Some(hash)).await?
        } else {
            existing
        };
        let promoted =
            change_role_or_activity(app, &existing, Role::Admin, true, &Origin::default())
                .await?
                .0;
        return Ok((promoted, AdminSetup::Promoted));
    }
    let hash = strong_hash(email, new_password).await?;
    let user = super::signup::create_account(app, email, hash, Role::Admin, true).await?;
    Ok((user, AdminSetup::Created))
}

async fn strong_hash(email: &str, new_password: &str) -> Result<String, Problem> {
    validate::finish(password::check_strength("password", new_password, email))?;
    password::hash(new_password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::internal()
    })
}

/// Counts the active admins by reading every admin (a repair for the counter, which every
/// change keeps in step in its own transaction), and stores the count.
pub async fn recount_admins(app: &App) -> Result<i64, Problem> {
    let active = emails_with_role(app, Role::Admin).await?.len() as i64;
    app.table
        .write(Write::update(
            admin_count_key(),
            Update::new().set(ACTIVE_ADMINS, active),
        ))
        .await?;
    Ok(active)
}

/// The addresses of the active users who hold `role` (for staff notices).
pub async fn emails_with_role(
    app: &App,
    role: marquee_core::role::Role,
) -> Result<Vec<String>, Problem> {
    let mut emails = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(
                &marquee_core::store::Query::on(Index::Gsi2, user::role_partition(role))
                    .limit(100)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            let user = User::from_item(item)?;
            if user.active && user.role == role {
                emails.push(user.email);
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(emails),
        }
    }
}
