//! Helpers for the flash-crowd tests: a store whose calls are counted and can be held at a
//! gate (slow requests are made slow this way, never by sleeping), and small builders.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use jkjav::booking::{BookingRequest, BookingService, ClientKey};
use jkjav::catalogue::Catalogue;
use jkjav::domain::{
    Address, Booking, Person, PersonId, PersonName, Phone, Reference, SlotKey, TimeWindow,
};
use jkjav::store::{
    AttemptLimit, AttemptOutcome, BookOutcome, CancelOutcome, Idempotency, IdempotentBooking,
    MemoryStore, OutboxEntry, OutboxEvent, OutboxStats, RedisStore, RedisStoreOptions, SlotCount,
    Store, StoreError,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::harness::{RedisServer, mykad};

/// A memory store whose `counts` and `book` calls are counted and can be held at a gate.
#[derive(Debug)]
pub struct ProbeStore {
    pub inner: MemoryStore,
    pub counts_calls: AtomicUsize,
    pub books_entered: AtomicUsize,
    pub hold_counts: watch::Sender<bool>,
    pub hold_books: watch::Sender<bool>,
}

impl ProbeStore {
    pub fn new() -> Arc<Self> {
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
        idempotency: Option<&Idempotency>,
    ) -> Result<BookOutcome, StoreError> {
        self.books_entered.fetch_add(1, Ordering::SeqCst);
        Self::gate(&self.hold_books).await;
        self.inner.book(booking, event, idempotency).await
    }
    async fn idempotent(&self, key: &str) -> Result<Option<IdempotentBooking>, StoreError> {
        self.inner.idempotent(key).await
    }
    async fn active_booking_of(&self, person: &PersonId) -> Result<Option<Booking>, StoreError> {
        self.inner.active_booking_of(person).await
    }
    async fn attempt(&self, limits: &[AttemptLimit]) -> Result<AttemptOutcome, StoreError> {
        self.inner.attempt(limits).await
    }
    async fn attempt_succeeded(&self, limits: &[AttemptLimit]) -> Result<(), StoreError> {
        self.inner.attempt_succeeded(limits).await
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
pub async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn test_slot() -> SlotKey {
    SlotKey {
        centre: jkjav::domain::CentreCode::parse("TEST").unwrap(),
        date: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        window: TimeWindow::parse("09:00-12:00").unwrap(),
    }
}

pub fn request(n: u32) -> BookingRequest {
    BookingRequest {
        slot: test_slot(),
        person: Person {
            id: PersonId::parse(&mykad(n)).unwrap(),
            name: PersonName::parse(&format!("Person {n}")).unwrap(),
            phone: Phone::parse("0123456789").unwrap(),
            address: Address::parse("Jalan Test, Kuala Lumpur").unwrap(),
            postcode: None,
        },
        client: ClientKey::default(),
        idempotency_key: None,
    }
}

pub async fn service_on(
    store: Arc<dyn Store>,
    cat: Catalogue,
    max_age: Duration,
) -> BookingService {
    let service = BookingService::new(store, Arc::new(cat), max_age);
    service.sync_catalogue().await.unwrap();
    service
}

pub fn redis_store(redis: &RedisServer, cat: &Catalogue) -> Arc<dyn Store> {
    Arc::new(
        RedisStore::new(RedisStoreOptions {
            url: redis.url(),
            namespace: cat.campaign().id.clone(),
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    )
}

pub fn seed_body(n: u32) -> Value {
    serde_json::json!({
        "address": "Kuala Lumpur", "date": "20300101", "firstName": "Fadhil", "lastName": "Yaacob",
        "location": "TEST", "mysejahteraId": mykad(n), "phoneNumber": "0123456789"
    })
}
