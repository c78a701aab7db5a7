//! The catalogue and engagement: movies, genres, people, cinemas and showtimes, the browse
//! and search index, reactions, ratings, comments, favourites and owned movies.
//!
//! Depends on the core and accounts; commerce builds on it.

pub mod catalog;
pub mod engagement;
pub mod routes;
