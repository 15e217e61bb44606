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

/// Every JSON route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(v1::router())
        .merge(seed::router())
        .merge(docs::router())
}
