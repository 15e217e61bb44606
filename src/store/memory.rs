//! The in-memory store: the embedded default. Same semantics as Redis, nothing durable.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BookOutcome, CancelOutcome, OutboxEvent, SlotCount, Store, StoreError};
use crate::domain::{Booking, BookingStatus, PersonId, Reference, SlotKey};

/// Every operation takes one lock for a few map look-ups: that lock is what makes a booking
/// atomic here, as the Lua script does in Redis.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    slots: HashMap<SlotKey, SlotCount>,
    /// Person storage key → the reference of their active booking.
    holders: HashMap<String, Reference>,
    bookings: HashMap<Reference, Booking>,
    outbox: VecDeque<OutboxEvent>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        // A poisoned lock means a panic mid-update; refuse rather than serve half a write.
        self.inner
            .lock()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn set_capacities(&self, slots: &[(SlotKey, u32)]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for (slot, capacity) in slots {
            inner
                .slots
                .entry(slot.clone())
                .and_modify(|count| count.capacity = *capacity)
                .or_insert(SlotCount {
                    capacity: *capacity,
                    taken: 0,
                });
        }
        Ok(())
    }

    async fn counts(&self) -> Result<HashMap<SlotKey, SlotCount>, StoreError> {
        Ok(self.lock()?.slots.clone())
    }

    async fn book(
        &self,
        booking: &Booking,
        event: &OutboxEvent,
    ) -> Result<BookOutcome, StoreError> {
        let mut inner = self.lock()?;
        let person = booking.person.id.storage_key();
        if inner.holders.contains_key(&person) {
            return Ok(BookOutcome::AlreadyBooked);
        }
        let Some(count) = inner.slots.get(&booking.slot).copied() else {
            return Ok(BookOutcome::SlotMissing);
        };
        if count.remaining() == 0 {
            return Ok(BookOutcome::SoldOut);
        }
        if inner.bookings.contains_key(&booking.reference) {
            return Ok(BookOutcome::ReferenceTaken);
        }
        if let Some(count) = inner.slots.get_mut(&booking.slot) {
            count.taken += 1;
        }
        inner.holders.insert(person, booking.reference.clone());
        let mut stored = booking.clone();
        stored.status = BookingStatus::Confirmed;
        inner.bookings.insert(booking.reference.clone(), stored);
        inner.outbox.push_back(event.clone());
        Ok(BookOutcome::Booked)
    }

    async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
        cancelled_at: DateTime<Utc>,
        event: &OutboxEvent,
    ) -> Result<CancelOutcome, StoreError> {
        let mut inner = self.lock()?;
        let Some(booking) = inner.bookings.get_mut(reference) else {
            return Ok(CancelOutcome::NotFound);
        };
        if &booking.person.id != person {
            return Ok(CancelOutcome::NotFound);
        }
        if !booking.is_active() {
            return Ok(CancelOutcome::AlreadyCancelled);
        }
        booking.status = BookingStatus::Cancelled { cancelled_at };
        let slot = booking.slot.clone();
        if let Some(count) = inner.slots.get_mut(&slot) {
            count.taken = count.taken.saturating_sub(1);
        }
        inner.holders.remove(&person.storage_key());
        inner.outbox.push_back(event.clone());
        Ok(CancelOutcome::Cancelled)
    }

    async fn find(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        Ok(self.lock()?.bookings.get(reference).cloned())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(drop)
    }

    async fn outbox_len(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.outbox.len() as u64)
    }
}
