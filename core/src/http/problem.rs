//! RFC 9457 problem details: every error the API returns.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What a request depends on, named in its log line when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Table,
    MailQueue,
    Stripe,
    SignInProvider,
    /// The request's own time bound.
    Deadline,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::MailQueue => "mail queue",
            Self::Stripe => "stripe",
            Self::SignInProvider => "sign-in provider",
            Self::Deadline => "deadline",
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable machine code; also names the problem type.
    pub code: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
    /// The dependency whose failure this reports (for the request's log line).
    pub dependency: Option<Dependency>,
    /// RFC 9457 extension members, beside the standard ones.
    /// Boxed: problems travel in every `Result`, and most have none.
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

/// The wire form of [`Problem`].
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// A URI naming the problem type; it resolves to the API docs.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Left out when there is nothing to add to the title (RFC 9457 members are optional).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: None,
            errors: Vec::new(),
            retry_after_secs: None,
            dependency: None,
            extensions: None,
        }
    }

    /// Names the dependency that failed.
    pub fn because_of(mut self, dependency: Dependency) -> Self {
        self.dependency = Some(dependency);
        self
    }

    /// Adds an extension member (e.g. the new total of a changed order).
    pub fn with(mut self, name: &str, value: serde_json::Value) -> Self {
        self.extensions
            .get_or_insert_with(Default::default)
            .insert(name.to_string(), value);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", "Bad request").detail(detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found").detail(detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, "Conflict").detail(detail)
    }

    /// 422 listing every bad field, each once.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors: super::validate::once_per_field(errors),
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "The request has invalid fields",
            )
        }
    }

    /// 400 `invalid_query`: the query parameters named in `errors` are refused, whether
    /// they did not parse or are out of range.
    pub fn invalid_query(errors: Vec<FieldError>) -> Self {
        Self {
            errors: super::validate::once_per_field(errors),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "The query has invalid parameters",
            )
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side",
        )
    }

    /// A dependency failed for now: 503 with `Retry-After`.
    pub fn unavailable() -> Self {
        Self {
            retry_after_secs: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Temporarily unavailable, try again",
            )
        }
    }

    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            type_: format!("/docs#problem-{}", self.code),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            errors: self.errors.clone(),
            extensions: self.extensions.as_deref().cloned().unwrap_or_default(),
        }
    }
}

/// For logs and command-line tools: the title, the detail, then every field error.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        for e in &self.errors {
            write!(f, "; {} {}", e.field, e.message)?;
        }
        Ok(())
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(dependency) = self.dependency {
            response
                .extensions_mut()
                .insert(super::FailedDependency(dependency));
        }
        response
    }
}

/// Storage failures a handler did not turn into something more specific.
impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::InvalidCursor => Self::invalid_query(vec![FieldError {
                field: "cursor".into(),
                message: "is not a cursor of this list (pass next_cursor as it was answered)"
                    .into(),
            }]),
            StoreError::Conflict => Self::new(
                StatusCode::CONFLICT,
                "concurrent_update",
                "Someone else changed this at the same time; try again",
            ),
            // A guarded write the handler did not expect to fail: the record changed.
            StoreError::ConditionFailed | StoreError::TransactionCanceled { .. } => Self::new(
                StatusCode::CONFLICT,
                "concurrent_update",
                "The record changed meanwhile; reload and try again",
            ),
            StoreError::Unavailable(detail) => {
                tracing::warn!(dependency = "table", error = %detail, "table unavailable");
                Self::unavailable().because_of(Dependency::Table)
            }
            // Data the code cannot read, and requests the table refuses, are bugs: no
            // retry fixes them.
            other => {
                tracing::error!(dependency = "table", error = %other, "table operation failed");
                Self::internal().because_of(Dependency::Table)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn renders_problem_json_with_code_and_fields() {
        let problem = Problem::validation(vec![FieldError {
            field: "email".into(),
            message: "must be an email address".into(),
        }]);
        let response = problem.into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["status"], 422);
        assert_eq!(body["type"], "/docs#problem-validation_failed");
        assert_eq!(body["errors"][0]["field"], "email");
    }

    #[test]
    fn displays_title_detail_and_fields() {
        let p = Problem::validation(vec![FieldError {
            field: "password".into(),
            message: "is too short".into(),
        }]);
        assert_eq!(
            p.to_string(),
            "The request has invalid fields; password is too short"
        );
        assert_eq!(
            Problem::not_found("No such genre").to_string(),
            "Not found: No such genre"
        );
    }

    #[test]
    fn store_errors_are_503_when_a_retry_may_help_and_500_otherwise_without_details() {
        use crate::store::StoreError;
        let p = Problem::from(StoreError::Unavailable("secret detail".into()));
        assert_eq!(
            (p.status, p.retry_after_secs),
            (StatusCode::SERVICE_UNAVAILABLE, Some(1))
        );
        assert!(p.detail.is_none());
        for bug in [
            StoreError::Backend("secret detail".into()),
            StoreError::Malformed("USER#1/PROFILE: secret".into()),
            StoreError::Invalid("secret".into()),
        ] {
            let p = Problem::from(bug);
            assert_eq!(
                (p.status, p.code, p.retry_after_secs),
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            );
            assert!(p.detail.is_none());
        }
        assert_eq!(
            Problem::from(StoreError::ConditionFailed).status,
            StatusCode::CONFLICT
        );
    }
}
