//! Cross-origin calls from browser clients on another origin (the web client). The same
//! policy is declared on the deployed HTTP API (`CorsConfiguration`, generated from these
//! constants) and applied by the router, so the local server answers preflights as API
//! Gateway does.

use axum::http::{HeaderName, HeaderValue, Method};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
/// The request headers the API reads.
pub const ALLOWED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "x-request-id",
];
/// The response headers a client script may read.
pub const EXPOSED_HEADERS: &[&str] = &["etag", "location", "retry-after", "x-request-id"];
/// How long a browser may keep a preflight's answer.
pub const MAX_AGE_SECS: u64 = 600;

/// `scheme://host[:port]` of a URL, as browsers send it in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The layer for `origins` (exact matches; no wildcard, since requests carry tokens).
/// Credentials are allowed for them: a provider sign-in's login code is traded with the
/// cookie of the browser that started it (`credentials: 'include'` from a client of the
/// same site).
pub fn layer(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods(
            METHODS
                .iter()
                .filter_map(|m| m.parse::<Method>().ok())
                .collect::<Vec<_>>(),
        )
        .allow_headers(
            ALLOWED_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .expose_headers(
            EXPOSED_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .allow_credentials(true)
        .max_age(Duration::from_secs(MAX_AGE_SECS))
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(
            super::origin_of("https://cinema.example/app/").as_deref(),
            Some("https://cinema.example")
        );
        assert_eq!(
            super::origin_of("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(super::origin_of("not a url"), None);
    }
}
