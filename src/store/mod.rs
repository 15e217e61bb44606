//! Where bookings live: the [`Store`] trait and its two backends.
//!
//! - [`RedisStore`]: production. A booking or a cancellation is one Lua script, so the check
//!   ("person holds nothing, slot has room") and the write (count, booking, outbox event) cannot
//!   be separated by another request.
//! - [`MemoryStore`]: the embedded default for `make run` and fast tests; same semantics,
//!   nothing durable.
//!
//! Both must pass the same conformance suite (`tests/it/conformance.rs`).

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOutcome {
    /// Stored, with its outbox event: this is the only outcome that may be confirmed.
    Booked,
    /// The person already holds an active booking in this campaign.
    AlreadyBooked,
    SoldOut,
    /// The store has no capacity for this slot: the catalogue has not been synced to it.
    SlotMissing,
    /// The generated reference exists already (astronomically rare): try another.
    ReferenceTaken,
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

    /// In one atomic step: refuse if the person holds an active booking or the slot is full;
    /// otherwise take a place, store the booking and append `event` to the outbox.
    async fn book(&self, booking: &Booking, event: &OutboxEvent)
    -> Result<BookOutcome, StoreError>;

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
