//! The OpenAPI 3.1 document, built from the route table so that no route goes undocumented.

use crate::http::guard::Access;
use crate::http::problem::{PROBLEM_JSON, ProblemBody};
use crate::routes::{Body, ROUTES, Route};
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref,
    Required, ResponseBuilder,
};

const BEARER: &str = "bearer";

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

fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        Content::new(Some(Ref::from_schema_name(ProblemBody::name()))),
    )
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
        op = op.parameter(
            ParameterBuilder::new()
                .name(*param)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if let Some(body) = &route.request {
        op = op.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content("application/json", json_of(body))
                .build(),
        ));
        op = op.response("422", problem("Invalid fields, each listed in `errors`"));
    }
    let mut ok = ResponseBuilder::new().description("Success");
    if let Some(body) = &route.response {
        ok = ok.content(route.media, json_of(body));
    } else if route.media != "application/json" {
        ok = ok.content(route.media, Content::new(None::<Ref>));
    }
    op = op
        .response(route.status.to_string(), ok)
        .response("400", problem("Malformed request"))
        .response("500", problem("Unexpected failure"));
    if route.access != Access::Public {
        op = op
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
            .response("401", problem("Not signed in, or the session has ended"))
            .response("403", problem("The caller's role is too low"));
    }
    op.build()
}

pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut components = ComponentsBuilder::new()
        .schema_from::<ProblemBody>()
        .security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    for route in ROUTES {
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
        .components(Some(components.build()))
        .build()
}
