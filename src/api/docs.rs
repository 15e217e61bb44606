//! The OpenAPI 3.1 document and the interactive reference at /docs, whose assets
//! (`http::assets`) are compiled into the binary: it works offline.
//!
//! The document is not kept by hand: [`super::router`] adds each route with `routes!`, which adds
//! its operation from the handler's `#[utoipa::path]` in the same step, so a route cannot be
//! served undocumented. What every route can answer before its handler runs — the shared
//! layers' refusals — is added here, to every operation, as `app::router` wraps those layers
//! around every route.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Type};
use utoipa_axum::router::OpenApiRouter;

/// Problem documents: what the shared layers answer API clients (`ProblemRefusals`).
const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "jkjav",
        description = "Vaccination appointment booking. `/api/v1` is the versioned API; `/stations` and `/booking` keep the 2021 seed system's contract. Errors from `/api/v1` are RFC 9457 problem documents whose `type` is stable.",
    ),
    components(schemas(crate::events::BookingEvent)),
    tags(
        (name = "v1", description = "The versioned JSON API"),
        (name = "seed", description = "The 2021 seed system's endpoints, kept compatible"),
    )
)]
struct ApiDoc;

/// An empty router holding the document's info, tags and the components no route names (the
/// Kafka event schema); routes join it with `routes!`.
pub fn base<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
}

/// Adds to every operation what the layers in front of every route answer: 431 for an
/// oversized head (`limit_headers`), 408 for a body that came too slowly (`read_body`), 403 to
/// a write sent from another site (`refuse_cross_site`), 503 when the in-flight bound sheds the
/// request (`shed_load`) or it runs out of time (`bound_request_time`), and `Retry-After` on
/// every 503 (`retry_after_on_503`). An operation's own 503 keeps its description and content
/// and gains the layers'.
pub fn document_shared_layers(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for (changes, operation) in operations(item) {
            let responses = &mut operation.responses.responses;
            responses.insert("431".into(), RefOr::T(headers_too_large()));
            responses.insert("408".into(), RefOr::T(body_too_slow()));
            if changes {
                responses.insert("403".into(), RefOr::T(cross_site()));
            }
            let unavailable = match responses.remove("503") {
                Some(RefOr::T(own)) => with_layer_unavailable(own),
                _ => with_layer_unavailable(ResponseBuilder::new().build()),
            };
            responses.insert("503".into(), RefOr::T(unavailable));
        }
    }
}

/// Each operation of `item`, and whether its method changes something (is not "safe").
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, &mut item.get),
        (true, &mut item.put),
        (true, &mut item.post),
        (true, &mut item.delete),
        (false, &mut item.options),
        (false, &mut item.head),
        (true, &mut item.patch),
        (false, &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(changes, operation)| Some((changes, operation.as_mut()?)))
}

fn problem() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

fn headers_too_large() -> Response {
    ResponseBuilder::new()
        .description("`/problems/headers-too-large`: the request line and headers are larger than the server takes (`JKJAV_MAX_HEADER_BYTES`).")
        .content(PROBLEM_JSON, problem())
        .build()
}

fn body_too_slow() -> Response {
    ResponseBuilder::new()
        .description("`/problems/request-timeout`: the request body did not arrive within `JKJAV_BODY_READ_TIMEOUT_MS`; the connection is closed. Send the request again.")
        .content(PROBLEM_JSON, problem())
        .build()
}

fn cross_site() -> Response {
    ResponseBuilder::new()
        .description("`/problems/cross-site-request`: the browser says a page of another site sent this request (`Sec-Fetch-Site: cross-site`). Nothing was changed.")
        .content(PROBLEM_JSON, problem())
        .build()
}

fn with_layer_unavailable(mut response: Response) -> Response {
    const LAYERS: &str = "the service is shedding load (`/problems/overloaded`) or the request ran out of time (`/problems/service-unavailable`). Retry after `Retry-After` seconds.";
    response.description = if response.description.is_empty() {
        format!("When {LAYERS}")
    } else {
        format!("{} Also when {LAYERS}", response.description)
    };
    response
        .content
        .entry(PROBLEM_JSON.to_owned())
        .or_insert_with(problem);
    response.headers.insert(
        "Retry-After".to_owned(),
        HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .description(Some("Seconds to wait before trying again."))
            .build(),
    );
    response
}

/// The document as `/openapi.json` serves it, encoded once.
pub fn encode(openapi: &utoipa::openapi::OpenApi) -> Result<Bytes, serde_json::Error> {
    let mut document = serde_json::to_value(openapi)?;
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        let links = paths
            .values_mut()
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
            .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
            .flat_map(|responses| responses.values_mut())
            .filter_map(|response| response.get_mut("links")?.as_object_mut())
            .flat_map(|links| links.values_mut())
            .filter_map(Value::as_object_mut);
        for link in links {
            camel_case_link(link);
        }
    }
    serde_json::to_vec(&document).map(Bytes::from)
}

/// utoipa 5 writes a Link Object's fields in snake case (`operation_id`), which no OpenAPI
/// tool reads; the OpenAPI names are camel case. (Later utoipa releases name them right, and
/// then this finds nothing to rename.)
fn camel_case_link(link: &mut serde_json::Map<String, Value>) {
    for (snake, camel) in [
        ("operation_id", "operationId"),
        ("operation_ref", "operationRef"),
        ("request_body", "requestBody"),
    ] {
        if let Some(value) = link.remove(snake) {
            link.insert(camel.to_owned(), value);
        }
    }
}

/// `/openapi.json` (the document, encoded once at start-up) and `/docs`. Outside the document
/// itself: they describe the API rather than belong to it.
pub fn router<S: Clone + Send + Sync + 'static>(document: Bytes) -> Router<S> {
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        document,
                    )
                }
            }),
        )
        .route(
            "/docs",
            get(|| async { Html(include_str!("../../static/docs.html")) }),
        )
}
