//! Users, profiles and roles: sign-up and activation, the user's own profile and sessions,
//! and admin user management.

pub mod admin;
pub mod profile;
pub mod signup;
pub mod user;
