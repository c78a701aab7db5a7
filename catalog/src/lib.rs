//! The catalogue and engagement: movies, genres, people, cinemas and showtimes, the browse
//! and search index, reactions, ratings, comments, favourites and owned movies.
//!
//! Depends on the core and accounts; commerce builds on it.

pub mod catalog;
pub mod engagement;
pub mod routes;

pub use marquee_accounts::{accounts, auth, mail_jobs, notifications};
pub use marquee_core::{
    App, Config, app, clock, config, http, mail, metrics, pages, queue, route, store,
};
