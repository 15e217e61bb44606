//! The flash crowd: the availability snapshot's bound and single flight, the sold-out fast path
//! racing cancellations, load shedding, rate limits, conditional reads and /metrics.
//!
//! Slow requests are made slow by holding a store call on a gate the test opens, never by
//! sleeping, and no test asserts how fast anything is.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use jkjav::booking::{BookError, BookingRequest, BookingService};
use jkjav::catalogue::Catalogue;
use jkjav::domain::{
    Address, Booking, Person, PersonId, PersonName, Phone, Reference, SlotKey, TimeWindow,
};
use jkjav::store::{
    BookOutcome, CancelOutcome, MemoryStore, OutboxEntry, OutboxEvent, OutboxStats, RedisStore,
    RedisStoreOptions, SlotCount, Store, StoreError,
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::watch;

use crate::harness::{RedisServer, TestApp, booking_body, catalogue, mykad};

/// A memory store whose `counts` and `book` calls are counted and can be held at a gate.
#[derive(Debug)]
struct ProbeStore {
    inner: MemoryStore,
    counts_calls: AtomicUsize,
    books_entered: AtomicUsize,
    hold_counts: watch::Sender<bool>,
    hold_books: watch::Sender<bool>,
}

impl ProbeStore {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            counts_calls: AtomicUsize::new(0),
            books_entered: AtomicUsize::new(0),
            hold_counts: watch::channel(false).0,
            hold_books: watch::channel(false).0,
        })
    }

    async fn gate(hold: &watch::Sender<bool>) {
        let mut rx = hold.subscribe();
        let _ = rx.wait_for(|held| !*held).await;
    }
}

#[async_trait]
impl Store for ProbeStore {
    async fn set_capacities(&self, slots: &[(SlotKey, u32)]) -> Result<(), StoreError> {
        self.inner.set_capacities(slots).await
    }
    async fn counts(&self) -> Result<HashMap<SlotKey, SlotCount>, StoreError> {
        self.counts_calls.fetch_add(1, Ordering::SeqCst);
        Self::gate(&self.hold_counts).await;
        self.inner.counts().await
    }
    async fn book(
        &self,
        booking: &Booking,
        event: &OutboxEvent,
    ) -> Result<BookOutcome, StoreError> {
        self.books_entered.fetch_add(1, Ordering::SeqCst);
        Self::gate(&self.hold_books).await;
        self.inner.book(booking, event).await
    }
    async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
        cancelled_at: DateTime<Utc>,
        event: &OutboxEvent,
    ) -> Result<CancelOutcome, StoreError> {
        self.inner
            .cancel(reference, person, cancelled_at, event)
            .await
    }
    async fn find(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        self.inner.find(reference).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.inner.outbox_stats().await
    }
    async fn outbox_claim(
        &self,
        consumer: &str,
        max: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.outbox_claim(consumer, max, reclaim_after).await
    }
    async fn outbox_ack(&self, ids: &[String]) -> Result<(), StoreError> {
        self.inner.outbox_ack(ids).await
    }

    async fn outbox_release(&self, ids: &[String]) -> Result<(), StoreError> {
        self.inner.outbox_release(ids).await
    }
}

/// Waits (bounded) until `done` holds: for the test's own coordination, not a speed check.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn test_slot() -> SlotKey {
    SlotKey {
        centre: jkjav::domain::CentreCode::parse("TEST").unwrap(),
        date: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        window: TimeWindow::parse("09:00-12:00").unwrap(),
    }
}

fn request(n: u32) -> BookingRequest {
    BookingRequest {
        slot: test_slot(),
        person: Person {
            id: PersonId::parse(&mykad(n)).unwrap(),
            name: PersonName::parse(&format!("Person {n}")).unwrap(),
            phone: Phone::parse("0123456789").unwrap(),
            address: Address::parse("Jalan Test, Kuala Lumpur").unwrap(),
            postcode: None,
        },
    }
}

async fn service_on(store: Arc<dyn Store>, cat: Catalogue, max_age: Duration) -> BookingService {
    let service = BookingService::new(store, Arc::new(cat), max_age);
    service.sync_catalogue().await.unwrap();
    service
}

fn redis_store(redis: &RedisServer, cat: &Catalogue) -> Arc<dyn Store> {
    Arc::new(
        RedisStore::new(RedisStoreOptions {
            url: redis.url(),
            namespace: cat.campaign().id.clone(),
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    )
}

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
    a.cancel(&booking.reference, &booking.person.id)
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
                        .cancel(&booking.reference, &booking.person.id)
                        .await
                        .unwrap();
                    // Only holders compete, and this one has just given its place back: the
                    // slot has room, so anything but a confirmation is a false "sold out".
                    service
                        .book(BookingRequest {
                            slot: booking.slot.clone(),
                            person: booking.person.clone(),
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

    let text = service.metrics().render(Default::default());
    let fast = sample(
        &parse_prometheus(&text),
        "jkjav_sold_out_fast_path_total",
        &[],
    );
    assert!(fast > 0.0, "the fast path never answered");
}

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
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        sample(
            &parse_prometheus(&metrics),
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
        config.trusted_proxy_hops = 1;
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
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let samples = parse_prometheus(&metrics);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_the_flash_crowd_series_as_valid_prometheus_text() {
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

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let samples = parse_prometheus(&text);

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

/// One parsed sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict reader of the Prometheus text format: every line is a comment, `# HELP`/`# TYPE`,
/// or `name{label="value",...} number`; every sample belongs to a declared family; histogram
/// buckets are cumulative and end in `+Inf` equal to `_count`.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type in {line:?}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice: {name}"
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (
                name,
                parse_labels(rest.strip_suffix('}').expect("closing brace")),
            ),
            None => (series, BTreeMap::new()),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name in {line:?}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample without a TYPE: {line:?}"
        );
        samples.push((name.to_owned(), labels, value));
    }
    check_histograms(&samples);
    samples
}

fn parse_labels(raw: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label name");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("unterminated label value") {
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

fn check_histograms(samples: &[Sample]) {
    // (family, labels other than `le`) → [(le, cumulative count)]
    type Series = (String, Vec<(String, String)>);
    let mut buckets: BTreeMap<Series, Vec<(f64, f64)>> = BTreeMap::new();
    for (name, labels, value) in samples {
        if let Some(base) = name.strip_suffix("_bucket") {
            let le: f64 = match labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                other => other.parse().unwrap(),
            };
            let rest: Vec<_> = labels
                .iter()
                .filter(|(k, _)| *k != "le")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            buckets
                .entry((base.to_owned(), rest))
                .or_default()
                .push((le, *value));
        }
    }
    for ((base, labels), series) in buckets {
        assert!(
            series
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{base}: buckets not cumulative"
        );
        let (last_le, last) = *series.last().unwrap();
        assert!(last_le.is_infinite(), "{base}: no +Inf bucket");
        let count = samples
            .iter()
            .find(|(n, l, _)| {
                *n == format!("{base}_count")
                    && labels.iter().all(|(k, v)| l.get(k) == Some(v))
                    && l.len() == labels.len()
            })
            .map(|s| s.2);
        assert_eq!(count, Some(last), "{base}: +Inf bucket differs from _count");
    }
}

/// The value of the one sample named `name` whose labels include `labels`, summed when
/// several match.
fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
        .collect();
    assert!(!matching.is_empty(), "no sample {name} {labels:?}");
    matching.iter().sum()
}

fn seed_body(n: u32) -> Value {
    serde_json::json!({
        "address": "Kuala Lumpur", "date": "20300101", "firstName": "Fadhil", "lastName": "Yaacob",
        "location": "TEST", "mysejahteraId": mykad(n), "phoneNumber": "0123456789"
    })
}
