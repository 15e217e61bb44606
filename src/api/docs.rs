//! The OpenAPI 3.1 document and the interactive reference at /docs, whose assets
//! (`http::assets`) are compiled into the binary: it works offline.
//!
//! The document is not kept by hand: [`super::router`] adds each route with `routes!`, which adds
//! its operation from the handler's `#[utoipa::path]` in the same step, so a route cannot be
//! served undocumented.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::Html;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

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
