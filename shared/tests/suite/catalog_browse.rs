//! movies-list against a brute-force reference over a seeded catalogue, on both backends:
//! every filter and sort, combined, paged with cursors, and what each page costs.

use crate::support;

use axum::http::StatusCode;
use marquee::catalog::browse::{CANDIDATE_LIMIT, READ_BUDGET};
use marquee::catalog::{demo, text};
use marquee::store::counting::CountingTable;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use support::Env;

/// A movie as the reference sees it: from movies-get and the people it credits.
#[derive(Debug, Clone)]
struct Truth {
    id: String,
    title: String,
    release_date: String,
    price: i64,
    certification: String,
    genres: Vec<String>,
    actors: Vec<String>,
    directors: Vec<String>,
    producers: Vec<String>,
    rating_hundredths: Option<i64>,
    popularity: i64,
    words: Vec<String>,
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

async fn truth(env: &Env, seeded: &demo::Seeded) -> Vec<Truth> {
    let mut all = Vec::new();
    for id in &seeded.movies {
        let (status, m) = env.get(&format!("/movies/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        let names = |field: &str| -> Vec<String> {
            m[field]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["name"].as_str().unwrap().to_string())
                .collect()
        };
        let mut words: Vec<String> = text::words(m["title"].as_str().unwrap())
            .chain(text::words(m["description"].as_str().unwrap()))
            .collect();
        for field in ["actors", "directors", "producers"] {
            for name in names(field) {
                words.extend(text::words(&name));
            }
        }
        let likes = m["likes"].as_i64().unwrap();
        let dislikes = m["dislikes"].as_i64().unwrap();
        let rating_count = m["rating_count"].as_i64().unwrap();
        let favorites = m["favorites"].as_i64().unwrap();
        all.push(Truth {
            id: id.clone(),
            title: m["title"].as_str().unwrap().to_string(),
            release_date: m["release_date"].as_str().unwrap().to_string(),
            price: m["price"]["amount"].as_i64().unwrap(),
            certification: m["certification"].as_str().unwrap().to_string(),
            genres: ids(&m["genres"]),
            actors: ids(&m["actors"]),
            directors: ids(&m["directors"]),
            producers: ids(&m["producers"]),
            rating_hundredths: m["rating_average"]
                .as_f64()
                .map(|r| (r * 100.0).round() as i64),
            // Likes − dislikes + ratings + 2 × favourites (+ 5 × purchases: none here).
            popularity: likes - dislikes + rating_count + 2 * favorites,
            words,
        });
    }
    all
}

/// A list request and what the reference makes of it.
#[derive(Debug, Default, Clone)]
struct Ask {
    params: Vec<(&'static str, String)>,
}

impl Ask {
    fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn query(&self, limit: u32, cursor: Option<&str>) -> String {
        let mut parts: Vec<String> = self
            .params
            .iter()
            .map(|(n, v)| format!("{n}={}", urlencode(v)))
            .collect();
        parts.push(format!("limit={limit}"));
        if let Some(c) = cursor {
            parts.push(format!("cursor={c}"));
        }
        format!("/movies?{}", parts.join("&"))
    }

    /// The brute-force answer: filter everything, sort everything.
    fn expected(&self, all: &[Truth]) -> Vec<String> {
        let year = |t: &Truth| t.release_date[..4].parse::<i64>().unwrap();
        let num = |name: &str| self.get(name).map(|v| v.parse::<f64>().unwrap());
        let terms: Vec<String> = self
            .get("q")
            .map(|q| text::words(q).collect())
            .unwrap_or_default();
        // A search for what no word starts with (punctuation only) finds nothing.
        let searches_no_word =
            terms.is_empty() && self.get("q").is_some_and(|q| !q.trim().is_empty());
        let mut hits: Vec<&Truth> = all
            .iter()
            .filter(|_| !searches_no_word)
            .filter(|t| {
                self.get("genre")
                    .is_none_or(|g| t.genres.iter().any(|x| x == g))
            })
            .filter(|t| {
                self.get("actor")
                    .is_none_or(|a| t.actors.iter().any(|x| x == a))
            })
            .filter(|t| {
                self.get("director")
                    .is_none_or(|d| t.directors.iter().any(|x| x == d))
            })
            .filter(|t| {
                self.get("producer")
                    .is_none_or(|p| t.producers.iter().any(|x| x == p))
            })
            .filter(|t| num("year_from").is_none_or(|y| year(t) as f64 >= y))
            .filter(|t| num("year_to").is_none_or(|y| year(t) as f64 <= y))
            .filter(|t| num("price_min").is_none_or(|p| t.price as f64 >= p))
            .filter(|t| num("price_max").is_none_or(|p| t.price as f64 <= p))
            .filter(|t| {
                num("rating_min")
                    .is_none_or(|r| t.rating_hundredths.is_some_and(|h| h as f64 >= r * 100.0))
            })
            .filter(|t| {
                self.get("certification")
                    .is_none_or(|c| t.certification.eq_ignore_ascii_case(c))
            })
            .filter(|t| {
                terms
                    .iter()
                    .all(|term| t.words.iter().any(|w| w.starts_with(term.as_str())))
            })
            .collect();
        let named = self.get("sort").unwrap_or("popularity");
        let sort = named.trim_start_matches('-');
        let descending = match self.get("order") {
            Some(order) => order == "desc",
            None => {
                named.starts_with('-') || matches!(sort, "release_date" | "rating" | "popularity")
            }
        };
        hits.sort_by(|a, b| {
            let by = match sort {
                "title" => {
                    let key = |t: &Truth| text::words(&t.title).collect::<Vec<_>>().join(" ");
                    key(a).cmp(&key(b))
                }
                "price" => a.price.cmp(&b.price),
                "release_date" => a.release_date.cmp(&b.release_date),
                "rating" => a
                    .rating_hundredths
                    .unwrap_or(0)
                    .cmp(&b.rating_hundredths.unwrap_or(0)),
                "popularity" => a.popularity.cmp(&b.popularity),
                other => panic!("no sort {other}"),
            };
            by.then_with(|| a.id.cmp(&b.id))
        });
        if descending {
            hits.reverse();
        }
        hits.into_iter().map(|t| t.id.clone()).collect()
    }
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Follows the cursors to the end; checks each page's cost as counted at the Table port.
async fn walk(api: &axum::Router, counts: &CountingTable, ask: &Ask, limit: u32) -> Vec<String> {
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..500 {
        counts.counts.take_reads();
        let (status, _, page) =
            support::call(api, support::get(&ask.query(limit, cursor.as_deref()))).await;
        assert_eq!(status, StatusCode::OK, "{ask:?}: {page}");
        let (items_read, _) = counts.counts.take_reads();
        let bound = u64::from(2 * CANDIDATE_LIMIT + READ_BUDGET + limit + 1);
        assert!(
            items_read <= bound,
            "{ask:?} read {items_read} items for one page"
        );
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        got.extend(ids(&page["items"]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return got,
        }
    }
    panic!("{ask:?} never ended");
}

/// Every route over the env's table, with what each call reads counted.
fn counted_api(env: &Env) -> (axum::Router, Arc<CountingTable>) {
    let counting = Arc::new(CountingTable::new(env.app.table.clone()));
    let mut app = env.app.clone();
    app.table = counting.clone();
    (marquee::routes::router(app, |_| true), counting)
}

async fn movies_list_matches_the_reference_for_every_filter_and_sort(env: Env) {
    // The AWS stand-in is slow (pure Python, one request at a time): there the catalogue is
    // smaller and each order is asked with combined filters; the adapters share this code.
    let full = !env.aws;
    let seeded = demo::seed(&env.app, if full { 90 } else { 30 }, 7)
        .await
        .unwrap();
    let all = truth(&env, &seeded).await;
    let (api, counting) = counted_api(&env);

    let genre = &seeded.genres[0];
    let actor = all[0].actors[0].clone();
    let director = all[1].directors[0].clone();
    let producer = all[2].producers[0].clone();
    let title_word = text::words(&all[3].title).last().unwrap();
    let mut asks = Vec::new();
    for sort in ["title", "price", "release_date", "rating", "popularity"] {
        if !full {
            let base = Ask::default().with("sort", sort);
            asks.push(base.clone().with("genre", genre).with("price_max", 1500));
            asks.push(base.clone().with("order", "asc").with("year_from", 1980));
            asks.push(base.clone().with("q", &title_word).with("order", "desc"));
            continue;
        }
        for order in ["asc", "desc"] {
            let base = Ask::default().with("sort", sort).with("order", order);
            asks.push(base.clone());
            asks.push(base.clone().with("genre", genre));
            asks.push(base.clone().with("price_min", 500).with("price_max", 1299));
            asks.push(base.clone().with("year_from", 1980).with("year_to", 2005));
            asks.push(base.clone().with("rating_min", 6.5));
            asks.push(
                base.clone()
                    .with("genre", genre)
                    .with("certification", "pg")
                    .with("price_max", 1500),
            );
            asks.push(base.clone().with("q", &title_word));
            asks.push(base.clone().with("q", "in").with("year_from", 1990));
        }
    }
    asks.extend([
        Ask::default(),
        Ask::default().with("actor", &actor),
        Ask::default()
            .with("director", &director)
            .with("sort", "title"),
        Ask::default()
            .with("producer", &producer)
            .with("sort", "-price"),
        Ask::default().with("q", "AMÉLIE"),
        Ask::default().with("q", "amel mor"),
        Ask::default().with("q", "l").with("sort", "title"),
        Ask::default()
            .with("q", "lisbon courage")
            .with("sort", "release_date"),
        Ask::default()
            .with("certification", "18")
            .with("rating_min", 5),
        Ask::default().with("genre", genre).with("actor", &actor),
        // Too broad for the word index with a facet: the facet's shelf, the words filtering.
        Ask::default().with("q", "l").with("genre", genre),
        Ask::default()
            .with("q", "l")
            .with("actor", &actor)
            .with("sort", "-popularity"),
        Ask::default().with("q", "zzzz-nothing"),
        Ask::default().with("q", "!!!"),
        Ask::default().with("q", " -- ? ").with("genre", genre),
        Ask::default().with("q", "   ").with("sort", "title"),
    ]);
    let mut nonempty = 0;
    for ask in &asks {
        let expected = ask.expected(&all);
        nonempty += usize::from(!expected.is_empty());
        let limits: &[u32] = if full { &[7, 100] } else { &[7] };
        for &limit in limits {
            let got = walk(&api, &counting, ask, limit).await;
            assert_eq!(got, expected, "{ask:?} limit {limit}");
        }
    }
    // The seeded catalogue gives most requests something to order.
    assert!(
        nonempty * 4 > asks.len() * 3,
        "{nonempty} of {}",
        asks.len()
    );
}

async fn unfiltered_pages_read_only_what_they_show(env: Env) {
    demo::seed(&env.app, 25, 11).await.unwrap();
    let (api, counting) = counted_api(&env);
    for path in [
        "/movies?limit=10",
        "/movies?limit=10&sort=title",
        "/movies?limit=10&sort=price&price_min=900",
    ] {
        counting.counts.take_reads();
        let (status, _, page) = support::call(&api, support::get(path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"].as_array().unwrap().len(), 10, "{path}");
        // The shelf's entries, one more than the page (that says a next page exists),
        // then the page's cards together.
        let (items, calls) = counting.counts.take_reads();
        assert_eq!((items, calls), (11 + 10, 2), "{path}");
    }
}

async fn a_search_of_no_word_reads_nothing(env: Env) {
    demo::seed(&env.app, 5, 3).await.unwrap();
    let (api, counting) = counted_api(&env);
    for path in ["/movies?q=%21%21%21", "/movies?q=%E2%80%94&sort=title"] {
        counting.counts.take_reads();
        let (status, _, page) = support::call(&api, support::get(path)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page, json!({"items": [], "next_cursor": null}), "{path}");
        assert_eq!(counting.counts.take_reads(), (0, 0), "{path}");
    }
    // Blank is no search at all: the whole catalogue.
    let (_, _, page) = support::call(&api, support::get("/movies?q=%20%20")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5, "{page}");
}

async fn movies_list_rejects_bad_parameters(env: Env) {
    let cases: HashMap<&str, &str> = HashMap::from([
        ("/movies?sort=length", "sort"),
        ("/movies?order=sideways", "order"),
        ("/movies?sort=-price&order=asc", "order"),
        ("/movies?year_from=2020&year_to=2010", "year_to"),
        ("/movies?year_from=1200", "year_from"),
        ("/movies?price_min=-1", "price_min"),
        ("/movies?price_min=900&price_max=100", "price_max"),
        ("/movies?rating_min=11", "rating_min"),
        ("/movies?limit=0", "limit"),
        ("/movies?genre=", "genre"),
        // Unknown parameters, values that do not parse and foreign cursors: the same.
        ("/movies?colour=red", "colour"),
        ("/movies?limit=ten", "limit"),
        ("/movies?rating_min=high", "rating_min"),
        ("/movies?cursor=not-a-cursor", "cursor"),
    ]);
    for (path, field) in cases {
        let (status, body) = env.get(path, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{path}: {body}"
        );
        assert_eq!(
            support::error_fields(&body),
            vec![field.to_string()],
            "{path}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("invalid ") && !message.contains('`'),
            "{path}: in our words: {message}"
        );
    }
    // A cursor of one order does not continue another.
    demo::seed(&env.app, 12, 3).await.unwrap();
    let (_, page) = env.get("/movies?limit=2&sort=title", None).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, _) = env
        .get(&format!("/movies?limit=2&sort=price&cursor={cursor}"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn genres_and_people_page_their_movies(env: Env) {
    let seeded = demo::seed(&env.app, 30, 5).await.unwrap();
    let all = truth(&env, &seeded).await;
    let actor = all[0].actors[0].clone();
    let director = all[1].directors[0].clone();
    let producer = all[2].producers[0].clone();
    let genre = seeded.genres[1].clone();
    // Each kind of page, with the movies-list filter that names the same movies.
    for (path, filter, wanted) in [
        (
            format!("/actors/{actor}"),
            "actor",
            all.iter().filter(|t| t.actors.contains(&actor)).count(),
        ),
        (
            format!("/directors/{director}"),
            "director",
            all.iter()
                .filter(|t| t.directors.contains(&director))
                .count(),
        ),
        (
            format!("/producers/{producer}"),
            "producer",
            all.iter()
                .filter(|t| t.producers.contains(&producer))
                .count(),
        ),
        (
            format!("/genres/{genre}"),
            "genre",
            all.iter().filter(|t| t.genres.contains(&genre)).count(),
        ),
    ] {
        let mut got = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, body) = env
                .get(&format!("{path}?movies_limit=2{cursor}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["movie_count"].as_u64(), Some(wanted as u64), "{path}");
            got.extend(ids(&body["movies"]["items"]));
            match body["movies"]["next_cursor"].as_str() {
                Some(next) => cursor = format!("&movies_cursor={next}"),
                None => break,
            }
        }
        assert_eq!(got.len(), wanted, "{path}");
        let expected = Ask::default()
            .with("sort", "title")
            .with(filter, path.rsplit('/').next().unwrap())
            .expected(&all);
        assert_eq!(got, expected, "{path}");
    }
    let (status, body) = env
        .get(&format!("/genres/{genre}?movies_limit=500"), None)
        .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (StatusCode::BAD_REQUEST, vec!["movies_limit".to_string()])
    );
}

async fn deleting_movies_cleans_the_index_and_withdraws_them_from_carts(env: Env) {
    use marquee::role::Role;
    use marquee::store::{Index, Item, Key, Update, Write};
    let seeded = demo::seed(&env.app, 4, 9).await.unwrap();
    let (moderator, _, moderator_email) = env.account("mod", Role::Moderator).await;
    let (bought, carted) = (seeded.movies[0].clone(), seeded.movies[1].clone());
    // Bought once: refused, whoever asks.
    let write = Write::update(
        marquee::catalog::index::record_key(&bought),
        Update::new().add("purchase_count", 1),
    );
    env.app.table.write(write).await.unwrap();
    let (status, _, problem) = env
        .send(
            axum::http::Method::DELETE,
            &format!("/movies/{bought}"),
            Some(&moderator),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );

    // Two cart lines hold the other movie, as the cart feature files them.
    for user in ["u1", "u2"] {
        let mut line = Item::new();
        line.insert("PK".into(), format!("CART#{user}").into());
        line.insert("SK".into(), format!("MOVIE#{carted}").into());
        line.insert(
            Index::Gsi3.pk().into(),
            marquee::catalog::movies::in_carts_pk(&carted).into(),
        );
        line.insert(Index::Gsi3.sk().into(), user.into());
        env.app.table.write(Write::put(line)).await.unwrap();
    }
    let title = all_titles(&env, &carted).await;
    let (status, _, body) = env
        .send(
            axum::http::Method::DELETE,
            &format!("/movies/{carted}"),
            Some(&moderator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for user in ["u1", "u2"] {
        let line = env
            .app
            .table
            .get(&Key::new(format!("CART#{user}"), format!("MOVIE#{carted}")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(line["unavailable"], true);
    }
    let notices: Vec<_> = env
        .emails_to(&moderator_email)
        .into_iter()
        .filter(|(s, _)| s.contains("deleted"))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].0.contains(&title) && notices[0].0.contains("2 carts"),
        "{notices:?}"
    );

    // Gone from every list and search, and nothing of its index is left.
    let (status, _) = env.get(&format!("/movies/{carted}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = env.get("/movies?limit=100", None).await;
    assert!(!ids(&page["items"]).contains(&carted));
    let (_, page) = env
        .get(&format!("/movies?q={}", urlencode(&title)), None)
        .await;
    assert!(!ids(&page["items"]).contains(&carted));
    assert!(
        env.app
            .table
            .get(&marquee::catalog::index::tombstone_key(&carted))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        marquee::background::catalog_indexer(&env.app, 10)
            .await
            .unwrap()
            .projected,
        0
    );
}

async fn renaming_a_person_reindexes_their_movies(env: Env) {
    use marquee::role::Role;
    let seeded = demo::seed(&env.app, 5, 17).await.unwrap();
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    let (_, movie) = env
        .get(&format!("/movies/{}", seeded.movies[0]), None)
        .await;
    let actor = movie["actors"][0]["id"].as_str().unwrap().to_string();
    let (status, _, body) = env
        .send(
            axum::http::Method::PATCH,
            &format!("/actors/{actor}"),
            Some(&moderator),
            Some(serde_json::json!({"name": "Quillon Zebedee"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    let (_, page) = env.get("/movies?q=zebedee", None).await;
    assert!(ids(&page["items"]).contains(&seeded.movies[0]), "{page}");
    assert_eq!(
        ids(&page["items"]).len(),
        env.get(&format!("/actors/{actor}"), None).await.1["movie_count"]
            .as_u64()
            .unwrap() as usize
    );
}

/// Cards name their genres, directors and first actors, as the movie page does, and a
/// renamed genre or actor is renamed on the cards at the next sweep.
async fn cards_name_genres_directors_and_cast(env: Env) {
    use marquee::catalog::index::CAST_ON_CARD;
    use marquee::role::Role;
    let seeded = demo::seed(&env.app, 8, 23).await.unwrap();
    let (_, page) = env.get("/movies?limit=100", None).await;
    let cards = page["items"].as_array().unwrap();
    assert_eq!(cards.len(), seeded.movies.len());
    for card in cards {
        let (_, movie) = env
            .get(&format!("/movies/{}", card["id"].as_str().unwrap()), None)
            .await;
        assert_eq!(card["genres"], movie["genres"], "{card}");
        assert_eq!(card["directors"], movie["directors"], "{card}");
        let cast: Vec<Value> = movie["actors"]
            .as_array()
            .unwrap()
            .iter()
            .take(CAST_ON_CARD)
            .cloned()
            .collect();
        assert_eq!(card["actors"], Value::Array(cast), "{card}");
    }
    assert!(
        cards
            .iter()
            .any(|c| !c["genres"].as_array().unwrap().is_empty())
            && cards
                .iter()
                .any(|c| !c["actors"].as_array().unwrap().is_empty()),
        "the demo credits genres and actors"
    );

    let (moderator, _, _) = env.account("renamer", Role::Moderator).await;
    let movie = cards
        .iter()
        .find(|c| !c["genres"].as_array().unwrap().is_empty())
        .unwrap();
    let genre = movie["genres"][0]["id"].as_str().unwrap().to_string();
    let (status, _, body) = env
        .send(
            axum::http::Method::PATCH,
            &format!("/genres/{genre}"),
            Some(&moderator),
            Some(serde_json::json!({"name": "Kammerspiel"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    let (_, page) = env
        .get(&format!("/movies?genre={genre}&limit=100"), None)
        .await;
    let renamed = page["items"].as_array().unwrap();
    assert!(!renamed.is_empty());
    for card in renamed {
        let names: Vec<&str> = card["genres"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["id"] == genre.as_str())
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Kammerspiel"], "{card}");
    }
}

async fn all_titles(env: &Env, id: &str) -> String {
    env.get(&format!("/movies/{id}"), None).await.1["title"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The items one projection of `movie` writes, counted by `counting` (which `app` writes
/// through).
async fn projection_writes(app: &marquee::app::App, counting: &CountingTable, movie: &str) -> u64 {
    use std::sync::atomic::Ordering;
    counting.counts.writes.swap(0, Ordering::Relaxed);
    marquee::catalog::index::project(app, movie).await.unwrap();
    counting.counts.writes.swap(0, Ordering::Relaxed)
}

/// A projection writes only what changed: a like of a movie nobody touched rewrites its
/// card and moves its popularity entry on each shelf (a delete and a put), and no other
/// entry and no word; the like shows on every shelf; an unchanged movie costs only its
/// index state's and its record's writes; new words add their entries and rewrite the
/// card, no shelf entry.
async fn projections_write_only_what_changed(env: Env) {
    use marquee::catalog::index;
    use marquee::store::{Update, Write};
    let seeded = demo::seed(&env.app, 3, 29).await.unwrap();
    let movie = seeded.movies[0].clone();
    let counting = Arc::new(CountingTable::new(env.app.table.clone()));
    let mut app = env.app.clone();
    app.table = counting.clone();
    let projected = || projection_writes(&app, &counting, &movie);
    let stored = |key: marquee::store::Key| {
        let table = env.app.table.clone();
        async move { table.get(&key).await.unwrap().unwrap() }
    };
    let record = stored(index::record_key(&movie)).await;
    assert!(
        !record.contains_key("indexed"),
        "the record does not carry its keys"
    );
    let state = stored(index::state_key(&movie)).await;
    let written = index::written_keys(&state, &movie);
    let entries = written
        .iter()
        .filter(|key| key.pk.starts_with("SHELF#"))
        .count() as u64;
    let shelves = entries / index::Sort::ALL.len() as u64;
    let words = written
        .iter()
        .filter(|key| key.pk.starts_with("TERMS#"))
        .count();
    assert!(
        shelves >= 3 && entries == shelves * 5 && words >= 10,
        "{shelves} shelves, {entries} entries, {words} words"
    );
    // The index state's two writes (the lease; the keys and digests, releasing it) and
    // the record's mark taken off.
    let record_writes = 3;

    app.table
        .write(index::marked(Update::new(), &movie, 0))
        .await
        .unwrap();
    assert_eq!(projected().await, record_writes, "nothing changed");

    app.table
        .write(index::marked(Update::new().add("likes", 1), &movie, 0))
        .await
        .unwrap();
    assert_eq!(
        projected().await,
        1 + 2 * shelves + record_writes,
        "a like: the card, and each shelf's popularity entry moved"
    );
    let likes = record.get("likes").and_then(Value::as_i64).unwrap_or(0) + 1;
    let card = stored(index::card_key(&movie)).await;
    let shown: Value = serde_json::from_str(card["card"].as_str().unwrap()).unwrap();
    assert_eq!(shown["likes"], likes);
    let (_, page) = env
        .get("/movies?sort=popularity&order=desc&limit=100", None)
        .await;
    let listed = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == movie.as_str())
        .unwrap();
    assert_eq!(listed["likes"], likes, "{listed}");

    let mut edited = stored(index::record_key(&movie)).await;
    let description = edited["fields"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    edited["fields"]["description"] = format!("{description} Zanzibarian quokkas.").into();
    edited["version"] = (edited["version"].as_i64().unwrap() + 1).into();
    for (attr, value) in index::mark(&movie) {
        edited.insert(attr.into(), value.into());
    }
    env.app.table.write(Write::put(edited)).await.unwrap();
    // Two new words, and the card, which carries the words (no shelf entry moves).
    assert_eq!(projected().await, 2 + 1 + record_writes, "new words");
    let card = stored(index::card_key(&movie)).await;
    assert!(
        card["words"]
            .as_array()
            .is_some_and(|w| w.contains(&"quokkas".into())),
        "{card:?}"
    );
    let (_, page) = env.get("/movies?q=quokkas", None).await;
    assert_eq!(ids(&page["items"]), vec![movie.clone()]);
}

/// A click on a popular movie rewrites its card, which lists show at once, and moves none
/// of its shelf entries until its popularity is a tenth away from where they stand; then
/// one projection moves them all, and the order follows.
async fn popular_movies_move_on_their_shelves_in_steps(env: Env) {
    use marquee::catalog::index::{self, Sort};
    use marquee::store::{Query, Update};
    let seeded = demo::seed(&env.app, 3, 31).await.unwrap();
    let movie = seeded.movies[0].clone();
    let counting = Arc::new(CountingTable::new(env.app.table.clone()));
    let mut app = env.app.clone();
    app.table = counting.clone();
    // `n` likes more, then one projection: the items it writes.
    let likes = |n: i64| {
        let (app, movie, counting) = (app.clone(), movie.clone(), counting.clone());
        async move {
            app.table
                .write(index::marked(Update::new().add("likes", n), &movie, 0))
                .await
                .unwrap();
            projection_writes(&app, &counting, &movie).await
        }
    };
    // Where the movie stands on the shelf of all movies in popularity order.
    let standing = || async {
        let shelf = index::shelf_pk(index::ALL_FACET, Sort::Popularity);
        let page = env.app.table.query(&Query::partition(shelf)).await.unwrap();
        page.items
            .iter()
            .filter_map(|item| item.get("SK").and_then(Value::as_str))
            .find(|key| index::entry_movie(key) == Some(movie.as_str()))
            .unwrap()
            .to_string()
    };
    let popularity = || async {
        let record = env.app.table.get(&index::record_key(&movie)).await.unwrap();
        index::Counters::read(&record.unwrap()).popularity()
    };
    let state = env.app.table.get(&index::state_key(&movie)).await.unwrap();
    let shelves = index::written_keys(&state.unwrap(), &movie)
        .iter()
        .filter(|key| key.pk.starts_with("SHELF#"))
        .count() as u64
        / Sort::ALL.len() as u64;
    // The lease, the state with it released, the record's mark off; and the card.
    let card_alone = 3 + 1;
    let moved = card_alone + 2 * shelves;

    // More than the demo's history gives any movie.
    assert_eq!(
        likes(1000).await,
        moved,
        "a crowd's likes in one projection"
    );
    let ranked = popularity().await;
    assert!(ranked >= 1000, "{ranked}");
    let stands = standing().await;
    assert_eq!(likes(1).await, card_alone, "one more like: the card alone");
    assert_eq!(standing().await, stands);
    let (_, page) = env
        .get("/movies?sort=popularity&order=desc&limit=100", None)
        .await;
    assert_eq!(page["items"][0]["id"], movie.as_str(), "{page}");
    assert_eq!(page["items"][0]["popularity"], ranked + 1, "{page}");
    // Up to a tenth away, the entries stay; a tenth away, they move.
    let tenth = ranked / 10;
    assert_eq!(likes(tenth - 2).await, card_alone);
    assert_eq!(standing().await, stands);
    assert_eq!(likes(1).await, moved, "a tenth away");
    assert_ne!(standing().await, stands);
    assert_eq!(
        standing().await,
        format!(
            "{}{}{movie}",
            index::popularity_value(ranked + tenth),
            index::TIE
        )
    );
    // Falling back, too.
    assert_eq!(likes(-(ranked + tenth) / 10).await, moved, "a tenth back");
}

/// Movies indexed the earlier way (one shelf item per facet, keyed by the movie, carrying
/// the card) are marked by the next sweeps, as many a run as the sweep may project, which
/// move them to the card and the entries of today and remove what they left; until then
/// they are not listed, after it they are.
async fn movies_indexed_the_earlier_way_move_at_the_next_sweep(env: Env) {
    use marquee::catalog::index;
    use marquee::store::{Key, Write, entity_item};
    let seeded = demo::seed(&env.app, 4, 41).await.unwrap();
    let moved = [seeded.movies[0].clone(), seeded.movies[1].clone()];
    let table = &env.app.table;
    let (_, before) = env.get("/movies?sort=title&limit=100", None).await;
    assert_eq!(before["items"].as_array().unwrap().len(), 4, "{before}");
    let earlier_items = |movie: &str| {
        ["ALL", "GENRE#gone"]
            .map(|facet| Key::new(format!("SHELF#{facet}"), format!("MOVIE#{movie}")))
    };
    // What the earlier layout left: its shelf items, named by the index state, and none
    // of today's.
    for movie in &moved {
        let mut state = table.get(&index::state_key(movie)).await.unwrap().unwrap();
        let mut earlier = Vec::new();
        for key in index::written_keys(&state, movie) {
            if key.pk.starts_with("TERMS#") {
                earlier.push(json!([key.pk, key.sk]));
            } else {
                table.write(Write::delete(key)).await.unwrap();
            }
        }
        for key in earlier_items(movie) {
            let item = entity_item("shelf", &key, &json!({"card": "{}", "rating_key": 0}));
            table.write(Write::put(item)).await.unwrap();
            earlier.push(json!([key.pk, key.sk, "digest"]));
        }
        state.remove("shelved");
        state.insert("indexed".into(), Value::Array(earlier));
        table.write(Write::put(state)).await.unwrap();
    }
    let (_, partial) = env.get("/movies?sort=title&limit=100", None).await;
    let listed = ids(&partial["items"]);
    assert_eq!(listed.len(), 2, "{partial}");
    assert!(moved.iter().all(|m| !listed.contains(m)), "{partial}");

    // A sweep that may project one movie marks one, and moves it.
    let left = |movies: &[String]| {
        let movies = movies.to_vec();
        async move {
            let mut left = Vec::new();
            for movie in movies {
                for key in earlier_items(&movie) {
                    if table.get(&key).await.unwrap().is_some() {
                        left.push(key);
                    }
                }
            }
            left
        }
    };
    let report = index::project_marked(&env.app, 1).await.unwrap();
    assert_eq!((report.projected, report.failed), (1, 0), "{report:?}");
    assert_eq!(left(&moved).await.len(), 2, "one movie's items are left");
    let report = index::project_marked(&env.app, 100).await.unwrap();
    assert_eq!((report.projected, report.failed), (1, 0), "{report:?}");
    assert_eq!(left(&moved).await, Vec::<Key>::new());
    let (_, after) = env.get("/movies?sort=title&limit=100", None).await;
    assert_eq!(after, before);
    // Nothing is left to move: the next sweep, as deployed, marks nothing.
    let report = index::project_marked(&env.app, marquee::lambda::INDEX_SWEEP_MAX)
        .await
        .unwrap();
    assert_eq!(report.projected, 0, "{report:?}");
}

/// A record projected before the index state had its own item kept its keys itself: its
/// next projection works from them (an item only they name is removed), moves them to the
/// state and takes them off the record.
async fn a_record_that_kept_its_keys_is_projected_from_them(env: Env) {
    use marquee::catalog::index;
    use marquee::store::{Key, Update, Write, entity_item};
    let seeded = demo::seed(&env.app, 3, 37).await.unwrap();
    let movie = seeded.movies[0].clone();
    let table = &env.app.table;
    let state = table.get(&index::state_key(&movie)).await.unwrap().unwrap();
    let mut indexed: Vec<Value> = index::written_keys(&state, &movie)
        .into_iter()
        .map(|key| json!([key.pk, key.sk]))
        .collect();
    // A shelf item the movie no longer belongs on, which only the record's keys name.
    let stale = Key::new("SHELF#GENRE#GONE", format!("MOVIE#{movie}"));
    table
        .write(Write::put(entity_item(
            "shelf",
            &stale,
            &serde_json::json!({}),
        )))
        .await
        .unwrap();
    indexed.push(serde_json::json!([stale.pk, stale.sk, "0000000000000000"]));
    let mut record = table
        .get(&index::record_key(&movie))
        .await
        .unwrap()
        .unwrap();
    record.insert("indexed".into(), Value::Array(indexed));
    table.write(Write::put(record)).await.unwrap();
    table
        .write(Write::delete(index::state_key(&movie)))
        .await
        .unwrap();

    table
        .write(index::marked(Update::new(), &movie, 0))
        .await
        .unwrap();
    index::project(&env.app, &movie).await.unwrap();
    assert!(
        table.get(&stale).await.unwrap().is_none(),
        "the stale item went"
    );
    let record = table
        .get(&index::record_key(&movie))
        .await
        .unwrap()
        .unwrap();
    assert!(!record.contains_key("indexed"), "{record:?}");
    let state = table.get(&index::state_key(&movie)).await.unwrap().unwrap();
    let written = index::written_keys(&state, &movie);
    let keys: Vec<&str> = written.iter().map(|key| key.pk.as_str()).collect();
    assert!(
        keys.contains(&index::card_key(&movie).pk.as_str())
            && keys.contains(&index::shelf_pk("ALL", index::Sort::Title).as_str())
            && !keys.contains(&"SHELF#GENRE#GONE"),
        "{keys:?}"
    );
}

support::on_both_backends!(
    movies_indexed_the_earlier_way_move_at_the_next_sweep,
    a_record_that_kept_its_keys_is_projected_from_them,
    projections_write_only_what_changed,
    popular_movies_move_on_their_shelves_in_steps,
    cards_name_genres_directors_and_cast,
    genres_and_people_page_their_movies,
    renaming_a_person_reindexes_their_movies,
    deleting_movies_cleans_the_index_and_withdraws_them_from_carts,
    movies_list_matches_the_reference_for_every_filter_and_sort,
    unfiltered_pages_read_only_what_they_show,
    a_search_of_no_word_reads_nothing,
    movies_list_rejects_bad_parameters,
);
