//! The route table: the single source of truth for every HTTP route, joined here from the
//! feature crates' slices. The local server's router, each Lambda binary, the SAM functions
//! and their events, the `cargo lambda watch` router, the OpenAPI document and the
//! authorisation checks are derived from it or checked against it by tests.

pub use marquee_core::route::*;

use crate::system;
use Method::Get;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::on;
use marquee_accounts::auth::login::authenticate;
use marquee_core::app::App;
use marquee_core::http::guard::Access::{self, Public};
use marquee_core::http::guard::{Origin, authorize};
use marquee_core::keys::JwkSet;
use std::sync::LazyLock;

/// A feature's routes and the module that declares them, each as a constant named after
/// the route (`movies-get`: `MOVIES_GET`): a function's generated `main` names only its
/// own, so its binary links only that route's handler.
pub struct Slice {
    pub module: &'static str,
    pub routes: &'static [Route],
}

/// Every slice, in the order the OpenAPI document lists them.
pub static SLICES: &[Slice] = &[
    Slice {
        module: "marquee::routes",
        routes: SYSTEM,
    },
    Slice {
        module: "marquee_accounts::routes",
        routes: marquee_accounts::routes::ROUTES,
    },
    Slice {
        module: "marquee_catalog::routes",
        routes: marquee_catalog::routes::ROUTES,
    },
    Slice {
        module: "marquee_commerce::routes",
        routes: marquee_commerce::routes::ROUTES,
    },
    Slice {
        module: "marquee_watching::routes",
        routes: marquee_watching::routes::ROUTES,
    },
];

/// Every route of every slice.
pub static ROUTES: LazyLock<Vec<Route>> = LazyLock::new(|| {
    SLICES
        .iter()
        .flat_map(|slice| slice.routes.iter().copied())
        .collect()
});

/// The name of a route's constant in its slice: `movies-get` is `MOVIES_GET`.
pub fn constant_name(route: &str) -> String {
    route.to_ascii_uppercase().replace('-', "_")
}

pub const HEALTH: Route = route(
    "health",
    Get,
    "/health",
    Public,
    "system",
    "Liveness and version",
    |m| on(m, system::health),
)
.gives(body::<system::Health>());

pub const OPENAPI: Route = route(
    "openapi",
    Get,
    "/openapi.json",
    Public,
    "system",
    "OpenAPI 3.1 document of every route",
    |m| on(m, system::openapi),
);

pub const DOCS: Route = route(
    "docs",
    Get,
    "/docs",
    Public,
    "system",
    "Human-readable API documentation",
    |m| on(m, system::docs),
)
.media("text/html");

pub const JWKS: Route = route(
    "jwks",
    Get,
    "/.well-known/jwks.json",
    Public,
    "system",
    "Public keys that verify access tokens",
    |m| on(m, system::jwks),
)
.gives(body::<JwkSet>());

pub static SYSTEM: &[Route] = &[HEALTH, OPENAPI, DOCS, JWKS];

pub static BACKGROUND: &[Background] = &[
    Background {
        name: "expiry-scheduler",
        summary: "Finds expired items through the EXPIRY index and queues them",
        trigger: Trigger::Schedule("rate(5 minutes)"),
        needs: &[Need::QueryExpiryIndex, Need::SendExpiryQueue],
        entry: "run_expiry_scheduler",
    },
    Background {
        name: "expiry-worker",
        summary: "Deletes queued items that are still expired; expires lapsed pending orders; queues owed emails again; aborts lapsed uploads and removes replaced media",
        trigger: Trigger::ExpiryQueue,
        needs: &[
            Need::GetItem,
            Need::UpdateItem,
            Need::DeleteItem,
            Need::SendMailQueue,
            Need::MediaAbort,
            Need::MediaDelete,
        ],
        entry: "run_expiry_worker",
    },
    Background {
        name: "catalog-stream-indexer",
        summary: "Brings a changed movie's browse and search index up to date within seconds, fed by the table's stream",
        trigger: Trigger::TableStream,
        needs: &[
            Need::GetItem,
            Need::BatchGetItem,
            Need::UpdateItem,
            Need::DeleteItem,
            Need::BatchWriteItem,
        ],
        entry: "run_catalog_stream_indexer",
    },
    Background {
        name: "catalog-indexer",
        summary: "Reconciles: projects every movie still marked for the index (one the stream missed or failed)",
        trigger: Trigger::Schedule("rate(5 minutes)"),
        needs: &[
            Need::GetItem,
            Need::BatchGetItem,
            Need::Query,
            Need::QueryIndexes,
            Need::UpdateItem,
            Need::DeleteItem,
            Need::BatchWriteItem,
        ],
        entry: "run_catalog_indexer",
    },
    Background {
        name: "mail-worker",
        summary: "Sends every email: owed notices, activation and password reset links",
        trigger: Trigger::MailQueue,
        needs: &[
            Need::GetItem,
            Need::PutItem,
            Need::UpdateItem,
            Need::DeleteItem,
            Need::SendMail,
        ],
        entry: "run_mail_worker",
    },
];

pub fn find(name: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == name)
}

/// The API router over any routes: each behind the role guard its table entry names (the
/// caller authenticated by the accounts slice), public answers kept and tagged, and, in
/// test runs, what each route does recorded for the grants check.
pub fn router_for<'a>(app: App, routes: impl IntoIterator<Item = &'a Route>) -> Router {
    let app = marquee_core::usage::observe(app);
    let kept = app
        .config
        .keep_public_answers
        .then(|| marquee_core::http::caching::Kept::over(app.table.clone()))
        .flatten();
    let mut api = Router::new();
    for route in routes {
        let mut handler = (route.handler)(route.method.filter());
        if let Access::AtLeast(_) = route.access {
            let access = route.access;
            handler = handler.route_layer(axum::middleware::from_fn_with_state(
                app.clone(),
                move |State(app): State<App>,
                      mut req: axum::extract::Request,
                      next: axum::middleware::Next| async move {
                    let origin = Origin::of(req.headers(), req.extensions());
                    let caller = match authenticate(&app, req.headers(), &origin).await {
                        Ok(caller) => caller,
                        Err(problem) => return problem.into_response(),
                    };
                    // Every later line of the request names its caller.
                    tracing::Span::current().record("user_id", caller.user_id.as_str());
                    if let Err(problem) = authorize(access, Some(&caller)) {
                        return problem.into_response();
                    }
                    req.extensions_mut().insert(caller);
                    next.run(req).await
                },
            ));
        }
        if let caching @ Caching::Public { .. } = route.caching {
            let kept = kept.clone();
            handler = handler.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    marquee_core::http::caching::public(caching, kept.clone(), req, next)
                },
            ));
        }
        if marquee_core::usage::recording() {
            // Outside the access check, whose session reads are the function's too.
            let name = route.name;
            let backend = app.config.backend.clone();
            handler = handler.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let backend = backend.clone();
                    marquee_core::usage::as_function(name, async move {
                        let response = next.run(req).await;
                        marquee_core::usage::answered(&backend, response.status());
                        response
                    })
                },
            ));
        }
        api = api.route(route.path, handler);
    }
    let timeout = app.config.request_timeout;
    let cors = marquee_core::http::cors::layer(&app.config.cors_origins);
    marquee_core::http::serve(api, app, timeout).layer(cors)
}

/// The API router with the routes `keep` selects (all of them locally).
pub fn router(app: App, keep: impl Fn(&Route) -> bool) -> Router {
    router_for(app, ROUTES.iter().filter(|r| keep(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_method_paths_are_unique_and_well_formed() {
        let mut names = HashSet::new();
        let mut endpoints = HashSet::new();
        for r in ROUTES.iter() {
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
