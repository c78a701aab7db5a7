//! Users, profiles and roles.

mod role;

pub use role::Role;
