//! Request extractors whose rejections are problem+json, so a malformed body, a wrong
//! content type, an oversized body or a bad path/query answer like every other error.

use super::problem::Problem;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// The largest request body any route accepts.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// A JSON request body: an object (see [`super::body`]), sent as `application/json` or
/// another `+json` type such as `application/merge-patch+json`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !is_json(req.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Problem::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "The body is too large",
                    )
                    .detail(format!("At most {BODY_LIMIT_BYTES} bytes are accepted"))
                } else {
                    Problem::bad_request("The body could not be read")
                }
            })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            let what = if e.is_eof() {
                "The body ends before its JSON does"
            } else {
                "The body is not valid JSON"
            };
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "The body is not valid JSON",
            )
            .detail(format!("{what} (line {}, column {})", e.line(), e.column()))
        })?;
        super::body::read(value)
            .map(Json)
            .map_err(Problem::validation)
    }
}

/// `application/json`, or a type with the `+json` suffix.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(mime) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// The longest path parameter that can name anything (ids are 26-character ULIDs): a
/// longer one is an id of nothing, answered 404 before any key is built from it (the
/// table refuses keys past its size limit, and that refusal is not the caller's answer).
pub const MAX_PATH_PARAM_LEN: usize = 128;

/// Path parameters.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && raw
                .iter()
                .any(|(_, value)| value.len() > MAX_PATH_PARAM_LEN)
        {
            return Err(Problem::not_found("No such item"));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e: PathRejection| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_path",
                    "Invalid path parameter",
                )
                .detail(e.body_text())
            })
    }
}

/// Query-string parameters. Every refusal, of a value that does not parse or of one the
/// route finds out of range, is 400 `invalid_query` naming the parameter
/// ([`Problem::invalid_query`]).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = form_urlencoded::parse(query.as_bytes());
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let mut error = super::body::in_our_words(&path, &e.inner().to_string());
                if error.field == "body" {
                    error.field = "query".into();
                }
                error.message = error.message.replace("known field", "known parameter");
                Problem::invalid_query(vec![error])
            })
    }
}
