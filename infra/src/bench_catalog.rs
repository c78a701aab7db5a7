//! `bench-catalog MOVIES [ROUNDS]`: latency and cost of movies-list and search on the
//! embedded backend, with MOVIES movies of the demo catalogue (seeded once into
//! `target/bench-catalog-<MOVIES>/`). Each request goes through the whole router in
//! process; items read and read calls are counted at the `Table` port.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use marquee::store::counting::CountingTable;
use marquee::{App, Config, routes};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

pub fn main() -> ExitCode {
    crate::run_command("bench-catalog", async {
        let mut args = std::env::args().skip(1);
        let usage = "usage: bench-catalog MOVIES [ROUNDS]";
        let movies: usize = args.next().ok_or(usage)?.parse().map_err(|_| usage)?;
        let rounds: usize = match args.next() {
            Some(r) => r.parse().map_err(|_| usage)?,
            None => 200,
        };
        let dir = std::path::Path::new("target").join(format!("bench-catalog-{movies}"));
        let dir_text = dir.display().to_string();
        let config = Config::from_lookup(|name| match name {
            "MARQUEE_DATA_DIR" => Some(dir_text.clone()),
            _ => None,
        })?;
        let mut app = App::start(config).await?;
        if marquee::catalog::demo::catalogue_is_empty(&app)
            .await
            .map_err(|p| p.to_string())?
        {
            let started = Instant::now();
            let report = crate::seed::seed_demo(&app, movies, 1, 0).await?;
            println!(
                "seeded {report} in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
        let counting = Arc::new(CountingTable::new(app.table.clone()));
        app.table = counting.clone();
        let api = routes::router(app.clone(), |_| true);

        let (_, first) = call(&api, "/movies?limit=1&sort=title").await?;
        let card = &first["items"][0];
        let genre = card["genre_ids"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let actor = card["actor_ids"][0]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let cases = [
            ("all, by popularity".to_string(), "/movies".to_string()),
            ("all, by title".into(), "/movies?sort=title".into()),
            (
                "genre, by price".into(),
                format!("/movies?genre={genre}&sort=price"),
            ),
            (
                "actor, by release date".into(),
                format!("/movies?actor={actor}&sort=release_date"),
            ),
            (
                "price range, by price (key condition)".into(),
                "/movies?price_min=500&price_max=999&sort=price".into(),
            ),
            (
                "years 1990-1999, by popularity (filter)".into(),
                "/movies?year_from=1990&year_to=1999".into(),
            ),
            (
                "genre + certification + rating >= 7, by rating".into(),
                format!("/movies?genre={genre}&certification=PG&rating_min=7&sort=rating"),
            ),
            (
                "search \"lisbon\" (word index)".into(),
                "/movies?q=lisbon".into(),
            ),
            (
                "search \"lisbon courage\", by price".into(),
                "/movies?q=lisbon%20courage&sort=price".into(),
            ),
            (
                "search \"the\" (broad: filter)".into(),
                "/movies?q=the".into(),
            ),
            (
                "search \"the\" in a genre (broad: filter)".into(),
                format!("/movies?q=the&genre={genre}"),
            ),
            (
                "search \"a\" (one letter: filter)".into(),
                "/movies?q=a&sort=title".into(),
            ),
            (
                "search \"amelie\" (accent-folded name)".into(),
                "/movies?q=amelie".into(),
            ),
        ];
        println!(
            "\n{movies} movies, {rounds} rounds per request, limit 20 (in-process router, release build)\n"
        );
        println!(
            "| request | p50 ms | p99 ms | items read per page (max) | read calls (max) | items shown |"
        );
        println!("|---|---|---|---|---|---|");
        for (label, path) in cases {
            for _ in 0..5 {
                call(&api, &path).await?;
            }
            let mut times = Vec::with_capacity(rounds);
            let (mut max_items, mut max_calls, mut shown) = (0, 0, 0);
            for _ in 0..rounds {
                counting.counts.take_reads();
                let started = Instant::now();
                let (status, page) = call(&api, &path).await?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
                if status != 200 {
                    return Err(format!("{path} answered {status}: {page}").into());
                }
                let (items, calls) = counting.counts.take_reads();
                max_items = max_items.max(items);
                max_calls = max_calls.max(calls);
                shown = page["items"].as_array().map_or(0, Vec::len);
            }
            times.sort_by(f64::total_cmp);
            let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
            println!(
                "| {label} | {:.2} | {:.2} | {max_items} | {max_calls} | {shown} |",
                pct(0.50),
                pct(0.99)
            );
        }
        let movie = card["id"].as_str().unwrap_or_default();
        let (_, top) = call(&api, "/movies?limit=1&sort=popularity&order=desc").await?;
        let most = top["items"][0]["id"].as_str().unwrap_or_default();
        let mut rows = Vec::new();
        for (which, id, crowd) in [
            ("the first movie by title", movie, false),
            ("the most popular movie", most, true),
        ] {
            rows.extend(click_writes(&app, &counting.counts, which, id, crowd).await?);
        }
        rows.extend(edit_writes(&app, &counting.counts, movie, &actor).await?);
        let (shelves, words) = shelves_and_words(&app, movie).await?;
        println!(
            "\nitems written by one projection of a movie (the edits: of the first by title, on {shelves} shelves with {words} word entries)\n"
        );
        println!("| projection after | items written |");
        println!("|---|---|");
        for (cause, writes) in rows {
            println!("| {cause} | {writes} |");
        }
        Ok(())
    })
}

/// How many shelves a movie stands on, and how many word entries it has.
async fn shelves_and_words(
    app: &App,
    movie: &str,
) -> Result<(usize, usize), marquee::store::StoreError> {
    use marquee::catalog::index;
    let state = app.table.get(&index::state_key(movie)).await?;
    let keys = index::written_keys(&state.unwrap_or_default(), movie);
    let counted = |prefix: &str| keys.iter().filter(|key| key.pk.starts_with(prefix)).count();
    Ok((
        counted("SHELF#") / index::Sort::ALL.len(),
        counted("TERMS#"),
    ))
}

/// One projection of `movie`, and the items it wrote.
async fn projected(
    app: &App,
    counts: &marquee::store::counting::Counts,
    movie: &str,
) -> Result<u64, marquee::store::StoreError> {
    use std::sync::atomic::Ordering;
    counts.writes.swap(0, Ordering::Relaxed);
    marquee::catalog::index::project(app, movie).await?;
    Ok(counts.writes.swap(0, Ordering::Relaxed))
}

/// Items written by one projection of a movie after each click, made to the records as
/// its route makes it (a counter added and the movie marked), `which` movie of the
/// catalogue it is; with `crowd`, also after a tenth of its popularity in likes at once.
/// The count includes the projection's three small writes (the index state's lease; its
/// keys and digests, releasing it; the record's mark taken off).
async fn click_writes(
    app: &App,
    counts: &marquee::store::counting::Counts,
    which: &str,
    movie: &str,
    crowd: bool,
) -> Result<Vec<(String, u64)>, Box<dyn std::error::Error>> {
    use marquee::catalog::index;
    use marquee::store::Update;
    projected(app, counts, movie).await?; // the index as the records stand
    let record = app
        .table
        .get(&index::record_key(movie))
        .await?
        .ok_or("the movie is gone")?;
    let popularity = index::Counters::read(&record).popularity();
    let (shelves, _) = shelves_and_words(app, movie).await?;
    // Popularity only grows here, so the entries stand at most at `popularity`: this many
    // likes more take it a tenth away from them, at least.
    let tenth = (popularity.abs() / 10).max(1);
    let mut clicks = vec![(
        format!("a like of {which} (popularity {popularity}, on {shelves} shelves)"),
        Update::new().add("likes", 1),
    )];
    if crowd {
        clicks.push((
            format!("{tenth} likes of it in one projection (a tenth of its popularity: its entries move)"),
            Update::new().add("likes", tenth),
        ));
    }
    clicks.extend([
        (
            "a rating of it".to_string(),
            Update::new().add("rating_sum", 8).add("rating_count", 1),
        ),
        (
            "a favourite of it".into(),
            Update::new().add("favorites", 1),
        ),
        (
            "a purchase of it".into(),
            Update::new().add("purchase_count", 1),
        ),
    ]);
    let mut rows = Vec::new();
    for (cause, update) in clicks {
        let now = app.clock.now().unix_timestamp();
        app.table.write(index::marked(update, movie, now)).await?;
        rows.push((cause, projected(app, counts, movie).await?));
    }
    Ok(rows)
}

/// Items written by one projection of a movie after an edit of its description and a
/// rename of an actor it credits, each made to the records as its route makes it (a new
/// description and version; an actor renamed and the movie marked). A store kept from an
/// earlier run gets its seeded description and name back first, so every run adds the
/// same new words.
async fn edit_writes(
    app: &App,
    counts: &marquee::store::counting::Counts,
    movie: &str,
    actor: &str,
) -> Result<Vec<(String, u64)>, Box<dyn std::error::Error>> {
    use marquee::catalog::{index, people::Actor, records};
    use marquee::store::{Update, Write};
    let projected = || projected(app, counts, movie);
    projected().await?; // the index as the records stand
    let mut rows = Vec::new();

    // An edit as movies-update makes it: a new description, the next version, marked.
    let edit = |description: String| async move {
        let key = index::record_key(movie);
        let mut record = app.table.get(&key).await?.ok_or("the movie is gone")?;
        record["fields"]["description"] = description.into();
        record["version"] = (record["version"].as_i64().unwrap_or(0) + 1).into();
        for (attr, value) in index::mark(movie) {
            record.insert(attr.into(), value.into());
        }
        app.table.write(Write::put(record)).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    const ADDED: &str = " Restored in 4K.";
    let record = app
        .table
        .get(&index::record_key(movie))
        .await?
        .ok_or("the movie is gone")?;
    let text = record["fields"]["description"].as_str().unwrap_or_default();
    let seeded = as_seeded(text, ADDED);
    if seeded != text {
        // A store kept from earlier runs: the seeded description back first, unmeasured.
        edit(seeded.clone()).await?;
        projected().await?;
    }
    edit(format!("{seeded}{ADDED}")).await?;
    rows.push((
        "an edit (new words in the description)".into(),
        projected().await?,
    ));

    let marked_again = || index::marked(Update::new(), movie, app.clock.now().unix_timestamp());
    // A rename as actors-update makes it, then the movies it credits marked.
    let rename = |name: String| async move {
        let actor_key = records::key::<Actor>(actor);
        let mut person = app
            .table
            .get(&actor_key)
            .await?
            .ok_or("the actor is gone")?;
        person["fields"]["name"] = name.into();
        app.table.write(Write::put(person)).await?;
        app.table.write(marked_again()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    const SURNAME: &str = " Quillfeather";
    let person = app
        .table
        .get(&records::key::<Actor>(actor))
        .await?
        .ok_or("the actor is gone")?;
    let name = person["fields"]["name"].as_str().unwrap_or_default();
    let seeded = as_seeded(name, SURNAME);
    if seeded != name {
        rename(seeded.clone()).await?;
        projected().await?;
    }
    rename(format!("{seeded}{SURNAME}")).await?;
    rows.push(("a credited actor renamed".into(), projected().await?));

    app.table.write(marked_again()).await?;
    rows.push((
        "nothing (marked again, unchanged)".into(),
        projected().await?,
    ));
    Ok(rows)
}

/// `text` without the `added` an earlier run of this benchmark left on it, however often.
fn as_seeded(text: &str, added: &str) -> String {
    let mut seeded = text;
    while let Some(shorter) = seeded.strip_suffix(added) {
        seeded = shorter;
    }
    seeded.to_string()
}

async fn call(api: &axum::Router, path: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let request = Request::get(path).body(Body::empty())?;
    let response = api.clone().oneshot(request).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&bytes)?))
}
