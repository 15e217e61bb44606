//! The JSON front ends: `/api/v1`, the seed's endpoints, and the OpenAPI document describing
//! both. Handlers parse into domain types, call `BookingService`, and shape its answers as JSON;
//! every failure is an [`problem::ApiError`] (problem+json, or the seed's own shape).

pub mod conditional;
pub mod docs;
pub mod json;
pub mod problem;
pub mod schemas;
pub mod seed;
pub mod v1;

use axum::Router;

use crate::http::AppState;

/// Every JSON route, and `/openapi.json` describing them, built from the same `routes!` calls.
/// The document is encoded here, once; failing that, the application does not start.
pub fn router() -> Result<Router<AppState>, serde_json::Error> {
    let (routes, mut openapi) = docs::base()
        .merge(v1::router())
        .merge(seed::router())
        .split_for_parts();
    docs::document_shared_layers(&mut openapi);
    let document = docs::encode(&openapi)?;
    Ok(routes.merge(docs::router(document)))
}
