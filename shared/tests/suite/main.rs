//! The integration tests, one module per feature, linked into one test binary: each
//! binary holds the whole product unoptimised (about 90 MB), so one instead of seventeen
//! saves CI a gigabyte and a link per file. `request_log` stays apart: it installs the
//! process's log subscriber.

#[path = "../support/mod.rs"]
mod support;

mod account_safety;
mod accounts;
mod api_system;
mod aws_adapters;
mod cart;
mod catalog_browse;
mod catalog_records;
mod catalog_showtimes;
mod catalog_stream;
mod cost;
mod engagement;
mod expiry;
mod faults;
mod input_hardening;
mod mfa;
mod oauth;
mod orders;
mod payments;
mod resilience;
mod round_trips;
mod secrets;
mod table_contract;
mod watching;
