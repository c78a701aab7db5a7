//! Round trips to the table, counted at the `Table` port on DynamoDB (the moto stand-in),
//! where each call is a network request: what a route asks without waiting for another
//! call's answer, it asks together. Each count below is a chain of calls that depend on
//! each other; one more means a call that could go with another now waits for it. (The
//! embedded store answers within the call, so there calls never overlap.)

use crate::support::{Env, shop};
use axum::http::Method;
use marquee::role::Role;
use marquee::store::counting::CountingTable;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Counted {
    env: Env,
    table: Arc<CountingTable>,
}

impl Counted {
    async fn start() -> Self {
        let mut env = Env::aws().await;
        let table = Arc::new(CountingTable::new(env.app.table.clone()));
        env.app.table = table.clone();
        env.api = marquee::routes::router(env.app.clone(), |_| true);
        Self { env, table }
    }

    /// What `work` answered, and the round trips it took.
    async fn round_trips<T>(&self, work: impl Future<Output = T>) -> (T, u64) {
        self.table.counts.round_trips.swap(0, Ordering::Relaxed);
        let out = work.await;
        (
            out,
            self.table.counts.round_trips.swap(0, Ordering::Relaxed),
        )
    }

    /// A request that must succeed, and its round trips.
    async fn request(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> u64 {
        let request = crate::support::request(
            method.clone(),
            path,
            Some(token),
            body,
            &[("idempotency-key", "round-trips")],
        );
        let ((status, _, answer), trips) = self
            .round_trips(crate::support::call(&self.env.api, request))
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        trips
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn routes_ask_the_table_together_what_does_not_depend_on_an_answer() {
    let counted = Counted::start().await;
    let env = &counted.env;
    let (showtime, movies) = shop(env, 20).await;
    let (token, _, _) = env.account("buyer", Role::User).await;

    // Sign-in check (session and user together), then the movie, the buyer, their
    // purchase and the cart together, the line put, the cart's movies and showtimes, their
    // genres.
    let movie = json!({"movie_id": movies[1]});
    let trips = counted
        .request(Method::POST, "/cart/items", &token, Some(movie))
        .await;
    assert_eq!(trips, 5, "a movie into an empty cart");
    // The same, with the showtime instead of the movie and purchase, and the cart's
    // currency read from its first line.
    let tickets = json!({"showtime_id": showtime, "quantity": 2});
    let trips = counted
        .request(Method::POST, "/cart/items", &token, Some(tickets))
        .await;
    assert_eq!(trips, 6, "tickets into a cart holding a movie");
    // Sign-in, the lines and the buyer together, the lines' records, their genres.
    let trips = counted.request(Method::GET, "/cart", &token, None).await;
    assert_eq!(trips, 4, "the cart");
    // Sign-in, the cart (3), then this request's claim, a pending order of this cart and
    // any pending order holding its lines together, the order's one transaction (its seat
    // holds conditioned on the seats the cart view read).
    let trips = counted.request(Method::POST, "/orders", &token, None).await;
    assert_eq!(trips, 6, "an order");

    // Sign-in, then the user (whose epoch ends older sessions) and the sessions together.
    let trips = counted
        .request(Method::GET, "/me/sessions", &token, None)
        .await;
    assert_eq!(trips, 2, "the sessions");

    // Sign-in, the movie checked (with the grant's slot when a grant is named), the
    // position kept (with the grant renewed).
    let beat = json!({"position_s": 10.0, "duration_s": 120.0});
    let path = format!("/movies/{}/progress", movies[1]);
    let trips = counted
        .request(Method::PUT, &path, &token, Some(beat))
        .await;
    assert_eq!(trips, 3, "a progress beat");

    // A like and a score: sign-in, the caller's own value and the movie's counters
    // together, the one transaction (the answer's counts are those read, the change
    // applied).
    let path = format!("/movies/{}/reaction", movies[1]);
    let like = json!({"value": "like"});
    let trips = counted
        .request(Method::PUT, &path, &token, Some(like))
        .await;
    assert_eq!(trips, 3, "a like");
    let path = format!("/movies/{}/rating", movies[1]);
    let trips = counted
        .request(Method::PUT, &path, &token, Some(json!({"score": 8})))
        .await;
    assert_eq!(trips, 3, "a score");

    // A showtime: sign-in, the movie and the cinema together, the screen's day plans, the
    // one transaction.
    let (editor, _, _) = env.account("editor", Role::Moderator).await;
    let (_, shown) = env.get(&format!("/showtimes/{showtime}"), None).await;
    let starts = OffsetDateTime::parse(shown["starts_at"].as_str().unwrap(), &Rfc3339).unwrap()
        + time::Duration::days(2);
    let show = json!({"movie_id": movies[2], "cinema_id": shown["cinema_id"], "screen": 1,
                      "starts_at": starts.format(&Rfc3339).unwrap(),
                      "price": {"amount": 900, "currency": "EUR"}});
    let trips = counted
        .request(Method::POST, "/showtimes", &editor, Some(show))
        .await;
    assert_eq!(trips, 4, "a showtime");

    // A movie's edit and its projection: sign-in, the record, the records it references,
    // the write; then the record again, the lease on its index state with the names it
    // credits, the changed index items, the state saved, the record's mark taken off.
    let price = json!({"price": {"amount": 1234, "currency": "EUR"}});
    let path = format!("/movies/{}", movies[2]);
    let trips = counted
        .request(Method::PATCH, &path, &editor, Some(price))
        .await;
    assert_eq!(trips, 9, "an edit");
}

/// A stream batch naming several changed movies projects them together: the batch takes
/// about the round trips of one projection, not one projection's after another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_stream_batch_projects_its_movies_together() {
    let counted = Counted::start().await;
    let env = &counted.env;
    let movies = marquee::catalog::demo::seed(&env.app, 9, 7)
        .await
        .unwrap()
        .movies;
    let (fan, _, _) = env.account("fan", Role::User).await;
    for movie in &movies {
        let path = format!("/movies/{movie}/reaction");
        counted
            .request(Method::PUT, &path, &fan, Some(json!({"value": "like"})))
            .await;
    }
    let (one, alone) = counted
        .round_trips(marquee::background::catalog_stream_indexer(
            &env.app,
            &movies[..1],
        ))
        .await;
    assert_eq!((one.projected, one.failed.len()), (1, 0));
    let (eight, together) = counted
        .round_trips(marquee::background::catalog_stream_indexer(
            &env.app,
            &movies[1..],
        ))
        .await;
    assert_eq!((eight.projected, eight.failed.len()), (8, 0));
    assert!(
        together < 2 * alone,
        "8 movies took {together} round trips, one took {alone}"
    );
    // And each card shows the movie's likes, the new one counted.
    let (_, page) = env.get("/movies?sort=title&limit=100", None).await;
    let cards = page["items"].as_array().unwrap();
    for movie in &movies {
        let card = cards.iter().find(|c| c["id"] == movie.as_str()).unwrap();
        let (_, shown) = env.get(&format!("/movies/{movie}"), None).await;
        assert!(shown["likes"].as_i64().unwrap() >= 1);
        assert_eq!(card["likes"], shown["likes"], "{movie}");
    }
}

/// A movie's deletion, projected at once by its route: sign-in, the record, the one
/// transaction (the record gone, its tombstone left); then the carts holding the movie
/// are read while the projection reads the record again (gone), then the tombstone and
/// the index state together (what they name is what to remove), deletes the index items
/// in one batch, the state, then the tombstone, last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the AWS stand-in: ./infra/test starts it"]
async fn a_deleted_movie_leaves_the_index_in_a_bounded_number_of_round_trips() {
    let counted = Counted::start().await;
    let env = &counted.env;
    let movies = marquee::catalog::demo::seed(&env.app, 2, 7)
        .await
        .unwrap()
        .movies;
    let (editor, _, _) = env.account("editor", Role::Moderator).await;
    let gone = &movies[0];
    let trips = counted
        .request(Method::DELETE, &format!("/movies/{gone}"), &editor, None)
        .await;
    assert_eq!(trips, 8, "a deletion");
    let (_, page) = env.get("/movies?sort=title&limit=100", None).await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![movies[1].as_str()],
        "only the movie left is listed"
    );
}
