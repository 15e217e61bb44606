//! `/metrics`: the flash-crowd series, as valid OpenMetrics text, with labels from closed sets.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};

use crate::harness::{RedisServer, TestApp, booking_body, catalogue};
use crate::scrape::{parse_openmetrics, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_the_flash_crowd_series_as_valid_openmetrics_text() {
    let redis = RedisServer::start();
    let app = TestApp::spawn(catalogue(1), Some(redis.url())).await;
    let path = "/api/v1/centres/TEST/availability";
    assert_eq!(app.get(path).await.status(), StatusCode::OK);
    assert_eq!(app.get(path).await.status(), StatusCode::OK);
    let book = |n| {
        app.post_json(
            "/api/v1/bookings",
            booking_body(n, "TEST", "2030-01-01", "09:00-12:00"),
        )
    };
    assert_eq!(book(1).await.status(), StatusCode::CREATED);
    assert_eq!(book(2).await.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.get("/no/such/page").await.status(),
        StatusCode::NOT_FOUND
    );

    let response = app.admin_get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        "the OpenMetrics text Prometheus asks for"
    );
    let text = response.text().await.unwrap();
    let samples = parse_openmetrics(&text);

    let requests = |route: &str, status: &str| {
        sample(
            &samples,
            "jkjav_http_requests_total",
            &[("route", route), ("status", status)],
        )
    };
    assert_eq!(requests("/api/v1/centres/{code}/availability", "200"), 2.0);
    assert_eq!(requests("/api/v1/bookings", "201"), 1.0);
    assert_eq!(requests("/api/v1/bookings", "409"), 1.0);
    assert_eq!(
        requests("unmatched", "404"),
        1.0,
        "raw paths must not become labels"
    );
    assert_eq!(
        sample(
            &samples,
            "jkjav_http_request_duration_seconds_count",
            &[("route", "/api/v1/bookings"), ("status", "201")]
        ),
        1.0
    );
    assert_eq!(sample(&samples, "jkjav_bookings_confirmed_total", &[]), 1.0);
    assert_eq!(
        sample(
            &samples,
            "jkjav_bookings_refused_total",
            &[("reason", "sold_out")]
        ),
        1.0
    );
    assert!(sample(&samples, "jkjav_availability_snapshot_hits_total", &[]) >= 0.0);
    assert!(sample(&samples, "jkjav_availability_snapshot_refreshes_total", &[]) >= 1.0);
    assert!(sample(&samples, "jkjav_availability_snapshot_age_seconds", &[]) >= 0.0);
    assert_eq!(sample(&samples, "jkjav_shed_requests_total", &[]), 0.0);
    assert_eq!(
        sample(
            &samples,
            "jkjav_rate_limited_requests_total",
            &[("limit", "client_ip")]
        ),
        0.0
    );
    assert!(
        sample(
            &samples,
            "jkjav_store_call_duration_seconds_count",
            &[("backend", "redis"), ("op", "book")]
        ) >= 2.0
    );
    assert!(sample(&samples, "jkjav_outbox_backlog", &[]) >= 0.0);
}

#[tokio::test]
async fn invented_http_methods_all_count_as_other_instead_of_each_growing_a_series() {
    let app = TestApp::spawn(catalogue(1), None).await;
    for n in 0..50 {
        for path in ["/api/v1/states", "/no/such/page"] {
            let method = Method::from_bytes(format!("INVENTED{n}").as_bytes()).unwrap();
            let response = app.client.request(method, app.url(path)).send().await;
            assert!(response.unwrap().status().is_client_error());
        }
    }

    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let samples = parse_openmetrics(&metrics);

    let requests: Vec<_> = samples
        .iter()
        .filter(|(name, _, _)| name == "jkjav_http_requests_total")
        .collect();
    let methods: BTreeSet<&str> = requests
        .iter()
        .map(|(_, labels, _)| labels["method"].as_str())
        .collect();
    let known = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
    ];
    assert!(
        methods.iter().all(|method| known.contains(method)),
        "a method label outside the closed set: {methods:?}"
    );
    assert_eq!(
        sample(
            &samples,
            "jkjav_http_requests_total",
            &[("method", "other")]
        ),
        100.0,
        "every invented request is still counted"
    );
    let other_series = requests
        .iter()
        .filter(|(_, labels, _)| labels["method"] == "other")
        .count();
    assert!(
        other_series <= 2,
        "one series per route and status, not per method: {other_series}"
    );
}
