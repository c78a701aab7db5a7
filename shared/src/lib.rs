//! Marquee assembled: the route table joined from the feature crates' slices, the system
//! routes (health, the OpenAPI document, the docs page, the JWK set) and the Lambda entry
//! points. The local server, the generators and the tests use the product through here.
//!
//! The crates, each depending only on those before it: `marquee-core`, `marquee-accounts`,
//! `marquee-catalog`, `marquee-commerce` and `marquee-watching` (beside each other), then
//! this one.

pub mod background;
pub mod lambda;
pub mod routes;
pub mod system;

pub use marquee_accounts::{accounts, auth, mail_jobs, notifications};
pub use marquee_catalog::{catalog, engagement};
pub use marquee_commerce::{cart, expiry, orders, payments, staff_list};
pub use marquee_core::{
    App, Config, app, clock, config, data_key, http, keys, mail, metrics, pages, queue, role,
    route, secret, secret_store, store, telemetry, usage,
};
pub use marquee_watching as watching;
