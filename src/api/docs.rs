//! The OpenAPI 3.1 document (generated from the handlers' own types) and the interactive
//! reference at /docs, whose assets (`http::assets`) are compiled into the binary: it works
//! offline.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;

use super::problem::ApiError;

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

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(openapi)).route(
        "/docs",
        get(|| async { Html(include_str!("../../static/docs.html")) }),
    )
}

async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(error) => ApiError::Internal {
            cause: format!("cannot encode the OpenAPI document: {error}"),
        }
        .into_response(),
    }
}
