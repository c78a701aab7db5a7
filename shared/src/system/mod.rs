//! System routes: health, the OpenAPI document, the docs page and the JWK set.

mod openapi;

pub use marquee_core::pages;

pub use openapi::document;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use marquee_core::app::App;
use marquee_core::keys::JwkSet;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    /// Server time, RFC 3339.
    pub time: String,
}

pub async fn health(State(app): State<App>) -> axum::Json<Health> {
    let now = app.clock.now();
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        time: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    })
}

/// The OpenAPI document, as `marquee-gen` wrote it from the route table (`openapi.json`
/// beside this file; a test fails when it is out of date). Built ahead, the `openapi`
/// function serves it without holding the handlers and schemas it describes.
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.trim_end(),
    )
}

/// The generated document: [`document`] serialised.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// The document as `marquee-gen` writes it.
pub fn document_json() -> String {
    let mut json = serde_json::to_string(&document()).expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// A self-contained page (no CDN, works offline) that renders `/openapi.json`, with the
/// same headers as every page.
pub async fn docs() -> axum::response::Response {
    pages::html(
        axum::http::StatusCode::OK,
        include_str!("docs.html").to_string(),
        &[],
    )
}

pub async fn jwks(State(app): State<App>) -> impl IntoResponse {
    let keys: JwkSet = app.keys.jwks();
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(keys),
    )
}
