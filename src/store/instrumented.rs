//! A [`Store`] decorator that times every call into the store-latency histogram, so Redis
//! latency is measured where the service feels it (connection, queueing and timeout included).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AttemptLimit, AttemptOutcome, BookOutcome, CancelOutcome, Idempotency, IdempotentBooking,
    OutboxEntry, OutboxEvent, OutboxStats, SlotCount, Store, StoreError,
};
use crate::domain::{Booking, PersonId, Reference, SlotKey};
use crate::metrics::Metrics;

#[derive(Debug)]
pub struct InstrumentedStore {
    inner: Arc<dyn Store>,
    /// The `backend` label: `redis` or `memory`.
    backend: &'static str,
    metrics: Arc<Metrics>,
}

impl InstrumentedStore {
    pub fn new(inner: Arc<dyn Store>, backend: &'static str, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            backend,
            metrics,
        }
    }

    async fn timed<T>(&self, op: &'static str, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = call.await;
        self.metrics.store_call(self.backend, op, started.elapsed());
        result
    }
}

#[async_trait]
impl Store for InstrumentedStore {
    async fn set_capacities(&self, slots: &[(SlotKey, u32)]) -> Result<(), StoreError> {
        self.timed("set_capacities", self.inner.set_capacities(slots))
            .await
    }

    async fn counts(&self) -> Result<HashMap<SlotKey, SlotCount>, StoreError> {
        self.timed("counts", self.inner.counts()).await
    }

    async fn book(
        &self,
        booking: &Booking,
        event: &OutboxEvent,
        idempotency: Option<&Idempotency>,
    ) -> Result<BookOutcome, StoreError> {
        self.timed("book", self.inner.book(booking, event, idempotency))
            .await
    }

    async fn idempotent(&self, key: &str) -> Result<Option<IdempotentBooking>, StoreError> {
        self.timed("idempotent", self.inner.idempotent(key)).await
    }

    async fn active_booking_of(&self, person: &PersonId) -> Result<Option<Booking>, StoreError> {
        self.timed("active_booking_of", self.inner.active_booking_of(person))
            .await
    }

    async fn attempt(&self, limits: &[AttemptLimit]) -> Result<AttemptOutcome, StoreError> {
        self.timed("attempt", self.inner.attempt(limits)).await
    }

    async fn attempt_succeeded(&self, limits: &[AttemptLimit]) -> Result<(), StoreError> {
        self.timed("attempt_succeeded", self.inner.attempt_succeeded(limits))
            .await
    }

    async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
        cancelled_at: DateTime<Utc>,
        event: &OutboxEvent,
    ) -> Result<CancelOutcome, StoreError> {
        self.timed(
            "cancel",
            self.inner.cancel(reference, person, cancelled_at, event),
        )
        .await
    }

    async fn find(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        self.timed("find", self.inner.find(reference)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.timed("outbox_stats", self.inner.outbox_stats()).await
    }

    async fn outbox_claim(
        &self,
        consumer: &str,
        max: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.timed(
            "outbox_claim",
            self.inner.outbox_claim(consumer, max, reclaim_after),
        )
        .await
    }

    async fn outbox_ack(&self, ids: &[String]) -> Result<(), StoreError> {
        self.timed("outbox_ack", self.inner.outbox_ack(ids)).await
    }

    async fn outbox_release(&self, ids: &[String]) -> Result<(), StoreError> {
        self.timed("outbox_release", self.inner.outbox_release(ids))
            .await
    }
}
