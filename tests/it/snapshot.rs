//! The availability snapshot under a flood of readers: its age bound and single flight, the
//! sold-out fast path racing cancellations, conditional reads (ETag/304), and a stale snapshot
//! instead of an error when Redis is down. No test asserts how fast anything is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jkjav::booking::{BookError, BookingRequest};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{RedisServer, TestApp, booking_body, catalogue};
use crate::probe::{ProbeStore, redis_store, request, service_on, test_slot, until};
use crate::scrape::{parse_openmetrics, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_is_never_older_than_its_bound_and_a_cancellation_shows_within_it() {
    // Two instances of the service on one Redis, as behind a load balancer.
    let redis = RedisServer::start();
    let cat = catalogue(1);
    let bound = Duration::from_millis(200);
    let a = service_on(redis_store(&redis, &cat), cat.clone(), bound).await;
    let b = service_on(redis_store(&redis, &cat), cat, bound).await;
    let booking = a.book(request(1)).await.unwrap();

    // Arrange: B has read the slot full.
    for _ in 0..50 {
        let asked = Instant::now();
        let snapshot = b.availability().await.unwrap();
        assert!(
            snapshot.taken_at + bound >= asked,
            "served a snapshot older than {bound:?}"
        );
        assert!(!snapshot.stale);
        if snapshot.remaining(&test_slot()) == 0 {
            break;
        }
    }

    // Act: A cancels.
    a.cancel_as_holder(&booking.reference, &booking.person.id)
        .await
        .unwrap();
    let cancelled = Instant::now();

    // Assert: A shows the place at once; B within its bound, and never misses it in a
    // snapshot read after the cancellation.
    assert_eq!(a.availability().await.unwrap().remaining(&test_slot()), 1);
    loop {
        let asked = Instant::now();
        let snapshot = b.availability().await.unwrap();
        assert!(
            snapshot.taken_at + bound >= asked,
            "served a snapshot older than {bound:?}"
        );
        let remaining = snapshot.remaining(&test_slot());
        if snapshot.taken_at >= cancelled {
            assert_eq!(
                remaining, 1,
                "a snapshot read after the cancellation hides the place"
            );
        }
        if remaining == 1 {
            break;
        }
        assert!(
            cancelled.elapsed() < Duration::from_secs(10),
            "the place never showed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_readers_cause_one_store_read() {
    let store = ProbeStore::new();
    // A bound far longer than the test, so only single flight can explain one read.
    let service = service_on(store.clone(), catalogue(5), Duration::from_secs(600)).await;
    store.hold_counts.send_replace(true);

    let readers: Vec<_> = (0..200)
        .map(|_| {
            let service = service.clone();
            tokio::spawn(async move { service.availability().await })
        })
        .collect();
    until("the first reader to reach the store", || {
        store.counts_calls.load(Ordering::SeqCst) >= 1
    })
    .await;
    store.hold_counts.send_replace(false);

    for reader in readers {
        let snapshot = reader.await.unwrap().unwrap();
        assert_eq!(snapshot.remaining(&test_slot()), 5);
    }
    assert_eq!(store.counts_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sold_out_fast_path_never_refuses_a_slot_that_has_places_while_people_cancel() {
    // Arrange: as many holders as places, a bound far longer than the test (so only the
    // cancellation rule keeps old "full" knowledge from being used), and readers refreshing
    // the snapshot throughout.
    let redis = RedisServer::start();
    let holders = 6u32;
    let cat = catalogue(holders);
    let service = service_on(redis_store(&redis, &cat), cat, Duration::from_secs(600)).await;
    let mut bookings = Vec::new();
    for n in 0..holders {
        bookings.push(service.book(request(n)).await.unwrap());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (service, stop) = (service.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    service.availability().await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    for round in 0..15u32 {
        // Full: outsiders are refused, by the store first and then by the fast path.
        for outsider in 0..5 {
            let refused = service.book(request(1000 + round * 10 + outsider)).await;
            assert!(matches!(refused, Err(BookError::SoldOut)), "{refused:?}");
        }
        // Act: every holder cancels and books again, all at once.
        let rebooks: Vec<_> = bookings
            .drain(..)
            .map(|booking| {
                let service = service.clone();
                tokio::spawn(async move {
                    service
                        .cancel_as_holder(&booking.reference, &booking.person.id)
                        .await
                        .unwrap();
                    // Only holders compete, and this one has just given its place back: the
                    // slot has room, so anything but a confirmation is a false "sold out".
                    service
                        .book(BookingRequest {
                            slot: booking.slot.clone(),
                            person: booking.person.clone(),
                            client: Default::default(),
                            idempotency_key: None,
                        })
                        .await
                })
            })
            .collect();
        for rebook in rebooks {
            match rebook.await.unwrap() {
                Ok(booking) => bookings.push(booking),
                Err(error) => panic!("round {round}: a slot with a place was refused: {error:?}"),
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }

    let text = service.metrics().render(Default::default()).unwrap();
    let fast = sample(
        &parse_openmetrics(&text),
        "jkjav_sold_out_fast_path_total",
        &[],
    );
    assert!(fast > 0.0, "the fast path never answered");
}

#[tokio::test]
async fn availability_answers_304_to_a_matching_etag_until_the_counts_change() {
    let app = TestApp::spawn(catalogue(5), None).await;
    for path in ["/api/v1/centres/TEST/availability", "/stations/TEST"] {
        let first = app.get(path).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(
            first.headers()["cache-control"],
            "public, max-age=1, stale-while-revalidate=5"
        );
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();

        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());

        let booked = app
            .post_json(
                "/api/v1/bookings",
                booking_body(
                    if path.starts_with("/api") { 1 } else { 2 },
                    "TEST",
                    "2030-01-01",
                    "09:00-12:00",
                ),
            )
            .await;
        assert_eq!(booked.status(), StatusCode::CREATED);
        // Wait out the snapshot bound (50 ms in tests): the next read is of the new counts.
        tokio::time::sleep(Duration::from_millis(60)).await;
        let changed = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(changed.status(), StatusCode::OK, "{path}");
        assert_ne!(changed.headers()["etag"], etag.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_availability_is_the_last_snapshot_marked_stale_not_an_error() {
    let mut redis = RedisServer::start();
    let app = TestApp::spawn(catalogue(5), Some(redis.url())).await;
    let fresh = app.get("/api/v1/centres/TEST/availability").await;
    assert_eq!(fresh.status(), StatusCode::OK);
    assert!(fresh.headers().get("x-availability-stale").is_none());

    redis.kill();
    tokio::time::sleep(Duration::from_millis(60)).await; // past the 50 ms bound

    let stale = app.get("/api/v1/centres/TEST/availability").await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.headers()["x-availability-stale"], "true");
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["stale"], true);
    assert_eq!(body["days"][0]["windows"][0]["remaining"], 5);
    let seed = app.get("/stations/TEST").await;
    assert_eq!(seed.status(), StatusCode::OK);
    assert_eq!(seed.headers()["x-availability-stale"], "true");
}
