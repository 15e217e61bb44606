//! Availability for a flood of readers: an in-process snapshot of every slot's count, refreshed
//! by one request at a time and at most `max_age` old, and the sold-out fast path that refuses a
//! full slot without a store round trip.
//!
//! Both may only make answers faster, never less true: a confirmation only ever comes from the
//! store's atomic step, and a cancellation through this process voids what was known before it.

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::SlotKey;
use crate::metrics::Metrics;
use crate::store::{SlotCount, Store, StoreError};

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
    /// the snapshot out of date at once (see [`Snapshots::note_cancellation`]).
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

/// The snapshot, its single-flight refresh, and what the store recently said was full.
#[derive(Debug)]
pub(super) struct Snapshots {
    /// The last availability snapshot read from the store.
    snapshot: RwLock<Option<Availability>>,
    /// Held by the one request refreshing the snapshot (single flight); it records when the
    /// last refresh failed, so requests queued behind a failing store do not each wait for it.
    refreshing: tokio::sync::Mutex<Option<Instant>>,
    /// The oldest snapshot served while the store answers.
    max_age: Duration,
    /// Past this age one reader refreshes in the background of its own request while the
    /// others keep the current snapshot: in steady state nobody waits for a refresh.
    refresh_after: Duration,
    /// Versions for successive snapshots.
    versions: AtomicU64,
    /// Successful cancellations by this process. The sold-out fast path and readers only use a
    /// snapshot read after the latest one, so a place given back here is visible at once.
    cancellations: AtomicU64,
    /// Slots the store recently answered "sold out" for: the fast path refuses them without a
    /// round trip until the mark is older than the snapshot bound or a cancellation happens.
    full: RwLock<HashMap<SlotKey, FullMark>>,
    metrics: Arc<Metrics>,
}

impl Snapshots {
    pub(super) fn new(max_age: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            snapshot: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(None),
            max_age,
            refresh_after: max_age / 2,
            versions: AtomicU64::new(0),
            cancellations: AtomicU64::new(0),
            full: RwLock::new(HashMap::new()),
            metrics,
        }
    }

    /// Remaining places per slot, at most `max_age` old while the store answers, and read after
    /// this process's latest cancellation. When the store cannot be read, the last snapshot is
    /// returned marked stale; only when there has never been one is the error returned.
    ///
    /// Single flight: at most one request reads the store at a time. Past half the bound, one
    /// reader refreshes while the others keep the current snapshot; past the bound, readers
    /// wait for the one refresh rather than each starting their own.
    pub(super) async fn availability(&self, store: &dyn Store) -> Result<Availability, StoreError> {
        let current = self.current();
        if let Some(snapshot) = current.as_ref().filter(|s| self.usable(s)) {
            if snapshot.age() < self.refresh_after {
                self.metrics.snapshot_hit();
                return Ok(snapshot.clone());
            }
            // Due for a refresh but still within the bound: refresh unless someone already is.
            let Ok(guard) = self.refreshing.try_lock() else {
                self.metrics.snapshot_hit();
                return Ok(snapshot.clone());
            };
            return self.refresh(guard, store).await;
        }
        // Too old, out of date, or none yet. If the store just failed, serve the old snapshot
        // (marked stale) without trying again at once, so a failing store is not hammered.
        let queued_at = Instant::now();
        if let Some(old) = current.as_ref()
            && let Ok(guard) = self.refreshing.try_lock()
        {
            if guard.is_some_and(|failed| failed.elapsed() < self.refresh_after) {
                return Ok(self.stale(old.clone()));
            }
            return self.refresh(guard, store).await;
        }
        let guard = self.refreshing.lock().await;
        if let Some(snapshot) = self.current().filter(|s| self.usable(s)) {
            self.metrics.snapshot_hit();
            return Ok(snapshot);
        }
        // The refresh this request queued behind has failed: do not wait for another one.
        if guard.is_some_and(|failed| failed >= queued_at)
            && let Some(old) = self.current()
        {
            return Ok(self.stale(old));
        }
        self.refresh(guard, store).await
    }

    /// Reads the store while holding the single-flight guard.
    async fn refresh(
        &self,
        mut guard: tokio::sync::MutexGuard<'_, Option<Instant>>,
        store: &dyn Store,
    ) -> Result<Availability, StoreError> {
        let cancellations = self.cancellations.load(Ordering::Acquire);
        let taken_at = Instant::now();
        match store.counts().await {
            Ok(counts) => {
                self.metrics.snapshot_refreshed(true);
                let mut snapshot = Availability {
                    counts: Arc::new(counts),
                    taken_at,
                    stale: false,
                    version: self.versions.fetch_add(1, Ordering::Relaxed) + 1,
                    cancellations,
                    memo: Arc::default(),
                };
                if let Ok(mut slot) = self.snapshot.write() {
                    // Keep the version when nothing changed, so ETags stay valid across refreshes.
                    if let Some(old) = slot.as_ref().filter(|old| old.counts == snapshot.counts) {
                        snapshot.version = old.version;
                    }
                    *slot = Some(snapshot.clone());
                }
                *guard = None;
                Ok(snapshot)
            }
            Err(error) => {
                self.metrics.snapshot_refreshed(false);
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
        self.metrics.snapshot_stale_served();
        old.stale = true;
        // What was rendered from the fresh copy says "not stale": render again.
        old.memo = Arc::default();
        old
    }

    fn current(&self) -> Option<Availability> {
        self.snapshot.read().ok()?.clone()
    }

    /// Within the age bound and read after this process's latest cancellation.
    fn usable(&self, snapshot: &Availability) -> bool {
        snapshot.age() < self.max_age
            && snapshot.cancellations == self.cancellations.load(Ordering::Acquire)
    }

    /// The sold-out fast path: true only when, within the snapshot bound and after this
    /// process's latest cancellation, the store itself answered "sold out" for this slot or a
    /// (not stale) availability snapshot showed it with no place. Anything less certain goes to
    /// the store, which decides atomically. Never reads the store itself: the fast path may only
    /// make a booking faster, not slower.
    pub(super) fn known_full(&self, slot: &SlotKey) -> bool {
        let cancellations = self.cancellations.load(Ordering::Acquire);
        let marked = self.full.read().ok().is_some_and(|full| {
            full.get(slot).is_some_and(|mark| {
                mark.cancellations == cancellations && mark.since.elapsed() < self.max_age
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

    /// This process's cancellation count: read before a store step, so that a "sold out" it
    /// answers is only remembered if no cancellation happened meanwhile.
    pub(super) fn cancellations(&self) -> u64 {
        self.cancellations.load(Ordering::Acquire)
    }

    /// Remembers the store's "sold out", as of when the call began.
    pub(super) fn mark_full(&self, slot: &SlotKey, since: Instant, cancellations: u64) {
        if let Ok(mut full) = self.full.write() {
            full.insert(
                slot.clone(),
                FullMark {
                    since,
                    cancellations,
                },
            );
        }
    }

    /// Called after the store gave a place back: snapshots and "sold out" marks taken before
    /// this point are now out of date, and neither readers nor the fast path will use them.
    pub(super) fn note_cancellation(&self) {
        self.cancellations.fetch_add(1, Ordering::AcqRel);
    }

    /// Age of the current snapshot, for metrics.
    pub(super) fn age(&self) -> Option<Duration> {
        self.current().map(|s| s.age())
    }
}
