//! `marquee-seed [MOVIES] [SEED]`: fills the configured backend with the demo catalogue
//! (default 300 movies, seed 1) and a week of showtimes. Benchmarks use it for 1k and 50k.

use marquee::catalog::demo;
use marquee::{App, Config};
use std::process::ExitCode;
use std::time::Instant;

pub fn main() -> ExitCode {
    crate::run_command("marquee-seed", async {
        let mut args = std::env::args().skip(1);
        let movies: usize = match args.next() {
            Some(n) => n
                .parse()
                .map_err(|_| "usage: marquee-seed [MOVIES] [SEED]")?,
            None => 300,
        };
        let seed: u64 = match args.next() {
            Some(n) => n
                .parse()
                .map_err(|_| "usage: marquee-seed [MOVIES] [SEED]")?,
            None => 1,
        };
        let app = App::start(Config::from_env()?).await?;
        let started = Instant::now();
        let report = seed_demo(&app, movies, seed, 7).await?;
        println!("{report} in {:.1} s", started.elapsed().as_secs_f64());
        Ok(())
    })
}

/// Seeds the demo catalogue and its showtimes; says what it made.
pub async fn seed_demo(
    app: &App,
    movies: usize,
    seed: u64,
    showtime_days: u16,
) -> Result<String, Box<dyn std::error::Error>> {
    let seeded = demo::seed(app, movies, seed)
        .await
        .map_err(|p| format!("seeding the catalogue: {p}"))?;
    let showtimes = demo::schedule_showtimes(app, &seeded, showtime_days, seed)
        .await
        .map_err(|p| format!("scheduling showtimes: {p}"))?;
    let playable = attach_clips(app, &seeded.movies).await?;
    let plays = match playable.first() {
        Some(first) => format!(
            "{} with a trailer and a feature to play, e.g. /movies/{first}",
            playable.len()
        ),
        None => "none with media".to_string(),
    };
    Ok(format!(
        "demo catalogue: {} movies ({plays}), {} genres, {} actors, {} directors, {} producers, {} cinemas, {showtimes} showtimes",
        seeded.movies.len(),
        seeded.genres.len(),
        seeded.actors.len(),
        seeded.directors.len(),
        seeded.producers.len(),
        seeded.cinemas.len(),
    ))
}

/// The demo's clip: made by `infra/demo/make-clip` from ffmpeg's test sources.
pub const DEMO_CLIP: &[u8] = include_bytes!("../demo/clip.mp4");
/// How many demo movies carry the clip, as trailer and feature.
const PLAYABLE_MOVIES: usize = 3;

/// Gives the first demo movies the clip as trailer and feature, so playback can be tried
/// at once. Gives their ids.
async fn attach_clips(
    app: &App,
    movies: &[String],
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    use marquee::catalog::media::MediaKind;
    let mut playable = Vec::new();
    for movie in movies.iter().take(PLAYABLE_MOVIES) {
        for kind in [MediaKind::Trailer, MediaKind::Feature] {
            marquee::watching::media::attach(app, movie, kind, DEMO_CLIP.to_vec())
                .await
                .map_err(|e| format!("attaching the demo clip: {e}"))?;
        }
        playable.push(movie.clone());
    }
    Ok(playable)
}
