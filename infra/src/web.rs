//! The viewer web app (`web/`), served by the local server at `/`: its files are built into
//! the binary, so `cargo run` serves it on a fresh clone with no other tool. Deployed, the
//! same files sit in a bucket behind the API's CloudFront distribution, under the same
//! headers ([`content_security_policy`] is the template's policy too).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A file of `web/`, built into the binary.
macro_rules! web_file {
    ($path:literal, $content_type:expr) => {
        (
            $path,
            $content_type,
            include_str!(concat!("../../web/", $path)),
        )
    };
}

/// Every file of the app: its path under `web/`, its content type, its bytes.
pub static FILES: &[(&str, &str, &str)] = &[
    web_file!("index.html", HTML),
    web_file!("favicon.svg", SVG),
    web_file!("app/app.css", CSS),
    web_file!("app/api.js", JS),
    web_file!("app/dom.js", JS),
    web_file!("app/main.js", JS),
    web_file!("app/screens/account.js", JS),
    web_file!("app/screens/admin.js", JS),
    web_file!("app/screens/browse.js", JS),
    web_file!("app/screens/cards.js", JS),
    web_file!("app/screens/cinemas.js", JS),
    web_file!("app/screens/home.js", JS),
    web_file!("app/screens/library.js", JS),
    web_file!("app/screens/manage.js", JS),
    web_file!("app/screens/movie.js", JS),
    web_file!("app/screens/names.js", JS),
    web_file!("app/screens/player.js", JS),
    web_file!("app/screens/security.js", JS),
    web_file!("app/screens/shop.js", JS),
];

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// The app's policy: its own scripts and styles only (no inline script, nothing from another
/// origin), calls to its own origin, media from its own origin and `media_origins` (the
/// media CDN deployed, the S3 endpoint uploads go to), no framing.
pub fn content_security_policy(media_origins: &[&str]) -> String {
    let media = std::iter::once("'self'")
        .chain(media_origins.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         media-src {media}; connect-src {media}; form-action 'self'; base-uri 'none'; \
         frame-ancestors 'none'; manifest-src 'self'"
    )
}

/// `/` and `/app/…`, with the app's headers.
pub fn router(media_origins: &[&str]) -> axum::Router {
    let policy = HeaderValue::from_str(&content_security_policy(media_origins))
        .expect("the policy is ASCII");
    let index_policy = policy.clone();
    axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move { file("index.html", index_policy) }),
        )
        .route(
            "/favicon.svg",
            axum::routing::get({
                let policy = policy.clone();
                move || async move { file("favicon.svg", policy) }
            }),
        )
        // What a browser asks for on pages without an icon of their own (the API's pages).
        .route(
            "/favicon.ico",
            axum::routing::get({
                let policy = policy.clone();
                move || async move { file("favicon.svg", policy) }
            }),
        )
        .route(
            "/app/{*path}",
            axum::routing::get(move |Path(path): Path<String>| async move {
                file(&format!("app/{path}"), policy)
            }),
        )
}

fn file(path: &str, policy: HeaderValue) -> Response {
    let Some((_, content_type, body)) = FILES.iter().find(|(name, _, _)| *name == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    // Revalidated on every load, so a new build shows at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to `web/` and not listed would be missing from the served app.
    #[test]
    fn every_file_of_the_app_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                let name = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if path.is_dir() {
                    folders.push(path);
                } else if name.starts_with("app/")
                    || !name.contains('/')
                        && name != ".gitignore"
                        && !name.ends_with(".json")
                        && !name.ends_with(".ts")
                {
                    on_disk.push(name);
                }
            }
        }
        on_disk.sort();
        let mut served: Vec<String> = FILES.iter().map(|(name, _, _)| name.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_other_origin_by_default() {
        let policy = content_security_policy(&[]);
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(!policy.contains("http"), "{policy}");
        let with_cdn = content_security_policy(&["https://d1.cloudfront.net"]);
        assert!(
            with_cdn.contains("media-src 'self' https://d1.cloudfront.net;"),
            "{with_cdn}"
        );
    }
}
