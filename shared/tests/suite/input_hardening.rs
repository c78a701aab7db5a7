//! Input hardening through the full router, on both backends: bodies that are not objects,
//! unknown members whatever their value, patches that change nothing, control characters,
//! one answer for every query error, and field errors in the product's words, each once.

use crate::support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use marquee::role::Role;
use serde_json::{Value, json};
use support::Env;

/// Sends `body` as it is (any JSON, not only objects) with `content_type`.
async fn raw(
    env: &Env,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let (status, _, answer) = support::call(
        &env.api,
        request.body(Body::from(body.to_string())).unwrap(),
    )
    .await;
    (status, answer)
}

/// The field errors of a 422 as (field, message) pairs.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn refused(status: StatusCode, problem: &Value) -> Vec<(String, String)> {
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed")),
        "{problem}"
    );
    let errors = field_errors(problem);
    for (field, message) in &errors {
        // serde's wording ("invalid type: ..., expected ...", backticked names) stays out.
        assert!(
            !message.contains('`') && !message.starts_with("invalid "),
            "{field}: {message}"
        );
    }
    errors
}

async fn bodies_must_be_objects(env: Env) {
    let (moderator, _, email) = env.account("hardener", Role::Moderator).await;
    for (path, token, body) in [
        (
            "/auth/login",
            None,
            json!([email, "Velvet-Lantern-Orbit-42"]).to_string(),
        ),
        (
            "/genres",
            Some(moderator.as_str()),
            json!(["Noir"]).to_string(),
        ),
        ("/genres", Some(moderator.as_str()), "\"Noir\"".to_string()),
        ("/genres", Some(moderator.as_str()), "42".to_string()),
        ("/genres", Some(moderator.as_str()), "null".to_string()),
    ] {
        let (status, problem) =
            raw(&env, Method::POST, path, token, "application/json", &body).await;
        assert_eq!(
            refused(status, &problem),
            vec![("body".to_string(), "must be a JSON object".to_string())],
            "{path} {body}"
        );
    }
    let (_, genres) = env.get("/genres", None).await;
    assert_eq!(genres["items"], json!([]), "nothing was created");

    // Nested objects too: a screen given as a list is not a screen.
    let (status, problem) = env
        .post(
            "/cinemas",
            Some(&moderator),
            json!({"name": "Rex", "city": "Paris", "address": "1 rue Lepic", "country": "FR",
                   "screens": [[1, 50]]}),
        )
        .await;
    let errors = refused(status, &problem);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].0.starts_with("screens[0]"), "{errors:?}");
}

async fn unknown_members_are_refused_and_empty_patches_keep_the_version(env: Env) {
    let (moderator, _, _) = env.account("patcher", Role::Moderator).await;
    let (status, genre) = env
        .post("/genres", Some(&moderator), json!({"name": "Noir"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{genre}");
    let path = format!("/genres/{}", genre["id"].as_str().unwrap());
    for member in [json!(null), json!(1), json!("x"), json!({})] {
        let (status, _, problem) = env
            .send(
                Method::PATCH,
                &path,
                Some(&moderator),
                Some(json!({"unknown": member})),
            )
            .await;
        let errors = refused(status, &problem);
        assert_eq!(errors.len(), 1, "{member}: {errors:?}");
        assert_eq!(errors[0].0, "unknown", "{member}");
        assert!(errors[0].1.contains("known fields: name"), "{errors:?}");
    }
    let (status, _, problem) = env
        .send(
            Method::POST,
            "/genres",
            Some(&moderator),
            Some(json!({"name": "Western", "colour": null})),
        )
        .await;
    assert_eq!(refused(status, &problem)[0].0, "colour");

    // Nothing changes: the same record, the same version.
    for unchanged in [json!({}), json!({"name": "Noir"})] {
        let (status, _, same) = env
            .send(
                Method::PATCH,
                &path,
                Some(&moderator),
                Some(unchanged.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{same}");
        assert_eq!(same["version"], genre["version"], "{unchanged}");
        assert_eq!(same["name"], "Noir");
    }
    // A real change still moves it on; application/merge-patch+json is a JSON body too.
    let (status, changed) = raw(
        &env,
        Method::PATCH,
        &path,
        Some(&moderator),
        "application/merge-patch+json",
        r#"{"name": "Film noir"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["version"], genre["version"].as_i64().unwrap() + 1);

    // A showtime patch that sets what is already there keeps its version too.
    let (showtime, _) = support::shop(&env, 30).await;
    let path = format!("/showtimes/{showtime}");
    let (_, before) = env.get(&path, None).await;
    let (status, _, after) = env
        .send(
            Method::PATCH,
            &path,
            Some(&moderator),
            Some(json!({"seats": before["seats"], "price": before["price"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["version"], before["version"]);
}

async fn control_characters_are_refused_outside_long_texts(env: Env) {
    let (moderator, _, _) = env.account("typist", Role::Moderator).await;
    for name in [
        "Noir\u{0}",
        "Noir\u{1b}[31m",
        "Noir\nNoir",
        "Noir\u{85}",
        "No\u{7f}ir",
    ] {
        let (status, problem) = env
            .post("/genres", Some(&moderator), json!({"name": name}))
            .await;
        let errors = refused(status, &problem);
        assert_eq!(errors.len(), 1, "{name:?}");
        assert_eq!(errors[0].0, "name", "{name:?}");
        assert!(errors[0].1.contains("control characters"), "{errors:?}");
    }
    // A biography keeps its paragraphs and tabs, but not a bell.
    let (status, actor) = env
        .post(
            "/actors",
            Some(&moderator),
            json!({"name": "Ana Torrent", "bio": "Born in Madrid.\n\n\tDebut at seven."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{actor}");
    assert_eq!(actor["bio"], "Born in Madrid.\n\n\tDebut at seven.");
    let (status, problem) = env
        .post(
            "/actors",
            Some(&moderator),
            json!({"name": "Ana Torrent", "bio": "Ring\u{7}"}),
        )
        .await;
    assert_eq!(refused(status, &problem)[0].0, "bio");
    // Letters of every script are text.
    let (status, genre) = env
        .post("/genres", Some(&moderator), json!({"name": "Ciné 東京 🎬"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{genre}");
}

async fn field_errors_are_in_our_words_and_each_field_once(env: Env) {
    let (moderator, _, _) = env.account("wordsmith", Role::Moderator).await;
    let (status, problem) = env
        .post(
            "/movies",
            Some(&moderator),
            json!({"title": "Vertigo", "release_date": "1958-05-09", "duration_min": 128.5,
                   "certification": "PG", "price": {"amount": 399, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(
        refused(status, &problem),
        vec![(
            "duration_min".to_string(),
            "must be a whole number from 0 to 65535".to_string()
        )]
    );
    let (status, problem) = env
        .post(
            "/movies",
            Some(&moderator),
            json!({"title": "Vertigo", "release_date": "1958-05-09", "duration_min": 128,
                   "certification": "PG", "price": {"amount": "399", "currency": "EUR"}}),
        )
        .await;
    assert_eq!(
        refused(status, &problem),
        vec![(
            "price.amount".to_string(),
            "must be a whole number".to_string()
        )]
    );
    let (status, problem) = env
        .post("/genres", Some(&moderator), json!({"name": 5}))
        .await;
    assert_eq!(
        refused(status, &problem),
        vec![("name".to_string(), "must be text".to_string())]
    );
    let (status, problem) = env.post("/genres", Some(&moderator), json!({})).await;
    assert_eq!(
        refused(status, &problem),
        vec![("name".to_string(), "is required".to_string())]
    );
    // An empty name breaks more than one rule; it is named once.
    let (status, problem) = env
        .post("/genres", Some(&moderator), json!({"name": "  "}))
        .await;
    let errors = refused(status, &problem);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "name");
    // Malformed JSON: where, in our words.
    let (status, problem) = raw(
        &env,
        Method::POST,
        "/genres",
        Some(&moderator),
        "application/json",
        r#"{"name": "Noir""#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["code"], "malformed_json");
    assert_eq!(
        problem["detail"],
        "The body ends before its JSON does (line 1, column 15)"
    );
}

/// Lengths are counted as the contract states them: texts in characters (JSON Schema's
/// `maxLength`), whatever their bytes, and lists in items.
async fn texts_count_characters_and_lists_count_items(env: Env) {
    let (moderator, _, _) = env.account("counter", Role::Moderator).await;
    let movie = |title: String, genre_ids: Vec<String>| {
        json!({"title": title, "release_date": "2001-07-20", "duration_min": 125,
               "certification": "PG", "price": {"amount": 399, "currency": "EUR"},
               "genre_ids": genre_ids})
    };
    // 200 characters of three bytes each: at the title's limit of 200 characters.
    let title = "千と千尋の神隠し".repeat(25);
    let (status, created) = env
        .post("/movies", Some(&moderator), movie(title.clone(), vec![]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["title"], title.as_str());
    let (status, problem) = env
        .post(
            "/movies",
            Some(&moderator),
            movie(format!("{title}の"), vec![]),
        )
        .await;
    assert_eq!(
        refused(status, &problem),
        vec![(
            "title".to_string(),
            "must be at most 200 characters long".to_string()
        )]
    );
    let name = "名".repeat(100);
    let (status, actor) = env
        .post("/actors", Some(&moderator), json!({"name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{actor}");
    let (status, problem) = env
        .post(
            "/movies",
            Some(&moderator),
            movie(
                "Six genres".into(),
                (0..6).map(|n| format!("g{n}")).collect(),
            ),
        )
        .await;
    assert_eq!(
        refused(status, &problem),
        vec![(
            "genre_ids".to_string(),
            "must have at most 5 items".to_string()
        )]
    );
}

async fn every_query_error_has_one_status_and_code(env: Env) {
    for (path, field) in [
        ("/movies?limit=0", "limit"),
        ("/movies?limit=many", "limit"),
        ("/movies?limit=99999999999", "limit"),
        ("/movies?sort=size", "sort"),
        ("/movies?year_from=-3", "year_from"),
        ("/movies?unknown=1", "unknown"),
        ("/genres?limit=0", "limit"),
        ("/showtimes?date=someday", "date"),
        ("/movies?cursor=abc", "cursor"),
    ] {
        let (status, problem) = env.get(path, None).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_query")),
            "{path}: {problem}"
        );
        let errors = field_errors(&problem);
        assert_eq!(errors.len(), 1, "{path}: {errors:?}");
        assert_eq!(errors[0].0, field, "{path}");
        assert!(
            !errors[0].1.contains('`') && !errors[0].1.starts_with("invalid "),
            "{path}: {errors:?}"
        );
    }
}

async fn an_overlong_id_is_an_id_of_nothing(env: Env) {
    let (token, _, _) = env.account("ida", Role::Moderator).await;
    let long = "X".repeat(2000);
    for (method, path, body) in [
        (Method::GET, format!("/movies/{long}"), None),
        (Method::GET, format!("/actors/{long}"), None),
        (
            Method::PATCH,
            format!("/producers/{long}"),
            Some(json!({"name": "N"})),
        ),
        (Method::DELETE, format!("/directors/{long}"), None),
        (Method::GET, format!("/orders/{long}"), None),
        (Method::PUT, format!("/me/favorites/{long}"), None),
    ] {
        let (status, _, problem) = env.send(method.clone(), &path, Some(&token), body).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{method} /...{}: {problem}",
            &path[..12]
        );
    }
}

support::on_both_backends!(
    an_overlong_id_is_an_id_of_nothing,
    bodies_must_be_objects,
    unknown_members_are_refused_and_empty_patches_keep_the_version,
    control_characters_are_refused_outside_long_texts,
    field_errors_are_in_our_words_and_each_field_once,
    texts_count_characters_and_lists_count_items,
    every_query_error_has_one_status_and_code,
);
