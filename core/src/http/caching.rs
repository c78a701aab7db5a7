//! What browsers and the CDN may keep. A public read's success carries `Cache-Control`
//! (the route's [`Caching`]) and a strong `ETag` computed from its bytes, and a request
//! naming that tag in `If-None-Match` is answered 304 without a body; every other answer
//! that says nothing of its own is `private, no-store`. The local server also keeps
//! public answers in process until the table changes ([`Kept`]).

use crate::route::Caching;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The largest answer given an ETag; larger ones go out unvalidated (none is near it).
const MAX_TAGGED_BYTES: usize = 4 << 20;

/// Answers of public reads kept in process, as a CDN keeps them deployed: each is good for
/// its route's `s-maxage` and only while the table has committed nothing since it was
/// made (`Table::commits`), so a kept answer is never older than the data. The local
/// server turns it on (`Config::keep_public_answers`) on the embedded backend.
pub struct Kept {
    table: std::sync::Arc<dyn crate::store::Table>,
    answers: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<KeptAnswer>>>,
}

struct KeptAnswer {
    commits: u64,
    made: std::time::Instant,
    tag: HeaderValue,
    content_type: Option<HeaderValue>,
    body: axum::body::Bytes,
}

/// Answers kept at most; past it the store starts again (a cache of list pages, not a
/// second database).
const KEPT_ANSWERS: usize = 2_000;

impl Kept {
    /// `None` when the table cannot say whether it changed.
    pub fn over(table: std::sync::Arc<dyn crate::store::Table>) -> Option<std::sync::Arc<Self>> {
        table.commits()?;
        Some(std::sync::Arc::new(Self {
            table,
            answers: Default::default(),
        }))
    }

    fn fresh(&self, key: &str, caching: Caching) -> Option<std::sync::Arc<KeptAnswer>> {
        let Caching::Public { shared_max_age, .. } = caching else {
            return None;
        };
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        let answer = answers.get(key)?;
        let good = Some(answer.commits) == self.table.commits()
            && answer.made.elapsed().as_secs() < u64::from(shared_max_age);
        good.then(|| answer.clone())
    }

    fn keep(&self, key: String, answer: KeptAnswer) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() >= KEPT_ANSWERS {
            answers.clear();
        }
        answers.insert(key, std::sync::Arc::new(answer));
    }
}

/// The per-route step for a public read.
pub async fn public(
    caching: Caching,
    kept: Option<std::sync::Arc<Kept>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let control = HeaderValue::from_str(&caching.header()).expect("a Cache-Control value is ASCII");
    // Only where answers are kept (the local server): a function keeps none.
    let key = kept
        .as_ref()
        .map(|_| format!("{} {}", request.method(), request.uri()));
    let fresh = kept.as_ref().zip(key.as_deref());
    if let Some(answer) = fresh.and_then(|(k, key)| k.fresh(key, caching)) {
        let current = answer.tag.to_str().unwrap_or("");
        if if_none_match.is_some_and(|v| matches(&v, current)) {
            return not_modified(answer.tag.clone(), control);
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, answer.tag.clone());
        headers.insert(header::CACHE_CONTROL, control);
        if let Some(content_type) = &answer.content_type {
            headers.insert(header::CONTENT_TYPE, content_type.clone());
        }
        return (headers, answer.body.clone()).into_response();
    }
    // Taken before the handler reads: a write committed meanwhile makes the kept answer
    // stale at once.
    let commits = kept.as_ref().and_then(|k| k.table.commits());
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_TAGGED_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(error = %e, "an answer too large to tag went out empty");
            return crate::http::problem::Problem::internal().into_response();
        }
    };
    let tag = entity_tag(
        parts
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok()),
        &bytes,
    );
    let tag_value = HeaderValue::from_str(&tag).expect("an entity tag is ASCII");
    parts.headers.insert(header::ETAG, tag_value.clone());
    parts.headers.insert(header::CACHE_CONTROL, control.clone());
    if let (Some(kept), Some(key), Some(commits)) = (&kept, key, commits) {
        kept.keep(
            key,
            KeptAnswer {
                commits,
                made: std::time::Instant::now(),
                tag: tag_value.clone(),
                content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
                body: bytes.clone(),
            },
        );
    }
    if if_none_match.is_some_and(|v| matches(&v, &tag)) {
        return not_modified(tag_value, control);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// 304: the client's copy, named by `tag`, is current.
fn not_modified(tag: HeaderValue, control: HeaderValue) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::ETAG, tag);
    headers.insert(header::CACHE_CONTROL, control);
    (StatusCode::NOT_MODIFIED, headers).into_response()
}

/// The outermost step: an answer that set no `Cache-Control` is kept by nobody.
pub async fn private_by_default(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}

/// A strong tag of the bytes (16 hex digits of their SHA-256). A record's read already
/// tagged with its version keeps the version first (`"<version>.<digest>"`), so the tag
/// still names the version an `If-Match` may quote.
pub fn entity_tag(version_tag: Option<&str>, bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = crate::secret::hex(&Sha256::digest(bytes)[..8]);
    match version_tag.map(|t| t.trim_matches('"')) {
        Some(version) if !version.is_empty() => format!("\"{version}.{digest}\""),
        _ => format!("\"{digest}\""),
    }
}

/// Whether `If-None-Match` names `tag` (or is `*`); weak tags compare by their opaque
/// part, as RFC 9110 asks of this header.
fn matches(if_none_match: &HeaderValue, tag: &str) -> bool {
    let Ok(listed) = if_none_match.to_str() else {
        return false;
    };
    listed.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_follows_the_bytes_and_keeps_a_version_first() {
        let a = entity_tag(None, b"{\"a\":1}");
        assert_eq!(a, entity_tag(None, b"{\"a\":1}"));
        assert_ne!(a, entity_tag(None, b"{\"a\":2}"));
        assert!(
            a.starts_with('"') && a.ends_with('"') && a.len() == 18,
            "{a}"
        );
        let versioned = entity_tag(Some("\"7\""), b"x");
        assert!(versioned.starts_with("\"7."), "{versioned}");
    }

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_a_star() {
        let tag = "\"abc\"";
        for listed in ["\"abc\"", "\"x\", \"abc\"", "W/\"abc\"", "*"] {
            assert!(matches(&HeaderValue::from_static(listed), tag), "{listed}");
        }
        for listed in ["\"abcd\"", "abc", ""] {
            assert!(!matches(&HeaderValue::from_static(listed), tag), "{listed}");
        }
    }
}
