//! Showtimes through the full router, on both backends: fitting the cinema, never
//! overlapping on a screen (even when created at once), listed by cinema, movie and day.

use crate::support;

use axum::http::{Method, StatusCode};
use marquee::catalog::demo;
use marquee::role::Role;
use serde_json::{Value, json};
use support::Env;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, Time};

fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Tomorrow at `hour`:`minute` UTC.
fn tomorrow(env: &Env, hour: u8, minute: u8) -> OffsetDateTime {
    use marquee::clock::Clock;
    let day = env.clock.now().date().next_day().unwrap();
    day.with_time(Time::from_hms(hour, minute, 0).unwrap())
        .assume_utc()
}

struct Fixture {
    token: String,
    movie: String,
    duration: i64,
    cinema: String,
    seats: u64,
    other_movie: String,
}

async fn fixture(env: &Env) -> Fixture {
    let seeded = demo::seed(&env.app, 3, 21).await.unwrap();
    let (token, _, _) = env.account("mod", Role::Moderator).await;
    let (_, movie) = env
        .get(&format!("/movies/{}", seeded.movies[0]), None)
        .await;
    let (status, cinema) = env
        .post(
            "/cinemas",
            Some(&token),
            json!({"name": "Odeon", "address": "1 Main St", "city": "Galway", "country": "IE",
                   "time_zone": "Europe/Dublin",
                   "screens": [{"number": 1, "seats": 120}, {"number": 2, "seats": 80},
                               {"number": 3, "seats": 60}, {"number": 4, "seats": 50}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{cinema}");
    Fixture {
        token,
        movie: seeded.movies[0].clone(),
        duration: movie["duration_min"].as_i64().unwrap(),
        cinema: cinema["id"].as_str().unwrap().to_string(),
        seats: cinema["screens"][0]["seats"].as_u64().unwrap(),
        other_movie: seeded.movies[1].clone(),
    }
}

fn show(f: &Fixture, screen: u64, starts: OffsetDateTime) -> Value {
    json!({
        "movie_id": f.movie, "cinema_id": f.cinema, "screen": screen,
        "starts_at": at(starts), "price": {"amount": 1250, "currency": "EUR"}
    })
}

async fn showtimes_fit_their_cinema_and_never_overlap(env: Env) {
    let f = fixture(&env).await;
    let evening = tomorrow(&env, 20, 0);
    let (status, first) = env
        .post("/showtimes", Some(&f.token), show(&f, 1, evening))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["seats"].as_u64(), first["seats_left"].as_u64()),
        (Some(f.seats), Some(f.seats))
    );
    let ends = OffsetDateTime::parse(first["ends_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(ends, evening + Duration::minutes(f.duration));
    assert_eq!(
        (first["cinema_name"].as_str(), first["time_zone"].as_str()),
        (Some("Odeon"), Some("Europe/Dublin")),
        "the show says its cinema's time zone"
    );

    // Overlapping on the same screen, from either side: refused.
    for starts in [
        evening + Duration::minutes(f.duration - 1),
        evening - Duration::minutes(30),
    ] {
        let (status, problem) = env
            .post("/showtimes", Some(&f.token), show(&f, 1, starts))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::CONFLICT, Some("screen_busy")),
            "{problem}"
        );
    }
    // Back to back, or on another screen: fine.
    let (status, body) = env
        .post("/showtimes", Some(&f.token), show(&f, 1, ends))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = env
        .post("/showtimes", Some(&f.token), show(&f, 2, evening))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A late show runs past midnight; the next day's early show may not start under it.
    let late = tomorrow(&env, 23, 30) + Duration::days(1);
    env.post("/showtimes", Some(&f.token), show(&f, 3, late))
        .await;
    let (status, _) = env
        .post(
            "/showtimes",
            Some(&f.token),
            show(&f, 3, late + Duration::minutes(60)),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Bad input, each field named.
    let cases = [
        (
            json!({"movie_id": "01JD8X0000000000000000NONE"}),
            vec!["movie_id"],
        ),
        (
            json!({"cinema_id": "01JD8X0000000000000000NONE"}),
            vec!["cinema_id"],
        ),
        (json!({"screen": 42}), vec!["screen"]),
        (json!({"seats": f.seats + 1}), vec!["seats"]),
        (json!({"starts_at": "tomorrow evening"}), vec!["starts_at"]),
        (
            json!({"starts_at": at(tomorrow(&env, 9, 0) - Duration::days(3))}),
            vec!["starts_at"],
        ),
        // The last minute of the calendar: its end would be past the year 9999.
        (
            json!({"starts_at": "9999-12-31T23:59:00Z"}),
            vec!["starts_at"],
        ),
        (
            json!({"starts_at": at(tomorrow(&env, 9, 0) + Duration::days(3 * 366))}),
            vec!["starts_at"],
        ),
        (
            json!({"price": {"amount": -5, "currency": "EUR"}}),
            vec!["price.amount"],
        ),
    ];
    for (change, fields) in cases {
        let mut body = show(&f, 4, tomorrow(&env, 10, 0));
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) = env.post("/showtimes", Some(&f.token), body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {problem}"
        );
        assert_eq!(support::error_fields(&problem), fields, "{change}");
    }
}

async fn parallel_bookings_of_one_screen_leave_one_show(env: Env) {
    let f = fixture(&env).await;
    let starts = tomorrow(&env, 15, 0);
    let tasks: Vec<_> = (0..6)
        .map(|n| {
            let api = env.api.clone();
            let body = show(&f, 1, starts + Duration::minutes(n * 5));
            let token = f.token.clone();
            tokio::spawn(async move {
                let request = axum::http::Request::builder()
                    .method(Method::POST)
                    .uri("/showtimes")
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
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1);
    let (_, page) = env
        .get(&format!("/showtimes?cinema={}", f.cinema), None)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

async fn showtimes_list_update_and_delete(env: Env) {
    let f = fixture(&env).await;
    let day1 = tomorrow(&env, 18, 0);
    let day2 = day1 + Duration::days(1);
    let mut ids = Vec::new();
    for (movie, starts, screen) in [
        (&f.movie, day1, 1),
        (&f.other_movie, day1, 2),
        (&f.movie, day2, 1),
    ] {
        let mut body = show(&f, screen, starts);
        body["movie_id"] = json!(movie);
        let (status, created) = env.post("/showtimes", Some(&f.token), body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let listed = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, page) = env
        .get(&format!("/showtimes?movie={}", f.movie), None)
        .await;
    assert_eq!(listed(&page), vec![ids[0].clone(), ids[2].clone()]);
    let (_, page) = env
        .get(
            &format!("/showtimes?cinema={}&date={}", f.cinema, day1.date()),
            None,
        )
        .await;
    let mut day_one = listed(&page);
    day_one.sort();
    let mut expected = vec![ids[0].clone(), ids[1].clone()];
    expected.sort();
    assert_eq!(day_one, expected);
    let (_, page) = env
        .get(
            &format!(
                "/showtimes?cinema={}&movie={}&limit=1",
                f.cinema, f.other_movie
            ),
            None,
        )
        .await;
    assert_eq!(listed(&page), vec![ids[1].clone()], "{page}");
    let (status, _) = env.get("/showtimes?date=yesterday", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let path = format!("/showtimes/{}", ids[0]);
    let patch = |body: Value, version: Option<i64>| {
        let env = &env;
        let (path, token) = (path.clone(), f.token.clone());
        async move {
            let mut request = axum::http::Request::builder()
                .method(Method::PATCH)
                .uri(&path)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json");
            if let Some(v) = version {
                request = request.header("if-match", format!("\"{v}\""));
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
    };
    let (status, updated) = patch(
        json!({"price": {"amount": 900, "currency": "EUR"}, "seats": 10}),
        Some(1),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (
            updated["price"]["amount"].as_i64(),
            updated["seats_left"].as_i64(),
            updated["version"].as_i64()
        ),
        (Some(900), Some(10), Some(2))
    );
    let (status, _) = patch(json!({"seats": 5}), Some(1)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, problem) = patch(json!({"seats": f.seats + 1}), None).await;
    assert_eq!(
        (status, support::error_fields(&problem)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["seats".to_string()])
    );
    let (status, _) = patch(json!({"starts_at": at(day2)}), None).await;
    assert!(status.is_client_error());
    let (_, got) = env.get(&path, None).await;
    assert_eq!(got["seats"].as_u64(), Some(10));

    // A cinema with showtimes stays; without them it may go.
    let cinema_path = format!("/cinemas/{}", f.cinema);
    let (status, _, _) = env
        .send(Method::DELETE, &cinema_path, Some(&f.token), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    for id in &ids {
        let (status, _, body) = env
            .send(
                Method::DELETE,
                &format!("/showtimes/{id}"),
                Some(&f.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (status, _) = env.get(&path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The freed slot takes a new show.
    let (status, _) = env
        .post("/showtimes", Some(&f.token), show(&f, 1, day1))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, page) = env
        .get(&format!("/showtimes?cinema={}", f.cinema), None)
        .await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    env.send(
        Method::DELETE,
        &format!("/showtimes/{id}"),
        Some(&f.token),
        None,
    )
    .await;
    let (status, _, body) = env
        .send(Method::DELETE, &cinema_path, Some(&f.token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

async fn a_showtime_with_seats_taken_neither_goes_nor_shrinks_below_them(env: Env) {
    let (showtime, _) = support::shop(&env, 20).await;
    let (buyer, _, _) = env.account("goer", marquee::role::Role::User).await;
    env.post(
        "/cart/items",
        Some(&buyer),
        json!({"showtime_id": showtime, "quantity": 3}),
    )
    .await;
    let request = support::request(
        Method::POST,
        "/orders",
        Some(&buyer),
        None,
        &[("idempotency-key", "three")],
    );
    let (status, _, placed) = support::call(&env.api, request).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let (moderator, _, _) = env.account("sched", marquee::role::Role::Moderator).await;
    let path = format!("/showtimes/{showtime}");
    let (status, _, body) = env
        .send(Method::DELETE, &path, Some(&moderator), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("seats_taken")),
        "{body}"
    );
    let (status, _, body) = env
        .send(
            Method::PATCH,
            &path,
            Some(&moderator),
            Some(json!({"seats": 2})),
        )
        .await;
    assert_eq!(
        (status, support::error_fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["seats".to_string()]),
        "{body}"
    );
    let (status, _, body) = env
        .send(
            Method::PATCH,
            &path,
            Some(&moderator),
            Some(json!({"seats": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "down to the seats taken: {body}");
    assert_eq!(body["seats_left"], 0);
}

/// A create the store applied but answered late is retried by the SDK, and the retry meets
/// the first attempt: the record (new id, new to this request) is there, so it succeeded.
async fn a_create_answered_late_is_one_create(env: Env) {
    let f = fixture(&env).await;
    let late = support::gate::late_api(&env.app, |w| support::gate::puts(w, "SHOWTIME#"));
    let request = support::request(
        Method::POST,
        "/showtimes",
        Some(&f.token),
        Some(show(&f, 4, tomorrow(&env, 10, 0))),
        &[],
    );
    let (status, _, created) = support::call(&late, request).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, page) = env
        .get(&format!("/showtimes?cinema={}&limit=100", f.cinema), None)
        .await;
    let on_screen: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["screen"] == 4)
        .collect();
    assert_eq!(on_screen.len(), 1, "one show: {page}");
    assert_eq!(on_screen[0]["id"], created["id"]);
    let late = support::gate::late_api(&env.app, |w| support::gate::puts(w, "GENRE#"));
    let request = support::request(
        Method::POST,
        "/genres",
        Some(&f.token),
        Some(json!({"name": "Late"})),
        &[],
    );
    let (status, _, genre) = support::call(&late, request).await;
    assert_eq!(status, StatusCode::CREATED, "{genre}");
    let (status, got) = env
        .get(&format!("/genres/{}", genre["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(
        (status, got["name"].as_str()),
        (StatusCode::OK, Some("Late"))
    );
}

/// How many showtimes list the movie, page after page.
async fn shows_of_movie(env: &Env, movie: &str) -> usize {
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let path = format!("/showtimes?movie={movie}&limit=100{cursor}");
        let (status, page) = env.get(&path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        count += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return count,
        }
    }
}

/// A programme scheduled at once (as the demo seeding does): every show stored and
/// answered in the order given, a screen's many days committed in several transactions
/// that stay consistent with one another, and a clash or a bad input refusing the whole
/// programme before anything is stored.
async fn a_programme_is_scheduled_together_or_not_at_all(env: Env) {
    use marquee::catalog::cinemas::Cinema;
    use marquee::catalog::movies::Price;
    use marquee::catalog::records;
    use marquee::catalog::showtimes::{ShowtimeInput, schedule_many};
    let f = fixture(&env).await;
    let input = |screen: u16, starts: OffsetDateTime| ShowtimeInput {
        movie_id: f.movie.clone(),
        cinema_id: f.cinema.clone(),
        screen,
        starts_at: at(starts),
        price: Price {
            amount: 900,
            currency: "EUR".into(),
        },
        seats: None,
    };
    // Forty days of three shows on screen 1 (more writes than one transaction takes), with
    // shows past midnight, and one show on screen 2.
    let mut programme = Vec::new();
    for day in 0..40 {
        for (hour, minute) in [(12, 0), (17, 0), (23, 30)] {
            programme.push(input(1, tomorrow(&env, hour, minute) + Duration::days(day)));
        }
    }
    programme.push(input(2, tomorrow(&env, 12, 0)));
    let wanted: Vec<String> = programme.iter().map(|i| i.starts_at.clone()).collect();
    let scheduled = schedule_many(&env.app, programme).await.unwrap();
    let answered: Vec<String> = scheduled
        .iter()
        .map(|s| {
            OffsetDateTime::parse(&s.starts_at, &Rfc3339)
                .map(at)
                .unwrap()
        })
        .collect();
    assert_eq!(answered, wanted);
    assert_eq!(shows_of_movie(&env, &f.movie).await, 121);
    let cinema = env
        .app
        .table
        .get(&records::key::<Cinema>(&f.cinema))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cinema["showtime_count"], json!(121), "{cinema:?}");

    // The day plans committed last hold their shows: a late show on the last day and an
    // early one under the first day's late show are refused, one at a time or together.
    let last = tomorrow(&env, 23, 45) + Duration::days(39);
    let (status, problem) = env
        .post("/showtimes", Some(&f.token), show(&f, 1, last))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("screen_busy")),
        "{problem}"
    );
    let after_midnight = tomorrow(&env, 0, 30) + Duration::days(1);
    // (With a show that fits on the same screen and day: the plans they share read once.)
    let fits = tomorrow(&env, 20, 5) + Duration::days(1);
    let refused = schedule_many(&env.app, vec![input(1, fits), input(1, after_midnight)])
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");

    // Two new shows clashing with each other, or one naming no movie: nothing is stored.
    let clashing = vec![
        input(3, tomorrow(&env, 12, 0)),
        input(3, tomorrow(&env, 12, 30)),
    ];
    let refused = schedule_many(&env.app, clashing).await.unwrap_err();
    assert_eq!(refused.status, StatusCode::CONFLICT, "{refused:?}");
    let mut unknown = input(3, tomorrow(&env, 16, 0));
    unknown.movie_id = "01JD8X0000000000000000NONE".into();
    let refused = schedule_many(&env.app, vec![input(3, tomorrow(&env, 12, 0)), unknown])
        .await
        .unwrap_err();
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(shows_of_movie(&env, &f.movie).await, 121);
}

support::on_both_backends!(
    a_programme_is_scheduled_together_or_not_at_all,
    a_create_answered_late_is_one_create,
    a_showtime_with_seats_taken_neither_goes_nor_shrinks_below_them,
    showtimes_fit_their_cinema_and_never_overlap,
    parallel_bookings_of_one_screen_leave_one_show,
    showtimes_list_update_and_delete,
);
