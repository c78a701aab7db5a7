//! Accounts and auth: sign-up and activation, profiles and roles, sign-in with passwords,
//! MFA and Google or Facebook, sessions, recovery, the security log, the mail worker's
//! account emails, and the caller checks (`auth::login::authenticate`) that the API
//! router's role guard runs (`marquee::routes::router_for`).
//!
//! Depends on the core only; the catalogue and commerce build on it.

pub mod accounts;
pub mod auth;
pub mod mail_jobs;
pub mod notifications;
pub mod routes;
