//! Marquee: the online cinema's domain, its HTTP handlers and its storage adapters.
//!
//! Features own their code (`accounts`, `auth`, …); cross-cutting pieces are the ports
//! (`store`, `mail`, `queue`), the HTTP layer (`http`) and the route table (`routes`).

pub mod accounts;
pub mod app;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod engagement;
pub mod expiry;
pub mod http;
pub mod lambda;
pub mod mail;
pub mod mail_jobs;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod queue;
pub mod routes;
pub mod staff_list;
pub mod store;
pub mod system;
pub mod telemetry;

pub use app::App;
pub use config::Config;
