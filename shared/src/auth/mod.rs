//! Passwords, tokens, sessions.

pub mod keys;
