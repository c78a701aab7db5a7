//! Genres, people and cinemas through the full router, on both backends.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::store::{Key, Update, Write};
use serde_json::{Value, json};
use support::Env;

/// A moderator's token: the least role that runs the catalogue.
async fn moderator(env: &Env) -> String {
    env.account("mod", marquee::role::Role::Moderator).await.0
}

async fn create(env: &Env, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    env.post(path, Some(token), body).await
}

async fn patch(
    env: &Env,
    token: &str,
    path: &str,
    body: Value,
    if_match: Option<i64>,
) -> (StatusCode, Value) {
    let mut request = axum::http::Request::builder()
        .method(Method::PATCH)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json");
    if let Some(version) = if_match {
        request = request.header("if-match", format!("\"{version}\""));
    }
    let (status, _, body) = support::call(
        &env.api,
        request
            .body(axum::body::Body::from(body.to_string()))
            .unwrap(),
    )
    .await;
    (status, body)
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

async fn genres_are_unique_listed_by_name_and_versioned(env: Env) {
    let token = moderator(&env).await;
    for name in ["Drama", "Comedy", "Documentary", "Western", "Crime"] {
        let (status, body) = create(&env, &token, "/genres", json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            (body["version"].as_i64(), body["movie_count"].as_i64()),
            (Some(1), Some(0))
        );
    }
    let (status, body) = create(&env, &token, "/genres", json!({"name": "  drama "})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("name_taken"))
    );

    let (status, page) = env.get("/genres", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&page),
        vec!["Comedy", "Crime", "Documentary", "Drama", "Western"]
    );
    let (_, page) = env.get("/genres?q=d&limit=1", None).await;
    assert_eq!(names(&page), vec!["Documentary"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, page) = env
        .get(&format!("/genres?q=d&limit=1&cursor={cursor}"), None)
        .await;
    assert_eq!(names(&page), vec!["Drama"]);
    assert!(page["next_cursor"].is_null());

    let (_, western) = env.get("/genres?q=west", None).await;
    let id = western["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/genres/{id}");
    // Renaming onto a taken name is refused; a free one releases the old name.
    let (status, _) = patch(&env, &token, &path, json!({"name": "Crime"}), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, renamed) = patch(&env, &token, &path, json!({"name": "Westerns"}), Some(1)).await;
    assert_eq!(
        (status, renamed["version"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{renamed}"
    );
    assert_eq!(
        create(&env, &token, "/genres", json!({"name": "Western"}))
            .await
            .0,
        StatusCode::CREATED
    );
    // A client that read version 1 cannot overwrite version 2.
    let (status, body) = patch(&env, &token, &path, json!({"name": "Oaters"}), Some(1)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("version_mismatch"))
    );

    let (status, body) = patch(
        &env,
        &token,
        &path,
        json!({"name": "", "colour": "red"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = create(&env, &token, "/genres", json!({"name": "   "})).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name"))
    );

    // Movies reference it: deletion is refused until none do.
    env.app
        .table
        .write(Write::update(
            Key::new(format!("GENRE#{id}"), "RECORD"),
            Update::new().add("movie_count", 1),
        ))
        .await
        .unwrap();
    let (status, _, body) = env.send(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    env.app
        .table
        .write(Write::update(
            Key::new(format!("GENRE#{id}"), "RECORD"),
            Update::new().add("movie_count", -1),
        ))
        .await
        .unwrap();
    assert_eq!(
        env.send(Method::DELETE, &path, Some(&token), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(env.get(&path, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        env.send(Method::DELETE, &path, Some(&token), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        create(&env, &token, "/genres", json!({"name": "Westerns"}))
            .await
            .0,
        StatusCode::CREATED,
        "name freed"
    );
}

async fn people_validate_derive_age_and_patch(env: Env) {
    let token = moderator(&env).await;
    let (status, producer) = create(
        &env,
        &token,
        "/producers",
        json!({"name": "Ava Lindqvist", "birth_date": "1971-03-09", "company": "Northlight Pictures",
               "photo_url": "https://img.example/ava.jpg"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{producer}");
    assert_eq!(producer["company"], "Northlight Pictures");
    let today = env.app.clock.now().date();
    let expected_age = marquee::catalog::people::age(time::macros::date!(1971 - 03 - 09), today);
    assert_eq!(producer["age"].as_i64(), Some(i64::from(expected_age)));

    let (status, body) = create(
        &env,
        &token,
        "/actors",
        json!({"name": "Theo Marsh", "birth_date": "2999-01-01", "company": "Acme", "photo_url": "http://x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = support::error_fields(&body);
    assert_eq!(fields.len(), 3, "birth date, company and photo url: {body}");
    let (status, body) = create(
        &env,
        &token,
        "/producers",
        json!({"name": "Theo Marsh", "company": "  "}),
    )
    .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["company".to_string()]
        ),
        "{body}"
    );

    let (status, actor) = create(
        &env,
        &token,
        "/actors",
        json!({"name": "Theo Marsh", "bio": "Stage first."}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(actor["age"].is_null());
    assert!(
        actor.get("company").is_none(),
        "only producers show a company"
    );
    let path = format!("/actors/{}", actor["id"].as_str().unwrap());
    let (status, changed) = patch(
        &env,
        &token,
        &path,
        json!({"bio": null, "birth_date": "1988-11-30"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert!(changed["bio"].is_null());
    assert_eq!(changed["name"], "Theo Marsh", "untouched fields stay");
    assert!(changed["age"].as_i64().unwrap() >= 37);

    // Same name, another person: people's names are not unique.
    assert_eq!(
        create(&env, &token, "/directors", json!({"name": "Theo Marsh"}))
            .await
            .0,
        StatusCode::CREATED
    );
    let (_, directors) = env.get("/directors?q=theo", None).await;
    assert_eq!(names(&directors), vec!["Theo Marsh"]);
    let (_, actors) = env.get("/actors", None).await;
    assert_eq!(
        names(&actors),
        vec!["Theo Marsh"],
        "collections are separate"
    );
}

async fn cinemas_validate_their_screens(env: Env) {
    let token = moderator(&env).await;
    let good = json!({
        "name": "Le Grand Rex", "address": "1 Boulevard Poissonnière", "city": "Paris", "country": "FR",
        "screens": [{"number": 1, "seats": 2700}, {"number": 2, "seats": 180}]
    });
    let (status, body) = create(&env, &token, "/cinemas", good.clone()).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "2700 seats is over the limit: {body}"
    );
    let mut fixed = good.clone();
    fixed["screens"][0]["seats"] = json!(1000);
    let (status, cinema) = create(&env, &token, "/cinemas", fixed).await;
    assert_eq!(status, StatusCode::CREATED, "{cinema}");
    assert_eq!(cinema["total_seats"], 1180);
    assert_eq!(
        cinema["time_zone"], "UTC",
        "the time kept when none is given"
    );

    let mut bad = good.clone();
    bad["country"] = json!("fr");
    bad["screens"] = json!([{"number": 1, "seats": 10}, {"number": 1, "seats": 20}]);
    let (status, body) = create(&env, &token, "/cinemas", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = support::error_fields(&body);
    assert!(
        fields.contains(&"country".to_string()) && fields.contains(&"screens".to_string()),
        "{body}"
    );
    let (status, _) = create(
        &env,
        &token,
        "/cinemas",
        json!({"name": "Empty", "address": "x", "city": "y", "country": "GB", "screens": []}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut blank = good.clone();
    blank["address"] = json!("  ");
    blank["city"] = json!(" \u{a0} ");
    blank["screens"][0]["seats"] = json!(1000);
    let (status, body) = create(&env, &token, "/cinemas", blank).await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["address".to_string(), "city".to_string()]
        ),
        "{body}"
    );

    let path = format!("/cinemas/{}", cinema["id"].as_str().unwrap());
    let (status, changed) = patch(
        &env,
        &token,
        &path,
        json!({"screens": [{"number": 3, "seats": 90}]}),
        None,
    )
    .await;
    assert_eq!(
        (status, changed["total_seats"].as_i64()),
        (StatusCode::OK, Some(90)),
        "{changed}"
    );
    let (_, got) = env.get(&path, None).await;
    assert_eq!(got["screens"], json!([{"number": 3, "seats": 90}]));

    // A time zone is one of the IANA database's names, spelt as it spells them.
    for zone in ["Paris", "europe/paris", "CET+1", "+01:00", ""] {
        let (status, body) = patch(&env, &token, &path, json!({"time_zone": zone}), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{zone}: {body}");
        assert_eq!(support::error_fields(&body), ["time_zone"], "{body}");
    }
    let (status, changed) = patch(
        &env,
        &token,
        &path,
        json!({"time_zone": "Europe/Paris"}),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, got) = env.get(&path, None).await;
    assert_eq!(got["time_zone"], "Europe/Paris");
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_string()
}

async fn movie_count(env: &Env, path: &str) -> i64 {
    let (status, body) = env.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["movie_count"].as_i64().unwrap()
}

async fn movies_count_their_references_exactly(env: Env) {
    let token = moderator(&env).await;
    let noir = id_of(
        &create(&env, &token, "/genres", json!({"name": "Noir"}))
            .await
            .1,
    );
    let thriller = id_of(
        &create(&env, &token, "/genres", json!({"name": "Thriller"}))
            .await
            .1,
    );
    let actor = id_of(
        &create(&env, &token, "/actors", json!({"name": "Ida Berg"}))
            .await
            .1,
    );
    let director = id_of(
        &create(&env, &token, "/directors", json!({"name": "Jon Vale"}))
            .await
            .1,
    );
    let producer = id_of(
        &create(
            &env,
            &token,
            "/producers",
            json!({"name": "Kit Oro", "company": "Oro Films"}),
        )
        .await
        .1,
    );
    let movie = |title: &str, genres: Vec<&str>| {
        json!({
            "title": title, "description": "A night in the city.", "release_date": "1947-09-26",
            "duration_min": 98, "certification": "PG", "price": {"amount": 399, "currency": "EUR"},
            "genre_ids": genres, "actor_ids": [actor], "director_ids": [director], "producer_ids": [producer],
            "regions": ["FR", "DE"]
        })
    };

    let (status, created) = create(
        &env,
        &token,
        "/movies",
        movie("Out of the Past", vec![&noir]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/movies/{}", id_of(&created));
    assert_eq!(movie_count(&env, &format!("/genres/{noir}")).await, 1);
    assert_eq!(movie_count(&env, &format!("/actors/{actor}")).await, 1);

    let (status, detail) = env.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["genres"], json!([{"id": noir, "name": "Noir"}]));
    assert_eq!(detail["actors"][0]["name"], "Ida Berg");
    assert_eq!(detail["directors"][0]["name"], "Jon Vale");
    assert_eq!(detail["producers"][0]["name"], "Kit Oro");
    assert_eq!(detail["price"], json!({"amount": 399, "currency": "EUR"}));

    // Unknown and repeated ids are named; nothing is written.
    let (status, body) = create(
        &env,
        &token,
        "/movies",
        movie("Ghost", vec!["01JD8X0000000000000000NONE"]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "genre_ids");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("01JD8X0000000000000000NONE")
    );
    let (status, _) = create(&env, &token, "/movies", movie("Twice", vec![&noir, &noir])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(movie_count(&env, &format!("/genres/{noir}")).await, 1);

    let mut bad = movie("Bad", vec![]);
    bad["price"]["currency"] = json!("euro");
    bad["release_date"] = json!("yesterday");
    bad["regions"] = json!(["fr"]);
    let (status, body) = create(&env, &token, "/movies", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(support::error_fields(&body).len(), 3, "{body}");
    let mut blank = movie("Blank", vec![]);
    blank["certification"] = json!("   ");
    let (status, body) = create(&env, &token, "/movies", blank).await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["certification".to_string()]
        ),
        "{body}"
    );

    // A referenced genre cannot go; moving the movie to another genre moves the counts.
    let (status, _, body) = env
        .send(
            Method::DELETE,
            &format!("/genres/{noir}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    let (status, changed) =
        patch(&env, &token, &path, json!({"genre_ids": [thriller]}), None).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(movie_count(&env, &format!("/genres/{noir}")).await, 0);
    assert_eq!(movie_count(&env, &format!("/genres/{thriller}")).await, 1);
    assert_eq!(
        env.send(
            Method::DELETE,
            &format!("/genres/{noir}"),
            Some(&token),
            None
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );

    // Bought: the movie stays (it can be made unavailable instead).
    let movie_key = Key::new(format!("MOVIE#{}", id_of(&created)), "RECORD");
    env.app
        .table
        .write(Write::update(
            movie_key.clone(),
            Update::new().add("purchase_count", 1),
        ))
        .await
        .unwrap();
    let (status, _, body) = env.send(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("in_use"))
    );
    let (status, changed) = patch(&env, &token, &path, json!({"available": false}), None).await;
    assert_eq!(
        (status, changed["available"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    env.app
        .table
        .write(Write::update(
            movie_key,
            Update::new().add("purchase_count", -1),
        ))
        .await
        .unwrap();
    assert_eq!(
        env.send(Method::DELETE, &path, Some(&token), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(movie_count(&env, &format!("/genres/{thriller}")).await, 0);
    assert_eq!(movie_count(&env, &format!("/actors/{actor}")).await, 0);

    // Many moderators adding movies at once: the count stays exact.
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let body = movie(&format!("Parallel {i}"), vec![&thriller]);
            let api = env.api.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let request = axum::http::Request::post("/movies")
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body.to_string()))
                    .unwrap();
                support::call(&api, request).await.0
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status}"
        );
        created += i64::from(status == StatusCode::CREATED);
    }
    assert!(created > 0);
    assert_eq!(
        movie_count(&env, &format!("/genres/{thriller}")).await,
        created
    );
}

/// Each kind of person has its own function: each one's page lists the person's movies,
/// and each one deletes a person no movie names.
async fn every_kind_of_person_is_shown_with_movies_and_deleted_when_unused(env: Env) {
    let token = moderator(&env).await;
    for (path, body) in [
        ("/actors", json!({"name": "Ines Dal"})),
        ("/directors", json!({"name": "Oskar Lind"})),
        (
            "/producers",
            json!({"name": "Rae Moss", "company": "Moss Films"}),
        ),
    ] {
        let (status, created) = create(&env, &token, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
        let person = format!("{path}/{}", id_of(&created));
        let (status, page) = env.get(&person, None).await;
        assert_eq!(status, StatusCode::OK, "{person}: {page}");
        assert_eq!(page["movies"]["items"], json!([]), "{person}");
        let (status, _, body) = env.send(Method::DELETE, &person, Some(&token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{person}: {body}");
        let (status, _) = env.get(&person, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{person} is gone");
    }
}

/// Names of the records a list answers.
async fn listed_names(env: &Env, path: &str) -> Vec<String> {
    let (status, page) = env.get(path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    names(&page)
}

/// A table whose batch writes fail: the catalogue's index writes (a movie's projection
/// right after its change) fail on it, while the change itself commits.
struct IndexWritesFail(std::sync::Arc<dyn marquee::store::Table>);

#[async_trait::async_trait]
impl marquee::store::Table for IndexWritesFail {
    async fn get(
        &self,
        key: &Key,
    ) -> Result<Option<marquee::store::Item>, marquee::store::StoreError> {
        self.0.get(key).await
    }

    async fn batch_get(
        &self,
        keys: &[Key],
    ) -> Result<Vec<marquee::store::Item>, marquee::store::StoreError> {
        self.0.batch_get(keys).await
    }

    async fn query(
        &self,
        query: &marquee::store::Query,
    ) -> Result<marquee::store::Page, marquee::store::StoreError> {
        self.0.query(query).await
    }

    async fn write(
        &self,
        write: Write,
    ) -> Result<marquee::store::Written, marquee::store::StoreError> {
        self.0.write(write).await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), marquee::store::StoreError> {
        self.0.transact(writes).await
    }

    async fn batch_write(&self, _: Vec<Write>) -> Result<(), marquee::store::StoreError> {
        Err(marquee::store::StoreError::Unavailable(
            "index writes fail in this test".into(),
        ))
    }
}

/// Every kind of person and a genre, renamed while a movie of theirs is listed, and
/// deleted while their lists still name movies that left them or are gone (the movies'
/// own projections failed, so the index lags behind): each succeeds, and the indexer then
/// clears what the deleted movies left behind.
async fn records_change_and_go_while_the_index_lags(env: Env) {
    let token = moderator(&env).await;
    let mut lagging_app = env.app.clone();
    lagging_app.table = std::sync::Arc::new(IndexWritesFail(env.app.table.clone()));
    let lagging = marquee::routes::router(lagging_app, |_| true);
    let send_lagging = |method: Method, path: String, body: Option<Value>| {
        let request = support::request(method, &path, Some(&token), body, &[]);
        let lagging = lagging.clone();
        async move { support::call(&lagging, request).await }
    };
    let (_, kept) = create(&env, &token, "/genres", json!({"name": "Kept"})).await;
    let (_, dropped) = create(&env, &token, "/genres", json!({"name": "Lagging"})).await;
    let (kept, dropped) = (id_of(&kept), id_of(&dropped));
    let mut deleted_movies = Vec::new();
    for (path, field, extra) in [
        ("/actors", "actor_ids", json!({})),
        (
            "/producers",
            "producer_ids",
            json!({"company": "Lag Films"}),
        ),
        ("/directors", "director_ids", json!({})),
    ] {
        let mut body = json!({"name": "First Name"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, person) = create(&env, &token, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {person}");
        let person_id = id_of(&person);
        let person = format!("{path}/{person_id}");
        let mut movie = json!({
            "title": format!("A film of {path}"), "description": "Late.", "release_date": "1999-01-01",
            "duration_min": 90, "certification": "PG", "price": {"amount": 399, "currency": "EUR"},
            "genre_ids": [kept, dropped], "regions": ["FR"]
        });
        movie[field] = json!([person_id]);
        let (status, movie) = create(&env, &token, "/movies", movie).await;
        assert_eq!(status, StatusCode::CREATED, "{movie}");
        let movie = format!("/movies/{}", id_of(&movie));
        let (status, renamed) =
            patch(&env, &token, &person, json!({"name": "Second Name"}), None).await;
        assert_eq!(status, StatusCode::OK, "{person}: {renamed}");
        assert_eq!(renamed["name"], "Second Name");
        assert!(
            listed_names(&env, path)
                .await
                .contains(&"Second Name".to_string()),
            "{path} lists the new name"
        );
        // The movie drops the person (and a genre); its projection fails, so their lists
        // still name it when the person goes.
        let mut change = json!({"genre_ids": [kept]});
        change[field] = json!([]);
        let (status, _, body) = send_lagging(Method::PATCH, movie.clone(), Some(change)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _, body) = env.send(Method::DELETE, &person, Some(&token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{person}: {body}");
        assert_eq!(env.get(&person, None).await.0, StatusCode::NOT_FOUND);
        // The movie goes, and its projection fails again: its tombstone waits.
        let (status, _, body) = send_lagging(Method::DELETE, movie.clone(), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        deleted_movies.push(movie.rsplit('/').next().unwrap().to_string());
    }
    for genre in [&dropped, &kept] {
        let (status, _, body) = env
            .send(
                Method::DELETE,
                &format!("/genres/{genre}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let waiting = |movie: &String| marquee::catalog::index::tombstone_key(movie);
    for movie in &deleted_movies {
        let tombstone = env.app.table.get(&waiting(movie)).await.unwrap();
        assert!(
            tombstone.is_some(),
            "{movie}'s tombstone waits for the indexer"
        );
    }
    marquee::background::catalog_indexer(&env.app, 100)
        .await
        .unwrap();
    for movie in &deleted_movies {
        let tombstone = env.app.table.get(&waiting(movie)).await.unwrap();
        assert!(
            tombstone.is_none(),
            "the indexer cleared {movie}'s tombstone"
        );
    }
    let (_, page) = env.get("/movies?limit=100", None).await;
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
}

async fn cinemas_are_listed_by_name(env: Env) {
    let token = moderator(&env).await;
    for name in ["Rex", "Alcazar"] {
        let (status, body) = create(
            &env,
            &token,
            "/cinemas",
            json!({"name": name, "address": "1 Bd", "city": "Paris", "country": "FR",
                   "screens": [{"number": 1, "seats": 100}]}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(listed_names(&env, "/cinemas").await, ["Alcazar", "Rex"]);
}

support::on_both_backends!(
    records_change_and_go_while_the_index_lags,
    cinemas_are_listed_by_name,
    every_kind_of_person_is_shown_with_movies_and_deleted_when_unused,
    genres_are_unique_listed_by_name_and_versioned,
    people_validate_derive_age_and_patch,
    cinemas_validate_their_screens,
    movies_count_their_references_exactly,
);
