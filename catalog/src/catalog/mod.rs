//! The catalogue: movies and the records they name (genres, people, cinemas), on one
//! shared implementation in `records`; the browse and search index of the movies in
//! `index`, read by `browse`.

pub mod browse;
pub mod cinemas;
pub mod demo;
pub mod genres;
pub mod index;
pub mod media;
pub mod movies;
pub mod people;
pub mod records;
pub mod showtimes;
pub mod text;
