//! `BookingService`: the only code that books, cancels and looks up bookings.
//!
//! Every front end — the v1 JSON API, the seed's endpoints, the web pages — is a thin adapter
//! over it, so the rules (campaign open, slot exists, one booking per person, never a
//! confirmation without a stored booking) live here once. It knows nothing of HTTP.
//!
//! - this file: the service, its requests and its refusals;
//! - [`availability`]: the snapshot readers are served from and the sold-out fast path.

mod availability;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub use availability::Availability;
use availability::Snapshots;

use crate::catalogue::{Catalogue, Phase};
use crate::domain::{Booking, BookingStatus, CentreCode, Person, PersonId, Reference, SlotKey};
use crate::events::{BookingEvent, EncodeError, EventType};
use crate::limiter::KeyedLimiter;
use crate::metrics::{Limit, Metrics, Refusal};
use crate::store::{BookOutcome, CancelOutcome, Store, StoreError};

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
    /// The per-identity-number attempt limit: nothing was tried.
    #[error("too many booking attempts for this identity number; please wait a moment")]
    TooManyAttempts { retry_after: Duration },
    #[error(transparent)]
    Unavailable(#[from] StoreError),
    /// A bug, not a state of the world: the event could not be written, so nothing was.
    #[error(transparent)]
    Event(#[from] EncodeError),
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
    /// A bug: the cancellation's event could not be written, so nothing was.
    #[error(transparent)]
    Event(#[from] EncodeError),
}

/// What someone asks to book.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub slot: SlotKey,
    pub person: Person,
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
    snapshots: Snapshots,
    /// Booking attempts per identity number (per-IP limits are the HTTP layer's).
    attempts: KeyedLimiter,
    metrics: Arc<Metrics>,
    /// Set once the catalogue's capacities are in the store; readiness waits for it.
    synced: AtomicBool,
}

/// A store answering "reference taken" this many times in a row is broken, not unlucky.
const REFERENCE_ATTEMPTS: usize = 5;

impl BookingService {
    /// A service without an attempt limit and with its own metrics; see [`BookingService::with`].
    pub fn new(
        store: Arc<dyn Store>,
        catalogue: Arc<Catalogue>,
        snapshot_max_age: Duration,
    ) -> Self {
        Self::with(
            store,
            catalogue,
            snapshot_max_age,
            KeyedLimiter::new(0),
            Metrics::new(),
        )
    }

    /// `attempts` bounds booking attempts per identity number (0 per minute: no bound).
    pub fn with(
        store: Arc<dyn Store>,
        catalogue: Arc<Catalogue>,
        snapshot_max_age: Duration,
        attempts: KeyedLimiter,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                catalogue,
                snapshots: Snapshots::new(snapshot_max_age, Arc::clone(&metrics)),
                attempts,
                metrics,
                synced: AtomicBool::new(false),
            }),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
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
    ///
    /// The store step runs to completion in its own task even if the caller stops waiting (a
    /// client that hangs up): once the store may have taken the place, the outcome is counted.
    pub async fn book(&self, request: BookingRequest) -> Result<Booking, BookError> {
        if let Err(refusal) = self.check(&request) {
            self.count(&Err(&refusal));
            return Err(refusal);
        }
        let service = self.clone();
        let stored = tokio::spawn(async move {
            let result = service.store_booking(request).await;
            service.count(&result.as_ref());
            result
        });
        match stored.await {
            Ok(result) => result,
            Err(error) => Err(BookError::Unavailable(StoreError::Unavailable(format!(
                "the booking task failed: {error}"
            )))),
        }
    }

    fn count(&self, result: &Result<&Booking, &BookError>) {
        let metrics = &self.shared.metrics;
        match result {
            Ok(_) => metrics.booking_confirmed(),
            Err(error) => metrics.booking_refused(match error {
                BookError::UnknownSlot => Refusal::UnknownSlot,
                BookError::NotOpen { .. } => Refusal::NotOpen,
                BookError::Closed { .. } => Refusal::Closed,
                BookError::SoldOut => Refusal::SoldOut,
                BookError::AlreadyBooked => Refusal::AlreadyBooked,
                BookError::TooManyAttempts { .. } => Refusal::RateLimited,
                BookError::Unavailable(_) | BookError::Event(_) => Refusal::Unavailable,
            }),
        }
    }

    /// Everything that can refuse without the store: campaign hours, the slot, the attempt
    /// limit and the sold-out fast path.
    fn check(&self, request: &BookingRequest) -> Result<(), BookError> {
        let catalogue = self.catalogue();
        match catalogue.campaign().phase(Utc::now()) {
            Phase::NotOpen { opens_at } => return Err(BookError::NotOpen { opens_at }),
            Phase::Closed { closed_at } => return Err(BookError::Closed { closed_at }),
            Phase::Open => {}
        }
        if catalogue.capacity(&request.slot).is_none() {
            return Err(BookError::UnknownSlot);
        }
        if let Err(retry_after) = self.shared.attempts.check(&request.person.id) {
            self.shared.metrics.rate_limited(Limit::Identity);
            return Err(BookError::TooManyAttempts { retry_after });
        }
        if self.shared.snapshots.known_full(&request.slot) {
            self.shared.metrics.sold_out_fast_path();
            return Err(BookError::SoldOut);
        }
        Ok(())
    }

    /// The atomic store step, retried only for a reference collision or a store that lacks
    /// the catalogue.
    async fn store_booking(&self, request: BookingRequest) -> Result<Booking, BookError> {
        let catalogue = self.catalogue();
        let centre = catalogue
            .centre(&request.slot.centre)
            .ok_or(BookError::UnknownSlot)?;
        let now = Utc::now();
        let mut resynced = false;
        for _ in 0..REFERENCE_ATTEMPTS {
            let booking = Booking {
                reference: Reference::generate(),
                slot: request.slot.clone(),
                person: request.person.clone(),
                booked_at: now,
                status: BookingStatus::Confirmed,
            };
            let event = BookingEvent::new(EventType::Confirmed, &booking, catalogue, centre, now)
                .to_outbox()?;
            let cancellations = self.shared.snapshots.cancellations();
            let asked_at = Instant::now();
            match self.shared.store.book(&booking, &event).await? {
                BookOutcome::Booked => return Ok(booking),
                BookOutcome::AlreadyBooked => return Err(BookError::AlreadyBooked),
                BookOutcome::SoldOut => {
                    self.shared
                        .snapshots
                        .mark_full(&request.slot, asked_at, cancellations);
                    return Err(BookError::SoldOut);
                }
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
        self.lookup_verified(reference, |booking| &booking.person.id == person)
            .await
    }

    /// The booking with this reference, for a caller that proves the holder another way (the web
    /// pages' signed pass): `is_theirs` sees the stored booking and says whether it is the
    /// caller's. Not theirs and not there are the same answer.
    pub async fn lookup_verified(
        &self,
        reference: &Reference,
        is_theirs: impl FnOnce(&Booking) -> bool,
    ) -> Result<Booking, LookupError> {
        match self.shared.store.find(reference).await? {
            Some(booking) if is_theirs(&booking) => Ok(booking),
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
        let catalogue = self.catalogue();
        let centre = catalogue.centre(&booking.slot.centre).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "booking {reference} is at centre {}, which the catalogue does not list",
                booking.slot.centre
            ))
        })?;
        let event = BookingEvent::new(EventType::Cancelled, &booking, catalogue, centre, now)
            .to_outbox()?;
        // The script checks owner and status again: a concurrent cancel cannot run twice.
        match self
            .shared
            .store
            .cancel(reference, person, now, &event)
            .await?
        {
            CancelOutcome::Cancelled => {
                self.shared.snapshots.note_cancellation();
                Ok(booking)
            }
            CancelOutcome::NotFound => Err(LookupError::NotFound),
            CancelOutcome::AlreadyCancelled => Err(LookupError::AlreadyCancelled),
        }
    }

    /// Remaining places per slot, at most the snapshot bound old; see [`Availability`].
    pub async fn availability(&self) -> Result<Availability, StoreError> {
        self.shared
            .snapshots
            .availability(self.shared.store.as_ref())
            .await
    }

    /// Age of the current snapshot, for metrics.
    pub fn snapshot_age(&self) -> Option<Duration> {
        self.shared.snapshots.age()
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
