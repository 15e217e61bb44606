//! `BookingService`: the only code that books, cancels and looks up bookings.
//!
//! Every front end — the v1 JSON API, the seed's endpoints, the web pages — is a thin adapter
//! over it, so the rules (campaign open, slot exists, one booking per person, never a
//! confirmation without a stored booking) live here once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use chrono::{NaiveDate, Utc};

use crate::catalogue::{Catalogue, Phase};
use crate::domain::{Booking, BookingStatus, CentreCode, Person, PersonId, Reference, SlotKey};
use crate::events::{BookingEvent, EventType};
use crate::store::{BookOutcome, CancelOutcome, SlotCount, Store, StoreError};

/// Why a booking was not made. Every variant is a truthful "no": nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("this centre has no such date and time window")]
    UnknownSlot,
    #[error("bookings open at {opens_at}")]
    NotOpen { opens_at: DateTime<FixedOffset> },
    #[error("bookings closed at {closed_at}")]
    Closed { closed_at: DateTime<FixedOffset> },
    #[error("this time window is fully booked")]
    SoldOut,
    #[error("this identity number already holds a booking in this campaign")]
    AlreadyBooked,
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// Why a lookup or cancellation found nothing to show.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Wrong reference or wrong identity number: deliberately the same answer.
    #[error("no booking matches this reference and identity number")]
    NotFound,
    #[error("this booking is already cancelled")]
    AlreadyCancelled,
    #[error(transparent)]
    Unavailable(#[from] StoreError),
}

/// What someone asks to book.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub slot: SlotKey,
    pub person: Person,
}

/// Remaining places per slot, as of `taken_at`. Reads are served from this snapshot so a
/// flood of readers costs the store one read per `max_age`.
#[derive(Debug, Clone)]
pub struct Availability {
    counts: Arc<HashMap<SlotKey, SlotCount>>,
    pub taken_at: Instant,
    /// The store could not be read just now and this is an older snapshot.
    pub stale: bool,
}

impl Availability {
    /// Remaining places; a slot the store does not know yet (catalogue not synced) shows none.
    pub fn remaining(&self, slot: &SlotKey) -> u32 {
        self.counts.get(slot).map_or(0, SlotCount::remaining)
    }
}

/// A cheap `Clone` handle; all state lives in `Shared`.
#[derive(Debug, Clone)]
pub struct BookingService {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Arc<dyn Store>,
    catalogue: Arc<Catalogue>,
    /// The last availability snapshot read from the store.
    snapshot: RwLock<Option<Availability>>,
    /// Held by the one request refreshing the snapshot (single flight); others use the old one.
    refreshing: tokio::sync::Mutex<()>,
    /// How old a snapshot may be before a reader refreshes it.
    snapshot_max_age: Duration,
    /// Set once the catalogue's capacities are in the store; readiness waits for it.
    synced: AtomicBool,
}

/// A store answering "reference taken" this many times in a row is broken, not unlucky.
const REFERENCE_ATTEMPTS: usize = 5;

impl BookingService {
    pub fn new(
        store: Arc<dyn Store>,
        catalogue: Arc<Catalogue>,
        snapshot_max_age: Duration,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                catalogue,
                snapshot: RwLock::new(None),
                refreshing: tokio::sync::Mutex::new(()),
                snapshot_max_age,
                synced: AtomicBool::new(false),
            }),
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.shared.catalogue
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// Writes the catalogue's capacities to the store. Idempotent: booked counts are kept.
    pub async fn sync_catalogue(&self) -> Result<(), StoreError> {
        let slots: Vec<(SlotKey, u32)> = self
            .catalogue()
            .slots()
            .iter()
            .map(|(slot, capacity)| (slot.clone(), *capacity))
            .collect();
        self.shared.store.set_capacities(&slots).await?;
        self.shared.synced.store(true, Ordering::Release);
        Ok(())
    }

    pub fn catalogue_synced(&self) -> bool {
        self.shared.synced.load(Ordering::Acquire)
    }

    /// Books `request.slot` for `request.person`. `Ok` only when the store has stored the
    /// booking and its event in one atomic step.
    pub async fn book(&self, request: BookingRequest) -> Result<Booking, BookError> {
        let catalogue = self.catalogue();
        let now = Utc::now();
        match catalogue.campaign().phase(now) {
            Phase::NotOpen { opens_at } => return Err(BookError::NotOpen { opens_at }),
            Phase::Closed { closed_at } => return Err(BookError::Closed { closed_at }),
            Phase::Open => {}
        }
        if catalogue.capacity(&request.slot).is_none() {
            return Err(BookError::UnknownSlot);
        }
        let mut resynced = false;
        for _ in 0..REFERENCE_ATTEMPTS {
            let booking = Booking {
                reference: Reference::generate(),
                slot: request.slot.clone(),
                person: request.person.clone(),
                booked_at: now,
                status: BookingStatus::Confirmed,
            };
            let event = BookingEvent::new(EventType::Confirmed, &booking, catalogue, now);
            match self.shared.store.book(&booking, &event.to_outbox()).await? {
                BookOutcome::Booked => return Ok(booking),
                BookOutcome::AlreadyBooked => return Err(BookError::AlreadyBooked),
                BookOutcome::SoldOut => return Err(BookError::SoldOut),
                // The catalogue has the slot but the store does not: it was never synced, or
                // Redis came back empty. Syncing is idempotent, so sync once and try again.
                BookOutcome::SlotMissing if !resynced => {
                    tracing::warn!("the store lacks the catalogue's capacities; syncing it again");
                    self.sync_catalogue().await?;
                    resynced = true;
                }
                BookOutcome::SlotMissing => {
                    return Err(StoreError::Unavailable(
                        "the catalogue has not been loaded into the store".into(),
                    )
                    .into());
                }
                BookOutcome::ReferenceTaken => continue,
            }
        }
        Err(StoreError::Corrupt("could not find an unused booking reference".into()).into())
    }

    /// The booking, only for someone who holds both its reference and its identity number.
    pub async fn lookup(
        &self,
        reference: &Reference,
        person: &PersonId,
    ) -> Result<Booking, LookupError> {
        match self.shared.store.find(reference).await? {
            Some(booking) if &booking.person.id == person => Ok(booking),
            _ => Err(LookupError::NotFound),
        }
    }

    /// Cancels the booking and gives its place back; the person may then book again.
    pub async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
    ) -> Result<Booking, LookupError> {
        let mut booking = self.lookup(reference, person).await?;
        if !booking.is_active() {
            return Err(LookupError::AlreadyCancelled);
        }
        let now = Utc::now();
        booking.status = BookingStatus::Cancelled { cancelled_at: now };
        let event = BookingEvent::new(EventType::Cancelled, &booking, self.catalogue(), now);
        // The script checks owner and status again: a concurrent cancel cannot run twice.
        match self
            .shared
            .store
            .cancel(reference, person, now, &event.to_outbox())
            .await?
        {
            CancelOutcome::Cancelled => Ok(booking),
            CancelOutcome::NotFound => Err(LookupError::NotFound),
            CancelOutcome::AlreadyCancelled => Err(LookupError::AlreadyCancelled),
        }
    }

    /// Remaining places per slot, at most `snapshot_max_age` old while the store answers.
    /// When the store cannot be read, the last snapshot is returned marked stale; only when
    /// there has never been one is the error returned.
    pub async fn availability(&self) -> Result<Availability, StoreError> {
        if let Some(fresh) = self.cached(|age| age < self.shared.snapshot_max_age) {
            return Ok(fresh);
        }
        // Single flight: one request reads the store, the others keep serving the old snapshot
        // (or, if there is none yet, wait for the one being read).
        let guard = match self.shared.refreshing.try_lock() {
            Ok(guard) => guard,
            Err(_) => match self.cached(|_| true) {
                Some(old) => return Ok(old),
                None => self.shared.refreshing.lock().await,
            },
        };
        if let Some(fresh) = self.cached(|age| age < self.shared.snapshot_max_age) {
            return Ok(fresh);
        }
        let result = self.shared.store.counts().await;
        drop(guard);
        match result {
            Ok(counts) => {
                let snapshot = Availability {
                    counts: Arc::new(counts),
                    taken_at: Instant::now(),
                    stale: false,
                };
                if let Ok(mut slot) = self.shared.snapshot.write() {
                    *slot = Some(snapshot.clone());
                }
                Ok(snapshot)
            }
            Err(error) => match self.cached(|_| true) {
                Some(mut old) => {
                    tracing::warn!(%error, "serving a stale availability snapshot");
                    old.stale = true;
                    Ok(old)
                }
                None => Err(error),
            },
        }
    }

    fn cached(&self, acceptable: impl Fn(Duration) -> bool) -> Option<Availability> {
        let snapshot = self.shared.snapshot.read().ok()?;
        snapshot
            .as_ref()
            .filter(|s| acceptable(s.taken_at.elapsed()))
            .cloned()
    }

    /// For clients that name only a centre and a date (the seed's `POST /booking`): the first
    /// window that day that still has room, or the first window if none has (the store then
    /// answers "sold out" truthfully).
    pub async fn window_for(
        &self,
        centre: &CentreCode,
        date: NaiveDate,
    ) -> Result<Option<SlotKey>, StoreError> {
        let slots: Vec<SlotKey> = self
            .catalogue()
            .slots_of(centre)
            .filter(|(slot, _)| slot.date == date)
            .map(|(slot, _)| slot.clone())
            .collect();
        if slots.len() <= 1 {
            return Ok(slots.into_iter().next());
        }
        let availability = self.availability().await?;
        let open = slots
            .iter()
            .find(|slot| availability.remaining(slot) > 0)
            .cloned();
        Ok(open.or_else(|| slots.into_iter().next()))
    }

    /// Ready when the store answers.
    pub async fn check_ready(&self) -> Result<(), StoreError> {
        self.shared.store.ping().await
    }
}
