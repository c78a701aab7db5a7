//! The accounts and auth slice of the route table: sign-up, sign-in, sessions, MFA,
//! sign-in with Google and Facebook, the account pages and admin user management.

use crate::accounts;
use crate::auth;
use axum::routing::on;
use marquee_core::http::guard::Access::{AtLeast, Public};
use marquee_core::role::Role::{Admin, User};
use marquee_core::route::Method::{Delete, Get, Patch, Post};
use marquee_core::route::Need;
use marquee_core::route::{Route, body, route};

pub const AUTH_REGISTER: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SendMailQueue,
])
.hashes_passwords();

pub const AUTH_ACTIVATE: Route = route(
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
.needs(&[Need::GetItem, Need::UpdateItem, Need::DeleteItem]);

pub const AUTH_ACTIVATION_RESEND: Route = route(
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
.needs(&[Need::SendMailQueue]);

pub const AUTH_LOGIN: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::SigningKey,
])
.hashes_passwords();

pub const AUTH_REFRESH: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SigningKey,
]);

pub const AUTH_LOGOUT: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
]);

pub const AUTH_PASSWORD_FORGOT: Route = route(
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
.needs(&[Need::SendMailQueue]);

pub const AUTH_PASSWORD_RESET: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SendMailQueue,
])
.hashes_passwords();

pub const AUTH_PASSWORD_CHANGE: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SendMailQueue,
    Need::MfaKey,
])
.hashes_passwords();

pub const ME_GET: Route = route(
    "me-get",
    Get,
    "/me",
    AtLeast(User),
    "accounts",
    "The signed-in user's profile",
    |m| on(m, accounts::profile::me),
)
.gives(body::<accounts::user::UserView>())
.needs(&[Need::GetItem]);

pub const ME_UPDATE: Route = route(
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
.needs(&[Need::GetItem, Need::UpdateItem]);

pub const ME_SESSIONS_LIST: Route = route(
    "me-sessions-list",
    Get,
    "/me/sessions",
    AtLeast(User),
    "accounts",
    "The signed-in user's live sessions",
    |m| on(m, accounts::profile::sessions),
)
.gives(body::<accounts::profile::SessionList>())
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const ME_SESSIONS_REVOKE: Route = route(
    "me-sessions-revoke",
    Delete,
    "/me/sessions/{id}",
    AtLeast(User),
    "accounts",
    "End one of the user's own sessions",
    |m| on(m, accounts::profile::revoke_session),
)
.status(204)
.needs(&[Need::GetItem, Need::PutItem, Need::DeleteItem]);

pub const AUTH_MFA_SETUP: Route = route(
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
.needs(&[Need::GetItem, Need::PutItem, Need::UpdateItem, Need::MfaKey])
.hashes_passwords();

pub const AUTH_MFA_CONFIRM: Route = route(
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
.needs(&[Need::GetItem, Need::QueryIndexes, Need::PutItem, Need::UpdateItem, Need::DeleteItem, Need::SendMailQueue, Need::MfaKey]);

pub const AUTH_MFA_DISABLE: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SendMailQueue,
    Need::MfaKey,
])
.hashes_passwords();

pub const AUTH_MFA_VERIFY: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SendMailQueue,
    Need::SigningKey,
    Need::MfaKey,
]);

pub const AUTH_MFA_RECOVERY_CODES: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::SendMailQueue,
    Need::MfaKey,
])
.hashes_passwords();

pub const AUTH_OAUTH_START: Route = route(
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
.needs(&[Need::PutItem, Need::OAuthClients]);

pub const AUTH_OAUTH_CALLBACK: Route = route(
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
.needs(&[Need::GetItem, Need::PutItem, Need::UpdateItem, Need::DeleteItem, Need::SendMailQueue, Need::OAuthClients, Need::OAuthSecrets]);

pub const AUTH_OAUTH_EXCHANGE: Route = route(
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
.needs(&[
    Need::GetItem,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SigningKey,
]);

pub const ME_IDENTITIES_LIST: Route = route(
    "me-identities-list",
    Get,
    "/me/identities",
    AtLeast(User),
    "accounts",
    "The sign-in providers linked to the account",
    |m| on(m, auth::oauth::accounts::list),
)
.gives(body::<auth::oauth::accounts::IdentityList>())
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const ME_IDENTITIES_UNLINK: Route = route(
    "me-identities-unlink",
    Delete,
    "/me/identities/{provider}",
    AtLeast(User),
    "accounts",
    "Unlink a sign-in provider (refused when it is the last way to sign in)",
    |m| on(m, auth::oauth::accounts::unlink),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::DeleteItem,
]);

pub const ME_SECURITY_EVENTS: Route = route(
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
.needs(&[Need::GetItem, Need::Query]);

pub const PAGE_ACTIVATE: Route = route(
    "page-activate",
    Get,
    "/activate",
    Public,
    "pages",
    "The page an activation email opens: a button that activates the account",
    |m| on(m, marquee_core::pages::activate),
)
.media("text/html")
.query(&["token"]);

pub const PAGE_RESET_PASSWORD: Route = route(
    "page-reset-password",
    Get,
    "/reset-password",
    Public,
    "pages",
    "The page a reset email opens: a form for the new password (without a token: ask for a link)",
    |m| on(m, marquee_core::pages::reset_password),
)
.media("text/html")
.query(&["token"]);

pub const ADMIN_USERS_LIST: Route = route(
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
.needs(&[Need::GetItem, Need::QueryIndexes]);

pub const ADMIN_USERS_GET: Route = route(
    "admin-users-get",
    Get,
    "/admin/users/{id}",
    AtLeast(Admin),
    "admin",
    "One user",
    |m| on(m, accounts::admin::get),
)
.gives(body::<accounts::user::UserView>())
.needs(&[Need::GetItem]);

pub const ADMIN_USERS_UPDATE: Route = route(
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
.needs(&[Need::GetItem, Need::QueryIndexes, Need::PutItem, Need::UpdateItem, Need::DeleteItem]);

pub const ADMIN_USERS_MFA_RESET: Route = route(
    "admin-users-mfa-reset",
    Delete,
    "/admin/users/{id}/mfa",
    AtLeast(Admin),
    "admin",
    "Turn a user's two-step sign-in off (a lost device); ends their sessions and emails them",
    |m| on(m, auth::mfa::admin_reset),
)
.status(204)
.needs(&[
    Need::GetItem,
    Need::QueryIndexes,
    Need::PutItem,
    Need::UpdateItem,
    Need::DeleteItem,
    Need::SendMailQueue,
]);

pub const ADMIN_USERS_SECURITY_EVENTS: Route = route(
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
.needs(&[Need::GetItem, Need::Query]);

pub static ROUTES: &[Route] = &[
    AUTH_REGISTER,
    AUTH_ACTIVATE,
    AUTH_ACTIVATION_RESEND,
    AUTH_LOGIN,
    AUTH_REFRESH,
    AUTH_LOGOUT,
    AUTH_PASSWORD_FORGOT,
    AUTH_PASSWORD_RESET,
    AUTH_PASSWORD_CHANGE,
    ME_GET,
    ME_UPDATE,
    ME_SESSIONS_LIST,
    ME_SESSIONS_REVOKE,
    AUTH_MFA_SETUP,
    AUTH_MFA_CONFIRM,
    AUTH_MFA_DISABLE,
    AUTH_MFA_VERIFY,
    AUTH_MFA_RECOVERY_CODES,
    AUTH_OAUTH_START,
    AUTH_OAUTH_CALLBACK,
    AUTH_OAUTH_EXCHANGE,
    ME_IDENTITIES_LIST,
    ME_IDENTITIES_UNLINK,
    ME_SECURITY_EVENTS,
    PAGE_ACTIVATE,
    PAGE_RESET_PASSWORD,
    ADMIN_USERS_LIST,
    ADMIN_USERS_GET,
    ADMIN_USERS_UPDATE,
    ADMIN_USERS_MFA_RESET,
    ADMIN_USERS_SECURITY_EVENTS,
];
