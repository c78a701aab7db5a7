//! Orders through the full router, on both backends: made from the cart with prices
//! copied, idempotent, seats held atomically (never oversold), canceled and expired.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::role::Role;
use serde_json::{Value, json};
use support::{Env, shop};

async fn order(env: &Env, token: &str, key: Option<&str>) -> (StatusCode, Value) {
    let mut request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/orders")
        .header("authorization", format!("Bearer {token}"));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let (status, _, body) =
        support::call(&env.api, request.body(axum::body::Body::empty()).unwrap()).await;
    (status, body)
}

async fn seats_left(env: &Env, showtime: &str) -> i64 {
    env.get(&format!("/showtimes/{showtime}"), None).await.1["seats_left"]
        .as_i64()
        .unwrap()
}

async fn orders_copy_prices_hold_seats_and_are_idempotent(env: Env) {
    let (showtime, movies) = shop(&env, 20).await;
    let (token, _, _) = env.account("buyer", Role::User).await;
    let (status, problem) = order(&env, &token, Some("k0")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("cart_empty"))
    );

    env.post("/cart/items", Some(&token), json!({"movie_id": movies[1]}))
        .await;
    env.post(
        "/cart/items",
        Some(&token),
        json!({"showtime_id": showtime, "quantity": 3}),
    )
    .await;
    let (_, cart) = env.get("/cart", Some(&token)).await;
    let (status, problem) = order(&env, &token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");

    let (status, first) = order(&env, &token, Some("k1")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "pending");
    assert_eq!(first["total"], cart["total"]);
    assert_eq!(first["lines"].as_array().unwrap().len(), 2);
    assert_eq!(seats_left(&env, &showtime).await, 17);
    // The same key: the same order. The same items under another key: the pending one.
    let (status, again) = order(&env, &token, Some("k1")).await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &first["id"]));
    let (status, again) = order(&env, &token, Some("k2")).await;
    assert_eq!((status, &again["id"]), (StatusCode::OK, &first["id"]));
    assert_eq!(seats_left(&env, &showtime).await, 17);

    // Prices were copied: a later price change does not touch the order.
    let id = first["id"].as_str().unwrap();
    let (moderator, _, _) = env.account("pricer", Role::Moderator).await;
    let (_, movie) = env.get(&format!("/movies/{}", movies[1]), None).await;
    let raised = movie["price"]["amount"].as_i64().unwrap() + 500;
    let (status, _, changed) = env
        .send(
            Method::PATCH,
            &format!("/movies/{}", movies[1]),
            Some(&moderator),
            Some(json!({"price": {"amount": raised, "currency": movie["price"]["currency"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, cart_now) = env.get("/cart", Some(&token)).await;
    assert_ne!(cart_now["total"], first["total"], "the price did change");
    let (_, got) = env.get(&format!("/orders/{id}"), Some(&token)).await;
    assert_eq!(got["total"], first["total"]);

    // A key reused with another cart is refused.
    env.send(
        Method::PATCH,
        &format!("/cart/items/tickets-{showtime}"),
        Some(&token),
        Some(json!({"quantity": 2})),
    )
    .await;
    let (status, problem) = order(&env, &token, Some("k1")).await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["Idempotency-Key".to_string()]
        )
    );

    // Cancel: seats come back; only once; only pending orders; only the owner.
    let (other, _, _) = env.account("other", Role::User).await;
    let (status, _, _) = env
        .send(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = env.get(&format!("/orders/{id}"), Some(&other)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, canceled) = env
        .send(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, canceled["status"].as_str()),
        (StatusCode::OK, Some("canceled"))
    );
    assert_eq!(seats_left(&env, &showtime).await, 20);
    let (status, _, problem) = env
        .send(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_pending"))
    );
    assert_eq!(seats_left(&env, &showtime).await, 20);

    // Owned and unavailable items are left out and reported.
    let owned = marquee::store::Write::update(
        marquee::engagement::mine::purchase_key(first["user_id"].as_str().unwrap(), &movies[1]),
        marquee::store::Update::new().set("movie_id", movies[1].as_str()),
    );
    env.app.table.write(owned).await.unwrap();
    let (status, second) = order(&env, &token, Some("k3")).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["lines"].as_array().unwrap().len(), 1);
    assert_eq!(
        second["left_out"][0]["line_id"],
        format!("movie-{}", movies[1])
    );
    let (_, list) = env.get("/orders?limit=1", Some(&token)).await;
    assert_eq!(list["items"][0]["id"], second["id"]);
    assert!(list["next_cursor"].is_string());
    let (_, list) = env
        .get(
            &format!("/orders?cursor={}", list["next_cursor"].as_str().unwrap()),
            Some(&token),
        )
        .await;
    assert_eq!(list["items"][0]["id"], first["id"]);
}

async fn pending_orders_expire_and_release_their_seats(env: Env) {
    let (showtime, _) = shop(&env, 5).await;
    let (token, _, _) = env.account("late", Role::User).await;
    env.post(
        "/cart/items",
        Some(&token),
        json!({"showtime_id": showtime, "quantity": 4}),
    )
    .await;
    let (status, placed) = order(&env, &token, Some("e1")).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    assert_eq!(seats_left(&env, &showtime).await, 1);
    env.clock.advance(time::Duration::minutes(31));
    marquee::background::expiry_scheduler(&env.app)
        .await
        .unwrap();
    let queued = match &env.app.local_queues {
        Some(queues) => queues.expiry.take(1000),
        None => support::receive_all(env.app.config.expiry_queue_url.as_deref().unwrap()).await,
    };
    assert!(!queued.is_empty());
    assert!(
        marquee::background::expiry_worker(&env.app, &queued)
            .await
            .is_empty()
    );
    let id = placed["id"].as_str().unwrap();
    let order_now = marquee::orders::load(&env.app, id).await.unwrap().unwrap();
    assert_eq!(order_now.status, marquee::orders::Status::Expired);
    assert_eq!(seats_left(&env, &showtime).await, 5);
    // Handling the same message again changes nothing.
    assert!(
        marquee::background::expiry_worker(&env.app, &queued)
            .await
            .is_empty()
    );
    assert_eq!(seats_left(&env, &showtime).await, 5);
}

async fn parallel_buyers_never_oversell_and_double_submits_make_one_order(env: Env) {
    let (showtime, _) = shop(&env, 10).await;
    // The AWS stand-in serves one request at a time: fewer buyers there, same race.
    let buyers = if env.aws { 12 } else { 50 };
    let mut tokens = Vec::new();
    for n in 0..buyers {
        let (token, _, _) = env.account(&format!("b{n}"), Role::User).await;
        let (status, body) = env
            .post(
                "/cart/items",
                Some(&token),
                json!({"showtime_id": showtime, "quantity": 1}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokens.push(token);
    }
    let tasks: Vec<_> = tokens
        .iter()
        .enumerate()
        .flat_map(|(n, token)| {
            // Each buyer submits twice at once with the same key.
            (0..2).map(move |_| (n, token.clone()))
        })
        .map(|(n, token)| {
            let api = env.api.clone();
            tokio::spawn(async move {
                let request = axum::http::Request::builder()
                    .method(Method::POST)
                    .uri("/orders")
                    .header("authorization", format!("Bearer {token}"))
                    .header("idempotency-key", format!("buy-{n}"))
                    .body(axum::body::Body::empty())
                    .unwrap();
                let (status, _, body) = support::call(&api, request).await;
                (n, status, body)
            })
        })
        .collect();
    let mut orders_by_buyer: std::collections::HashMap<usize, Vec<String>> = Default::default();
    let mut refused = 0;
    for task in tasks {
        let (n, status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED | StatusCode::OK => orders_by_buyer
                .entry(n)
                .or_default()
                .push(body["id"].as_str().unwrap().to_string()),
            StatusCode::CONFLICT => {
                // Losing the race for the last seats is told as adding sold-out tickets.
                assert_eq!(body["code"], "too_few_seats", "{body}");
                assert_eq!(body["seats_left"], 0, "{body}");
                assert_eq!(body["left_out"][0]["code"], "too_few_seats", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    // Exactly ten buyers got a seat; a buyer's two submissions are one order.
    assert_eq!(orders_by_buyer.len(), 10, "{orders_by_buyer:?}");
    for ids in orders_by_buyer.values() {
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    }
    assert_eq!(
        refused + orders_by_buyer.values().map(Vec::len).sum::<usize>(),
        2 * buyers
    );
    assert_eq!(seats_left(&env, &showtime).await, 0);
}

/// A cart that grew after an order: the same movie (or seats) never waits in two pending
/// orders; once the first order ends, the whole cart can be ordered.
async fn an_item_waits_in_at_most_one_pending_order(env: Env) {
    let (showtime, movies) = shop(&env, 20).await;
    let (token, _, _) = env.account("ines", Role::User).await;
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[0]}))
        .await;
    let (status, first) = order(&env, &token, Some("o1")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first_id = first["id"].as_str().unwrap();

    // The cart grows; ordering it again would put movies[0] in a second pending order.
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[1]}))
        .await;
    env.post(
        "/cart/items",
        Some(&token),
        json!({"showtime_id": showtime, "quantity": 2}),
    )
    .await;
    let (status, problem) = order(&env, &token, Some("o2")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_pending_order")),
        "{problem}"
    );
    assert_eq!(problem["pending_order"], first_id);
    assert!(problem["detail"].as_str().unwrap().contains(first_id));
    assert_eq!(
        seats_left(&env, &showtime).await,
        20,
        "no seats held for it"
    );
    let (_, list) = env.get("/orders", Some(&token)).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "no second order"
    );

    // Without the overlapping movie, the rest can be ordered: the seats are held once.
    env.send(
        Method::DELETE,
        &format!("/cart/items/movie-{}", movies[0]),
        Some(&token),
        None,
    )
    .await;
    let (status, second) = order(&env, &token, Some("o3")).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(seats_left(&env, &showtime).await, 18);
    // Now the tickets wait in the second order: adding the movie back and ordering again
    // is refused for them too.
    env.post("/cart/items", Some(&token), json!({"movie_id": movies[0]}))
        .await;
    let (status, problem) = order(&env, &token, Some("o4")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_pending_order"))
    );

    // Once both end, the whole cart is one order.
    for id in [first_id, second["id"].as_str().unwrap()] {
        let (status, _, _) = env
            .send(
                Method::POST,
                &format!("/orders/{id}/cancel"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, whole) = order(&env, &token, Some("o5")).await;
    assert_eq!(status, StatusCode::CREATED, "{whole}");
    assert_eq!(whole["lines"].as_array().unwrap().len(), 3);
    assert_eq!(seats_left(&env, &showtime).await, 18);
}

support::on_both_backends!(
    an_item_waits_in_at_most_one_pending_order,
    orders_copy_prices_hold_seats_and_are_idempotent,
    pending_orders_expire_and_release_their_seats,
    parallel_buyers_never_oversell_and_double_submits_make_one_order,
);
