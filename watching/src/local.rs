//! What the local server serves beside the API for media: the part URLs of the local
//! store (`PUT /media-parts/{upload}/{number}`) and the playback URLs of the local signer
//! (`GET /media/{object}`), which a browser `<video>` plays and seeks in: Range requests
//! answer 206 with `Content-Range`, a range past the end 416, an expired or tampered URL
//! 403. Deployed, S3 takes the parts and CloudFront serves the files; neither is here.

use crate::signing::MEDIA_ROUTE;
use crate::store::{MediaError, PART_ROUTE};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use marquee_core::App;
use marquee_core::http::problem::Problem;
use serde::Deserialize;

/// A part's largest size the local server takes (parts are 8 MiB for files up to 8 GiB).
const MAX_PART_BYTES: usize = 64 * 1024 * 1024;
/// A response's body comes in chunks of this size, each one read of the store.
const CHUNK_BYTES: u64 = 1024 * 1024;

/// The routes, for the local server to merge.
pub fn router(app: App) -> axum::Router {
    axum::Router::new()
        .route(
            &format!("{PART_ROUTE}/{{upload}}/{{number}}"),
            axum::routing::put(put_part)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_PART_BYTES)),
        )
        .route(
            &format!("{MEDIA_ROUTE}/{{*object}}"),
            axum::routing::get(serve),
        )
        .with_state(app)
}

#[derive(Debug, Deserialize)]
pub struct Signed {
    expires: Option<i64>,
    sig: Option<String>,
}

fn refused() -> Response {
    Problem::forbidden()
        .detail("This media URL has expired or is not valid; ask for a new one")
        .into_response()
}

async fn put_part(
    State(app): State<App>,
    Path((upload, number)): Path<(String, u32)>,
    Query(signed): Query<Signed>,
    body: Bytes,
) -> Response {
    let stores = match crate::stores(&app) {
        Ok(stores) => stores,
        Err(problem) => return problem.into_response(),
    };
    let Some(store) = &stores.local_store else {
        return Problem::not_found("Parts go to the media store's own URLs").into_response();
    };
    let now = app.clock.now().unix_timestamp();
    let (Some(expires), Some(sig)) = (signed.expires, signed.sig.as_deref()) else {
        return refused();
    };
    if !store.part_url_valid(&upload, number, expires, sig, now) {
        return refused();
    }
    match store.write_part(&upload, number, &body).await {
        Ok(etag) => {
            let mut response = StatusCode::OK.into_response();
            if let Ok(value) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(header::ETAG, value);
            }
            response
        }
        Err(MediaError::NoSuchUpload) => {
            Problem::not_found("No such upload (completed, aborted or lapsed)").into_response()
        }
        Err(e) => crate::media::store_problem(e).into_response(),
    }
}

async fn serve(
    State(app): State<App>,
    Path(object): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
) -> Response {
    let (stores, signers) = match (crate::stores(&app), crate::signers(&app)) {
        (Ok(stores), Ok(signers)) => (stores, signers),
        (Err(problem), _) | (_, Err(problem)) => return problem.into_response(),
    };
    let Some(signer) = &signers.local_signer else {
        return Problem::not_found("Media play from the CDN's URLs").into_response();
    };
    let now = app.clock.now().unix_timestamp();
    if !crate::media::is_object_name(&object)
        || !signer.allows(&object, signed.expires, signed.sig.as_deref(), now)
    {
        return refused();
    }
    let size = match stores.store.size(&object).await {
        Ok(Some(size)) => size,
        Ok(None) => return Problem::not_found("No such file").into_response(),
        Err(e) => return crate::media::store_problem(e).into_response(),
    };
    let range = match headers.get(header::RANGE).map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => match http_range_header::parse_range_header(text)
            .and_then(|parsed| parsed.validate(size))
        {
            // One range is what players ask for; several are answered whole.
            Ok(ranges) if ranges.len() == 1 => Some(ranges[0].clone()),
            Ok(_) => None,
            Err(_) => return unsatisfiable(size),
        },
        Some(Err(_)) => return unsatisfiable(size),
    };
    let (status, start, end) = match range {
        Some(range) if size > 0 => (StatusCode::PARTIAL_CONTENT, *range.start(), *range.end()),
        Some(_) => return unsatisfiable(size),
        None => (StatusCode::OK, 0, size.saturating_sub(1)),
    };
    let len = if size == 0 { 0 } else { end - start + 1 };
    let mut response = Response::new(body_of(stores.store.clone(), object.clone(), start, len));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::media::CONTENT_TYPE),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    // A file never changes under its name: a browser may keep it, a signed one no longer
    // than its URL lives.
    let cache = match signed.expires {
        Some(expires) => format!("private, max-age={}", (expires - now).max(0)),
        None => "public, max-age=3600".to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&cache) {
        h.insert(header::CACHE_CONTROL, value);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, value);
    }
    response
}

fn unsatisfiable(size: u64) -> Response {
    let mut response = Problem::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
        "Range not satisfiable",
    )
    .detail(format!("The file has {size} bytes"))
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// `len` bytes from `start`, read from the store a chunk at a time as the client takes them.
fn body_of(
    store: std::sync::Arc<dyn crate::store::MediaStore>,
    object: String,
    start: u64,
    len: u64,
) -> Body {
    let chunks = futures_util::stream::unfold(0u64, move |sent| {
        let store = store.clone();
        let object = object.clone();
        async move {
            if sent >= len {
                return None;
            }
            let take = CHUNK_BYTES.min(len - sent);
            match store.read(&object, start + sent, take).await {
                Ok(bytes) if !bytes.is_empty() => {
                    let n = bytes.len() as u64;
                    Some((Ok::<_, std::io::Error>(Bytes::from(bytes)), sent + n))
                }
                Ok(_) => Some((Err(std::io::Error::other("the file ended early")), len)),
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), len)),
            }
        }
    });
    Body::from_stream(chunks)
}
