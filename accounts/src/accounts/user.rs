//! The user entity, its keys, and what of it the API shows.

use marquee_core::http::problem::Problem;
use marquee_core::role::Role;
use marquee_core::store::{Index, Item, Key, StoreError, entity_item, from_entity_item};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    /// Turned off by an admin (not merely never activated): no link, reset or provider
    /// sign-in brings it back; only an admin does.
    #[serde(default)]
    pub deactivated: bool,
    pub password_hash: Option<String>,
    pub created_at: i64,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub bio: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub mfa_enabled: bool,
    /// Digest of the live activation token; a new one replaces (and kills) the old.
    #[serde(default)]
    pub activation_digest: Option<String>,
    #[serde(default)]
    pub activation_sent_at: Option<i64>,
    /// The live activation link went out for the sign-up itself, so activating keeps the
    /// password chosen at sign-up. A link sent on request asks for a new one instead:
    /// whoever asked may not be who chose that password.
    #[serde(default)]
    pub activation_from_signup: bool,
    #[serde(default)]
    pub reset_digest: Option<String>,
    #[serde(default)]
    pub reset_sent_at: Option<i64>,
    #[serde(default)]
    pub failed_logins: i64,
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// Sessions opened at another epoch are over: every change that must end sessions
    /// (a password reset or change, an MFA change, a role change, a deactivation) moves it
    /// in the same write as the change, and every use of a session compares.
    #[serde(default)]
    pub session_epoch: i64,
}

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The condition that an account is not turned off by an admin (accounts from before the
/// attribute have none).
pub fn not_deactivated() -> marquee_core::store::Condition {
    use marquee_core::store::Condition;
    Condition::AttrNotExists("deactivated".into()).or(Condition::eq("deactivated", false))
}

pub fn key(id: &str) -> Key {
    Key::new(format!("USER#{id}"), "PROFILE")
}

/// The item that makes an email address belong to one account.
pub fn email_key(email: &str) -> Key {
    Key::new(format!("EMAIL#{}", normalize_email(email)), "EMAIL")
}

/// Admin listings: every user by email; by role; inactive ones (sparse).
pub const ALL_USERS: &str = "USERS";
pub fn role_partition(role: Role) -> String {
    format!("USERS#ROLE#{}", role.as_str())
}
pub const INACTIVE_USERS: &str = "USERS#INACTIVE";

pub fn rfc3339(epoch: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl User {
    /// The view with the recovery codes left (one more read while MFA is on).
    pub async fn full_view(&self, app: &marquee_core::App) -> Result<UserView, Problem> {
        Ok(UserView {
            recovery_codes_remaining: crate::auth::mfa::recovery_codes_remaining(app, self).await?,
            ..self.view()
        })
    }

    /// A sign-up whose email was never proved: not active, and not turned off by an admin.
    pub fn is_unproved(&self) -> bool {
        !self.active && !self.deactivated
    }

    pub fn to_item(&self) -> Item {
        let mut item = entity_item("user", &key(&self.id), self);
        let email = normalize_email(&self.email);
        for (attr, value) in self.index_attributes(&email) {
            item.insert(attr.into(), value.into());
        }
        item
    }

    /// The listing index keys, which follow role and activity.
    pub fn index_attributes(&self, email: &str) -> Vec<(&'static str, String)> {
        let sort = format!("{email}#{}", self.id);
        let mut attrs = vec![
            (Index::Gsi1.pk(), ALL_USERS.to_string()),
            (Index::Gsi1.sk(), sort.clone()),
            (Index::Gsi2.pk(), role_partition(self.role)),
            (Index::Gsi2.sk(), sort.clone()),
        ];
        if !self.active {
            attrs.push((Index::Gsi3.pk(), INACTIVE_USERS.to_string()));
            attrs.push((Index::Gsi3.sk(), sort));
        }
        attrs
    }

    pub fn from_item(item: Item) -> Result<Self, StoreError> {
        from_entity_item("user", item)
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            email: self.email.clone(),
            role: self.role,
            active: self.active,
            deactivated: self.deactivated,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            date_of_birth: self.date_of_birth.clone(),
            bio: self.bio.clone(),
            country: self.country.clone(),
            avatar_url: self.avatar_url.clone(),
            mfa_enabled: self.mfa_enabled,
            has_password: self.password_hash.is_some(),
            recovery_codes_remaining: None,
            created_at: rfc3339(self.created_at),
        }
    }
}

/// A user as the API shows it (to themselves and to admins).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
    /// Turned off by an admin; only an admin turns it on again.
    #[serde(default)]
    pub deactivated: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub bio: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
    pub avatar_url: Option<String>,
    pub mfa_enabled: bool,
    /// False for an account made through Google or Facebook that never chose a password
    /// (it may choose one through a password reset link).
    pub has_password: bool,
    /// Unused recovery codes, while two-step sign-in is on (shown on single-user reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_codes_remaining: Option<u32>,
    pub created_at: String,
}

pub async fn find(app: &marquee_core::App, id: &str) -> Result<Option<User>, Problem> {
    match app.table.get(&key(id)).await? {
        Some(item) => Ok(Some(User::from_item(item)?)),
        None => Ok(None),
    }
}

pub async fn find_by_email(app: &marquee_core::App, email: &str) -> Result<Option<User>, Problem> {
    let Some(owner) = app.table.get(&email_key(email)).await? else {
        return Ok(None);
    };
    match owner.get("user_id").and_then(|v| v.as_str()) {
        Some(id) => find(app, id).await,
        None => Ok(None),
    }
}
