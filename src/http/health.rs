//! Health endpoints. The public listener answers liveness and a bare readiness (ready or not:
//! its reasons — a store error, the outbox backlog — are for operators only); the operators'
//! listener (`JKJAV_ADMIN_ADDR`) answers liveness, the detailed readiness and Prometheus
//! metrics. None is shed, so probes and scrapes still answer while the service sheds
//! citizens' requests.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::refusal::ErrorCause;
use super::state::AppState;
use crate::metrics::{self, Gauges};

/// What the public listener serves.
pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready_or_not))
}

/// What the operators' listener serves.
pub fn admin_router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
}

/// Liveness: the process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Readiness {
    ready: bool,
    store: String,
    catalogue_synced: bool,
    outbox_backlog: Option<u64>,
    outbox_oldest_age_secs: Option<u64>,
}

/// The public readiness: `{"ready":true}` (200) or `{"ready":false}` (503), and nothing
/// more, so a load balancer can route on it and nobody else learns why.
async fn ready_or_not(State(state): State<AppState>) -> Response {
    let service = &state.service;
    let ready = service.catalogue_synced() && service.check_ready().await.is_ok();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(serde_json::json!({ "ready": ready }))).into_response()
}

/// Readiness for operators: the store answers and holds the catalogue, with the store's
/// error and the outbox's backlog. 503 when not ready.
async fn readyz(State(state): State<AppState>) -> Response {
    let service = &state.service;
    let store = service.check_ready().await;
    let synced = service.catalogue_synced();
    let outbox = service.store().outbox_stats().await.ok();
    let ready = store.is_ok() && synced;
    let body = Readiness {
        ready,
        store: store.map_or_else(|e| e.to_string(), |()| "ok".into()),
        catalogue_synced: synced,
        outbox_backlog: outbox.map(|o| o.backlog),
        outbox_oldest_age_secs: outbox.and_then(|o| o.oldest_age).map(|age| age.as_secs()),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The service's metrics as OpenMetrics text, which Prometheus scrapes.
async fn metrics_text(State(state): State<AppState>) -> Response {
    let service = &state.service;
    let outbox = service.store().outbox_stats().await.ok();
    let shedder = &state.limits.shedder;
    let rendered = service.metrics().render(Gauges {
        snapshot_age: service.snapshot_age(),
        outbox_backlog: outbox.map(|o| o.backlog),
        outbox_oldest_age: outbox.and_then(|o| o.oldest_age),
        in_flight: shedder.in_flight() as u64,
        in_flight_limit: shedder.limit() as u64,
        open_connections: state.limits.connections.open() as u64,
    });
    match rendered {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        // Writing to a String does not fail; should the encoder ever, the failure log says so.
        Err(error) => {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response
                .extensions_mut()
                .insert(ErrorCause(format!("metrics could not be encoded: {error}")));
            response
        }
    }
}
