//! The catalogue. So far its reference records: genres, people (actors, producers,
//! directors) and cinemas, on one shared implementation in `records`.

pub mod cinemas;
pub mod genres;
pub mod movies;
pub mod people;
pub mod records;
