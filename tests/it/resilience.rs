//! Restarts and outages against a real redis-server: counts survive restarts, an unreachable
//! Redis gets 503 + Retry-After within the timeout, and no confirmation is ever sent for a
//! booking that is not stored.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{RedisServer, TestApp, booking_body, catalogue, free_port, mykad};

async fn remaining(app: &TestApp, centre: &str) -> Vec<u64> {
    let body: Value = app
        .get(&format!("/api/v1/centres/{centre}/availability"))
        .await
        .json()
        .await
        .unwrap();
    body["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            d["windows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["remaining"].as_u64().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_on_the_same_redis_with_the_same_catalogue_changes_no_count() {
    let redis = RedisServer::start();
    let cat = catalogue(3);
    let first = TestApp::spawn(cat.clone(), Some(redis.url())).await;
    for n in 0..3 {
        let r = first
            .post_json(
                "/api/v1/bookings",
                booking_body(n, "TEST", "2030-01-01", "09:00-12:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let before = remaining(&first, "TEST").await;
    assert_eq!(before, [0, 3, 3, 3]);

    let second = TestApp::spawn(cat, Some(redis.url())).await;

    assert_eq!(
        remaining(&second, "TEST").await,
        before,
        "a restart refilled booked places"
    );
    let r = second
        .post_json(
            "/api/v1/bookings",
            booking_body(9, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let again = second
        .post_json(
            "/api/v1/bookings",
            booking_body(0, "TEST", "2030-01-02", "09:00-12:00"),
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "the restart forgot who holds a booking"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_unreachable_bookings_get_503_quickly_and_recover_when_it_returns() {
    let port = free_port();
    let app = TestApp::spawn(catalogue(5), Some(format!("redis://127.0.0.1:{port}"))).await;

    let started = Instant::now();
    let response = app
        .post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "2");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/service-unavailable");
    assert!(
        !body["detail"].as_str().unwrap().contains("redis"),
        "5xx bodies stay generic"
    );
    assert_eq!(
        app.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get("/api/v1/centres/TEST/availability").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    let _redis = RedisServer::start_on(port);

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = app
            .post_json(
                "/api/v1/bookings",
                booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
            )
            .await;
        if response.status() == StatusCode::CREATED {
            break;
        }
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            Instant::now() < deadline,
            "the service did not recover after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_in_the_middle_of_a_load_never_yields_a_confirmation_without_a_stored_booking()
{
    let mut redis = RedisServer::start_durable();
    let app = TestApp::spawn(catalogue(5), Some(redis.url())).await;
    let total = 600u32;

    let load = (0..total).map(|n| {
        let client = app.client.clone();
        let url = app.url("/api/v1/bookings");
        async move {
            // Spread the requests over about a second so the kill lands mid-load.
            tokio::time::sleep(Duration::from_millis(u64::from(n) * 2)).await;
            let started = Instant::now();
            let response = client
                .post(url)
                .json(&booking_body(n, "BIG", "2030-01-01", "00:00-24:00"))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let retry_after = response.headers().get("retry-after").is_some();
            let body: Value = response.json().await.unwrap();
            (n, status, retry_after, body, started.elapsed())
        }
    });
    let load = tokio::spawn(futures::future::join_all(load));
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.kill();
    let results = load.await.unwrap();

    let mut confirmed = Vec::new();
    let mut unavailable = 0;
    for (n, status, retry_after, body, elapsed) in results {
        assert!(
            elapsed < Duration::from_secs(4),
            "request {n} hung for {elapsed:?}"
        );
        match status {
            StatusCode::CREATED => {
                confirmed.push((n, body["reference"].as_str().unwrap().to_owned()))
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry_after, "503 without Retry-After");
                unavailable += 1;
            }
            other => panic!("request {n}: unexpected {other}: {body}"),
        }
    }
    assert!(
        !confirmed.is_empty() && unavailable > 0,
        "the kill did not land mid-load ({} confirmed)",
        confirmed.len()
    );

    redis.restart();
    for (n, reference) in &confirmed {
        let found = app
            .post_json(
                "/api/v1/bookings/lookup",
                json!({"reference": reference, "idNumber": mykad(*n)}),
            )
            .await;
        assert_eq!(
            found.status(),
            StatusCode::OK,
            "booking {reference} was confirmed but is not stored"
        );
    }
    let after = app
        .post_json(
            "/api/v1/bookings",
            booking_body(total + 1, "BIG", "2030-01-01", "00:00-24:00"),
        )
        .await;
    assert_eq!(
        after.status(),
        StatusCode::CREATED,
        "the service did not recover after Redis restarted"
    );
}
