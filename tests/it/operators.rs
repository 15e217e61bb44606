//! The operators' door: `/metrics` and the detailed readiness only on the operators' address
//! (`JKJAV_ADMIN_ADDR`); the public address says whether it is ready, and nothing more.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, catalogue, free_port};
use crate::scrape::{parse_openmetrics, sample};

#[tokio::test]
async fn metrics_and_the_detailed_readiness_are_served_only_on_the_operators_address() {
    // Arrange
    let app = TestApp::spawn(catalogue(5), None).await;

    // Act
    let public_metrics = app.get("/metrics").await;
    let public_ready = app.get("/readyz").await;
    let metrics = app.admin_get("/metrics").await;
    let ready = app.admin_get("/readyz").await;

    // Assert: the public address serves no metrics and a bare readiness.
    assert_eq!(public_metrics.status(), StatusCode::NOT_FOUND);
    assert_eq!(public_ready.status(), StatusCode::OK);
    assert_eq!(
        public_ready.json::<Value>().await.unwrap(),
        json!({"ready": true})
    );
    // The operators' address serves both, in full.
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    let samples = parse_openmetrics(&text);
    assert!(sample(&samples, "jkjav_open_connections", &[]) >= 0.0);
    assert_eq!(
        sample(
            &samples,
            "jkjav_connections_refused_total",
            &[("cap", "per_client")]
        ),
        0.0
    );
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["store"], "ok");
    assert_eq!(ready["catalogueSynced"], true);
    assert!(ready["outboxBacklog"].is_u64(), "{ready}");
}

#[tokio::test]
async fn the_public_readiness_says_not_ready_without_saying_why() {
    // Arrange: a Redis address where nothing listens.
    let nothing = format!("redis://127.0.0.1:{}", free_port());
    let app = TestApp::spawn(catalogue(5), Some(nothing)).await;

    // Act
    let public = app.get("/readyz").await;
    let operators = app.admin_get("/readyz").await;

    // Assert: 503 for the load balancer, with no error text; the reason for operators.
    assert_eq!(public.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        public.json::<Value>().await.unwrap(),
        json!({"ready": false})
    );
    assert_eq!(operators.status(), StatusCode::SERVICE_UNAVAILABLE);
    let detailed: Value = operators.json().await.unwrap();
    assert_eq!(detailed["ready"], false);
    let store = detailed["store"].as_str().unwrap();
    assert!(!store.is_empty() && store != "ok", "{detailed}");
}
