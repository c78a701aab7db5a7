//! The cart through the full router, on both backends: what may go in and why not,
//! quantities, live prices and availability, removal, and the admin's view.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::catalog::demo;
use marquee::role::Role;
use marquee::store::{Update, Write};
use serde_json::{Value, json};
use support::Env;
use time::format_description::well_known::Rfc3339;

async fn send(
    env: &Env,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, _, body) = env.send(method, path, Some(token), body).await;
    (status, body)
}

async fn add(env: &Env, token: &str, body: Value) -> (StatusCode, Value) {
    env.post("/cart/items", Some(token), body).await
}

struct Shop {
    moderator: String,
    movies: Vec<String>,
    showtime: String,
    ticket_price: i64,
    starts_at: time::OffsetDateTime,
}

async fn shop(env: &Env) -> Shop {
    let seeded = demo::seed(&env.app, 4, 13).await.unwrap();
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    // The demo marks some movies unavailable at random: these are for sale.
    for movie in &seeded.movies {
        let (status, _, body) = env
            .send(
                Method::PATCH,
                &format!("/movies/{movie}"),
                Some(&moderator),
                Some(json!({"available": true})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, cinema) = env
        .post(
            "/cinemas",
            Some(&moderator),
            json!({"name": "Lumière", "address": "2 Rue X", "city": "Lyon", "country": "FR",
                   "screens": [{"number": 1, "seats": 100}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cinema}");
    use marquee::clock::Clock;
    let starts_at = env.clock.now() + time::Duration::days(2);
    let (status, showtime) = env
        .post(
            "/showtimes",
            Some(&moderator),
            json!({"movie_id": seeded.movies[3], "cinema_id": cinema["id"], "screen": 1,
                   "starts_at": starts_at.format(&Rfc3339).unwrap(),
                   "price": {"amount": 1100, "currency": "EUR"}, "seats": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{showtime}");
    Shop {
        moderator,
        movies: seeded.movies,
        showtime: showtime["id"].as_str().unwrap().to_string(),
        ticket_price: 1100,
        starts_at,
    }
}

fn line<'a>(cart: &'a Value, id: &str) -> &'a Value {
    cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("no line {id} in {cart}"))
}

async fn the_cart_takes_movies_and_tickets_and_says_why_not(env: Env) {
    let shop = shop(&env).await;
    let (token, user_id, _) = env.account("viewer", Role::User).await;
    let movie = &shop.movies[0];
    let (_, detail) = env.get(&format!("/movies/{movie}"), None).await;
    let price = detail["price"]["amount"].as_i64().unwrap();

    let (status, cart) = add(&env, &token, json!({"movie_id": movie})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let movie_line = line(&cart, &format!("movie-{movie}"));
    assert_eq!(movie_line["kind"], "movie");
    assert_eq!(movie_line["title"], detail["title"]);
    assert_eq!(
        movie_line["release_year"].as_i64(),
        detail["release_date"].as_str().unwrap()[..4]
            .parse::<i64>()
            .ok()
    );
    let genre_names: Vec<Value> = detail["genres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].clone())
        .collect();
    assert_eq!(movie_line["genres"].as_array().unwrap(), &genre_names);
    assert_eq!(
        (
            movie_line["line_total"]["amount"].as_i64(),
            movie_line["available"].as_bool()
        ),
        (Some(price), Some(true))
    );

    let (status, problem) = add(&env, &token, json!({"movie_id": movie})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_in_cart"))
    );

    let (status, cart) = add(
        &env,
        &token,
        json!({"showtime_id": shop.showtime, "quantity": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let tickets = line(&cart, &format!("tickets-{}", shop.showtime));
    assert_eq!(
        (tickets["kind"].as_str(), tickets["quantity"].as_u64()),
        (Some("ticket"), Some(3))
    );
    assert_eq!(
        tickets["line_total"]["amount"].as_i64(),
        Some(3 * shop.ticket_price)
    );
    assert_eq!(
        cart["total"]["amount"].as_i64(),
        Some(price + 3 * shop.ticket_price)
    );
    assert_eq!(cart["item_count"].as_u64(), Some(2));

    // Refusals, each with its reason.
    let (status, problem) = add(
        &env,
        &token,
        json!({"showtime_id": shop.showtime, "quantity": 1}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_in_cart"))
    );
    let (other, _, _) = env.account("other", Role::User).await;
    let (status, problem) = add(
        &env,
        &other,
        json!({"showtime_id": shop.showtime, "quantity": 5}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("too_few_seats"))
    );
    assert!(
        problem["seats_left"].as_i64().is_some_and(|n| n < 5),
        "how many are left: {problem}"
    );
    let owned = &shop.movies[1];
    let purchase = Write::update(
        marquee::engagement::mine::purchase_key(&user_id, owned),
        Update::new().set("movie_id", owned.as_str()),
    );
    env.app.table.write(purchase).await.unwrap();
    let (status, problem) = add(&env, &token, json!({"movie_id": owned})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_owned"))
    );
    let hidden = &shop.movies[2];
    let (status, _) = send(
        &env,
        Method::PATCH,
        &format!("/movies/{hidden}"),
        &shop.moderator,
        Some(json!({"regions": ["FR"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = add(&env, &token, json!({"movie_id": hidden})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("region_locked"))
    );
    send(
        &env,
        Method::PATCH,
        "/me",
        &token,
        Some(json!({"country": "DE"})),
    )
    .await;
    let (status, problem) = add(&env, &token, json!({"movie_id": hidden})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("region_locked"))
    );
    assert!(problem["detail"].as_str().unwrap().contains("DE"));
    let (status, _) = send(
        &env,
        Method::PATCH,
        "/me",
        &token,
        Some(json!({"country": "FR"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, cart) = add(&env, &token, json!({"movie_id": hidden})).await;
    assert_eq!(status, StatusCode::CREATED, "{cart}");
    let (status, problem) = send(
        &env,
        Method::PATCH,
        "/me",
        &token,
        Some(json!({"country": "France"})),
    )
    .await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["country".to_string()]
        )
    );

    // Bad input.
    for (body, field) in [
        (
            json!({"movie_id": "01JD8X0000000000000000NONE"}),
            "movie_id",
        ),
        (
            json!({"showtime_id": "01JD8X0000000000000000NONE", "quantity": 1}),
            "showtime_id",
        ),
        (json!({"showtime_id": shop.showtime}), "quantity"),
        (
            json!({"showtime_id": shop.showtime, "quantity": 11}),
            "quantity",
        ),
        (
            json!({"showtime_id": shop.showtime, "quantity": 0}),
            "quantity",
        ),
        (
            json!({"movie_id": movie, "showtime_id": shop.showtime, "quantity": 1}),
            "movie_id",
        ),
        (json!({}), "movie_id"),
        (
            json!({"movie_id": shop.movies[3], "quantity": 2}),
            "quantity",
        ),
    ] {
        let (status, problem) = add(&env, &other, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(
            support::error_fields(&problem),
            vec![field.to_string()],
            "{body}"
        );
    }
}

async fn quantities_live_prices_removal_and_the_admin_view(env: Env) {
    let shop = shop(&env).await;
    let (token, user_id, email) = env.account("viewer", Role::User).await;
    let movie = shop.movies[0].clone();
    add(&env, &token, json!({"movie_id": movie})).await;
    add(
        &env,
        &token,
        json!({"showtime_id": shop.showtime, "quantity": 1}),
    )
    .await;
    let tickets = format!("/cart/items/tickets-{}", shop.showtime);

    let (status, cart) = send(
        &env,
        Method::PATCH,
        &tickets,
        &token,
        Some(json!({"quantity": 4})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cart}");
    assert_eq!(
        line(&cart, &format!("tickets-{}", shop.showtime))["quantity"].as_u64(),
        Some(4)
    );
    let (status, problem) = send(
        &env,
        Method::PATCH,
        &tickets,
        &token,
        Some(json!({"quantity": 5})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("too_few_seats"))
    );
    assert!(
        problem["seats_left"].as_i64().is_some_and(|n| n < 5),
        "how many are left: {problem}"
    );
    let (status, _) = send(
        &env,
        Method::PATCH,
        &tickets,
        &token,
        Some(json!({"quantity": 0})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, problem) = send(
        &env,
        Method::PATCH,
        &format!("/cart/items/movie-{movie}"),
        &token,
        Some(json!({"quantity": 2})),
    )
    .await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["quantity".to_string()]
        )
    );

    // Prices are read live; items that stop being available are flagged and left out of the total.
    let (status, _) = send(
        &env,
        Method::PATCH,
        &format!("/movies/{movie}"),
        &shop.moderator,
        Some(json!({"price": {"amount": 1999, "currency": "EUR"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, cart) = env.get("/cart", Some(&token)).await;
    assert_eq!(
        line(&cart, &format!("movie-{movie}"))["unit_price"]["amount"].as_i64(),
        Some(1999)
    );
    assert_eq!(
        cart["total"]["amount"].as_i64(),
        Some(1999 + 4 * shop.ticket_price)
    );
    send(
        &env,
        Method::PATCH,
        &format!("/movies/{movie}"),
        &shop.moderator,
        Some(json!({"available": false})),
    )
    .await;
    env.clock.advance(
        shop.starts_at - {
            use marquee::clock::Clock;
            env.clock.now()
        } + time::Duration::minutes(1),
    );
    let token = env.sign_in(&email).await;
    let (_, cart) = env.get("/cart", Some(&token)).await;
    for id in [
        format!("movie-{movie}"),
        format!("tickets-{}", shop.showtime),
    ] {
        let l = line(&cart, &id);
        assert_eq!(l["available"], false, "{l}");
        assert!(
            l["unavailable_reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
    assert_eq!(cart["total"]["amount"].as_i64(), Some(0));
    let (status, problem) = send(
        &env,
        Method::PATCH,
        &tickets,
        &token,
        Some(json!({"quantity": 2})),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("showtime_started"))
    );

    // Admins read anyone's cart; nobody else does.
    let (admin, _, _) = env.account("root", Role::Admin).await;
    let (moderator, _, _) = env.account("staff", Role::Moderator).await;
    let (status, seen) = env
        .get(&format!("/admin/users/{user_id}/cart"), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["item_count"].as_u64(), Some(2));
    let (status, _) = env
        .get(&format!("/admin/users/{user_id}/cart"), Some(&moderator))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = env
        .get("/admin/users/01JD8X0000000000000000NONE/cart", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = send(
        &env,
        Method::DELETE,
        &format!("/cart/items/movie-{movie}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &env,
        Method::DELETE,
        &format!("/cart/items/movie-{movie}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&env, Method::DELETE, "/cart", &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, cart) = env.get("/cart", Some(&token)).await;
    assert_eq!(
        (
            cart["item_count"].as_u64(),
            cart["total"]["amount"].as_i64()
        ),
        (Some(0), Some(0))
    );
}

async fn a_cart_holds_forty_lines_and_an_order_of_nothing_says_so(env: Env) {
    let (_, movies) = support::shop_of(&env, 5, 41).await;
    let (token, _, _) = env.account("hoarder", Role::User).await;
    for movie in &movies[..40] {
        let (status, body) = add(&env, &token, json!({"movie_id": movie})).await;
        assert!(status.is_success(), "{body}");
    }
    let (status, body) = add(&env, &token, json!({"movie_id": movies[40]})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("cart_full")),
        "{body}"
    );
    // A cart whose only movie was withdrawn from sale orders nothing, and says why.
    let (late, _, _) = env.account("late", Role::User).await;
    add(&env, &late, json!({"movie_id": movies[40]})).await;
    let (moderator, _, _) = env.account("curator", Role::Moderator).await;
    let (status, _, body) = env
        .send(
            Method::PATCH,
            &format!("/movies/{}", movies[40]),
            Some(&moderator),
            Some(json!({"available": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = support::request(
        Method::POST,
        "/orders",
        Some(&late),
        None,
        &[("idempotency-key", "nothing")],
    );
    let (status, _, problem) = support::call(&env.api, request).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("nothing_to_order")),
        "{problem}"
    );
    assert_eq!(problem["left_out"][0]["code"], "unavailable", "{problem}");
}

support::on_both_backends!(
    a_cart_holds_forty_lines_and_an_order_of_nothing_says_so,
    the_cart_takes_movies_and_tickets_and_says_why_not,
    quantities_live_prices_removal_and_the_admin_view,
);
