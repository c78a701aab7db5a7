//! Passwords, tokens, sessions: signing in and out (with a second step when MFA is on),
//! password recovery and change, sign-in with Google and Facebook, and the security log.

pub mod login;
pub mod mfa;
pub mod oauth;
pub mod one_time;
pub mod password;
pub mod recovery;
pub mod security_log;
pub mod session;
pub mod tokens;
