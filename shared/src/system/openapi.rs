//! The OpenAPI 3.1 document, built from the route table so that no route goes undocumented.

use crate::http::guard::Access;
use crate::http::problem::{PROBLEM_JSON, ProblemBody};
use crate::routes::{Body, ROUTES, Route};
use utoipa::ToSchema;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref,
    Required, ResponseBuilder,
};

const BEARER: &str = "bearer";
const REQUEST_ID: &str = "x-request-id";

fn http_method(route: &Route) -> HttpMethod {
    use crate::routes::Method;
    match route.method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    }
}

fn json_of(body: &Body) -> Content {
    Content::new(Some(Ref::from_schema_name((body.name)())))
}

fn string_header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

fn request_id_header() -> Header {
    string_header(
        "This request's id (a ULID, or the one the caller sent); every log line carries it",
    )
}

/// The problem answers of a route: problem+json, or for the pages a browser opens, the
/// page that says what went wrong.
fn problem_of(route: &Route, description: &str) -> ResponseBuilder {
    if route.media.starts_with("text/html") {
        ResponseBuilder::new()
            .description(description)
            .header(REQUEST_ID, request_id_header())
            .content(route.media, Content::new(None::<Ref>))
    } else {
        problem(description)
    }
}

fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .header(REQUEST_ID, request_id_header())
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name(ProblemBody::name()))),
        )
}

/// A problem that asks the caller to wait (`Retry-After`, in seconds).
fn retry_later_of(route: &Route, description: &str) -> ResponseBuilder {
    problem_of(route, description).header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            ))
            .description(Some("Seconds to wait before trying again"))
            .build(),
    )
}

fn header_parameter(name: &str, required: bool, description: &str) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
}

/// Text of at most `max` characters (longer is refused).
fn text(max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(max))
}

fn whole(min: i64, max: Option<i64>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min as f64))
        .maximum(max.map(|m| m as f64))
}

fn one_of(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
}

fn date() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

/// The type, bounds and meaning of a query parameter, by its name (the names mean the same
/// on every route that takes them); `None` for a name nobody typed, which the tests refuse.
fn query_parameter(name: &str, route: &Route) -> Option<(ObjectBuilder, &'static str)> {
    use crate::http::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    let limit =
        || whole(1, Some(i64::from(MAX_LIMIT))).default(Some(serde_json::json!(DEFAULT_LIMIT)));
    Some(match name {
        "limit" => (limit(), "Items per page"),
        "movies_limit" => (limit(), "Movies per page"),
        "cursor" | "movies_cursor" => (
            text(2000),
            "The `next_cursor` of the previous page, as it was answered",
        ),
        "q" if route.name == "movies-list" || route.name == "favorites-list" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(200)),
            "Words to search for (at most 8); one of no letter or digit matches nothing",
        ),
        "q" => (
            ObjectBuilder::new().schema_type(Type::String),
            "A name prefix to search for",
        ),
        "genre" | "actor" | "director" | "producer" => {
            (text(40).min_length(Some(1)), "An id to filter by")
        }
        "cinema" | "movie" | "user" => (
            ObjectBuilder::new().schema_type(Type::String),
            "An id to filter by",
        ),
        "year_from" | "year_to" => (whole(1888, Some(9999)), "A release year"),
        "price_min" | "price_max" => (whole(0, None), "A price in cents"),
        "rating_min" => (
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0.0))
                .maximum(Some(10.0)),
            "The lowest average rating, 0 to 10",
        ),
        "certification" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(10)),
            "A certification, e.g. `PG-13` (empty: any)",
        ),
        "sort" => (
            one_of(&[
                "title",
                "-title",
                "price",
                "-price",
                "release_date",
                "-release_date",
                "rating",
                "-rating",
                "popularity",
                "-popularity",
            ])
            .default(Some(serde_json::json!("popularity"))),
            "The order of the list; `-` before it descends. Popularity and rating order in \
             steps: a movie moves once its popularity is a tenth (at least 1) from where it \
             stands, or its average rating a tenth of a point; cards show the exact counts",
        ),
        "order" => (
            one_of(&["asc", "desc"]),
            "Ascending or descending (must agree with a `-` in `sort`)",
        ),
        "date" => (date(), "A day, `YYYY-MM-DD`"),
        "from" | "to" => (date(), "A day, `YYYY-MM-DD` (UTC), inclusive"),
        "status" if route.name == "admin-orders-list" => (
            one_of(&[
                "pending",
                "paid",
                "canceled",
                "expired",
                "refund_requested",
                "refunded",
            ]),
            "Only orders in this status",
        ),
        "status" if route.name == "admin-payments-list" => (
            one_of(&["pending", "succeeded", "failed", "canceled", "refunded"]),
            "Only payments in this status",
        ),
        "role" => (
            one_of(&["user", "moderator", "admin"]),
            "Only users with this role",
        ),
        "active" => (
            ObjectBuilder::new().schema_type(Type::Boolean),
            "Only active (or inactive) users",
        ),
        "email" => (
            ObjectBuilder::new().schema_type(Type::String),
            "An email prefix, case-insensitive (empty: any)",
        ),
        "token" => (
            ObjectBuilder::new().schema_type(Type::String),
            "The token from the emailed link (the page says when it is wrong or used)",
        ),
        "redirect_to" => (
            text(2048).format(Some(SchemaFormat::Custom("uri".into()))),
            "The client URL to return to (one of the allowed ones)",
        ),
        "state" | "code" => (
            ObjectBuilder::new().schema_type(Type::String),
            "From the provider's redirect",
        ),
        "error" => (
            ObjectBuilder::new().schema_type(Type::String),
            "The provider's error, when the person turned back",
        ),
        "ids" => (
            text(4200).min_length(Some(1)),
            "Movie ids, comma-separated (1 to 100)",
        ),
        _ => return None,
    })
}

/// Catalogue records answer their version as an ETag, and a PATCH may name it in
/// `If-Match`.
fn versioned(route: &Route) -> bool {
    route.tag == "catalog" && !route.params().is_empty()
}

fn operation(route: &Route) -> utoipa::openapi::path::Operation {
    let role = route.access.as_str();
    let mut op = OperationBuilder::new()
        .operation_id(Some(route.name))
        .tag(route.tag)
        .summary(Some(route.summary))
        .description(Some(format!("Role: **{role}**.")));
    for param in route.params() {
        op = op.parameter(
            ParameterBuilder::new()
                .name(param)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    for param in route.query {
        let (schema, description) = query_parameter(param, route)
            .unwrap_or_else(|| panic!("query parameter {param} of {} has no type", route.name));
        op = op.parameter(
            ParameterBuilder::new()
                .name(*param)
                .parameter_in(ParameterIn::Query)
                .required(if *param == "ids" {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(description))
                .schema(Some(schema)),
        );
    }
    let writes = route.method != crate::routes::Method::Get;
    if route.name == "orders-create" {
        op = op.parameter(header_parameter(
            "Idempotency-Key",
            true,
            "1 to 255 characters; the same key answers the same order",
        ));
    }
    if route.name == "stripe-webhook" {
        op = op.parameter(header_parameter(
            "Stripe-Signature",
            true,
            "Stripe's signature of the payload (`t=...,v1=...`)",
        ));
    }
    if versioned(route) && route.method == crate::routes::Method::Patch {
        op = op
            .parameter(header_parameter(
                "If-Match",
                false,
                "The version the change is based on (the ETag of a read)",
            ))
            .response(
                "412",
                problem_of(route, "`If-Match` names an older version"),
            );
    }
    if let Some(body) = &route.request {
        let content = if merge_patch(route) {
            Content::new(Some(Ref::from_schema_name(patch_name(&(body.name)()))))
        } else {
            json_of(body)
        };
        // One media type per request: generators mishandle a body declared under two
        // (openapi-python-client 0.29 then emits an import-less `Unset`). A PATCH is still
        // taken as `application/merge-patch+json` too: any `+json` type is JSON here.
        let request = RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content("application/json", content);
        op = op
            .request_body(Some(request.build()))
            .response("413", problem_of(route, "The body is over 64 KiB"))
            .response("415", problem_of(route, "The body is not JSON"))
            .response(
                "422",
                problem_of(route, "Invalid fields, each listed in `errors`"),
            );
    }
    let mut ok = ResponseBuilder::new()
        .description("Success")
        .header(REQUEST_ID, request_id_header());
    let cached = matches!(route.caching, crate::routes::Caching::Public { .. });
    if cached {
        // `If-None-Match` is not declared as a parameter: it is HTTP's own, which browsers
        // and HTTP caches send by themselves, and a declared header would become an
        // argument of every generated client's call.
        let tag = if versioned(route) {
            "A strong tag of this answer, its version first (`\"<version>.<digest>\"`; `If-Match` takes it)"
        } else {
            "A strong tag of this answer"
        };
        let control = string_header(&format!(
            "`{}`: the same for every caller",
            route.caching.header()
        ));
        ok = ok
            .header("ETag", string_header(tag))
            .header("Cache-Control", control.clone());
        op = op.response(
            "304",
            ResponseBuilder::new()
                .description("Not modified: the request's `If-None-Match` names the current `ETag`")
                .header("ETag", string_header(tag))
                .header("Cache-Control", control)
                .header(REQUEST_ID, request_id_header())
                .build(),
        );
    } else if versioned(route) && route.method != crate::routes::Method::Delete {
        ok = ok.header("ETag", string_header("The record's version, quoted"));
    }
    if let Some(body) = &route.response {
        ok = ok.content(route.media, json_of(body));
    } else if route.media != "application/json" {
        ok = ok.content(route.media, Content::new(None::<Ref>));
    }
    let ok = ok.build();
    if route.name == "orders-create" {
        op = op.response("200", ok.clone());
    }
    op = op
        .response(route.status.to_string(), ok)
        .response(
            "400",
            problem_of(route, "Malformed request, or a query parameter refused"),
        )
        .response(
            "500",
            problem_of(route, "Unexpected failure; retrying will not help"),
        )
        .response(
            "503",
            retry_later_of(
                route,
                "A dependency failed for now, or the request took too long",
            ),
        );
    if !route.params().is_empty() {
        op = op.response("404", problem_of(route, "No such record"));
    }
    if writes {
        op = op.response(
            "409",
            problem_of(route, "The record's state forbids it now (see `code`)"),
        );
    }
    if route.tag == "auth" && writes {
        op = op.response(
            "429",
            retry_later_of(route, "Too many attempts; the account waits"),
        );
    }
    if route.tag == "auth" && route.access == Access::Public && writes {
        op = op
            .response(
                "401",
                problem_of(
                    route,
                    "The credentials, token or code are wrong, used or expired",
                ),
            )
            .response(
                "403",
                problem_of(
                    route,
                    "The account is not activated yet, or was deactivated",
                ),
            );
    }
    for (status, when) in route.refusals {
        op = match status {
            429 | 503 => op.response(status.to_string(), retry_later_of(route, when)),
            _ => op.response(status.to_string(), problem_of(route, when)),
        };
    }
    if route.access != Access::Public {
        op = op
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
            .response(
                "401",
                problem_of(route, "Not signed in, or the session has ended"),
            )
            .response("403", problem_of(route, "The caller's role is too low"));
    }
    op.build()
}

/// Catalogue records change by JSON merge patch (RFC 7396) of their create body.
fn merge_patch(route: &Route) -> bool {
    versioned(route)
        && route.method == crate::routes::Method::Patch
        && route.name != "showtimes-update"
}

fn patch_name(input: &str) -> String {
    format!("{input}Patch")
}

/// The merge-patch form of a create body: every member optional; `null` clears the
/// optional ones (the required ones cannot be cleared); unknown members still refused.
fn merge_patch_schemas(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AnyOfBuilder, Schema};
    for route in ROUTES.iter().filter(|r| merge_patch(r)) {
        let Some(body) = &route.request else { continue };
        let name = (body.name)().to_string();
        let Some(RefOr::T(Schema::Object(input))) = components.schemas.get(&name) else {
            continue;
        };
        let mut patch = input.clone();
        for (member, schema) in patch.properties.iter_mut() {
            if !input.required.contains(member) {
                *schema = RefOr::T(Schema::AnyOf(
                    AnyOfBuilder::new()
                        .item(schema.clone())
                        .item(ObjectBuilder::new().schema_type(Type::Null))
                        .build(),
                ));
            }
        }
        patch.required.clear();
        patch.description = Some(format!(
            "A JSON merge patch of {name}: only the members sent change; null clears an optional one"
        ));
        components
            .schemas
            .insert(patch_name(&name), RefOr::T(Schema::Object(patch)));
    }
}

pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut components =
        crate::routes::register_with_nested::<ProblemBody>(ComponentsBuilder::new())
            .security_scheme(
                BEARER,
                SecurityScheme::Http(
                    Http::builder()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
    for route in ROUTES.iter() {
        paths = paths.path(
            route.path,
            PathItem::new(http_method(route), operation(route)),
        );
        for body in route.request.iter().chain(route.response.iter()) {
            components = (body.register)(components);
        }
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Marquee API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The online cinema's HTTP API. Errors are application/problem+json (RFC 9457); lists are paginated with an opaque cursor.",
                )),
        )
        .paths(paths)
        .components(Some({
            let mut components = components.build();
            open_closed_parts(&mut components);
            merge_patch_schemas(&mut components);
            components
        }))
        .build()
}

/// A schema that closes its object (`additionalProperties: false`, from
/// `deny_unknown_fields` on a request type) cannot be a part of an `allOf` that adds
/// members: no answer could match both. Where a view extends such a type, the part is
/// copied open.
fn open_closed_parts(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    let closed: std::collections::BTreeMap<String, Schema> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(object)) if object.additional_properties.is_some() => {
                let mut open = object.clone();
                open.additional_properties = None;
                Some((format!("#/components/schemas/{name}"), Schema::Object(open)))
            }
            _ => None,
        })
        .collect();
    for schema in components.schemas.values_mut() {
        if let RefOr::T(Schema::AllOf(all_of)) = schema {
            for part in &mut all_of.items {
                if let RefOr::Ref(reference) = part
                    && let Some(open) = closed.get(&reference.ref_location)
                {
                    *part = RefOr::T(open.clone());
                }
            }
        }
    }
}
