//! Protective limits: load shedding past the in-flight bound, booking POSTs per client address
//! and attempts per identity number (429 + Retry-After), and the header size limit (431).

use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{TestApp, booking_body, catalogue};
use crate::probe::{ProbeStore, seed_body, until};
use crate::scrape::{parse_openmetrics, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_in_flight_bound_requests_get_503_at_once_and_the_accepted_ones_complete() {
    let store = ProbeStore::new();
    let app = TestApp::spawn_with_store(catalogue(5), store.clone(), |config| {
        config.max_in_flight = 2;
    })
    .await;
    store.hold_books.send_replace(true);

    // Two bookings take both permits and wait in the store.
    let accepted: Vec<_> = (0..2)
        .map(|n| {
            let client = app.client.clone();
            let url = app.url("/api/v1/bookings");
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&booking_body(n, "TEST", "2030-01-01", "09:00-12:00"))
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    until("both bookings to reach the store", || {
        store.books_entered.load(Ordering::SeqCst) == 2
    })
    .await;

    // Act + assert: everything else is shed at once, with Retry-After.
    for _ in 0..5 {
        let shed = app.get("/api/v1/centres/TEST/availability").await;
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(shed.headers().get("retry-after").is_some());
        let problem: Value = shed.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/overloaded");
    }
    let browser = app
        .client
        .get(app.url("/centres/TEST"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(browser.headers().get("retry-after").is_some());
    assert!(
        browser.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        browser
            .text()
            .await
            .unwrap()
            .contains("Sistem terlalu sibuk sekarang"),
        "browsers get the citizen pages' own friendly 503"
    );
    // Operators still see the service while it sheds.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(
        sample(
            &parse_openmetrics(&metrics),
            "jkjav_shed_requests_total",
            &[]
        ) >= 6.0
    );

    store.hold_books.send_replace(false);
    for response in accepted {
        let response = response.await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let booking: Value = response.json().await.unwrap();
        assert_eq!(booking["status"], "confirmed");
    }
    let after = app.get("/api/v1/centres/TEST/availability").await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn booking_posts_past_the_per_ip_limit_get_429_with_retry_after_on_every_booking_endpoint() {
    let app = TestApp::spawn_with(catalogue(50), |config| {
        config.booking_posts_per_ip_per_min = 3;
    })
    .await;
    for n in 0..3 {
        let r = app
            .post_json(
                "/api/v1/bookings",
                booking_body(n, "TEST", "2030-01-01", "09:00-12:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    let limited = app
        .post_json(
            "/api/v1/bookings",
            booking_body(3, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-requests");

    // Without trusted proxies, a forged X-Forwarded-For changes nothing.
    let forged = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("x-forwarded-for", "10.9.9.9")
        .json(&booking_body(4, "TEST", "2030-01-01", "09:00-12:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);

    let seed = app.post_json("/booking", seed_body(5)).await;
    assert_eq!(seed.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(seed.headers().get("retry-after").is_some());
    let failure: Value = seed.json().await.unwrap();
    assert_eq!(failure["status"], "Failed");

    // Reading is not limited.
    assert_eq!(
        app.get("/api/v1/centres/TEST/availability").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_booking_limit() {
    let app = TestApp::spawn_with(catalogue(50), |config| {
        config.booking_posts_per_ip_per_min = 2;
        // The test's own address is the proxy.
        config.trusted_proxies = "127.0.0.1/32".parse().unwrap();
    })
    .await;
    let post = |n: u32, client: &'static str| {
        app.client
            .post(app.url("/api/v1/bookings"))
            // The client wrote the first entry itself; the proxy appended what it saw.
            .header("x-forwarded-for", format!("1.2.3.4, {client}"))
            .json(&booking_body(n, "TEST", "2030-01-01", "09:00-12:00"))
            .send()
    };
    assert_eq!(
        post(0, "10.0.0.1").await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post(1, "10.0.0.1").await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post(2, "10.0.0.1").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        post(3, "10.0.0.2").await.unwrap().status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn booking_attempts_past_the_per_identity_limit_get_429_with_retry_after() {
    let app = TestApp::spawn_with(catalogue(50), |config| {
        config.booking_attempts_per_id_per_min = 2;
    })
    .await;
    let body = || booking_body(7, "TEST", "2030-01-01", "09:00-12:00");
    assert_eq!(
        app.post_json("/api/v1/bookings", body()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.post_json("/api/v1/bookings", body()).await.status(),
        StatusCode::CONFLICT
    );

    let limited = app.post_json("/api/v1/bookings", body()).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    let seed = app.post_json("/booking", seed_body(7)).await;
    assert_eq!(seed.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(seed.headers().get("retry-after").is_some());

    // Someone else is not affected.
    assert_eq!(
        app.post_json(
            "/api/v1/bookings",
            booking_body(8, "TEST", "2030-01-01", "09:00-12:00")
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let samples = parse_openmetrics(&metrics);
    assert!(
        sample(
            &samples,
            "jkjav_rate_limited_requests_total",
            &[("limit", "identity")]
        ) >= 2.0
    );
}

#[tokio::test]
async fn oversized_request_headers_get_431() {
    let app = TestApp::spawn_with(catalogue(5), |config| config.max_header_bytes = 1024).await;
    let response = app
        .client
        .get(app.url("/api/v1/states"))
        .header("x-padding", "a".repeat(2000))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(app.get("/api/v1/states").await.status(), StatusCode::OK);
}
