//! `BookingService`: the only code that books, cancels and looks up bookings.
//!
//! Every front end — the v1 JSON API, the seed's endpoints, the web pages — is a thin adapter
//! over it, so the rules (campaign open, slot exists, one booking per person, never a
//! confirmation without a stored booking) live here once.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use chrono::{NaiveDate, Utc};

use crate::catalogue::{Catalogue, Phase};
use crate::domain::{Booking, BookingStatus, CentreCode, Person, PersonId, Reference, SlotKey};
use crate::events::{BookingEvent, EventType};
use crate::limits::KeyedLimiter;
use crate::metrics::{Limit, Metrics, Refusal};
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
    /// The per-identity-number attempt limit: nothing was tried.
    #[error("too many booking attempts for this identity number; please wait a moment")]
    TooManyAttempts { retry_after: Duration },
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
    /// When the store read began: the counts are at least this recent.
    pub taken_at: Instant,
    /// The store could not be read just now and this is an older snapshot.
    pub stale: bool,
    /// Identifies the counts (not their age): equal versions, equal counts. ETags derive from it.
    pub version: u64,
    /// This process's cancellation count when the read began; a later local cancellation makes
    /// the snapshot out of date at once (see `BookingService::cancel`).
    cancellations: u64,
    /// Values derived from these counts (rendered answers), so each is made once per snapshot.
    memo: Arc<RwLock<Memo>>,
}

type Memo = HashMap<String, Arc<dyn Any + Send + Sync>>;

impl Availability {
    /// Remaining places; a slot the store does not know yet (catalogue not synced) shows none.
    pub fn remaining(&self, slot: &SlotKey) -> u32 {
        self.counts.get(slot).map_or(0, SlotCount::remaining)
    }

    pub fn age(&self) -> Duration {
        self.taken_at.elapsed()
    }

    /// `make()` once per snapshot and `key`: front ends keep their rendered answers here, so a
    /// flood of reads of unchanged counts costs a lookup, not a rendering each.
    pub fn memo<T: Any + Send + Sync>(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        let known = self
            .memo
            .read()
            .ok()
            .and_then(|memo| memo.get(key).cloned());
        if let Some(value) = known.and_then(|v| v.downcast::<T>().ok()) {
            return value;
        }
        let value = Arc::new(make());
        if let Ok(mut memo) = self.memo.write() {
            memo.insert(
                key.to_owned(),
                Arc::clone(&value) as Arc<dyn Any + Send + Sync>,
            );
        }
        value
    }
}

/// The store said a slot was full at `since`, when this process had seen `cancellations`.
#[derive(Debug, Clone, Copy)]
struct FullMark {
    since: Instant,
    cancellations: u64,
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
    /// Held by the one request refreshing the snapshot (single flight); it records when the
    /// last refresh failed, so requests queued behind a failing store do not each wait for it.
    refreshing: tokio::sync::Mutex<Option<Instant>>,
    /// The oldest snapshot served while the store answers.
    snapshot_max_age: Duration,
    /// Past this age one reader refreshes in the background of its own request while the
    /// others keep the current snapshot: in steady state nobody waits for a refresh.
    snapshot_refresh_after: Duration,
    /// Versions for successive snapshots.
    snapshot_versions: AtomicU64,
    /// Successful cancellations by this process. The sold-out fast path and readers only use a
    /// snapshot read after the latest one, so a place given back here is visible at once.
    cancellations: AtomicU64,
    /// Slots the store recently answered "sold out" for: the fast path refuses them without a
    /// round trip until the mark is older than the snapshot bound or a cancellation happens.
    full: RwLock<HashMap<SlotKey, FullMark>>,
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
                snapshot: RwLock::new(None),
                refreshing: tokio::sync::Mutex::new(None),
                snapshot_max_age,
                snapshot_refresh_after: snapshot_max_age / 2,
                snapshot_versions: AtomicU64::new(0),
                cancellations: AtomicU64::new(0),
                full: RwLock::new(HashMap::new()),
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
                BookError::Unavailable(_) => Refusal::Unavailable,
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
        if self.known_full(&request.slot) {
            self.shared.metrics.sold_out_fast_path();
            return Err(BookError::SoldOut);
        }
        Ok(())
    }

    /// The atomic store step, retried only for a reference collision or a store that lacks
    /// the catalogue.
    async fn store_booking(&self, request: BookingRequest) -> Result<Booking, BookError> {
        let catalogue = self.catalogue();
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
            let event = BookingEvent::new(EventType::Confirmed, &booking, catalogue, now);
            let cancellations = self.shared.cancellations.load(Ordering::Acquire);
            let asked_at = Instant::now();
            match self.shared.store.book(&booking, &event.to_outbox()).await? {
                BookOutcome::Booked => return Ok(booking),
                BookOutcome::AlreadyBooked => return Err(BookError::AlreadyBooked),
                BookOutcome::SoldOut => {
                    self.mark_full(&request.slot, asked_at, cancellations);
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
        match self.shared.store.find(reference).await? {
            Some(booking) if &booking.person.id == person => Ok(booking),
            _ => Err(LookupError::NotFound),
        }
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
        let event = BookingEvent::new(EventType::Cancelled, &booking, self.catalogue(), now);
        // The script checks owner and status again: a concurrent cancel cannot run twice.
        match self
            .shared
            .store
            .cancel(reference, person, now, &event.to_outbox())
            .await?
        {
            CancelOutcome::Cancelled => {
                // After the store has the place back: snapshots read before this point are now
                // out of date, and neither readers nor the fast path will use them.
                self.shared.cancellations.fetch_add(1, Ordering::AcqRel);
                Ok(booking)
            }
            CancelOutcome::NotFound => Err(LookupError::NotFound),
            CancelOutcome::AlreadyCancelled => Err(LookupError::AlreadyCancelled),
        }
    }

    /// Remaining places per slot, at most `snapshot_max_age` old while the store answers, and
    /// read after this process's latest cancellation. When the store cannot be read, the last
    /// snapshot is returned marked stale; only when there has never been one is the error
    /// returned.
    ///
    /// Single flight: at most one request reads the store at a time. Past half the bound, one
    /// reader refreshes while the others keep the current snapshot; past the bound, readers
    /// wait for the one refresh rather than each starting their own.
    pub async fn availability(&self) -> Result<Availability, StoreError> {
        let shared = &self.shared;
        let current = self.current();
        if let Some(snapshot) = current.as_ref().filter(|s| self.usable(s)) {
            if snapshot.age() < shared.snapshot_refresh_after {
                shared.metrics.snapshot_hit();
                return Ok(snapshot.clone());
            }
            // Due for a refresh but still within the bound: refresh unless someone already is.
            let Ok(guard) = shared.refreshing.try_lock() else {
                shared.metrics.snapshot_hit();
                return Ok(snapshot.clone());
            };
            return self.refresh(guard).await;
        }
        // Too old, out of date, or none yet. If the store just failed, serve the old snapshot
        // (marked stale) without trying again at once, so a failing store is not hammered.
        let queued_at = Instant::now();
        if let Some(old) = current.as_ref()
            && let Ok(guard) = shared.refreshing.try_lock()
        {
            if guard.is_some_and(|failed| failed.elapsed() < shared.snapshot_refresh_after) {
                return Ok(self.stale(old.clone()));
            }
            return self.refresh(guard).await;
        }
        let guard = shared.refreshing.lock().await;
        if let Some(snapshot) = self.current().filter(|s| self.usable(s)) {
            shared.metrics.snapshot_hit();
            return Ok(snapshot);
        }
        // The refresh this request queued behind has failed: do not wait for another one.
        if guard.is_some_and(|failed| failed >= queued_at)
            && let Some(old) = self.current()
        {
            return Ok(self.stale(old));
        }
        self.refresh(guard).await
    }

    /// Reads the store while holding the single-flight guard.
    async fn refresh(
        &self,
        mut guard: tokio::sync::MutexGuard<'_, Option<Instant>>,
    ) -> Result<Availability, StoreError> {
        let shared = &self.shared;
        let cancellations = shared.cancellations.load(Ordering::Acquire);
        let taken_at = Instant::now();
        match shared.store.counts().await {
            Ok(counts) => {
                shared.metrics.snapshot_refreshed(true);
                let snapshot = Availability {
                    counts: Arc::new(counts),
                    taken_at,
                    stale: false,
                    version: shared.snapshot_versions.fetch_add(1, Ordering::Relaxed) + 1,
                    cancellations,
                    memo: Arc::default(),
                };
                if let Ok(mut slot) = shared.snapshot.write() {
                    // Keep the version when nothing changed, so ETags stay valid across refreshes.
                    let unchanged = slot.as_ref().filter(|old| old.counts == snapshot.counts);
                    let snapshot = match unchanged {
                        Some(old) => Availability {
                            version: old.version,
                            ..snapshot
                        },
                        None => snapshot,
                    };
                    *slot = Some(snapshot.clone());
                    *guard = None;
                    return Ok(snapshot);
                }
                *guard = None;
                Ok(snapshot)
            }
            Err(error) => {
                shared.metrics.snapshot_refreshed(false);
                *guard = Some(Instant::now());
                drop(guard);
                match self.current() {
                    Some(old) => {
                        tracing::warn!(%error, "serving a stale availability snapshot");
                        Ok(self.stale(old))
                    }
                    None => Err(error),
                }
            }
        }
    }

    fn stale(&self, mut old: Availability) -> Availability {
        self.shared.metrics.snapshot_stale_served();
        old.stale = true;
        // What was rendered from the fresh copy says "not stale": render again.
        old.memo = Arc::default();
        old
    }

    fn current(&self) -> Option<Availability> {
        self.shared.snapshot.read().ok()?.clone()
    }

    /// Within the age bound and read after this process's latest cancellation.
    fn usable(&self, snapshot: &Availability) -> bool {
        snapshot.age() < self.shared.snapshot_max_age
            && snapshot.cancellations == self.shared.cancellations.load(Ordering::Acquire)
    }

    /// The sold-out fast path: true only when, within the snapshot bound and after this
    /// process's latest cancellation, the store itself answered "sold out" for this slot or a
    /// (not stale) availability snapshot showed it with no place. Anything less certain goes to
    /// the store, which decides atomically. Never reads the store itself: the fast path may only
    /// make a booking faster, not slower.
    fn known_full(&self, slot: &SlotKey) -> bool {
        let shared = &self.shared;
        let cancellations = shared.cancellations.load(Ordering::Acquire);
        let marked = shared.full.read().ok().is_some_and(|full| {
            full.get(slot).is_some_and(|mark| {
                mark.cancellations == cancellations
                    && mark.since.elapsed() < shared.snapshot_max_age
            })
        });
        marked
            || self.current().is_some_and(|snapshot| {
                !snapshot.stale
                    && self.usable(&snapshot)
                    && snapshot
                        .counts
                        .get(slot)
                        .is_some_and(|count| count.remaining() == 0)
            })
    }

    /// Remembers the store's "sold out", as of when the call began.
    fn mark_full(&self, slot: &SlotKey, since: Instant, cancellations: u64) {
        if let Ok(mut full) = self.shared.full.write() {
            full.insert(
                slot.clone(),
                FullMark {
                    since,
                    cancellations,
                },
            );
        }
    }

    /// Age of the current snapshot, for metrics.
    pub fn snapshot_age(&self) -> Option<Duration> {
        self.current().map(|s| s.age())
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
