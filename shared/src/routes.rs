//! The route table: the single source of truth for every HTTP route. The local server's
//! router, each Lambda binary, the SAM functions and their events, the `cargo lambda watch`
//! router, the OpenAPI document and the authorisation checks are derived from it or
//! checked against it by tests.

use crate::app::App;
use crate::auth::keys::JwkSet;
use crate::http::guard::{Access, Principal, authorize};
use crate::system;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, on};
use std::borrow::Cow;
use utoipa::ToSchema;
use utoipa::openapi::ComponentsBuilder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// What a route's function may touch in AWS; its IAM policy grants exactly these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    TableRead,
    TableWrite,
    SendMail,
    SendQueue,
    /// The private key that signs access tokens.
    SigningKey,
}

/// A JSON body documented in the OpenAPI document.
#[derive(Clone, Copy)]
pub struct Body {
    pub name: fn() -> Cow<'static, str>,
    pub register: fn(ComponentsBuilder) -> ComponentsBuilder,
}

pub const fn body<T: ToSchema>() -> Option<Body> {
    Some(Body {
        name: T::name,
        register: ComponentsBuilder::schema_from::<T>,
    })
}

#[derive(Clone, Copy)]
pub struct Route {
    /// Also the Lambda binary and SAM function name.
    pub name: &'static str,
    pub method: Method,
    /// API Gateway syntax: `/movies/{id}`.
    pub path: &'static str,
    pub access: Access,
    /// The feature the route belongs to (an OpenAPI tag).
    pub tag: &'static str,
    pub summary: &'static str,
    /// The status of a successful answer.
    pub status: u16,
    /// The media type of a successful answer.
    pub media: &'static str,
    pub request: Option<Body>,
    pub response: Option<Body>,
    pub needs: &'static [Need],
    pub handler: fn(MethodFilter) -> MethodRouter<App>,
}

impl Route {
    /// Path parameter names, in order.
    pub fn params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }
}

const JSON: &str = "application/json";

pub static ROUTES: &[Route] = &[
    Route {
        name: "health",
        method: Method::Get,
        path: "/health",
        access: Access::Public,
        tag: "system",
        summary: "Liveness and version",
        status: 200,
        media: JSON,
        request: None,
        response: body::<system::Health>(),
        needs: &[],
        handler: |m| on(m, system::health),
    },
    Route {
        name: "openapi",
        method: Method::Get,
        path: "/openapi.json",
        access: Access::Public,
        tag: "system",
        summary: "OpenAPI 3.1 document of every route",
        status: 200,
        media: JSON,
        request: None,
        response: None,
        needs: &[],
        handler: |m| on(m, system::openapi),
    },
    Route {
        name: "docs",
        method: Method::Get,
        path: "/docs",
        access: Access::Public,
        tag: "system",
        summary: "Human-readable API documentation",
        status: 200,
        media: "text/html",
        request: None,
        response: None,
        needs: &[],
        handler: |m| on(m, system::docs),
    },
    Route {
        name: "jwks",
        method: Method::Get,
        path: "/.well-known/jwks.json",
        access: Access::Public,
        tag: "system",
        summary: "Public keys that verify access tokens",
        status: 200,
        media: JSON,
        request: None,
        response: body::<JwkSet>(),
        needs: &[],
        handler: |m| on(m, system::jwks),
    },
];

pub fn find(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

/// The API router with the routes `keep` selects (all of them locally; one in a Lambda).
pub fn router(app: App, keep: impl Fn(&Route) -> bool) -> Router {
    router_for(app, ROUTES.iter().filter(|r| keep(r)))
}

/// The API router over any routes, each behind the role guard its table entry names.
pub fn router_for<'a>(app: App, routes: impl IntoIterator<Item = &'a Route>) -> Router {
    let mut api = Router::new();
    for route in routes {
        let mut handler = (route.handler)(route.method.filter());
        if route.access != Access::Public {
            let access = route.access;
            handler = handler.route_layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                    let caller = req.extensions().get::<Principal>();
                    match authorize(access, caller) {
                        Ok(()) => next.run(req).await,
                        Err(problem) => problem.into_response(),
                    }
                },
            ));
        }
        api = api.route(route.path, handler);
    }
    crate::http::serve(api, app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_method_paths_are_unique_and_well_formed() {
        let mut names = HashSet::new();
        let mut endpoints = HashSet::new();
        for r in ROUTES {
            assert!(names.insert(r.name), "duplicate route name {}", r.name);
            assert!(
                endpoints.insert((r.method, r.path)),
                "duplicate endpoint {} {}",
                r.method.as_str(),
                r.path
            );
            assert!(
                r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "route name {} must be kebab-case",
                r.name
            );
            assert!(r.path.starts_with('/'), "{} path must start with /", r.name);
            assert!(!r.summary.is_empty(), "{} needs a summary", r.name);
        }
    }

    #[test]
    fn path_parameters_are_read_from_the_path() {
        let route = Route {
            path: "/movies/{id}/comments/{comment_id}",
            ..*find("health").unwrap()
        };
        assert_eq!(route.params(), vec!["id", "comment_id"]);
    }
}
