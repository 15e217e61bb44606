//! The OpenAPI 3.1 document (generated from the handlers' own types) and the interactive
//! reference at /docs, whose assets are compiled into the binary: it works offline.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use crate::app::AppState;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "jkjav",
        description = "Vaccination appointment booking. `/api/v1` is the versioned API; `/stations` and `/booking` keep the 2021 seed system's contract. Errors from `/api/v1` are RFC 9457 problem documents whose `type` is stable.",
    ),
    paths(
        super::v1::list_states,
        super::v1::list_centres,
        super::v1::centre_availability,
        super::v1::create_booking,
        super::v1::lookup_booking,
        super::v1::cancel_booking,
        super::seed::stations,
        super::seed::booking,
    ),
    components(schemas(crate::events::BookingEvent)),
    tags(
        (name = "v1", description = "The versioned JSON API"),
        (name = "seed", description = "The 2021 seed system's endpoints, kept compatible"),
    )
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route(
            "/docs",
            get(|| async { Html(include_str!("../../static/docs.html")) }),
        )
        .route("/static/{*file}", get(asset))
}

async fn openapi() -> Response {
    let body = ApiDoc::openapi().to_json().unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Assets compiled into the binary (the API reference's and the web pages'). Vendored files
/// carry their version in the name, so they can be cached for a year.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "vendor/swagger-ui-bundle-5.35.0.js",
        "text/javascript",
        include_bytes!("../../static/vendor/swagger-ui-bundle-5.35.0.js"),
    ),
    (
        "vendor/swagger-ui-5.35.0.css",
        "text/css",
        include_bytes!("../../static/vendor/swagger-ui-5.35.0.css"),
    ),
    (
        "vendor/htmx-2.0.11.min.js",
        "text/javascript",
        include_bytes!("../../static/vendor/htmx-2.0.11.min.js"),
    ),
    (
        "app.css",
        "text/css",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript",
        include_bytes!("../../static/app.js"),
    ),
    (
        "docs-init.js",
        "text/javascript",
        include_bytes!("../../static/docs-init.js"),
    ),
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((name, content_type, body)) => {
            let cache = if name.starts_with("vendor/") {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=300"
            };
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
                *body,
            )
                .into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
