//! The in-memory store: the embedded default. Same semantics as Redis, nothing durable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AttemptLimit, AttemptOutcome, BookOutcome, CancelOutcome, Idempotency, IdempotentBooking,
    OutboxEntry, OutboxEvent, OutboxStats, SlotCount, Store, StoreError,
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
    /// Idempotency keys, each with what it recorded and until when.
    idempotency: Expiring<IdempotentBooking>,
    /// Attempt counters: attempts counted, until when.
    attempts: Expiring<u32>,
}

/// Entries that are forgotten at their expiry, as Redis forgets keys with a TTL. Expired
/// entries are swept when the map has doubled since the last sweep, so memory follows what is
/// live.
#[derive(Debug)]
struct Expiring<T> {
    entries: HashMap<String, (T, Instant)>,
    sweep_at: usize,
}

impl<T> Default for Expiring<T> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            sweep_at: 1024,
        }
    }
}

impl<T> Expiring<T> {
    fn get(&self, key: &str, now: Instant) -> Option<&(T, Instant)> {
        self.entries.get(key).filter(|(_, until)| *until > now)
    }

    fn get_mut(&mut self, key: &str, now: Instant) -> Option<&mut (T, Instant)> {
        self.entries.get_mut(key).filter(|(_, until)| *until > now)
    }

    fn insert(&mut self, key: String, value: T, until: Instant, now: Instant) {
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, (_, until)| *until > now);
            self.sweep_at = (self.entries.len() * 2).max(1024);
        }
        self.entries.insert(key, (value, until));
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }
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
        idempotency: Option<&Idempotency>,
    ) -> Result<BookOutcome, StoreError> {
        let mut inner = self.lock()?;
        let now = Instant::now();
        if let Some(once) = idempotency
            && let Some((prior, _)) = inner.idempotency.get(&once.key, now)
        {
            return Ok(if prior.fingerprint == once.fingerprint {
                BookOutcome::Replayed(prior.reference.clone())
            } else {
                BookOutcome::KeyReused
            });
        }
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
        if let Some(once) = idempotency {
            let record = IdempotentBooking {
                reference: booking.reference.clone(),
                fingerprint: once.fingerprint.clone(),
            };
            inner
                .idempotency
                .insert(once.key.clone(), record, now + once.ttl, now);
        }
        Ok(BookOutcome::Booked)
    }

    async fn idempotent(&self, key: &str) -> Result<Option<IdempotentBooking>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .idempotency
            .get(key, Instant::now())
            .map(|(record, _)| record.clone()))
    }

    async fn active_booking_of(&self, person: &PersonId) -> Result<Option<Booking>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .holders
            .get(&person.storage_key())
            .and_then(|reference| inner.bookings.get(reference))
            .filter(|booking| booking.is_active())
            .cloned())
    }

    async fn attempt(&self, limits: &[AttemptLimit]) -> Result<AttemptOutcome, StoreError> {
        let mut inner = self.lock()?;
        let now = Instant::now();
        for (index, limit) in limits.iter().enumerate() {
            if limit.max == 0 {
                continue;
            }
            if let Some((count, until)) = inner.attempts.get(&limit.key, now)
                && *count >= limit.max
            {
                let retry_after = until.duration_since(now);
                return Ok(AttemptOutcome::Refused { index, retry_after });
            }
        }
        for limit in limits.iter().filter(|limit| limit.max > 0) {
            let from_now = now + limit.window;
            match inner.attempts.get_mut(&limit.key, now) {
                Some((count, until)) => {
                    *count += 1;
                    if *count == limit.max {
                        // The last attempt allowed: locked for a whole window from now.
                        *until = from_now;
                    }
                }
                None => inner.attempts.insert(limit.key.clone(), 1, from_now, now),
            }
        }
        Ok(AttemptOutcome::Allowed)
    }

    async fn attempt_succeeded(&self, limits: &[AttemptLimit]) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let now = Instant::now();
        for limit in limits.iter().filter(|limit| limit.max > 0) {
            let emptied = match inner.attempts.get_mut(&limit.key, now) {
                Some((count, _)) => {
                    *count = count.saturating_sub(1);
                    *count == 0
                }
                None => false,
            };
            if emptied {
                inner.attempts.remove(&limit.key);
            }
        }
        Ok(())
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
