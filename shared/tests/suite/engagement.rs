//! Reactions, ratings, favourites and comments through the full router, on both backends,
//! with the counters checked under concurrent clicks.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::catalog::{demo, index};
use marquee::role::Role;
use serde_json::{Value, json};
use support::Env;

async fn put(env: &Env, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, body) = env.send(Method::PUT, path, Some(token), body).await;
    (status, body)
}

async fn delete(env: &Env, path: &str, token: &str) -> (StatusCode, Value) {
    let (status, _, body) = env.send(Method::DELETE, path, Some(token), None).await;
    (status, body)
}

async fn movie(env: &Env, id: &str, token: Option<&str>) -> Value {
    let (status, body) = env.get(&format!("/movies/{id}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The caller's own marks on one movie (me-marks).
async fn marks(env: &Env, id: &str, token: &str) -> Value {
    let (status, body) = env.get(&format!("/me/marks?ids={id}"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"][0]["movie_id"], id, "{body}");
    body["items"][0].clone()
}

/// A catalogue with no viewer history on its first movies.
async fn catalogue(env: &Env) -> demo::Seeded {
    demo::seed(&env.app, 6, 5).await.unwrap()
}

async fn reactions_and_ratings_move_exact_counts(env: Env) {
    let seeded = catalogue(&env).await;
    let id = &seeded.movies[0];
    let (ana, _, _) = env.account("ana", Role::User).await;
    let (ben, _, _) = env.account("ben", Role::User).await;
    let reaction = format!("/movies/{id}/reaction");
    let rating = format!("/movies/{id}/rating");

    let (status, counts) = put(&env, &reaction, &ana, Some(json!({"value": "like"}))).await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        (counts["likes"].as_i64(), counts["dislikes"].as_i64()),
        (Some(1), Some(0))
    );
    // The same reaction again changes nothing; switching moves the count.
    put(&env, &reaction, &ana, Some(json!({"value": "like"}))).await;
    let (_, counts) = put(&env, &reaction, &ana, Some(json!({"value": "dislike"}))).await;
    assert_eq!(
        (counts["likes"].as_i64(), counts["dislikes"].as_i64()),
        (Some(0), Some(1))
    );
    put(&env, &reaction, &ben, Some(json!({"value": "like"}))).await;

    let (status, counts) = put(&env, &rating, &ana, Some(json!({"score": 8}))).await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    let (status, body) = put(&env, &rating, &ana, Some(json!({"score": 6}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, counts) = put(&env, &rating, &ben, Some(json!({"score": 9}))).await;
    assert_eq!(counts["rating_count"].as_i64(), Some(2));
    assert_eq!(counts["rating_average"].as_f64(), Some(7.5));

    assert_eq!(
        marks(&env, id, &ana).await,
        json!({"movie_id": id, "reaction": "dislike", "rating": 6, "favorite": false,
               "purchased": false, "position_s": null})
    );
    // The movie page is the same for everyone: a token changes nothing in it.
    assert_eq!(
        movie(&env, id, Some(&ana)).await,
        movie(&env, id, None).await
    );
    let (status, _) = env
        .get(&format!("/me/marks?ids={id}"), Some("not-a-token"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, counts) = delete(&env, &reaction, &ana).await;
    assert_eq!(
        (counts["likes"].as_i64(), counts["dislikes"].as_i64()),
        (Some(1), Some(0))
    );
    let (status, counts) = delete(&env, &rating, &ben).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            counts["rating_count"].as_i64(),
            counts["rating_average"].as_f64()
        ),
        (Some(1), Some(6.0))
    );
    // Clearing what is not there is fine.
    let (status, _) = delete(&env, &rating, &ben).await;
    assert_eq!(status, StatusCode::OK);

    // Bad input.
    for body in [
        json!({"score": 0}),
        json!({"score": 11}),
        json!({"score": "ten"}),
        json!({}),
    ] {
        let (status, problem) = put(&env, &rating, &ana, Some(body.clone())).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{body}: {status} {problem}"
        );
    }
    let (status, _) = put(&env, &rating, &ana, Some(json!({"score": 11}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = put(&env, &reaction, &ana, Some(json!({"value": "love"}))).await;
    assert!(status.is_client_error());
    let missing = "/movies/01JD8X0000000000000000NONE";
    let (status, _) = put(
        &env,
        &format!("{missing}/reaction"),
        &ana,
        Some(json!({"value": "like"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = put(
        &env,
        &format!("{missing}/rating"),
        &ana,
        Some(json!({"score": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn counters_stay_exact_under_concurrent_clicks(env: Env) {
    let seeded = catalogue(&env).await;
    let id = seeded.movies[0].clone();
    let viewers = if env.aws { 8 } else { 20 };
    let mut tokens = Vec::new();
    for n in 0..viewers {
        tokens.push(env.account(&format!("v{n}"), Role::User).await.0);
    }
    let mut tasks = Vec::new();
    for (n, token) in tokens.iter().enumerate() {
        // Each viewer likes (twice, at once), rates, and favourites, all concurrently.
        for body in [json!({"value": "like"}), json!({"value": "like"})] {
            let (api, token, id) = (env.api.clone(), token.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                send(
                    &api,
                    Method::PUT,
                    &format!("/movies/{id}/reaction"),
                    &token,
                    Some(body),
                )
                .await
            }));
        }
        let score = json!({"score": (n % 10) + 1});
        let (api, token2, id2) = (env.api.clone(), token.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            send(
                &api,
                Method::PUT,
                &format!("/movies/{id2}/rating"),
                &token2,
                Some(score),
            )
            .await
        }));
        let (api, token3, id3) = (env.api.clone(), token.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            send(
                &api,
                Method::PUT,
                &format!("/me/favorites/{id3}"),
                &token3,
                None,
            )
            .await
        }));
    }
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status.is_success(), "{status}");
    }
    let detail = movie(&env, &id, None).await;
    let expected_sum: usize = (0..viewers).map(|n| (n % 10) + 1).sum();
    assert_eq!(detail["likes"].as_i64(), Some(viewers as i64));
    assert_eq!(detail["rating_count"].as_i64(), Some(viewers as i64));
    assert_eq!(detail["favorites"].as_i64(), Some(viewers as i64));
    let average = expected_sum as f64 / viewers as f64;
    assert_eq!(
        detail["rating_average"].as_f64(),
        Some((average * 100.0).round() / 100.0)
    );
}

async fn send(
    api: &axum::Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut request = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            axum::body::Body::from(b.to_string())
        }
        None => axum::body::Body::empty(),
    };
    support::call(api, request.body(body).unwrap()).await.0
}

fn first_id(page: &Value) -> String {
    page["items"][0]["id"].as_str().unwrap().to_string()
}

/// The least popular movie of the catalogue.
async fn least_popular(env: &Env) -> String {
    let (_, page) = env
        .get("/movies?sort=popularity&order=asc&limit=1", None)
        .await;
    first_id(&page)
}

async fn popularity_follows_clicks_after_the_index_sweep(env: Env) {
    let seeded = catalogue(&env).await;
    let (token, _, _) = env.account("pop", Role::User).await;
    let last = least_popular(&env).await;
    let write = marquee::store::Update::new().add("purchase_count", 100_000);
    env.app
        .table
        .write(index::marked(write, &last, 0))
        .await
        .unwrap();
    put(
        &env,
        &format!("/movies/{last}/reaction"),
        &token,
        Some(json!({"value": "like"})),
    )
    .await;
    // Counts are exact at once; the order follows at the next sweep, not per click.
    assert_eq!(
        movie(&env, &last, None).await["likes"]
            .as_i64()
            .map(|l| l > 0),
        Some(true)
    );
    let (_, page) = env.get("/movies?sort=popularity&limit=1", None).await;
    assert_ne!(first_id(&page), last);
    let report = marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    assert!(report.projected >= 1 && report.failed == 0, "{report:?}");
    let (_, page) = env.get("/movies?sort=popularity&limit=1", None).await;
    assert_eq!(first_id(&page), last);
    assert_eq!(
        page["items"][0]["likes"],
        movie(&env, &last, None).await["likes"]
    );
    // Nothing left to do.
    assert_eq!(
        marquee::background::catalog_indexer(&env.app, 100)
            .await
            .unwrap()
            .projected,
        0
    );
    assert!(seeded.movies.contains(&last));
}

/// The to-index list is spread over partitions, a movie always on the same one; a movie
/// marked on the single partition used before is still swept.
async fn the_to_index_list_is_spread_and_old_marks_are_still_swept(env: Env) {
    use marquee::store::{Index, Query, Update, Write};
    let seeded = catalogue(&env).await;
    let (token, _, _) = env.account("spread", Role::User).await;
    let last = least_popular(&env).await;
    let liked = seeded.movies.iter().find(|m| **m != last).unwrap();
    put(
        &env,
        &format!("/movies/{liked}/reaction"),
        &token,
        Some(json!({"value": "like"})),
    )
    .await;
    let record = env
        .app
        .table
        .get(&index::record_key(liked))
        .await
        .unwrap()
        .unwrap();
    let partition = index::to_index_pk(liked);
    assert!(partition.starts_with("MOVIES_TO_INDEX#"), "{partition}");
    assert_eq!(record[Index::Gsi2.pk()], json!(partition));
    let marked = |pk: &str| Query::on(Index::Gsi2, pk);
    let listed = env.app.table.query(&marked(&partition)).await.unwrap();
    assert!(
        listed
            .items
            .iter()
            .any(|i| i[Index::Gsi2.sk()] == json!(liked)),
        "{listed:?}"
    );

    // The least popular movie, marked as records were before the list was spread.
    let before = Update::new()
        .add("purchase_count", 100_000)
        .set(Index::Gsi2.pk(), index::TO_INDEX)
        .set(Index::Gsi2.sk(), last.as_str());
    env.app
        .table
        .write(Write::update(index::record_key(&last), before))
        .await
        .unwrap();
    let report = marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    assert_eq!((report.projected, report.failed), (2, 0), "{report:?}");
    let (_, page) = env.get("/movies?sort=popularity&limit=1", None).await;
    assert_eq!(first_id(&page), last);
    for pk in [index::TO_INDEX.to_string(), partition] {
        let left = env.app.table.query(&marked(&pk)).await.unwrap();
        assert!(left.items.is_empty(), "{pk}: {left:?}");
    }
}

async fn favourites_list_with_the_filters_and_sorts_of_the_catalogue(env: Env) {
    let seeded = catalogue(&env).await;
    let (token, _, _) = env.account("fav", Role::User).await;
    let kept = &seeded.movies[..4];
    for id in kept {
        let (status, body) = put(&env, &format!("/me/favorites/{id}"), &token, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    // Adding again is harmless; an unknown movie is 404.
    let (status, _) = put(&env, &format!("/me/favorites/{}", kept[0]), &token, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = put(
        &env,
        "/me/favorites/01JD8X0000000000000000NONE",
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let mut titles: Vec<(String, String)> = Vec::new();
    for id in kept {
        let m = movie(&env, id, None).await;
        assert_eq!(marks(&env, id, &token).await["favorite"], true);
        assert_eq!(m["favorites"].as_i64().map(|f| f >= 1), Some(true));
        titles.push((index::title_value(m["title"].as_str().unwrap()), id.clone()));
    }
    titles.sort();
    let expected: Vec<String> = titles.iter().map(|(_, id)| id.clone()).collect();
    let mut got = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = env
            .get(
                &format!("/me/favorites?sort=title&limit=3{cursor}"),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        got.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(got, expected);
    let (_, page) = env.get("/me/favorites?sort=-title", Some(&token)).await;
    let reversed: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reversed, expected.iter().rev().cloned().collect::<Vec<_>>());
    let (status, problem) = env.get("/me/favorites?sort=size", Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    // A search of no letter or digit finds none of them; a blank one is no search.
    let (_, page) = env.get("/me/favorites?q=%3F%21", Some(&token)).await;
    assert_eq!(page["items"], json!([]), "{page}");
    let (_, page) = env.get("/me/favorites?q=%20", Some(&token)).await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        expected.len(),
        "{page}"
    );

    let (status, _) = delete(&env, &format!("/me/favorites/{}", kept[0]), &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = delete(&env, &format!("/me/favorites/{}", kept[0]), &token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, page) = env.get("/me/favorites?limit=100", Some(&token)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(marks(&env, &kept[0], &token).await["favorite"], false);
}

async fn comments_thread_notify_and_obey_their_owners(env: Env) {
    let seeded = catalogue(&env).await;
    let (id, other) = (&seeded.movies[0], &seeded.movies[1]);
    let (ana, _, ana_email) = env.account("ana", Role::User).await;
    let (ben, _, _) = env.account("ben", Role::User).await;
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    let path = format!("/movies/{id}/comments");

    let (status, first) = env
        .post(&path, Some(&ana), json!({"text": "Loved the ending."}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first_id = first["id"].as_str().unwrap();
    let (_, second) = env
        .post(&path, Some(&ben), json!({"text": "Too long for me."}))
        .await;
    let (status, reply) = env
        .post(
            &path,
            Some(&ben),
            json!({"text": "Same <here>!", "parent_id": first_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(
        (reply["depth"].as_u64(), reply["thread_id"].as_str()),
        (Some(1), Some(first_id))
    );
    // The author answered is told, once, and only for replies by someone else.
    let told: Vec<_> = env
        .emails_to(&ana_email)
        .into_iter()
        .filter(|(s, _)| s.contains("replied"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    // (Text or HTML part, as the mail service keeps it.)
    assert!(
        told[0].1.contains("Same") && told[0].1.contains("here"),
        "{told:?}"
    );
    env.post(
        &path,
        Some(&ana),
        json!({"text": "Thanks", "parent_id": reply["id"]}),
    )
    .await;
    assert_eq!(
        env.emails_to(&ana_email)
            .iter()
            .filter(|(s, _)| s.contains("replied"))
            .count(),
        1
    );

    // Threads in order, each reply under its first comment; pages of two cover them all.
    let mut listed = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = env.get(&format!("{path}?limit=2{cursor}"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        listed.extend(page["items"].as_array().unwrap().iter().map(|c| {
            (
                c["text"].as_str().unwrap_or("").to_string(),
                c["depth"].as_u64().unwrap(),
            )
        }));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    let texts: Vec<(&str, u64)> = listed.iter().map(|(t, d)| (t.as_str(), *d)).collect();
    assert_eq!(
        texts,
        vec![
            ("Loved the ending.", 0),
            ("Same <here>!", 1),
            ("Thanks", 1),
            ("Too long for me.", 0)
        ]
    );
    assert_eq!(
        movie(&env, id, None).await["comment_count"].as_i64(),
        Some(4)
    );

    // Bad input.
    for body in [
        json!({"text": ""}),
        json!({"text": "   "}),
        json!({"text": "x".repeat(2001)}),
    ] {
        let (status, problem) = env.post(&path, Some(&ana), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(support::error_fields(&problem), vec!["text"]);
    }
    let (status, problem) = env
        .post(
            &format!("/movies/{other}/comments"),
            Some(&ana),
            json!({"text": "hi", "parent_id": first_id}),
        )
        .await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["parent_id".to_string()]
        )
    );
    let (status, _) = env
        .post(
            "/movies/01JD8X0000000000000000NONE/comments",
            Some(&ana),
            json!({"text": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Owners edit; others may not; moderators delete anything.
    let edit = |token: &str, cid: &str| {
        let (token, cid) = (token.to_string(), cid.to_string());
        let env = &env;
        async move {
            let (status, _, body) = env
                .send(
                    Method::PATCH,
                    &format!("/comments/{cid}"),
                    Some(&token),
                    Some(json!({"text": "Edited"})),
                )
                .await;
            (status, body)
        }
    };
    let (status, edited) = edit(&ana, first_id).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["text"].as_str(), edited["edited_at"].is_number()),
        (Some("Edited"), true)
    );
    assert_eq!(edit(&ben, first_id).await.0, StatusCode::FORBIDDEN);
    let (status, _, problem) = env
        .send(
            Method::PATCH,
            &format!("/comments/{first_id}"),
            Some(&ana),
            Some(json!({"text": "   "})),
        )
        .await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["text".to_string()])
    );
    assert_eq!(edit(&moderator, first_id).await.0, StatusCode::FORBIDDEN);
    let second_id = second["id"].as_str().unwrap();
    assert_eq!(
        delete(&env, &format!("/comments/{second_id}"), &ana)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        delete(&env, &format!("/comments/{second_id}"), &moderator)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&env, &format!("/comments/{first_id}"), &ana).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&env, &format!("/comments/{first_id}"), &ana).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(edit(&ana, first_id).await.0, StatusCode::NOT_FOUND);
    let (_, page) = env.get(&format!("{path}?limit=10"), None).await;
    let first_listed = &page["items"][0];
    assert_eq!(
        (
            first_listed["deleted"].as_bool(),
            first_listed["text"].is_null()
        ),
        (Some(true), true)
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    assert_eq!(
        movie(&env, id, None).await["comment_count"].as_i64(),
        Some(2)
    );
    assert_eq!(
        delete(&env, "/comments/01JD8X0000000000000000NONE", &ana)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

/// Holds that a reply was refused because the comment it answers is deleted: nothing
/// added to the movie's `listed` comments, no email to the comment's author.
async fn refused_as_deleted(
    env: &Env,
    (status, problem): (StatusCode, Value),
    path: &str,
    listed: usize,
    author_email: &str,
) {
    assert_eq!(
        (status, support::error_fields(&problem)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["parent_id".to_string()]
        ),
        "{problem}"
    );
    let (_, page) = env.get(&format!("{path}?limit=10"), None).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(listed),
        "{page}"
    );
    let told = env.emails_to(author_email);
    assert!(told.iter().all(|(s, _)| !s.contains("replied")), "{told:?}");
}

async fn a_deleted_comment_takes_no_more_replies(env: Env) {
    let seeded = catalogue(&env).await;
    let path = format!("/movies/{}/comments", seeded.movies[0]);
    let (ana, _, ana_email) = env.account("ana", Role::User).await;
    let (ben, _, _) = env.account("ben", Role::User).await;
    let (_, first) = env
        .post(&path, Some(&ana), json!({"text": "Loved the ending."}))
        .await;
    let first_id = first["id"].as_str().unwrap();
    let (status, _) = delete(&env, &format!("/comments/{first_id}"), &ana).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let answer = env
        .post(
            &path,
            Some(&ben),
            json!({"text": "Still here?", "parent_id": first_id}),
        )
        .await;
    refused_as_deleted(&env, answer, &path, 1, &ana_email).await;
    assert_eq!(
        movie(&env, &seeded.movies[0], None).await["comment_count"].as_i64(),
        Some(0)
    );

    // Nor one deleted while the reply is on its way: the reply reads it whole, then waits
    // at its commit while its author deletes it.
    let (_, second) = env
        .post(&path, Some(&ana), json!({"text": "And the music."}))
        .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    let gate = support::gate::Gate::new(|w| support::gate::puts(w, "COMMENT#"));
    let gated = support::gate::gated_api(&env.app, &gate);
    let request = support::request(
        Method::POST,
        &path,
        Some(&ben),
        Some(json!({"text": "Agreed", "parent_id": second_id})),
        &[],
    );
    let racing = tokio::spawn(async move { support::call(&gated, request).await });
    gate.arrived().await;
    let (status, _) = delete(&env, &format!("/comments/{second_id}"), &ana).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    gate.release();
    let (status, _, problem) = racing.await.unwrap();
    refused_as_deleted(&env, (status, problem), &path, 2, &ana_email).await;
}

/// A GET as a client sends it, with its answer's headers.
async fn fetch(
    env: &Env,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Value) {
    support::call(
        &env.api,
        support::request(Method::GET, path, token, None, headers),
    )
    .await
}

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

async fn public_reads_are_cacheable_and_personal_answers_are_not(env: Env) {
    let seeded = catalogue(&env).await;
    let id = &seeded.movies[0];
    let (ana, _, _) = env.account("ana", Role::User).await;
    let (moderator, _, _) = env.account("mo", Role::Moderator).await;
    let public = [
        "/movies?sort=popularity".to_string(),
        format!("/movies/{id}"),
        format!("/movies/{id}/comments"),
        "/genres".to_string(),
        format!("/genres/{}", seeded.genres[0]),
        format!("/actors/{}", seeded.actors[0]),
        "/cinemas".to_string(),
        "/showtimes".to_string(),
    ];
    for path in &public {
        let (status, headers, body) = fetch(&env, path, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let control = header(&headers, "cache-control");
        assert!(
            control.starts_with("public, max-age=") && control.contains("s-maxage="),
            "{path}: {control}"
        );
        let tag = header(&headers, "etag").to_string();
        assert!(
            tag.starts_with('"') && !tag.starts_with("W/"),
            "{path}: {tag}"
        );
        // The same for a signed-in caller: the token changes neither the body nor the tag.
        let (_, signed_in, same) = fetch(&env, path, Some(&ana), &[]).await;
        assert_eq!(
            (header(&signed_in, "etag"), &same),
            (tag.as_str(), &body),
            "{path}"
        );
        // A client that kept it is told it still holds.
        let (status, headers, body) =
            fetch(&env, path, None, &[("if-none-match", tag.as_str())]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(body, json!(""), "a 304 has no body");
        assert_eq!(header(&headers, "etag"), tag);
        assert!(header(&headers, "cache-control").starts_with("public"));
        let (status, _, _) = fetch(&env, path, None, &[("if-none-match", "\"other\"")]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }

    // A like changes the movie page's tag at once, and the list's once projected.
    let movie_path = format!("/movies/{id}");
    let list = "/movies?sort=popularity&limit=100";
    let (_, before, _) = fetch(&env, &movie_path, None, &[]).await;
    let (_, list_before, _) = fetch(&env, list, None, &[]).await;
    let (status, _) = put(
        &env,
        &format!("/movies/{id}/reaction"),
        &ana,
        Some(json!({"value": "like"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = fetch(
        &env,
        &movie_path,
        None,
        &[("if-none-match", header(&before, "etag"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a changed movie is sent again");
    marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    let (status, _, _) = fetch(
        &env,
        list,
        None,
        &[("if-none-match", header(&list_before, "etag"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "a changed list is sent again");

    // Personal answers and changes are kept by nobody, errors included.
    for (path, token) in [
        (format!("/me/marks?ids={id}"), Some(ana.as_str())),
        ("/me".to_string(), Some(ana.as_str())),
        ("/me/favorites".to_string(), Some(ana.as_str())),
        ("/cart".to_string(), Some(ana.as_str())),
        ("/me/marks?ids=".to_string(), Some(ana.as_str())),
        ("/me".to_string(), None),
        ("/movies/01JD8X0000000000000000NONE".to_string(), None),
        ("/no-such-route".to_string(), None),
    ] {
        let (status, headers, _) = fetch(&env, &path, token, &[]).await;
        assert_eq!(
            header(&headers, "cache-control"),
            "private, no-store",
            "{path}: {status}"
        );
    }
    let (status, headers, _) = env
        .send(
            Method::PUT,
            &format!("/movies/{id}/rating"),
            Some(&ana),
            Some(json!({"score": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "cache-control"), "private, no-store");

    // A record's tag names its version first, which a change may quote in If-Match.
    let genre = format!("/genres/{}", seeded.genres[0]);
    let (_, headers, _) = fetch(&env, &genre, None, &[]).await;
    let tag = header(&headers, "etag").to_string();
    // Good once; the second change names a version that is gone.
    for (name, expected) in [
        ("Renamed", StatusCode::OK),
        ("Again", StatusCode::PRECONDITION_FAILED),
    ] {
        let (status, _, body) = support::call(
            &env.api,
            support::request(
                Method::PATCH,
                &genre,
                Some(&moderator),
                Some(json!({ "name": name })),
                &[("if-match", tag.as_str())],
            ),
        )
        .await;
        assert_eq!(status, expected, "{body}");
    }
}

/// The local server keeps public answers in memory (as the CDN does deployed): a kept
/// answer costs no read, and any committed write makes every kept answer stale at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_answers_cost_no_read_and_follow_every_write() {
    use std::sync::atomic::Ordering;
    let env = Env::embedded().await;
    let seeded = catalogue(&env).await;
    let id = &seeded.movies[0];
    let (ana, _, _) = env.account("ana", Role::User).await;
    let counting = std::sync::Arc::new(marquee::store::counting::CountingTable::new(
        env.app.table.clone(),
    ));
    let mut app = env.app.clone();
    app.table = counting.clone();
    let mut config = (*app.config).clone();
    config.keep_public_answers = true;
    app.config = std::sync::Arc::new(config);
    let api = marquee::routes::router(app, |_| true);
    let get = |path: String, headers: Vec<(&'static str, String)>| {
        let api = api.clone();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            support::call(
                &api,
                support::request(Method::GET, &path, None, None, &headers),
            )
            .await
        }
    };
    let reads = || counting.counts.reads.load(Ordering::SeqCst);
    let path = format!("/movies/{id}");
    let (_, first_headers, first) = get(path.clone(), vec![]).await;
    let before = reads();
    let (status, headers, again) = get(path.clone(), vec![]).await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    assert_eq!(reads(), before, "a kept answer reads nothing");
    assert_eq!(headers.get("etag"), first_headers.get("etag"));
    let tag = header(&first_headers, "etag").to_string();
    let (status, _, _) = get(path.clone(), vec![("if-none-match", tag.clone())]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(reads(), before);

    // A like commits: the next read is made again, and shows it.
    let (status, _) = put(
        &env,
        &format!("/movies/{id}/reaction"),
        &ana,
        Some(json!({"value": "like"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = get(path.clone(), vec![("if-none-match", tag)]).await;
    assert_eq!(status, StatusCode::OK, "the tag changed with the like");
    let (_, _, after) = get(path, vec![]).await;
    assert_eq!(
        after["likes"].as_i64(),
        first["likes"].as_i64().map(|l| l + 1)
    );
    assert!(reads() > before);
}

async fn me_marks_answer_each_movie_asked_in_order(env: Env) {
    let seeded = catalogue(&env).await;
    let (ana, _, _) = env.account("ana", Role::User).await;
    let (a, b) = (&seeded.movies[0], &seeded.movies[1]);
    put(
        &env,
        &format!("/movies/{b}/rating"),
        &ana,
        Some(json!({"score": 9})),
    )
    .await;
    put(&env, &format!("/me/favorites/{a}"), &ana, None).await;
    let (status, body) = env
        .get(
            &format!("/me/marks?ids={b},{a},{b},01JD8X0000000000000000NONE"),
            Some(&ana),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().unwrap();
    let ids: Vec<&str> = items
        .iter()
        .map(|m| m["movie_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str(), "01JD8X0000000000000000NONE"]);
    assert_eq!(
        (items[0]["rating"].as_i64(), items[0]["favorite"].as_bool()),
        (Some(9), Some(false))
    );
    assert_eq!(
        (items[1]["rating"].as_i64(), items[1]["favorite"].as_bool()),
        (None, Some(true))
    );
    assert_eq!(items[2]["reaction"], Value::Null);
    // Another viewer's marks are their own.
    let (ben, _, _) = env.account("ben", Role::User).await;
    let (_, theirs) = env.get(&format!("/me/marks?ids={a},{b}"), Some(&ben)).await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["rating"].is_null() && m["favorite"] == false)
    );

    let too_many: Vec<String> = (0..101).map(|i| format!("m{i}")).collect();
    for bad in [
        "/me/marks",
        "/me/marks?ids=",
        "/me/marks?ids=a,,b",
        &format!("/me/marks?ids={}", too_many.join(",")),
    ] {
        let (status, problem) = env.get(bad, Some(&ana)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
        assert_eq!(support::error_fields(&problem), ["ids"], "{bad}");
    }
    let (status, _) = env.get(&format!("/me/marks?ids={a}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

support::on_both_backends!(
    reactions_and_ratings_move_exact_counts,
    public_reads_are_cacheable_and_personal_answers_are_not,
    me_marks_answer_each_movie_asked_in_order,
    counters_stay_exact_under_concurrent_clicks,
    popularity_follows_clicks_after_the_index_sweep,
    the_to_index_list_is_spread_and_old_marks_are_still_swept,
    favourites_list_with_the_filters_and_sorts_of_the_catalogue,
    comments_thread_notify_and_obey_their_owners,
    a_deleted_comment_takes_no_more_replies,
);

mod purchases {
    use super::*;

    async fn purchases_list_the_movies_owned(env: Env) {
        let seeded = catalogue(&env).await;
        let (token, user_id, _) = env.account("owner", Role::User).await;
        let (_, page) = env.get("/me/purchases", Some(&token)).await;
        assert_eq!(page["items"], json!([]));
        // As the payment flow records them; a refunded one no longer counts.
        for (n, movie) in seeded.movies[..3].iter().enumerate() {
            let mut grant =
                marquee::store::Update::new().set("purchased_at", 1_700_000_000 + n as i64);
            if n == 1 {
                grant = grant.set("revoked", true);
            }
            let key = marquee::engagement::mine::purchase_key(&user_id, movie);
            env.app
                .table
                .write(marquee::store::Write::update(key, grant))
                .await
                .unwrap();
        }
        let (status, page) = env.get("/me/purchases?limit=10", Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut owned: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        owned.sort();
        let mut expected = vec![seeded.movies[0].as_str(), seeded.movies[2].as_str()];
        expected.sort();
        assert_eq!(owned, expected);
        assert!(page["items"][0]["purchased_at"].is_number());
        assert_eq!(
            marks(&env, &seeded.movies[0], &token).await["purchased"],
            true
        );
        assert_eq!(
            marks(&env, &seeded.movies[1], &token).await["purchased"],
            false
        );
    }

    support::on_both_backends!(purchases_list_the_movies_owned);
}
