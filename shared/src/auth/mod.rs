//! Passwords, tokens, sessions: signing in and out, password recovery and change.

pub mod keys;
pub mod login;
pub mod one_time;
pub mod password;
pub mod recovery;
pub mod secret;
pub mod session;
pub mod tokens;
