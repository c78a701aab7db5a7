//! The route table: the single source of truth for every HTTP route. The local server's
//! router, each Lambda binary, the SAM functions and their events, the `cargo lambda watch`
//! router, the OpenAPI document and the authorisation checks are derived from it or
//! checked against it by tests.

use crate::app::App;
use crate::auth::keys::JwkSet;
use crate::auth::login::authenticate;
use crate::http::guard::{Access, authorize};
use crate::system;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, on};
use std::borrow::Cow;
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// What a route's function may touch in AWS; its IAM policy grants exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    TableRead,
    TableWrite,
    SendMail,
    /// Queue due items for the expiry worker.
    SendExpiryQueue,
    /// Queue mail jobs for the mail worker.
    SendMailQueue,
    /// Conditional deletes only (the expiry worker).
    TableDelete,
    /// Queries on the EXPIRY index only (the expiry scheduler).
    QueryExpiryIndex,
    /// The private key that signs access tokens.
    SigningKey,
    /// Stripe's secret API key (checkouts, refunds).
    StripeKey,
    /// The Stripe webhook endpoint's signing secret.
    StripeWebhookSecret,
    /// The data key that seals TOTP seeds (functions that set or verify codes).
    MfaKey,
    /// The sign-in providers' client ids (public).
    OAuthClients,
    /// The sign-in providers' client secrets (the code exchange).
    OAuthSecrets,
}

/// A JSON body documented in the OpenAPI document.
#[derive(Clone, Copy)]
pub struct Body {
    pub name: fn() -> Cow<'static, str>,
    pub register: fn(ComponentsBuilder) -> ComponentsBuilder,
}

pub const fn body<T: ToSchema>() -> Option<Body> {
    Some(Body {
        name: T::name,
        register: register_with_nested::<T>,
    })
}

/// `T`'s schema and every schema it refers to, however deep (a body's fields' types).
pub fn register_with_nested<T: ToSchema>(components: ComponentsBuilder) -> ComponentsBuilder {
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    components.schema_from::<T>().schemas_from_iter(nested)
}

#[derive(Clone, Copy)]
pub struct Route {
    /// Also the Lambda binary and SAM function name.
    pub name: &'static str,
    pub method: Method,
    /// API Gateway syntax: `/movies/{id}`.
    pub path: &'static str,
    pub access: Access,
    /// The feature the route belongs to (an OpenAPI tag).
    pub tag: &'static str,
    pub summary: &'static str,
    /// The status of a successful answer.
    pub status: u16,
    /// The media type of a successful answer.
    pub media: &'static str,
    pub request: Option<Body>,
    pub response: Option<Body>,
    /// Optional query parameters.
    pub query: &'static [&'static str],
    pub needs: &'static [Need],
    /// Lambda memory; CPU grows with it, which password hashing needs.
    pub memory_mb: u32,
    pub handler: fn(MethodFilter) -> MethodRouter<App>,
}

impl Route {
    /// Path parameter names, in order.
    pub fn params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }
}

const JSON: &str = "application/json";

/// A route with the usual defaults: 200, JSON, no body documented, no AWS needs.
const fn route(
    name: &'static str,
    method: Method,
    path: &'static str,
    access: Access,
    tag: &'static str,
    summary: &'static str,
    handler: fn(MethodFilter) -> MethodRouter<App>,
) -> Route {
    Route {
        name,
        method,
        path,
        access,
        tag,
        summary,
        status: 200,
        media: JSON,
        request: None,
        response: None,
        query: &[],
        needs: &[],
        memory_mb: 256,
        handler,
    }
}

impl Route {
    const fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    const fn media(mut self, media: &'static str) -> Self {
        self.media = media;
        self
    }

    const fn takes(mut self, request: Option<Body>) -> Self {
        self.request = request;
        self
    }

    const fn gives(mut self, response: Option<Body>) -> Self {
        self.response = response;
        self
    }

    const fn query(mut self, query: &'static [&'static str]) -> Self {
        self.query = query;
        self
    }

    const fn needs(mut self, needs: &'static [Need]) -> Self {
        self.needs = needs;
        self
    }

    /// For routes that hash passwords (argon2id, 19 MiB, CPU-bound).
    const fn hashes_passwords(mut self) -> Self {
        self.memory_mb = 1024;
        self
    }
}

use crate::accounts::{self, Role::Admin, Role::Moderator, Role::User};
use crate::auth;
use crate::cart;
use crate::catalog::{self, records};
use crate::engagement;
use crate::orders;
use crate::payments;
use Access::{AtLeast, Public};
use Method::{Delete, Get, Patch, Post, Put};
use Need::{SendMail, SigningKey, TableRead, TableWrite};

/// Reads what signed-in routes all need: their session.
const SIGNED_IN: &[Need] = &[TableRead];
const SIGNED_IN_WRITES: &[Need] = &[TableRead, TableWrite];
/// Signed-in writes that call Stripe.
const PAYS: &[Need] = &[TableRead, TableWrite, Need::StripeKey];
/// The staff lists' filters.
const STAFF_LIST_PARAMS: &[&str] = &["user", "status", "from", "to", "limit", "cursor"];
/// The filters, sorts and paging of movies-list (and favourites).
const BROWSE_PARAMS: &[&str] = &[
    "genre",
    "actor",
    "director",
    "producer",
    "year_from",
    "year_to",
    "price_min",
    "price_max",
    "rating_min",
    "certification",
    "q",
    "sort",
    "order",
    "limit",
    "cursor",
];

pub static ROUTES: &[Route] = &[
    // System
    route(
        "health",
        Get,
        "/health",
        Public,
        "system",
        "Liveness and version",
        |m| on(m, system::health),
    )
    .gives(body::<system::Health>()),
    route(
        "openapi",
        Get,
        "/openapi.json",
        Public,
        "system",
        "OpenAPI 3.1 document of every route",
        |m| on(m, system::openapi),
    ),
    route(
        "docs",
        Get,
        "/docs",
        Public,
        "system",
        "Human-readable API documentation",
        |m| on(m, system::docs),
    )
    .media("text/html"),
    route(
        "jwks",
        Get,
        "/.well-known/jwks.json",
        Public,
        "system",
        "Public keys that verify access tokens",
        |m| on(m, system::jwks),
    )
    .gives(body::<JwkSet>()),
    // Accounts and auth
    route(
        "auth-register",
        Post,
        "/auth/register",
        Public,
        "accounts",
        "Create an account; an activation link is emailed",
        |m| on(m, accounts::signup::register),
    )
    .status(201)
    .takes(body::<accounts::signup::RegisterRequest>())
    .gives(body::<accounts::user::UserView>())
    .needs(&[TableWrite, Need::SendMailQueue])
    .hashes_passwords(),
    route(
        "auth-activate",
        Post,
        "/auth/activate",
        Public,
        "accounts",
        "Activate an account with the emailed token (single use, 24 h)",
        |m| on(m, accounts::signup::activate),
    )
    .takes(body::<accounts::signup::ActivateRequest>())
    .gives(body::<accounts::user::UserView>())
    .needs(&[TableRead, TableWrite]),
    route(
        "auth-activation-resend",
        Post,
        "/auth/activation/resend",
        Public,
        "accounts",
        "Email a new activation link (always 202)",
        |m| on(m, accounts::signup::resend_activation),
    )
    .status(202)
    .takes(body::<accounts::signup::EmailRequest>())
    .needs(&[Need::SendMailQueue]),
    route(
        "auth-login",
        Post,
        "/auth/login",
        Public,
        "auth",
        "Sign in with email and password",
        |m| on(m, auth::login::login),
    )
    .takes(body::<auth::login::LoginRequest>())
    .gives(body::<auth::login::LoginAnswer>())
    .needs(&[TableRead, TableWrite, SigningKey])
    .hashes_passwords(),
    route(
        "auth-refresh",
        Post,
        "/auth/refresh",
        Public,
        "auth",
        "Trade a refresh token for a new token pair",
        |m| on(m, auth::login::refresh),
    )
    .takes(body::<auth::login::RefreshRequest>())
    .gives(body::<auth::tokens::TokenPair>())
    .needs(&[TableRead, TableWrite, SigningKey]),
    route(
        "auth-logout",
        Post,
        "/auth/logout",
        AtLeast(User),
        "auth",
        "End this session, or every session with {all: true}",
        |m| on(m, auth::login::logout),
    )
    .status(204)
    .takes(body::<auth::login::LogoutRequest>())
    .needs(SIGNED_IN_WRITES),
    route(
        "auth-password-forgot",
        Post,
        "/auth/password/forgot",
        Public,
        "auth",
        "Email a password reset link (always 202)",
        |m| on(m, auth::recovery::forgot),
    )
    .status(202)
    .takes(body::<accounts::signup::EmailRequest>())
    .needs(&[Need::SendMailQueue]),
    route(
        "auth-password-reset",
        Post,
        "/auth/password/reset",
        Public,
        "auth",
        "Set a new password with the emailed token; ends every session",
        |m| on(m, auth::recovery::reset),
    )
    .status(204)
    .takes(body::<auth::recovery::ResetRequest>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue])
    .hashes_passwords(),
    route(
        "auth-password-change",
        Post,
        "/auth/password/change",
        AtLeast(User),
        "auth",
        "Change the password; ends the other sessions",
        |m| on(m, auth::recovery::change),
    )
    .status(204)
    .takes(body::<auth::recovery::ChangeRequest>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue, Need::MfaKey])
    .hashes_passwords(),
    route(
        "me-get",
        Get,
        "/me",
        AtLeast(User),
        "accounts",
        "The signed-in user's profile",
        |m| on(m, accounts::profile::me),
    )
    .gives(body::<accounts::user::UserView>())
    .needs(SIGNED_IN),
    route(
        "me-update",
        Patch,
        "/me",
        AtLeast(User),
        "accounts",
        "Change profile fields (never role, email or activity)",
        |m| on(m, accounts::profile::update_me),
    )
    .takes(body::<accounts::profile::ProfilePatch>())
    .gives(body::<accounts::user::UserView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "me-sessions-list",
        Get,
        "/me/sessions",
        AtLeast(User),
        "accounts",
        "The signed-in user's live sessions",
        |m| on(m, accounts::profile::sessions),
    )
    .gives(body::<accounts::profile::SessionList>())
    .needs(SIGNED_IN),
    route(
        "me-sessions-revoke",
        Delete,
        "/me/sessions/{id}",
        AtLeast(User),
        "accounts",
        "End one of the user's own sessions",
        |m| on(m, accounts::profile::revoke_session),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "auth-mfa-setup",
        Post,
        "/auth/mfa/totp",
        AtLeast(User),
        "auth",
        "Start two-step sign-in: a new authenticator seed, pending until confirmed (the password, unless signed in within 10 minutes)",
        |m| on(m, auth::mfa::setup),
    )
    .status(201)
    .takes(body::<auth::mfa::SetupRequest>())
    .gives(body::<auth::mfa::SetupAnswer>())
    .needs(&[TableRead, TableWrite, Need::MfaKey])
    .hashes_passwords(),
    route(
        "auth-mfa-confirm",
        Post,
        "/auth/mfa/totp/confirm",
        AtLeast(User),
        "auth",
        "Turn two-step sign-in on with a first code; answers 10 recovery codes, shown once; ends the other sessions",
        |m| on(m, auth::mfa::confirm),
    )
    .takes(body::<auth::mfa::ConfirmRequest>())
    .gives(body::<auth::mfa::RecoveryCodes>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue, Need::MfaKey]),
    route(
        "auth-mfa-disable",
        Delete,
        "/auth/mfa/totp",
        AtLeast(User),
        "auth",
        "Turn two-step sign-in off (the password and a code or recovery code)",
        |m| on(m, auth::mfa::disable),
    )
    .status(204)
    .takes(body::<auth::mfa::DisableRequest>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue, Need::MfaKey])
    .hashes_passwords(),
    route(
        "auth-mfa-verify",
        Post,
        "/auth/mfa/verify",
        Public,
        "auth",
        "The second step of a sign-in: the mfa_token with a code or a recovery code",
        |m| on(m, auth::mfa::verify),
    )
    .takes(body::<auth::mfa::VerifyRequest>())
    .gives(body::<auth::tokens::TokenPair>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue, SigningKey, Need::MfaKey]),
    route(
        "auth-mfa-recovery-codes",
        Post,
        "/auth/mfa/recovery-codes",
        AtLeast(User),
        "auth",
        "A new set of recovery codes (the password and a code); the old set dies",
        |m| on(m, auth::mfa::regenerate),
    )
    .takes(body::<auth::mfa::RegenerateRequest>())
    .gives(body::<auth::mfa::RecoveryCodes>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue, Need::MfaKey])
    .hashes_passwords(),
    route(
        "auth-oauth-start",
        Get,
        "/auth/oauth/{provider}",
        Public,
        "auth",
        "Sign in with google or facebook: a 302 to the provider (state, PKCE S256, nonce)",
        |m| on(m, auth::oauth::start),
    )
    .status(302)
    .query(&["redirect_to"])
    .needs(&[TableWrite, Need::OAuthClients]),
    route(
        "auth-oauth-callback",
        Get,
        "/auth/oauth/{provider}/callback",
        Public,
        "auth",
        "Back from the provider: signs in, links or creates the account; a 303 to redirect_to with a one-time login_code",
        |m| on(m, auth::oauth::callback),
    )
    .status(303)
    .media("text/html")
    .query(&["state", "code", "error"])
    .needs(&[TableRead, TableWrite, Need::SendMailQueue, Need::OAuthClients, Need::OAuthSecrets]),
    route(
        "auth-oauth-exchange",
        Post,
        "/auth/oauth/exchange",
        Public,
        "auth",
        "Trade a login_code for the token pair, or for the second step when MFA is on",
        |m| on(m, auth::oauth::exchange),
    )
    .takes(body::<auth::oauth::ExchangeRequest>())
    .gives(body::<auth::login::LoginAnswer>())
    .needs(&[TableRead, TableWrite, SigningKey]),
    route(
        "me-identities-list",
        Get,
        "/me/identities",
        AtLeast(User),
        "accounts",
        "The sign-in providers linked to the account",
        |m| on(m, auth::oauth::accounts::list),
    )
    .gives(body::<auth::oauth::accounts::IdentityList>())
    .needs(SIGNED_IN),
    route(
        "me-identities-unlink",
        Delete,
        "/me/identities/{provider}",
        AtLeast(User),
        "accounts",
        "Unlink a sign-in provider (refused when it is the last way to sign in)",
        |m| on(m, auth::oauth::accounts::unlink),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "me-security-events",
        Get,
        "/me/security-events",
        AtLeast(User),
        "accounts",
        "The signed-in user's security log, newest first",
        |m| on(m, auth::security_log::mine),
    )
    .gives(body::<auth::security_log::SecurityEventPage>())
    .query(&["limit", "cursor"])
    .needs(SIGNED_IN),
    route(
        "page-activate",
        Get,
        "/activate",
        Public,
        "pages",
        "The page an activation email opens: a button that activates the account",
        |m| on(m, system::pages::activate),
    )
    .media("text/html")
    .query(&["token"]),
    route(
        "page-reset-password",
        Get,
        "/reset-password",
        Public,
        "pages",
        "The page a reset email opens: a form for the new password (without a token: ask for a link)",
        |m| on(m, system::pages::reset_password),
    )
    .media("text/html")
    .query(&["token"]),
    route(
        "admin-users-list",
        Get,
        "/admin/users",
        AtLeast(Admin),
        "admin",
        "Users, filtered by role, activity and email prefix",
        |m| on(m, accounts::admin::list),
    )
    .query(&["role", "active", "email", "limit", "cursor"])
    .gives(body::<accounts::admin::UserPage>())
    .needs(SIGNED_IN),
    route(
        "admin-users-get",
        Get,
        "/admin/users/{id}",
        AtLeast(Admin),
        "admin",
        "One user",
        |m| on(m, accounts::admin::get),
    )
    .gives(body::<accounts::user::UserView>())
    .needs(SIGNED_IN),
    route(
        "admin-users-update",
        Patch,
        "/admin/users/{id}",
        AtLeast(Admin),
        "admin",
        "Change a user's role or activity; a role change or a deactivation ends their sessions (the answer says so)",
        |m| on(m, accounts::admin::update),
    )
    .takes(body::<accounts::admin::UserUpdate>())
    .gives(body::<accounts::admin::UserUpdated>())
    .needs(SIGNED_IN_WRITES),
    route(
        "admin-users-mfa-reset",
        Delete,
        "/admin/users/{id}/mfa",
        AtLeast(Admin),
        "admin",
        "Turn a user's two-step sign-in off (a lost device); ends their sessions and emails them",
        |m| on(m, auth::mfa::admin_reset),
    )
    .status(204)
    .needs(&[TableRead, TableWrite, Need::SendMailQueue]),
    route(
        "admin-users-security-events",
        Get,
        "/admin/users/{id}/security-events",
        AtLeast(Admin),
        "admin",
        "A user's security log, newest first",
        |m| on(m, auth::security_log::of_user),
    )
    .gives(body::<auth::security_log::SecurityEventPage>())
    .query(&["limit", "cursor"])
    .needs(SIGNED_IN),
    // Catalogue: movies (read: public; write: moderator)
    route(
        "movies-list",
        Get,
        "/movies",
        Public,
        "catalog",
        "Browse and search movies: filters, sorts and cursors combine",
        |m| on(m, catalog::browse::list),
    )
    .gives(body::<crate::http::pagination::Page<catalog::index::Card>>())
    .query(BROWSE_PARAMS)
    .needs(&[TableRead]),
    route(
        "movies-get",
        Get,
        "/movies/{id}",
        Public,
        "catalog",
        "A movie with its genres, cast, producers and directors",
        |m| on(m, catalog::movies::get),
    )
    .gives(body::<catalog::movies::MovieDetail>())
    .needs(&[TableRead]),
    route(
        "movies-create",
        Post,
        "/movies",
        AtLeast(Moderator),
        "catalog",
        "Add a movie; every id it names must exist",
        |m| on(m, records::create::<catalog::movies::Movie>),
    )
    .status(201)
    .takes(body::<catalog::movies::MovieInput>())
    .gives(body::<catalog::movies::MovieView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "movies-update",
        Patch,
        "/movies/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change a movie (JSON merge patch; If-Match: its version)",
        |m| on(m, records::update::<catalog::movies::Movie>),
    )
    .takes(body::<catalog::movies::MovieInput>())
    .gives(body::<catalog::movies::MovieView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "movies-delete",
        Delete,
        "/movies/{id}",
        AtLeast(Moderator),
        "catalog",
        "Remove a movie nobody bought (otherwise make it unavailable)",
        |m| on(m, records::delete::<catalog::movies::Movie>),
    )
    .status(204)
    .needs(&[TableRead, TableWrite, Need::SendMailQueue]),
    // Engagement
    route(
        "movies-reaction-set",
        Put,
        "/movies/{id}/reaction",
        AtLeast(User),
        "engagement",
        "Like or dislike a movie (one reaction each; switching moves the counts)",
        |m| on(m, engagement::reactions::set_reaction),
    )
    .takes(body::<engagement::reactions::ReactionInput>())
    .gives(body::<catalog::movies::MovieCounts>())
    .needs(SIGNED_IN_WRITES),
    route(
        "movies-reaction-clear",
        Delete,
        "/movies/{id}/reaction",
        AtLeast(User),
        "engagement",
        "Withdraw your reaction",
        |m| on(m, engagement::reactions::clear_reaction),
    )
    .gives(body::<catalog::movies::MovieCounts>())
    .needs(SIGNED_IN_WRITES),
    route(
        "movies-rating-set",
        Put,
        "/movies/{id}/rating",
        AtLeast(User),
        "engagement",
        "Rate a movie 1 to 10 (one score each, changeable)",
        |m| on(m, engagement::reactions::set_rating),
    )
    .takes(body::<engagement::reactions::RatingInput>())
    .gives(body::<catalog::movies::MovieCounts>())
    .needs(SIGNED_IN_WRITES),
    route(
        "movies-rating-clear",
        Delete,
        "/movies/{id}/rating",
        AtLeast(User),
        "engagement",
        "Withdraw your rating",
        |m| on(m, engagement::reactions::clear_rating),
    )
    .gives(body::<catalog::movies::MovieCounts>())
    .needs(SIGNED_IN_WRITES),
    route(
        "comments-list",
        Get,
        "/movies/{id}/comments",
        Public,
        "engagement",
        "Comments by thread, replies under the comment they answer",
        |m| on(m, engagement::comments::list),
    )
    .gives(body::<crate::http::pagination::Page<engagement::comments::Comment>>())
    .query(&["limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "comments-create",
        Post,
        "/movies/{id}/comments",
        AtLeast(User),
        "engagement",
        "Comment, or reply (the author answered is emailed)",
        |m| on(m, engagement::comments::create),
    )
    .status(201)
    .takes(body::<engagement::comments::CommentInput>())
    .gives(body::<engagement::comments::Comment>())
    .needs(&[TableRead, TableWrite, Need::SendMailQueue]),
    route(
        "comments-update",
        Patch,
        "/comments/{id}",
        AtLeast(User),
        "engagement",
        "Edit your comment",
        |m| on(m, engagement::comments::update),
    )
    .takes(body::<engagement::comments::CommentEdit>())
    .gives(body::<engagement::comments::Comment>())
    .needs(SIGNED_IN_WRITES),
    route(
        "comments-delete",
        Delete,
        "/comments/{id}",
        AtLeast(User),
        "engagement",
        "Delete your comment (moderators: any comment)",
        |m| on(m, engagement::comments::delete),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "favorites-list",
        Get,
        "/me/favorites",
        AtLeast(User),
        "engagement",
        "Your favourites, with the filters and sorts of movies-list",
        |m| on(m, engagement::favorites::list),
    )
    .gives(body::<crate::http::pagination::Page<catalog::index::Card>>())
    .query(BROWSE_PARAMS)
    .needs(SIGNED_IN),
    route(
        "favorites-add",
        Put,
        "/me/favorites/{movie_id}",
        AtLeast(User),
        "engagement",
        "Keep a movie among your favourites",
        |m| on(m, engagement::favorites::add),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "favorites-remove",
        Delete,
        "/me/favorites/{movie_id}",
        AtLeast(User),
        "engagement",
        "Remove a movie from your favourites",
        |m| on(m, engagement::favorites::remove),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "purchases-list",
        Get,
        "/me/purchases",
        AtLeast(User),
        "engagement",
        "The movies you own, in the order bought",
        |m| on(m, engagement::mine::purchases),
    )
    .gives(body::<crate::http::pagination::Page<engagement::mine::Owned>>())
    .query(&["limit", "cursor"])
    .needs(SIGNED_IN),
    // Cart
    route(
        "cart-get",
        Get,
        "/cart",
        AtLeast(User),
        "cart",
        "Your cart, priced now, with a flag on items no longer available",
        |m| on(m, cart::get),
    )
    .gives(body::<cart::CartView>())
    .needs(SIGNED_IN),
    route(
        "cart-add",
        Post,
        "/cart/items",
        AtLeast(User),
        "cart",
        "Add a movie, or tickets for a showtime (refused with the reason)",
        |m| on(m, cart::add),
    )
    .status(201)
    .takes(body::<cart::AddItem>())
    .gives(body::<cart::CartView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "cart-update",
        Patch,
        "/cart/items/{id}",
        AtLeast(User),
        "cart",
        "Change how many tickets",
        |m| on(m, cart::update),
    )
    .takes(body::<cart::ChangeQuantity>())
    .gives(body::<cart::CartView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "cart-remove",
        Delete,
        "/cart/items/{id}",
        AtLeast(User),
        "cart",
        "Remove an item",
        |m| on(m, cart::remove),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "cart-clear",
        Delete,
        "/cart",
        AtLeast(User),
        "cart",
        "Empty your cart",
        |m| on(m, cart::clear),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "admin-carts-get",
        Get,
        "/admin/users/{id}/cart",
        AtLeast(Admin),
        "cart",
        "Any user's cart",
        |m| on(m, cart::get_for_admin),
    )
    .gives(body::<cart::CartView>())
    .needs(SIGNED_IN),
    // Orders
    route(
        "orders-create",
        Post,
        "/orders",
        AtLeast(User),
        "orders",
        "Order what the cart holds (Idempotency-Key header); reports items left out",
        |m| on(m, orders::create),
    )
    .status(201)
    .gives(body::<orders::Order>())
    .needs(SIGNED_IN_WRITES),
    route(
        "orders-list",
        Get,
        "/orders",
        AtLeast(User),
        "orders",
        "Your orders, newest first",
        |m| on(m, orders::list),
    )
    .gives(body::<crate::http::pagination::Page<orders::Order>>())
    .query(&["limit", "cursor"])
    .needs(SIGNED_IN),
    route(
        "orders-get",
        Get,
        "/orders/{id}",
        AtLeast(User),
        "orders",
        "One of your orders",
        |m| on(m, orders::get),
    )
    .gives(body::<orders::Order>())
    .needs(SIGNED_IN),
    route(
        "orders-cancel",
        Post,
        "/orders/{id}/cancel",
        AtLeast(User),
        "orders",
        "Cancel a pending order; its seats are released",
        |m| on(m, orders::cancel),
    )
    .gives(body::<orders::Order>())
    .needs(PAYS),
    route(
        "orders-checkout",
        Post,
        "/orders/{id}/checkout",
        AtLeast(User),
        "orders",
        "Re-check prices and availability (409 with the new total; call again to accept), then open Stripe Checkout",
        |m| on(m, orders::checkout::checkout),
    )
    .gives(body::<orders::checkout::CheckoutStarted>())
    .needs(PAYS),
    route(
        "orders-refund-request",
        Post,
        "/orders/{id}/refund",
        AtLeast(User),
        "orders",
        "Ask for a refund of a paid order, with a reason",
        |m| on(m, orders::refunds::request),
    )
    .status(202)
    .takes(body::<orders::refunds::RefundAsk>())
    .gives(body::<orders::Order>())
    .needs(SIGNED_IN_WRITES),
    route(
        "payments-list",
        Get,
        "/payments",
        AtLeast(User),
        "orders",
        "Your payments, newest first: date, amount, status, order",
        |m| on(m, payments::list),
    )
    .gives(body::<crate::http::pagination::Page<payments::Payment>>())
    .query(&["limit", "cursor"])
    .needs(SIGNED_IN),
    route(
        "stripe-webhook",
        Post,
        "/webhooks/stripe",
        Public,
        "orders",
        "Stripe's events (verified by the Stripe-Signature header; each acted on once)",
        |m| on(m, payments::webhook::receive),
    )
    .needs(&[
        TableRead,
        TableWrite,
        SendMail,
        Need::StripeKey,
        Need::StripeWebhookSecret,
    ]),
    route(
        "admin-orders-list",
        Get,
        "/admin/orders",
        AtLeast(Moderator),
        "orders",
        "Every order, newest first, filtered by user, status and date range",
        |m| on(m, orders::admin::list),
    )
    .gives(body::<crate::http::pagination::Page<orders::Order>>())
    .query(STAFF_LIST_PARAMS)
    .needs(SIGNED_IN),
    route(
        "admin-orders-refund",
        Post,
        "/admin/orders/{id}/refund",
        AtLeast(Admin),
        "orders",
        "Approve a requested refund: Stripe refunds, and its event completes it",
        |m| on(m, orders::refunds::approve),
    )
    .status(202)
    .gives(body::<orders::Order>())
    .needs(PAYS),
    route(
        "admin-payments-list",
        Get,
        "/admin/payments",
        AtLeast(Moderator),
        "orders",
        "Every payment, newest first, filtered by user, status and date range",
        |m| on(m, payments::admin_list),
    )
    .gives(body::<crate::http::pagination::Page<payments::Payment>>())
    .query(STAFF_LIST_PARAMS)
    .needs(SIGNED_IN),
    route(
        "admin-sales",
        Get,
        "/admin/sales",
        AtLeast(Moderator),
        "orders",
        "Revenue and units by day and by movie over a date range",
        |m| on(m, orders::admin::sales),
    )
    .gives(body::<orders::admin::Sales>())
    .query(&["from", "to"])
    .needs(SIGNED_IN),
    // Catalogue: reference records (read: public; write: moderator)
    route(
        "genres-list",
        Get,
        "/genres",
        Public,
        "catalog",
        "Genres by name, with movie counts",
        |m| on(m, records::list::<catalog::genres::Genre>),
    )
    .gives(body::<crate::http::pagination::Page<catalog::genres::GenreView>>())
    .query(&["q", "limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "genres-get",
        Get,
        "/genres/{id}",
        Public,
        "catalog",
        "One genre, with a page of its movies by title",
        |m| on(m, records::get::<catalog::genres::Genre>),
    )
    .gives(body::<catalog::genres::GenreView>())
    .query(&["movies_limit", "movies_cursor"])
    .needs(&[TableRead]),
    route(
        "genres-create",
        Post,
        "/genres",
        AtLeast(Moderator),
        "catalog",
        "Add a genre",
        |m| on(m, records::create::<catalog::genres::Genre>),
    )
    .status(201)
    .takes(body::<catalog::genres::GenreInput>())
    .gives(body::<catalog::genres::GenreView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "genres-update",
        Patch,
        "/genres/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change a genre (JSON merge patch; If-Match: its version)",
        |m| on(m, records::update::<catalog::genres::Genre>),
    )
    .takes(body::<catalog::genres::GenreInput>())
    .gives(body::<catalog::genres::GenreView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "genres-delete",
        Delete,
        "/genres/{id}",
        AtLeast(Moderator),
        "catalog",
        "Remove a genre no movie references",
        |m| on(m, records::delete::<catalog::genres::Genre>),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "actors-list",
        Get,
        "/actors",
        Public,
        "catalog",
        "Actors by name",
        |m| on(m, records::list::<catalog::people::Actor>),
    )
    .gives(body::<crate::http::pagination::Page<catalog::people::PersonView>>())
    .query(&["q", "limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "actors-get",
        Get,
        "/actors/{id}",
        Public,
        "catalog",
        "One actor, with a page of their movies by title",
        |m| on(m, records::get::<catalog::people::Actor>),
    )
    .gives(body::<catalog::people::PersonView>())
    .query(&["movies_limit", "movies_cursor"])
    .needs(&[TableRead]),
    route(
        "actors-create",
        Post,
        "/actors",
        AtLeast(Moderator),
        "catalog",
        "Add an actor",
        |m| on(m, records::create::<catalog::people::Actor>),
    )
    .status(201)
    .takes(body::<catalog::people::PersonInput>())
    .gives(body::<catalog::people::PersonView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "actors-update",
        Patch,
        "/actors/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change an actor (JSON merge patch; If-Match: its version)",
        |m| on(m, records::update::<catalog::people::Actor>),
    )
    .takes(body::<catalog::people::PersonInput>())
    .gives(body::<catalog::people::PersonView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "actors-delete",
        Delete,
        "/actors/{id}",
        AtLeast(Moderator),
        "catalog",
        "Remove an actor no movie references",
        |m| on(m, records::delete::<catalog::people::Actor>),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "producers-list",
        Get,
        "/producers",
        Public,
        "catalog",
        "Producers by name",
        |m| on(m, records::list::<catalog::people::Producer>),
    )
    .gives(body::<crate::http::pagination::Page<catalog::people::PersonView>>())
    .query(&["q", "limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "producers-get",
        Get,
        "/producers/{id}",
        Public,
        "catalog",
        "One producer, with a page of their movies by title",
        |m| on(m, records::get::<catalog::people::Producer>),
    )
    .gives(body::<catalog::people::PersonView>())
    .query(&["movies_limit", "movies_cursor"])
    .needs(&[TableRead]),
    route(
        "producers-create",
        Post,
        "/producers",
        AtLeast(Moderator),
        "catalog",
        "Add a producer",
        |m| on(m, records::create::<catalog::people::Producer>),
    )
    .status(201)
    .takes(body::<catalog::people::PersonInput>())
    .gives(body::<catalog::people::PersonView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "producers-update",
        Patch,
        "/producers/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change a producer (JSON merge patch; If-Match: its version)",
        |m| on(m, records::update::<catalog::people::Producer>),
    )
    .takes(body::<catalog::people::PersonInput>())
    .gives(body::<catalog::people::PersonView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "producers-delete",
        Delete,
        "/producers/{id}",
        AtLeast(Moderator),
        "catalog",
        "Remove a producer no movie references",
        |m| on(m, records::delete::<catalog::people::Producer>),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "directors-list",
        Get,
        "/directors",
        Public,
        "catalog",
        "Directors by name",
        |m| on(m, records::list::<catalog::people::Director>),
    )
    .gives(body::<crate::http::pagination::Page<catalog::people::PersonView>>())
    .query(&["q", "limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "directors-get",
        Get,
        "/directors/{id}",
        Public,
        "catalog",
        "One director, with a page of their movies by title",
        |m| on(m, records::get::<catalog::people::Director>),
    )
    .gives(body::<catalog::people::PersonView>())
    .query(&["movies_limit", "movies_cursor"])
    .needs(&[TableRead]),
    route(
        "directors-create",
        Post,
        "/directors",
        AtLeast(Moderator),
        "catalog",
        "Add a director",
        |m| on(m, records::create::<catalog::people::Director>),
    )
    .status(201)
    .takes(body::<catalog::people::PersonInput>())
    .gives(body::<catalog::people::PersonView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "directors-update",
        Patch,
        "/directors/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change a director (JSON merge patch; If-Match: its version)",
        |m| on(m, records::update::<catalog::people::Director>),
    )
    .takes(body::<catalog::people::PersonInput>())
    .gives(body::<catalog::people::PersonView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "directors-delete",
        Delete,
        "/directors/{id}",
        AtLeast(Moderator),
        "catalog",
        "Remove a director no movie references",
        |m| on(m, records::delete::<catalog::people::Director>),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "cinemas-list",
        Get,
        "/cinemas",
        Public,
        "catalog",
        "Cinemas by name",
        |m| on(m, records::list::<catalog::cinemas::Cinema>),
    )
    .gives(body::<crate::http::pagination::Page<catalog::cinemas::CinemaView>>())
    .query(&["q", "limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "cinemas-get",
        Get,
        "/cinemas/{id}",
        Public,
        "catalog",
        "One cinema",
        |m| on(m, records::get::<catalog::cinemas::Cinema>),
    )
    .gives(body::<catalog::cinemas::CinemaView>())
    .needs(&[TableRead]),
    route(
        "cinemas-create",
        Post,
        "/cinemas",
        AtLeast(Moderator),
        "catalog",
        "Add a cinema",
        |m| on(m, records::create::<catalog::cinemas::Cinema>),
    )
    .status(201)
    .takes(body::<catalog::cinemas::CinemaInput>())
    .gives(body::<catalog::cinemas::CinemaView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "cinemas-update",
        Patch,
        "/cinemas/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change a cinema (JSON merge patch; If-Match: its version)",
        |m| on(m, records::update::<catalog::cinemas::Cinema>),
    )
    .takes(body::<catalog::cinemas::CinemaInput>())
    .gives(body::<catalog::cinemas::CinemaView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "cinemas-delete",
        Delete,
        "/cinemas/{id}",
        AtLeast(Moderator),
        "catalog",
        "Remove a cinema that has no showtimes",
        |m| on(m, records::delete::<catalog::cinemas::Cinema>),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
    route(
        "showtimes-list",
        Get,
        "/showtimes",
        Public,
        "catalog",
        "Showtimes by start, of a cinema, a movie or a day (default: upcoming)",
        |m| on(m, catalog::showtimes::list),
    )
    .gives(body::<crate::http::pagination::Page<catalog::showtimes::ShowtimeView>>())
    .query(&["cinema", "movie", "date", "limit", "cursor"])
    .needs(&[TableRead]),
    route(
        "showtimes-get",
        Get,
        "/showtimes/{id}",
        Public,
        "catalog",
        "A showtime with the seats left",
        |m| on(m, catalog::showtimes::get),
    )
    .gives(body::<catalog::showtimes::ShowtimeView>())
    .needs(&[TableRead]),
    route(
        "showtimes-create",
        Post,
        "/showtimes",
        AtLeast(Moderator),
        "catalog",
        "Schedule a movie on a screen (in the future, not overlapping another show)",
        |m| on(m, catalog::showtimes::create),
    )
    .status(201)
    .takes(body::<catalog::showtimes::ShowtimeInput>())
    .gives(body::<catalog::showtimes::ShowtimeView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "showtimes-update",
        Patch,
        "/showtimes/{id}",
        AtLeast(Moderator),
        "catalog",
        "Change a showtime's price or seats (If-Match: its version)",
        |m| on(m, catalog::showtimes::update),
    )
    .takes(body::<catalog::showtimes::ShowtimePatch>())
    .gives(body::<catalog::showtimes::ShowtimeView>())
    .needs(SIGNED_IN_WRITES),
    route(
        "showtimes-delete",
        Delete,
        "/showtimes/{id}",
        AtLeast(Moderator),
        "catalog",
        "Cancel a showtime nobody holds tickets for",
        |m| on(m, catalog::showtimes::delete),
    )
    .status(204)
    .needs(SIGNED_IN_WRITES),
];

/// What starts a background function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An EventBridge schedule expression.
    Schedule(&'static str),
    /// Messages on the expiry queue.
    ExpiryQueue,
    /// Messages on the mail queue.
    MailQueue,
}

/// A function that no HTTP route reaches.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    pub name: &'static str,
    pub summary: &'static str,
    pub trigger: Trigger,
    pub needs: &'static [Need],
    /// The function in `crate::lambda` its binary calls.
    pub entry: &'static str,
}

pub static BACKGROUND: &[Background] = &[
    Background {
        name: "expiry-scheduler",
        summary: "Finds expired items through the EXPIRY index and queues them",
        trigger: Trigger::Schedule("rate(5 minutes)"),
        needs: &[Need::QueryExpiryIndex, Need::SendExpiryQueue],
        entry: "run_expiry_scheduler",
    },
    Background {
        name: "expiry-worker",
        summary: "Deletes queued items that are still expired; expires lapsed pending orders; queues owed emails again",
        trigger: Trigger::ExpiryQueue,
        needs: &[
            TableRead,
            TableWrite,
            Need::TableDelete,
            Need::SendMailQueue,
        ],
        entry: "run_expiry_worker",
    },
    Background {
        name: "catalog-indexer",
        summary: "Brings the browse and search index of changed movies up to date",
        trigger: Trigger::Schedule("rate(1 minute)"),
        needs: &[TableRead, TableWrite],
        entry: "run_catalog_indexer",
    },
    Background {
        name: "mail-worker",
        summary: "Sends every email: owed notices, activation and password reset links",
        trigger: Trigger::MailQueue,
        needs: &[TableRead, TableWrite, SendMail],
        entry: "run_mail_worker",
    },
];

pub fn find(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

/// The API router with the routes `keep` selects (all of them locally; one in a Lambda).
pub fn router(app: App, keep: impl Fn(&Route) -> bool) -> Router {
    router_for(app, ROUTES.iter().filter(|r| keep(r)))
}

/// The API router over any routes, each behind the role guard its table entry names.
pub fn router_for<'a>(app: App, routes: impl IntoIterator<Item = &'a Route>) -> Router {
    let mut api = Router::new();
    for route in routes {
        let mut handler = (route.handler)(route.method.filter());
        if let Access::AtLeast(_) = route.access {
            let access = route.access;
            handler = handler.route_layer(axum::middleware::from_fn_with_state(
                app.clone(),
                move |State(app): State<App>,
                      mut req: axum::extract::Request,
                      next: axum::middleware::Next| async move {
                    let caller = match authenticate(&app, req.headers()).await {
                        Ok(caller) => caller,
                        Err(problem) => return problem.into_response(),
                    };
                    if let Err(problem) = authorize(access, Some(&caller)) {
                        return problem.into_response();
                    }
                    req.extensions_mut().insert(caller);
                    next.run(req).await
                },
            ));
        }
        api = api.route(route.path, handler);
    }
    let timeout = app.config.request_timeout;
    let cors = crate::http::cors::layer(&app.config.cors_origins);
    crate::http::serve(api, app, timeout).layer(cors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_method_paths_are_unique_and_well_formed() {
        let mut names = HashSet::new();
        let mut endpoints = HashSet::new();
        for r in ROUTES {
            assert!(names.insert(r.name), "duplicate route name {}", r.name);
            assert!(
                endpoints.insert((r.method, r.path)),
                "duplicate endpoint {} {}",
                r.method.as_str(),
                r.path
            );
            assert!(
                r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "route name {} must be kebab-case",
                r.name
            );
            assert!(r.path.starts_with('/'), "{} path must start with /", r.name);
            assert!(!r.summary.is_empty(), "{} needs a summary", r.name);
        }
    }

    #[test]
    fn path_parameters_are_read_from_the_path() {
        let route = Route {
            path: "/movies/{id}/comments/{comment_id}",
            ..*find("health").unwrap()
        };
        assert_eq!(route.params(), vec!["id", "comment_id"]);
    }
}
