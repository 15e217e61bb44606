//! Static assets compiled into the binary (the web pages' and the API reference's), so both
//! work offline. Vendored files carry their version in the name and are cached for a year.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Every asset: name under `/static/`, content type, bytes.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
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

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/{*file}", get(asset))
}

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
