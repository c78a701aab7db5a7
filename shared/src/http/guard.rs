//! The role guard: every route's minimum role, from the route table, checked before its
//! handler runs.

use super::problem::Problem;
use crate::accounts::Role;

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
