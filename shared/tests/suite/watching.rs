//! Watching, on both backends: uploads in parts (presigned S3 part URLs on the stand-in,
//! the local server's own part URLs on the embedded store), the media route's ranges and
//! signatures, who may play what, streams at once, progress and "continue watching", and
//! no file left behind.

use crate::support;

use axum::http::{HeaderMap, Method, StatusCode};
use marquee::catalog::demo;
use marquee::role::Role;
use marquee::store::{Update, Write};
use serde_json::{Value, json};
use support::Env;

/// The demo clip (infra/demo/make-clip): 12 s of H.264/AAC, faststart.
pub(crate) fn clip() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/demo/clip.mp4"
    ))
    .unwrap()
}

/// The clip with `extra` bytes of padding in a trailing `free` box: a valid MP4 of any size.
fn padded_clip(extra: usize) -> Vec<u8> {
    let mut bytes = clip();
    bytes.extend(((extra + 8) as u32).to_be_bytes());
    bytes.extend(b"free");
    bytes.extend(vec![0u8; extra]);
    bytes
}

/// The top-level boxes of an MP4: (type, bytes).
fn boxes(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut at = 0;
    let mut found = Vec::new();
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&bytes[at + 4..at + 8]).to_string();
        found.push((kind, bytes[at..at + len].to_vec()));
        at += len;
    }
    found
}

/// The clip with its index (moov) moved behind its media data.
fn not_faststart() -> Vec<u8> {
    let all = boxes(&clip());
    let (moov, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|(kind, _)| kind == "moov");
    rest.into_iter()
        .chain(moov)
        .flat_map(|(_, bytes)| bytes)
        .collect()
}

/// Sends a request to the local server's media routes (part uploads, playback).
async fn local_media(
    env: &Env,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    use tower::ServiceExt;
    let path = url
        .strip_prefix(&env.base())
        .unwrap_or_else(|| panic!("{url} is not this server's"));
    let mut request = axum::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(axum::body::Body::from(body)).unwrap();
    let response = marquee::watching::local::router(env.app.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

/// PUTs a part to its URL (the stand-in's presigned URL, or the local server's); the
/// status and the ETag header.
pub(crate) async fn put_part(env: &Env, url: &str, bytes: Vec<u8>) -> (u16, Option<String>) {
    if url.starts_with(&env.base()) {
        let (status, headers, _) = local_media(env, Method::PUT, url, &[], bytes).await;
        let etag = headers.get("etag").map(|v| v.to_str().unwrap().to_string());
        return (status.as_u16(), etag);
    }
    let url = url.to_string();
    tokio::task::spawn_blocking(move || raw_put(&url, &bytes))
        .await
        .unwrap()
}

/// A PUT of binary bytes over plain HTTP/1.1 on loopback.
fn raw_put(url: &str, body: &[u8]) -> (u16, Option<String>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let head = format!(
        "PUT /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text[9..12].parse().unwrap();
    let etag = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("etag")
            .then(|| value.trim().to_string())
    });
    (status, etag)
}

async fn start_upload(
    env: &Env,
    token: &str,
    movie: &str,
    kind: &str,
    size: usize,
) -> (StatusCode, Value) {
    env.post(
        &format!("/movies/{movie}/media/{kind}/uploads"),
        Some(token),
        json!({"content_type": "video/mp4", "size_bytes": size}),
    )
    .await
}

/// PUTs every part of `bytes` for a started upload; gives the parts for complete.
async fn put_parts(env: &Env, started: &Value, bytes: &[u8]) -> Value {
    let part_size = started["part_size"].as_u64().unwrap() as usize;
    let mut parts = Vec::new();
    for (part, chunk) in started["parts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(bytes.chunks(part_size))
    {
        let (status, etag) = put_part(env, part["url"].as_str().unwrap(), chunk.to_vec()).await;
        assert_eq!(status, 200, "part {}", part["number"]);
        parts.push(json!({"number": part["number"], "etag": etag.expect("an ETag")}));
    }
    Value::Array(parts)
}

async fn complete(
    env: &Env,
    token: &str,
    movie: &str,
    kind: &str,
    upload: &str,
    parts: Value,
) -> (StatusCode, Value) {
    env.post(
        &format!("/movies/{movie}/media/{kind}/uploads/{upload}/complete"),
        Some(token),
        json!({"parts": parts}),
    )
    .await
}

/// Uploads `bytes` as the movie's `kind`; the complete answer.
/// Announces `size` bytes, PUTs `bytes` part by part, and completes: the answer.
async fn try_upload(
    env: &Env,
    token: &str,
    movie: &str,
    size: usize,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let (status, started) = start_upload(env, token, movie, "feature", size).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let parts = put_parts(env, &started, bytes).await;
    let upload_id = started["upload_id"].as_str().unwrap();
    complete(env, token, movie, "feature", upload_id, parts).await
}

async fn upload(env: &Env, token: &str, movie: &str, kind: &str, bytes: &[u8]) -> Value {
    let (status, started) = start_upload(env, token, movie, kind, bytes.len()).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let parts = put_parts(env, &started, bytes).await;
    let upload_id = started["upload_id"].as_str().unwrap();
    let (status, ready) = complete(env, token, movie, kind, upload_id, parts).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    ready
}

async fn play(
    env: &Env,
    token: Option<&str>,
    movie: &str,
    body: Value,
) -> (StatusCode, HeaderMap, Value) {
    env.send(
        Method::POST,
        &format!("/movies/{movie}/playback"),
        token,
        Some(body),
    )
    .await
}

async fn buy(env: &Env, user_id: &str, movie: &str) {
    let owned = Update::new().set("purchased_at", env.app.clock.now().unix_timestamp());
    let key = marquee::engagement::mine::purchase_key(user_id, movie);
    env.app
        .table
        .write(Write::update(key, owned))
        .await
        .unwrap();
}

async fn refund(env: &Env, user_id: &str, movie: &str) {
    let key = marquee::engagement::mine::purchase_key(user_id, movie);
    env.app
        .table
        .write(Write::update(key, Update::new().set("revoked", true)))
        .await
        .unwrap();
}

/// The object a movie's file of `kind` is stored as.
async fn object_of(
    env: &Env,
    movie: &str,
    kind: marquee::catalog::media::MediaKind,
) -> Option<String> {
    let item = env
        .app
        .table
        .get(&marquee::catalog::index::record_key(movie))
        .await
        .unwrap()?;
    marquee::catalog::media::MediaFile::of(&item, kind).map(|f| f.object)
}

async fn stored_size(env: &Env, object: &str) -> Option<u64> {
    let stores = marquee::watching::stores(&env.app).unwrap();
    stores.store.size(object).await.unwrap()
}

async fn sweep(env: &Env) {
    marquee::background::expiry_scheduler(&env.app)
        .await
        .unwrap();
    let queued = match &env.app.local_queues {
        Some(queues) => queues.expiry.take(10_000),
        None => support::receive_all(env.app.config.expiry_queue_url.as_deref().unwrap()).await,
    };
    assert!(
        marquee::background::expiry_worker(&env.app, &queued)
            .await
            .is_empty()
    );
}

async fn uploads_in_parts_become_a_trailer_anyone_plays_and_seeks_in(env: Env) {
    let seeded = demo::seed(&env.app, 2, 3).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    // Over one part: the first is the part size, the last the rest.
    let file = padded_clip(9 * 1024 * 1024);
    let ready = upload(&env, &moderator, movie, "trailer", &file).await;
    assert_eq!(ready["kind"], "trailer");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["size_bytes"], file.len());
    // The clip's longest track (its sound) runs a few hundredths past 12 s.
    let duration = ready["duration_s"].as_f64().unwrap();
    assert!((12.0..12.1).contains(&duration), "{ready}");
    let (_, detail) = env.get(&format!("/movies/{movie}"), None).await;
    assert_eq!(
        detail["media"],
        json!({"trailer": true, "feature": false, "duration_s": duration})
    );

    let (status, _, played) = play(&env, None, movie, json!({"kind": "trailer"})).await;
    assert_eq!(status, StatusCode::OK, "{played}");
    assert!(played["grant_id"].is_null());
    assert_eq!(played["position_s"], 0.0);
    let url = played["url"].as_str().unwrap();
    assert!(!url.contains("sig="), "a trailer is public: {url}");

    let (status, headers, whole) = local_media(&env, Method::GET, url, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(whole, file);
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["content-type"], "video/mp4");
    let (status, headers, first) =
        local_media(&env, Method::GET, url, &[("range", "bytes=0-99")], vec![]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        headers["content-range"],
        format!("bytes 0-99/{}", file.len()).as_str()
    );
    assert_eq!(first, file[..100]);
    let (status, _, tail) =
        local_media(&env, Method::GET, url, &[("range", "bytes=-10")], vec![]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail, file[file.len() - 10..]);
    let past = format!("bytes={}-", file.len());
    let (status, headers, _) =
        local_media(&env, Method::GET, url, &[("range", &past)], vec![]).await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        headers["content-range"],
        format!("bytes */{}", file.len()).as_str()
    );
    // No media of a kind: 404.
    let (status, _, body) = play(&env, None, &seeded.movies[1], json!({"kind": "trailer"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

async fn a_feature_plays_for_its_buyers_and_the_staff_only(env: Env) {
    let seeded = demo::seed(&env.app, 1, 4).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    let ready = upload(&env, &moderator, movie, "feature", &clip()).await;
    let (buyer, buyer_id, _) = env.account("buyer", Role::User).await;
    let (other, _, _) = env.account("other", Role::User).await;
    let feature = json!({"kind": "feature"});

    let (status, _, body) = play(&env, None, movie, feature.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _, body) = play(&env, Some(&other), movie, feature.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_purchased"))
    );
    buy(&env, &buyer_id, movie).await;
    let (status, _, played) = play(&env, Some(&buyer), movie, feature.clone()).await;
    assert_eq!(status, StatusCode::OK, "{played}");
    let url = played["url"].as_str().unwrap();
    assert!(
        !url.contains(&buyer_id) && !url.contains(&buyer),
        "the URL names no user: {url}"
    );
    let now = env.app.clock.now().unix_timestamp();
    let expires_at = played["expires_at"].as_i64().unwrap();
    assert_eq!(
        expires_at,
        marquee::watching::playback::url_expiry(
            now,
            ready["duration_s"].as_f64().unwrap(),
            marquee::config::MAX_PLAYBACK_URL_SECS
        )
    );
    let (status, _, bytes) =
        local_media(&env, Method::GET, url, &[("range", "bytes=0-")], vec![]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(bytes, clip());
    let (status, _, body) = play(&env, Some(&moderator), movie, feature.clone()).await;
    assert_eq!(status, StatusCode::OK, "staff play anything: {body}");

    // A refunded purchase gets no new grant.
    refund(&env, &buyer_id, movie).await;
    let (status, _, body) = play(&env, Some(&buyer), movie, feature).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_purchased"))
    );
}

async fn an_account_plays_three_streams_at_once_and_renews_them(env: Env) {
    let seeded = demo::seed(&env.app, 1, 5).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    upload(&env, &moderator, movie, "feature", &clip()).await;
    let (viewer, viewer_id, _) = env.account("viewer", Role::User).await;
    buy(&env, &viewer_id, movie).await;
    let feature = json!({"kind": "feature"});
    let mut grants = Vec::new();
    for _ in 0..3 {
        let (status, _, played) = play(&env, Some(&viewer), movie, feature.clone()).await;
        assert_eq!(status, StatusCode::OK, "{played}");
        grants.push(played["grant_id"].as_str().unwrap().to_string());
    }
    let (status, headers, body) = play(&env, Some(&viewer), movie, feature.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_streams"))
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=120).contains(&retry), "{retry}");
    // A live grant renews instead of opening a fourth.
    let (status, _, renewed) = play(
        &env,
        Some(&viewer),
        movie,
        json!({"kind": "feature", "grant_id": grants[0]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    assert_eq!(renewed["grant_id"], grants[0].as_str());

    // Beats keep the first grant alive past its two minutes; the others lapse.
    env.clock.advance(time::Duration::seconds(100));
    let beat = json!({"position_s": 10.0, "duration_s": 12.0, "grant_id": grants[0]});
    let (status, _, body) = env
        .send(
            Method::PUT,
            &format!("/movies/{movie}/progress"),
            Some(&viewer),
            Some(beat),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    env.clock.advance(time::Duration::seconds(100));
    for _ in 0..2 {
        let (status, _, played) = play(&env, Some(&viewer), movie, feature.clone()).await;
        assert_eq!(status, StatusCode::OK, "{played}");
    }
    let (status, _, body) = play(&env, Some(&viewer), movie, feature).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the beaten grant still holds a slot: {body}"
    );
}

async fn progress_resumes_playback_and_lists_what_to_continue(env: Env) {
    let seeded = demo::seed(&env.app, 3, 6).await.unwrap();
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    let (viewer, viewer_id, _) = env.account("viewer", Role::User).await;
    for movie in &seeded.movies[..2] {
        upload(&env, &moderator, movie, "feature", &clip()).await;
        buy(&env, &viewer_id, movie).await;
    }
    let beat = |movie: &str, position: f64| {
        let body = json!({"position_s": position, "duration_s": 12.0});
        let path = format!("/movies/{movie}/progress");
        let viewer = viewer.clone();
        let env = &env;
        async move {
            env.send(Method::PUT, &path, Some(&viewer), Some(body))
                .await
                .0
        }
    };
    assert_eq!(beat(&seeded.movies[0], 3.5).await, StatusCode::NO_CONTENT);
    env.clock.advance(time::Duration::seconds(5));
    assert_eq!(beat(&seeded.movies[1], 6.0).await, StatusCode::NO_CONTENT);

    let (status, list) = env.get("/me/continue-watching", Some(&viewer)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let listed: Vec<(&str, f64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["movie"]["id"].as_str().unwrap(),
                i["position_s"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (seeded.movies[1].as_str(), 6.0),
            (seeded.movies[0].as_str(), 3.5)
        ],
        "newest first"
    );
    let (_, _, played) = play(
        &env,
        Some(&viewer),
        &seeded.movies[0],
        json!({"kind": "feature"}),
    )
    .await;
    assert_eq!(played["position_s"], 3.5, "playback resumes");
    let (_, owned) = env.get("/me/purchases", Some(&viewer)).await;
    let position = owned["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == seeded.movies[0].as_str())
        .map(|i| i["position_s"].clone());
    assert_eq!(position, Some(json!(3.5)));

    // Watched to 95 %: finished, off the list, and the next playback starts over.
    assert_eq!(beat(&seeded.movies[0], 11.5).await, StatusCode::NO_CONTENT);
    let (_, list) = env.get("/me/continue-watching", Some(&viewer)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (_, _, played) = play(
        &env,
        Some(&viewer),
        &seeded.movies[0],
        json!({"kind": "feature"}),
    )
    .await;
    assert_eq!(played["position_s"], 0.0);

    let (status, _, body) = env
        .send(
            Method::PUT,
            &format!("/movies/{}/progress", seeded.movies[0]),
            Some(&viewer),
            Some(json!({"position_s": 20.0, "duration_s": 12.0})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _, _) = env
        .send(
            Method::PUT,
            "/movies/nope/progress",
            Some(&viewer),
            Some(json!({"position_s": 1.0, "duration_s": 12.0})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn playback_urls_lapse_and_refuse_tampering(env: Env) {
    let seeded = demo::seed(&env.app, 1, 7).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    upload(&env, &moderator, movie, "feature", &clip()).await;
    let (_, _, played) = play(&env, Some(&moderator), movie, json!({"kind": "feature"})).await;
    let url = played["url"].as_str().unwrap().to_string();
    let ok = local_media(&env, Method::GET, &url, &[("range", "bytes=0-9")], vec![])
        .await
        .0;
    assert_eq!(ok, StatusCode::PARTIAL_CONTENT);
    let tampered = url.replace("expires=", "expires=1");
    assert_eq!(
        local_media(&env, Method::GET, &tampered, &[], vec![])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let unsigned = url.split('?').next().unwrap().to_string();
    assert_eq!(
        local_media(&env, Method::GET, &unsigned, &[], vec![])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let other = url.replace("features/", "trailers/");
    assert_eq!(
        local_media(&env, Method::GET, &other, &[], vec![]).await.0,
        StatusCode::FORBIDDEN,
        "a signature names its file"
    );
    let expires_at = played["expires_at"].as_i64().unwrap();
    env.clock.advance(time::Duration::seconds(
        expires_at - env.app.clock.now().unix_timestamp(),
    ));
    let (status, _, body) =
        local_media(&env, Method::GET, &url, &[("range", "bytes=0-9")], vec![]).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
}

async fn uploads_are_refused_with_clear_problems(env: Env) {
    let seeded = demo::seed(&env.app, 2, 8).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    let (viewer, _, _) = env.account("viewer", Role::User).await;
    let path = format!("/movies/{movie}/media/feature/uploads");
    let (status, body) = env
        .post(
            &path,
            Some(&moderator),
            json!({"content_type": "text/plain", "size_bytes": 10}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("not_video"))
    );
    let (status, body) = env
        .post(
            &path,
            Some(&moderator),
            json!({"content_type": "video/mp4", "size_bytes": 30u64 << 30}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("file_too_large"))
    );
    let (status, _) = env
        .post(
            &path,
            Some(&viewer),
            json!({"content_type": "video/mp4", "size_bytes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = env
        .post(
            "/movies/nope/media/feature/uploads",
            Some(&moderator),
            json!({"content_type": "video/mp4", "size_bytes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = env
        .post(
            &format!("/movies/{movie}/media/poster/uploads"),
            Some(&moderator),
            json!({"content_type": "video/mp4", "size_bytes": 10}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Two parts announced: listing one is refused; a part never PUT is a conflict.
    let file = padded_clip(9 * 1024 * 1024);
    let (_, started) = start_upload(&env, &moderator, movie, "feature", file.len()).await;
    let upload_id = started["upload_id"].as_str().unwrap();
    let first = started["parts"][0]["url"].as_str().unwrap();
    let (_, etag) = put_part(
        &env,
        first,
        file[..started["part_size"].as_u64().unwrap() as usize].to_vec(),
    )
    .await;
    let one = json!([{"number": 1, "etag": etag.clone().unwrap()}]);
    let (status, body) = complete(&env, &moderator, movie, "feature", upload_id, one).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let both = json!([{"number": 1, "etag": etag.unwrap()}, {"number": 2, "etag": "\"0123\""}]);
    let (status, body) = complete(&env, &moderator, movie, "feature", upload_id, both).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("parts_not_uploaded")),
        "{body}"
    );
    // Another movie's upload is not this one's.
    let (status, _) = complete(
        &env,
        &moderator,
        &seeded.movies[1],
        "feature",
        upload_id,
        json!([{"number": 1, "etag": "x"}]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // What arrives is checked: not an MP4, or an MP4 that cannot start at once.
    let not_video = b"#!/bin/sh\necho this is not a movie\n".to_vec();
    let (status, body) = try_upload(&env, &moderator, movie, not_video.len(), &not_video).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("not_video")),
        "{body}"
    );
    let slow = not_faststart();
    let (status, body) = try_upload(&env, &moderator, movie, slow.len(), &slow).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("faststart"),
        "{body}"
    );
    // A size other than announced.
    let (status, body) = try_upload(&env, &moderator, movie, clip().len() + 5, &clip()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("size_mismatch")),
        "{body}"
    );
    let (_, detail) = env.get(&format!("/movies/{movie}"), None).await;
    assert_eq!(
        detail["media"]["feature"], false,
        "nothing refused became the feature"
    );
}

async fn replaced_removed_and_abandoned_media_leave_no_files(env: Env) {
    use marquee::catalog::media::MediaKind;
    let seeded = demo::seed(&env.app, 2, 9).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    upload(&env, &moderator, movie, "feature", &clip()).await;
    let first = object_of(&env, movie, MediaKind::Feature).await.unwrap();
    upload(&env, &moderator, movie, "feature", &padded_clip(1000)).await;
    let second = object_of(&env, movie, MediaKind::Feature).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(
        stored_size(&env, &first).await,
        None,
        "the replaced file is gone"
    );
    assert_eq!(
        stored_size(&env, &second).await,
        Some(clip().len() as u64 + 1008)
    );

    let (status, _, _) = env
        .send(
            Method::DELETE,
            &format!("/movies/{movie}/media/feature"),
            Some(&moderator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored_size(&env, &second).await, None);
    let (_, detail) = env.get(&format!("/movies/{movie}"), None).await;
    assert_eq!(detail["media"]["feature"], false);
    let (status, _, _) = env
        .send(
            Method::DELETE,
            &format!("/movies/{movie}/media/feature"),
            Some(&moderator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An aborted upload is gone; a lapsed one the sweep aborts.
    let (_, started) = start_upload(&env, &moderator, movie, "trailer", 100).await;
    let upload_id = started["upload_id"].as_str().unwrap();
    let path = format!("/movies/{movie}/media/trailer/uploads/{upload_id}");
    let (status, _, _) = env
        .send(Method::DELETE, &path, Some(&moderator), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = complete(
        &env,
        &moderator,
        movie,
        "trailer",
        upload_id,
        json!([{"number": 1, "etag": "x"}]),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, lapsing) = start_upload(&env, &moderator, movie, "trailer", 100).await;
    let lapsing_key = marquee::watching::media::upload_key(lapsing["upload_id"].as_str().unwrap());
    env.clock.advance(time::Duration::hours(25));
    sweep(&env).await;
    assert!(
        env.app.table.get(&lapsing_key).await.unwrap().is_none(),
        "the lapsed upload is gone"
    );

    // A deleted movie's files go with it.
    let (moderator, _, _) = env.account("mod2", Role::Moderator).await;
    let other = &seeded.movies[1];
    upload(&env, &moderator, other, "trailer", &clip()).await;
    let trailer = object_of(&env, other, MediaKind::Trailer).await.unwrap();
    let (status, _, body) = env
        .send(
            Method::DELETE,
            &format!("/movies/{other}"),
            Some(&moderator),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        stored_size(&env, &trailer).await,
        Some(clip().len() as u64),
        "removed by the sweep"
    );
    sweep(&env).await;
    assert_eq!(stored_size(&env, &trailer).await, None);
}

async fn a_completion_cut_short_after_the_store_joined_the_parts_completes_again(env: Env) {
    let seeded = demo::seed(&env.app, 1, 10).await.unwrap();
    let movie = &seeded.movies[0];
    let (moderator, _, _) = env.account("mod", Role::Moderator).await;
    let file = clip();
    let (_, started) = start_upload(&env, &moderator, movie, "trailer", file.len()).await;
    let parts = put_parts(&env, &started, &file).await;
    // The store joins the parts, then the request dies before recording the file.
    let upload_id = started["upload_id"].as_str().unwrap();
    let item = env
        .app
        .table
        .get(&marquee::watching::media::upload_key(upload_id))
        .await
        .unwrap()
        .unwrap();
    let upload: marquee::watching::media::Upload =
        marquee::store::from_entity_item("upload", item).unwrap();
    let joined = vec![marquee::watching::store::UploadedPart {
        number: 1,
        etag: parts[0]["etag"].as_str().unwrap().to_string(),
    }];
    let stores = marquee::watching::stores(&env.app).unwrap();
    stores
        .store
        .complete_upload(&upload.object, &upload.store_upload, &joined)
        .await
        .unwrap();
    let (status, ready) = complete(&env, &moderator, movie, "trailer", upload_id, parts).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    let (_, detail) = env.get(&format!("/movies/{movie}"), None).await;
    assert_eq!(detail["media"]["trailer"], true);
}

support::on_both_backends!(
    a_completion_cut_short_after_the_store_joined_the_parts_completes_again,
    uploads_in_parts_become_a_trailer_anyone_plays_and_seeks_in,
    a_feature_plays_for_its_buyers_and_the_staff_only,
    an_account_plays_three_streams_at_once_and_renews_them,
    progress_resumes_playback_and_lists_what_to_continue,
    playback_urls_lapse_and_refuse_tampering,
    uploads_are_refused_with_clear_problems,
    replaced_removed_and_abandoned_media_leave_no_files,
);
