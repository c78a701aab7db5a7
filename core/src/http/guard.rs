//! The role guard: every route's minimum role, from the route table, checked before its
//! handler runs.

use super::problem::Problem;
use crate::role::Role;

/// Who a route is open to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Signed in with at least this role.
    AtLeast(Role),
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::AtLeast(role) => role.as_str(),
        }
    }
}

/// The authenticated caller of a request, set by authentication before the guard runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub role: Role,
    pub session_id: String,
    /// When the caller's session signed in (epoch seconds): sensitive changes ask for the
    /// password again once it is old.
    pub auth_time: i64,
    /// Where this request came from (for the security log).
    pub origin: Origin,
}

/// Where a request came from, as recorded on sessions and security events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// The address the request came from, as the platform saw the connection: API Gateway's
/// `sourceIp` in the request context (the Lambda glue sets it), or the local server's
/// peer address. Headers such as `X-Forwarded-For` are never trusted for it: a client
/// writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl Origin {
    /// From the request: its `User-Agent` and the [`ClientIp`] the platform set; values are
    /// cut to 256 characters.
    pub fn of(headers: &axum::http::HeaderMap, extensions: &axum::http::Extensions) -> Self {
        let cut = |v: &str| v.chars().take(256).collect::<String>();
        Self {
            user_agent: headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(cut),
            ip: extensions.get::<ClientIp>().map(|ip| cut(&ip.0)),
        }
    }
}

/// Public routes that record security events take the origin on its own.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.headers, &parts.extensions))
    }
}

/// Handlers name the caller by extracting a `Principal`; the role guard has put it there.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(Problem::unauthorized)
    }
}

/// 401 when a signed-in caller is needed and there is none; 403 when the role is too low.
pub fn authorize(access: Access, caller: Option<&Principal>) -> Result<(), Problem> {
    match (access, caller) {
        (Access::Public, _) => Ok(()),
        (Access::AtLeast(_), None) => Err(Problem::unauthorized()),
        (Access::AtLeast(min), Some(p)) if p.role >= min => Ok(()),
        (Access::AtLeast(_), Some(_)) => Err(Problem::forbidden()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn caller(role: Role) -> Principal {
        Principal {
            user_id: "u".into(),
            role,
            session_id: "s".into(),
            auth_time: 0,
            origin: Origin::default(),
        }
    }

    #[test]
    fn roles_are_ordered_and_checked() {
        assert!(authorize(Access::Public, None).is_ok());
        assert_eq!(
            authorize(Access::AtLeast(Role::User), None)
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED
        );
        assert!(authorize(Access::AtLeast(Role::User), Some(&caller(Role::User))).is_ok());
        assert!(authorize(Access::AtLeast(Role::Moderator), Some(&caller(Role::Admin))).is_ok());
        assert_eq!(
            authorize(Access::AtLeast(Role::Moderator), Some(&caller(Role::User)))
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            authorize(Access::AtLeast(Role::Admin), Some(&caller(Role::Moderator)))
                .unwrap_err()
                .status,
            StatusCode::FORBIDDEN
        );
    }
}
