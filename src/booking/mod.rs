//! `BookingService`: the only code that books, cancels and looks up bookings.
//!
//! Every front end — the v1 JSON API, the seed's endpoints, the web pages — is a thin adapter
//! over it, so the rules (campaign open, slot exists, one booking per person, never a
//! confirmation without a stored booking) live here once. It knows nothing of HTTP.
//!
//! - this file: the service, its requests and its refusals;
//! - [`availability`]: the snapshot readers are served from and the sold-out fast path;
//! - [`attempts`]: the limits on failed attempts to open a booking (guessing), and who counts
//!   as one client.

mod attempts;
mod availability;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use attempts::Guess;
pub use attempts::{ClientKey, FailureLimits, Locked};
pub use availability::Availability;
use availability::Snapshots;

use crate::catalogue::{Catalogue, Phase};
use crate::domain::{
    Booking, BookingStatus, CentreCode, IdempotencyKey, Person, PersonId, Phone, Reference, SlotKey,
};
use crate::events::{BookingEvent, EncodeError, EventType};
use crate::limiter::KeyedLimiter;
use crate::metrics::{Limit, Metrics, Refusal};
use crate::store::{AttemptOutcome, BookOutcome, CancelOutcome, Idempotency, Store, StoreError};

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
    /// The submission's idempotency key already made a booking for this person, with
    /// different details: nothing was stored.
    #[error("this idempotency key was already used for a different booking request")]
    KeyReused,
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
    /// Too many failed attempts: nothing was looked at. `by` says which lock, and so which
    /// other way in still works.
    #[error("too many failed attempts; please wait")]
    Locked { by: Locked, retry_after: Duration },
    #[error(transparent)]
    Unavailable(#[from] StoreError),
    /// A bug: the cancellation's event could not be written, so nothing was.
    #[error(transparent)]
    Event(#[from] EncodeError),
}

/// What someone asks to book, from where, under which name for the submission.
#[derive(Debug, Clone)]
pub struct BookingRequest {
    pub slot: SlotKey,
    pub person: Person,
    /// Where it comes from: the per-identity attempt limit is counted per (identity, client),
    /// so that a stranger's attempts with someone's identity number never use up theirs.
    pub client: ClientKey,
    /// The client's name for this submission: sent again, it gets the booking it made.
    pub idempotency_key: Option<IdempotencyKey>,
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
    /// Booking attempts per identity number and client (per-IP limits are the HTTP layer's).
    attempts: KeyedLimiter,
    /// Failed attempts to open a booking, counted in the store.
    failures: FailureLimits,
    /// How long a submission's idempotency key is remembered.
    idempotency_ttl: Duration,
    metrics: Arc<Metrics>,
    /// Set once the catalogue's capacities are in the store; readiness waits for it.
    synced: AtomicBool,
}

/// A store answering "reference taken" this many times in a row is broken, not unlucky.
const REFERENCE_ATTEMPTS: usize = 5;

/// The default time an idempotency key is remembered: a day, as the configuration's default.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

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
            FailureLimits::default(),
            IDEMPOTENCY_TTL,
            Metrics::new(),
        )
    }

    /// `attempts` bounds booking attempts per identity number and client (0 per minute: no
    /// bound); `failures` the failed attempts to open a booking.
    pub fn with(
        store: Arc<dyn Store>,
        catalogue: Arc<Catalogue>,
        snapshot_max_age: Duration,
        attempts: KeyedLimiter,
        failures: FailureLimits,
        idempotency_ttl: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                catalogue,
                snapshots: Snapshots::new(snapshot_max_age, Arc::clone(&metrics)),
                attempts,
                failures,
                idempotency_ttl,
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
    ///
    /// With an idempotency key, a submission sent again (after a timeout, a lost answer) gets
    /// the booking it made, before any other rule is asked: the slot it took may be full now,
    /// the campaign closed.
    pub async fn book(&self, request: BookingRequest) -> Result<Booking, BookError> {
        let once = self.idempotency(&request);
        if let Some(once) = &once
            && let Some(prior) = self.shared.store.idempotent(&once.key).await?
        {
            if prior.fingerprint != once.fingerprint {
                return Err(BookError::KeyReused);
            }
            return self.replayed(&prior.reference).await;
        }
        if let Err(refusal) = self.check(&request) {
            self.count(&Err(&refusal));
            return Err(refusal);
        }
        let service = self.clone();
        let stored = tokio::spawn(async move {
            let result = service.store_booking(request, once).await;
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

    /// The store's record of the submission's key, scoped by the person.
    fn idempotency(&self, request: &BookingRequest) -> Option<Idempotency> {
        let key = request.idempotency_key.as_ref()?;
        Some(Idempotency {
            key: attempts::scoped_idempotency_key(&request.person.id, &key.as_str()),
            fingerprint: attempts::fingerprint(&(&request.slot, &request.person)),
            ttl: self.shared.idempotency_ttl,
        })
    }

    /// The booking a submission's key made, as it is now.
    async fn replayed(&self, reference: &Reference) -> Result<Booking, BookError> {
        self.shared.store.find(reference).await?.ok_or_else(|| {
            StoreError::Corrupt("an idempotency key names a booking that is not stored".into())
                .into()
        })
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
                BookError::AlreadyBooked | BookError::KeyReused => Refusal::AlreadyBooked,
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
        // Per identity number *and* client: keyed by the number alone, anyone could spend a
        // person's attempts (even against a full slot) and stop them from booking.
        let key = (&request.person.id, &request.client);
        if let Err(retry_after) = self.shared.attempts.check(key) {
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
    async fn store_booking(
        &self,
        request: BookingRequest,
        once: Option<Idempotency>,
    ) -> Result<Booking, BookError> {
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
            match self
                .shared
                .store
                .book(&booking, &event, once.as_ref())
                .await?
            {
                BookOutcome::Booked => return Ok(booking),
                // A retry that raced its first submission: the first one booked.
                BookOutcome::Replayed(reference) => return self.replayed(&reference).await,
                BookOutcome::KeyReused => return Err(BookError::KeyReused),
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

    /// The booking, only for someone who holds both its reference and its identity number;
    /// failures count against the reference and the client (see [`attempts`]).
    pub async fn lookup(
        &self,
        reference: &Reference,
        person: &PersonId,
        client: &ClientKey,
    ) -> Result<Booking, LookupError> {
        let guess = Guess::reference(&self.shared.failures, reference, client);
        self.guarded(
            guess,
            self.lookup_verified(reference, |booking| &booking.person.id == person),
        )
        .await
    }

    /// The person's active booking, for someone who knows their identity number and the phone
    /// number it was booked with (both are the person's own: the way back for whoever lost
    /// the reference, or never got it). Failures count against the identity number and the
    /// client.
    pub async fn find(
        &self,
        person: &PersonId,
        phone: &Phone,
        client: &ClientKey,
    ) -> Result<Booking, LookupError> {
        let guess = Guess::identity(&self.shared.failures, person, client);
        let found = async {
            match self.shared.store.active_booking_of(person).await? {
                Some(booking) if phones_match(&booking.person.phone, phone) => Ok(booking),
                _ => Err(LookupError::NotFound),
            }
        };
        self.guarded(guess, found).await
    }

    /// Runs `attempt` if neither of the guess's limits is reached, counting it; takes it back
    /// unless it failed to match (only failures add up).
    async fn guarded(
        &self,
        guess: Guess,
        attempt: impl std::future::Future<Output = Result<Booking, LookupError>>,
    ) -> Result<Booking, LookupError> {
        let store = &self.shared.store;
        if let AttemptOutcome::Refused { index, retry_after } = store.attempt(&guess.limits).await?
        {
            return Err(LookupError::Locked {
                by: guess.locked(index),
                retry_after,
            });
        }
        let result = attempt.await;
        if !matches!(result, Err(LookupError::NotFound))
            && let Err(error) = store.attempt_succeeded(&guess.limits).await
        {
            // The attempt stays counted until its window ends: a small cost, not a failure.
            tracing::warn!(%error, "cannot take back a successful attempt");
        }
        result
    }

    /// The booking with this reference, for a caller that proves the holder another way (the web
    /// pages' signed pass): `is_theirs` sees the stored booking and says whether it is the
    /// caller's. Not theirs and not there are the same answer. Never limited: a stranger's
    /// guesses cannot lock a pass holder out.
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

    /// Cancels the booking and gives its place back; the person may then book again. Failures
    /// count as [`BookingService::lookup`]'s do.
    pub async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
        client: &ClientKey,
    ) -> Result<Booking, LookupError> {
        let guess = Guess::reference(&self.shared.failures, reference, client);
        self.guarded(guess, self.cancel_as_holder(reference, person))
            .await
    }

    /// [`BookingService::cancel`] for a caller that has proven it holds the booking (the web
    /// pages' signed pass): not counted, never locked.
    pub async fn cancel_as_holder(
        &self,
        reference: &Reference,
        person: &PersonId,
    ) -> Result<Booking, LookupError> {
        let mut booking = self
            .lookup_verified(reference, |booking| &booking.person.id == person)
            .await?;
        if !booking.is_active() {
            return Err(LookupError::AlreadyCancelled);
        }
        let now = Utc::now();
        booking.status = BookingStatus::Cancelled { cancelled_at: now };
        let catalogue = self.catalogue();
        let centre = catalogue.centre(&booking.slot.centre).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "a booking is at centre {}, which the catalogue does not list",
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

/// Compares without stopping at the first difference, so timing says nothing of the number.
fn phones_match(stored: &Phone, given: &Phone) -> bool {
    let (a, b) = (stored.e164().as_bytes(), given.e164().as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
