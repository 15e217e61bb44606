//! The in-memory store: the embedded default. Same semantics as Redis, nothing durable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    BookOutcome, CancelOutcome, OutboxEntry, OutboxEvent, OutboxStats, SlotCount, Store, StoreError,
};
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
    /// Undelivered events by sequence number, oldest first.
    outbox: BTreeMap<u64, Pending>,
    next_outbox_id: u64,
}

#[derive(Debug)]
struct Pending {
    event: OutboxEvent,
    written_at: Instant,
    /// Which relay holds it, and since when.
    claimed: Option<(String, Instant)>,
}

impl Inner {
    fn append(&mut self, event: &OutboxEvent) {
        self.next_outbox_id += 1;
        let pending = Pending {
            event: event.clone(),
            written_at: Instant::now(),
            claimed: None,
        };
        self.outbox.insert(self.next_outbox_id, pending);
    }
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
        inner.append(event);
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
        inner.append(event);
        Ok(CancelOutcome::Cancelled)
    }

    async fn find(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        Ok(self.lock()?.bookings.get(reference).cloned())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(drop)
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let inner = self.lock()?;
        Ok(OutboxStats {
            backlog: inner.outbox.len() as u64,
            oldest_age: inner.outbox.values().next().map(|p| p.written_at.elapsed()),
        })
    }

    async fn outbox_claim(
        &self,
        consumer: &str,
        max: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut inner = self.lock()?;
        let now = Instant::now();
        let mut claimed = Vec::new();
        for (id, pending) in inner.outbox.iter_mut() {
            if claimed.len() == max {
                break;
            }
            let free = match &pending.claimed {
                None => true,
                Some((_, since)) => now.duration_since(*since) >= reclaim_after,
            };
            if free {
                pending.claimed = Some((consumer.to_owned(), now));
                claimed.push(OutboxEntry {
                    id: id.to_string(),
                    event: pending.event.clone(),
                });
            }
        }
        Ok(claimed)
    }

    async fn outbox_release(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for id in ids {
            let pending = id
                .parse::<u64>()
                .ok()
                .and_then(|id| inner.outbox.get_mut(&id));
            if let Some(pending) = pending {
                pending.claimed = None;
            }
        }
        Ok(())
    }

    async fn outbox_ack(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        for id in ids {
            if let Ok(id) = id.parse::<u64>() {
                inner.outbox.remove(&id);
            }
        }
        Ok(())
    }
}
