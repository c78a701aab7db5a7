//! Which account a provider's person signs in to, and the linked identities.
//!
//! An identity already linked signs in to its account. Otherwise the provider's verified
//! email decides: an active account with it gets the identity linked (and its owner is
//! told); an account with it that was never activated is the pre-account-hijacking case
//! (someone may have registered the address first, with a password of their choosing), so
//! the provider's proof activates it, removes that password and its pending links, then
//! links; no account makes a new one, active, without a password. No verified email, or
//! an account an admin turned off, and nobody signs in.

use super::providers::Provider;
use crate::accounts::signup;
use crate::accounts::user::{self, User};
use crate::auth::login::{self, check_unlocked};
use crate::auth::security_log::{self, EventType};
use crate::auth::session::Origin;
use crate::notifications::Template;
use axum::extract::State;
use axum::http::StatusCode;
use marquee_core::app::App;
use marquee_core::http::guard::Principal;
use marquee_core::http::problem::Problem;
use marquee_core::http::{Path, Query};
use marquee_core::role::Role;
use marquee_core::store::{Condition, Index, Item, Key, StoreError, Update, Write, entity_item};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub subject: String,
    /// Only an address the provider verified.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl Profile {
    /// Names from a provider's `name` when it gives no parts: the last word is the family
    /// name.
    pub fn split_name(name: Option<&str>) -> (Option<String>, Option<String>) {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        match name.and_then(|n| n.rsplit_once(' ')) {
            Some((first, last)) => (Some(first.trim().to_string()), Some(last.to_string())),
            None => (name.map(str::to_string), None),
        }
    }
}

/// A provider identity linked to an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    pub user_id: String,
    pub provider: Provider,
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: i64,
}

fn identity_key(provider: Provider, subject: &str) -> Key {
    Key::new(
        format!("IDENTITY#{}#{subject}", provider.as_str()),
        "IDENTITY",
    )
}

fn user_identities(user_id: &str) -> String {
    format!("USER#{user_id}#IDENTITIES")
}

impl Identity {
    fn to_item(&self) -> Item {
        let mut item = entity_item(
            "identity",
            &identity_key(self.provider, &self.subject),
            self,
        );
        item.insert(
            Index::Gsi1.pk().into(),
            user_identities(&self.user_id).into(),
        );
        item.insert(Index::Gsi1.sk().into(), self.provider.as_str().into());
        item
    }

    /// The writes that link it to `user_id`, recorded with `detail`.
    fn link(&self, user_id: &str, origin: &Origin, detail: String) -> Vec<Write> {
        let linked = Identity {
            user_id: user_id.to_string(),
            ..self.clone()
        };
        vec![
            Write::put(linked.to_item()).when(Condition::NotExists),
            security_log::write(
                user_id,
                EventType::IdentityLinked,
                origin,
                detail,
                self.linked_at,
            ),
        ]
    }
}

fn linked(result: Result<(), StoreError>) -> Result<(), Problem> {
    match result {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::conflict(
            "concurrent_update",
            "The account changed meanwhile; sign in again",
        )),
        Err(e) => Err(Problem::from(e)),
    }
}

fn email_not_verified(provider: Provider) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "email_not_verified",
        "No verified email address",
    )
    .detail(format!(
        "{} did not share a verified email address; verify it there, or sign up with a password",
        provider.title()
    ))
}

/// An identity whose account is gone.
fn gone() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "account_inactive",
        "This account is not active",
    )
}

/// The account a provider's person signs in to, linking or creating it as the rules say.
pub async fn resolve(
    app: &App,
    provider: Provider,
    profile: &Profile,
    origin: &Origin,
    now: i64,
) -> Result<User, Problem> {
    if let Some(item) = app
        .table
        .get(&identity_key(provider, &profile.subject))
        .await?
    {
        let identity: Identity = marquee_core::store::from_entity_item("identity", item)?;
        let user = user::find(app, &identity.user_id).await?.ok_or_else(gone)?;
        if !user.active {
            return Err(login::inactive(&user));
        }
        check_unlocked(&user, now)?;
        return Ok(user);
    }
    let email = profile
        .email
        .as_deref()
        .ok_or_else(|| email_not_verified(provider))?;
    let identity = Identity {
        user_id: String::new(),
        provider,
        subject: profile.subject.clone(),
        email: Some(email.to_string()),
        linked_at: now,
    };
    match user::find_by_email(app, email).await? {
        Some(user) if user.active => {
            check_unlocked(&user, now)?;
            let detail = format!("{}, by its verified email", provider.title());
            let mut writes = identity.link(&user.id, origin, detail);
            let told = linked_notice(app, &user, provider).owe(now);
            writes.push(told.write.clone());
            linked(app.table.transact(writes).await)?;
            crate::mail_jobs::send_owed(app, [told]).await;
            Ok(user)
        }
        Some(user) if user.is_unproved() => {
            // Never activated: whoever registered the address may not own it. The provider
            // just proved who does, so the account becomes theirs, without that password.
            let change = Update::new()
                .remove("password_hash")
                .remove("reset_digest")
                .remove("reset_sent_at");
            let mut writes = signup::activation(&user, change, Condition::Exists);
            writes.extend(signup::dead_links(&user));
            let detail = format!(
                "{}, by its verified email: the account was activated and the password set before was removed",
                provider.title()
            );
            writes.extend(identity.link(&user.id, origin, detail));
            linked(app.table.transact(writes).await)?;
            Ok(User {
                active: true,
                password_hash: None,
                activation_digest: None,
                activation_from_signup: false,
                reset_digest: None,
                ..user
            })
        }
        Some(user) => Err(login::inactive(&user)),
        None => {
            let id = ulid::Ulid::new().to_string();
            let detail = format!("{}: a new account", provider.title());
            let new = crate::accounts::signup::NewAccount {
                email: email.to_string(),
                password_hash: None,
                role: Role::User,
                active: true,
                first_name: profile.first_name.clone(),
                last_name: profile.last_name.clone(),
            };
            let user = crate::accounts::signup::create_account_with(
                app,
                &id,
                new,
                identity.link(&id, origin, detail),
            )
            .await?;
            Ok(user)
        }
    }
}

/// The email that tells the owner a provider was linked to the account.
fn linked_notice(app: &App, user: &User, provider: Provider) -> crate::mail_jobs::MailJob {
    crate::mail_jobs::MailJob::notice(
        Template::SecurityNotice,
        &user.email,
        json!({
            "subject": format!("{} sign-in was linked", provider.title()),
            "headline": format!("{} sign-in was linked to your Marquee account.", provider.title()),
            "lines": [format!("You can now sign in with {} as well as before.", provider.title())],
            "reset_link": format!("{}/reset-password", app.config.public_url),
        }),
    )
}

async fn identities_of(app: &App, user_id: &str) -> Result<Vec<Identity>, Problem> {
    let page = app
        .table
        .query(&marquee_core::store::Query::on(Index::Gsi1, user_identities(user_id)).limit(10))
        .await?;
    Ok(page
        .items
        .into_iter()
        .map(|item| marquee_core::store::from_entity_item("identity", item))
        .collect::<Result<_, _>>()?)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub provider: Provider,
    /// The email the provider verified when the identity was linked.
    pub email: Option<String>,
    /// RFC 3339.
    pub linked_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityList {
    pub items: Vec<IdentityView>,
    pub next_cursor: Option<String>,
}

/// me-identities-list: the providers the caller can sign in with.
pub async fn list(
    State(app): State<App>,
    caller: Principal,
    Query(_): Query<marquee_core::http::pagination::PageQuery>,
) -> Result<axum::Json<IdentityList>, Problem> {
    let items = identities_of(&app, &caller.user_id)
        .await?
        .into_iter()
        .map(|i| IdentityView {
            provider: i.provider,
            email: i.email,
            linked_at: user::rfc3339(i.linked_at),
        })
        .collect();
    Ok(axum::Json(IdentityList {
        items,
        next_cursor: None,
    }))
}

/// me-identities-unlink: refused when it is the last way to sign in.
pub async fn unlink(
    State(app): State<App>,
    caller: Principal,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    let provider = Provider::parse(&name).ok_or_else(|| Problem::not_found("No such provider"))?;
    let user = user::find(&app, &caller.user_id)
        .await?
        .ok_or_else(Problem::unauthorized)?;
    let identities = identities_of(&app, &user.id).await?;
    let identity = identities
        .iter()
        .find(|i| i.provider == provider)
        .ok_or_else(|| Problem::not_found(format!("{} is not linked", provider.title())))?;
    if user.password_hash.is_none() && identities.len() == 1 {
        return Err(Problem::conflict(
            "last_sign_in_method",
            format!(
                "{} is your only way to sign in: set a password first (\"forgot password\" emails a link)",
                provider.title()
            ),
        ));
    }
    let now = app.clock.now().unix_timestamp();
    let writes = vec![
        Write::delete(identity_key(provider, &identity.subject)).when(Condition::Exists),
        security_log::write(
            &user.id,
            EventType::IdentityUnlinked,
            &caller.origin,
            provider.title().to_string(),
            now,
        ),
    ];
    match app.table.transact(writes).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::TransactionCanceled { .. }) => Err(Problem::not_found(format!(
            "{} is not linked",
            provider.title()
        ))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_on_the_last_space() {
        assert_eq!(
            Profile::split_name(Some("Ana Lucía Ortega")),
            (Some("Ana Lucía".into()), Some("Ortega".into()))
        );
        assert_eq!(
            Profile::split_name(Some("Cher")),
            (Some("Cher".into()), None)
        );
        assert_eq!(Profile::split_name(Some("  ")), (None, None));
        assert_eq!(Profile::split_name(None), (None, None));
    }
}
