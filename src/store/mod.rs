//! Where bookings live: the [`Store`] trait and its two backends.
//!
//! - [`RedisStore`]: production. A booking or a cancellation is one Lua script, so the check
//!   ("person holds nothing, slot has room") and the write (count, booking, outbox event) cannot
//!   be separated by another request.
//! - [`MemoryStore`]: the embedded default for `make run` and fast tests; same semantics,
//!   nothing durable.
//!
//! Both must pass the same conformance suite (`tests/it/conformance.rs`).
//!
//! Besides bookings, the store keeps what must hold across every instance of the service: the
//! counters of failed attempts to open a booking (so that guessing is limited wherever the
//! guesses land) and each booking's idempotency key (written in the booking's own atomic step).

mod instrumented;
mod memory;
mod redis;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{Booking, PersonId, Reference, SlotKey};

pub use instrumented::InstrumentedStore;
pub use memory::MemoryStore;
pub use redis::{RedisStore, RedisStoreOptions};

/// An event waiting in the outbox to be delivered downstream. It is written by the same atomic
/// step that changes the booking, so no event exists for a change that was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The partition key downstream (the centre code), so each centre's events stay in order.
    pub key: String,
    /// The event as delivered: JSON text.
    pub payload: String,
}

/// An outbox event claimed by one relay for delivery; acknowledged by `id` once delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Store-assigned, increasing in write order (a Redis stream id in Redis).
    pub id: String,
    pub event: OutboxEvent,
}

/// How far delivery is behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Events written and not yet acknowledged as delivered.
    pub backlog: u64,
    /// Age of the oldest of them.
    pub oldest_age: Option<Duration>,
}

/// The answer to "book this slot for this person".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookOutcome {
    /// Stored, with its outbox event: this is the only outcome that may be confirmed.
    Booked,
    /// The submission's idempotency key already made a booking, for the same request: this is
    /// its reference. Nothing new was stored.
    Replayed(Reference),
    /// The submission's idempotency key already made a booking for a different request.
    /// Nothing was stored.
    KeyReused,
    /// The person already holds an active booking in this campaign.
    AlreadyBooked,
    SoldOut,
    /// The store has no capacity for this slot: the catalogue has not been synced to it.
    SlotMissing,
    /// The generated reference exists already (astronomically rare): try another.
    ReferenceTaken,
}

/// A submission's idempotency key, stored with the booking it makes in the same atomic step, so
/// that a retry of the submission (after a timeout, a lost answer) finds that booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The key as the store keeps it: scoped by the caller (the service scopes it by person).
    pub key: String,
    /// What the submission asked for: the same key with another request is refused.
    pub fingerprint: String,
    /// How long the key is remembered.
    pub ttl: Duration,
}

/// What an idempotency key recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentBooking {
    pub reference: Reference,
    pub fingerprint: String,
}

/// One counter of attempts, kept in the store so that it holds across instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLimit {
    /// Names the counter; opaque to the store.
    pub key: String,
    /// Attempts allowed; 0 means no limit (nothing is counted).
    pub max: u32,
    /// How long attempts are remembered, from the first; once `max` is reached, the counter
    /// refuses for this long from the attempt that reached it.
    pub window: Duration,
}

/// The answer to "may I try?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Counted against every limit.
    Allowed,
    /// Counted against none: the limit at `index` is reached, and frees in `retry_after`.
    Refused { index: usize, retry_after: Duration },
}

/// The answer to "cancel this booking for this person".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    /// No such reference, or it belongs to someone else: the two are not told apart.
    NotFound,
    AlreadyCancelled,
}

/// Places of one slot as the store counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotCount {
    pub capacity: u32,
    pub taken: u32,
}

impl SlotCount {
    /// Never below zero, even after a capacity cut below what was already booked.
    pub fn remaining(&self) -> u32 {
        self.capacity.saturating_sub(self.taken)
    }
}

/// Why the store could not answer. Every variant means "try again later" to the caller:
/// the HTTP layer answers 503 with Retry-After.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the store did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store holds data this version cannot read: {0}")]
    Corrupt(String),
}

/// The storage operations the booking service needs; see the module docs for the guarantees.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Sets each slot's capacity. Booked counts are untouched, so loading the same catalogue
    /// again changes nothing and a capacity change moves the remaining places by the difference.
    async fn set_capacities(&self, slots: &[(SlotKey, u32)]) -> Result<(), StoreError>;

    /// Capacity and booked count of every slot the store knows.
    async fn counts(&self) -> Result<HashMap<SlotKey, SlotCount>, StoreError>;

    /// In one atomic step: answer from `idempotency` if its key already made a booking; refuse
    /// if the person holds an active booking or the slot is full; otherwise take a place, store
    /// the booking (and `idempotency`, for its time) and append `event` to the outbox.
    async fn book(
        &self,
        booking: &Booking,
        event: &OutboxEvent,
        idempotency: Option<&Idempotency>,
    ) -> Result<BookOutcome, StoreError>;

    /// What an idempotency key recorded, while it is remembered.
    async fn idempotent(&self, key: &str) -> Result<Option<IdempotentBooking>, StoreError>;

    /// The person's active booking, if they hold one.
    async fn active_booking_of(&self, person: &PersonId) -> Result<Option<Booking>, StoreError>;

    /// In one atomic step: if every limit has room, count one attempt against each (limits of 0
    /// excepted); otherwise count nothing and say which is reached.
    async fn attempt(&self, limits: &[AttemptLimit]) -> Result<AttemptOutcome, StoreError>;

    /// Takes back one attempt from each limit: it succeeded, so it was no guess.
    async fn attempt_succeeded(&self, limits: &[AttemptLimit]) -> Result<(), StoreError>;

    /// The mirror image of [`Store::book`]: mark the booking cancelled, give the place back,
    /// free the person to book again and append `event`, only if `person` holds it and it is active.
    async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
        cancelled_at: DateTime<Utc>,
        event: &OutboxEvent,
    ) -> Result<CancelOutcome, StoreError>;

    /// The booking with this reference, active or cancelled.
    async fn find(&self, reference: &Reference) -> Result<Option<Booking>, StoreError>;

    /// Cheap reachability check for readiness probes.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Backlog and age of the oldest undelivered event.
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError>;

    /// Events written but not yet delivered.
    async fn outbox_len(&self) -> Result<u64, StoreError> {
        Ok(self.outbox_stats().await?.backlog)
    }

    /// Claims up to `max` events for `consumer`, oldest first: entries nobody holds, plus entries
    /// claimed by another consumer more than `reclaim_after` ago (that relay is presumed dead).
    /// An entry held by a live consumer is not handed to another.
    async fn outbox_claim(
        &self,
        consumer: &str,
        max: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Removes delivered entries, so the outbox only holds what is still owed downstream.
    async fn outbox_ack(&self, ids: &[String]) -> Result<(), StoreError>;

    /// Hands claimed but undelivered entries back (a relay shutting down), so another relay
    /// can claim them at once instead of after `reclaim_after`. No default: a wrapper that
    /// forgot to forward it would silently make shutdowns slow to hand over.
    async fn outbox_release(&self, ids: &[String]) -> Result<(), StoreError>;
}
