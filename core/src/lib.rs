//! Marquee's core: what every feature builds on and no feature owns. The store port and
//! its adapters, the HTTP layer, configuration, the clock, the mail and queue ports, the
//! signing and data keys, the shapes of the route table, and the application state.
//!
//! Nothing here names a feature; the feature crates depend on it, never the reverse.

pub mod app;
pub mod aws_tls;
pub mod clock;
pub mod config;
pub mod data_key;
pub mod expiry;
pub mod http;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod outbound;
pub mod pages;
pub mod queue;
pub mod role;
pub mod route;
pub mod secret;
pub mod secret_store;
pub mod store;
pub mod telemetry;
pub mod usage;

pub use app::App;
pub use config::Config;
