//! The outbox relay: moves events from the store's outbox to the publisher, removing each only
//! after the publisher acknowledged it. At least once: an event may arrive twice (consumers
//! de-duplicate by `eventId`), never zero times, and never for a change that was not stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::watch;

use super::publisher::{PublishError, Publisher};
use crate::metrics::Metrics;
use crate::store::{OutboxEntry, Store, StoreError};

/// Tuning for one relay; every app instance runs one.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Unique per instance: the Redis consumer name its claims are recorded under.
    pub consumer: String,
    /// Events claimed per round.
    pub batch: usize,
    /// Pause when the outbox is empty.
    pub poll_interval: Duration,
    /// An entry claimed this long ago and not acknowledged is taken over (its relay died).
    pub reclaim_after: Duration,
    /// Log a warning when the backlog exceeds this many events…
    pub warn_backlog: u64,
    /// …or the oldest undelivered event is older than this.
    pub warn_age: Duration,
}

/// Why a round did not deliver everything it claimed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{failed} of {claimed} events not delivered: {first}")]
    Publish {
        failed: usize,
        claimed: usize,
        first: PublishError,
    },
}

#[derive(Debug)]
pub struct Relay {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    options: RelayOptions,
    /// Claimed entries whose delivery failed: retried by this relay next round, before they
    /// would otherwise wait `reclaim_after` for another relay to take them over.
    retry: tokio::sync::Mutex<Vec<OutboxEntry>>,
    /// Counts delivered events, when the relay runs inside an application.
    metrics: Option<Arc<Metrics>>,
}

/// Exponential backoff with jitter, so many instances do not retry in step.
#[derive(Debug)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const BASE: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn next(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceiling = Self::BASE
            .saturating_mul(1 << self.failures.min(8))
            .min(Self::MAX);
        ceiling.mul_f64(rand::rng().random_range(0.5..1.0))
    }
}

impl Relay {
    pub fn new(
        store: Arc<dyn Store>,
        publisher: Arc<dyn Publisher>,
        options: RelayOptions,
    ) -> Self {
        Self {
            store,
            publisher,
            options,
            retry: tokio::sync::Mutex::new(Vec::new()),
            metrics: None,
        }
    }

    /// Counts each delivered event in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// One round: claim a batch, publish it, acknowledge what was delivered.
    /// Returns how many events were delivered.
    pub async fn step(&self) -> Result<usize, RelayError> {
        let mut retry = self.retry.lock().await;
        let mut entries = std::mem::take(&mut *retry);
        let room = self.options.batch.saturating_sub(entries.len());
        if room > 0 {
            match self
                .store
                .outbox_claim(&self.options.consumer, room, self.options.reclaim_after)
                .await
            {
                Ok(claimed) => entries.extend(claimed),
                Err(error) => {
                    *retry = entries;
                    return Err(error.into());
                }
            }
        }
        if entries.is_empty() {
            return Ok(0);
        }
        // Sent together so librdkafka batches them; it keeps each partition's order.
        let results = futures_util::future::join_all(
            entries.iter().map(|e| self.publisher.publish(&e.event)),
        )
        .await;
        let claimed = entries.len();
        let mut delivered = Vec::with_capacity(claimed);
        let mut first_error = None;
        for (entry, result) in entries.into_iter().zip(results) {
            match result {
                Ok(()) => delivered.push(entry.id),
                Err(error) => {
                    retry.push(entry);
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Err(error) = self.store.outbox_ack(&delivered).await {
            // Delivered but not acknowledged: they will be delivered again (at least once).
            tracing::warn!(%error, count = delivered.len(), "cannot acknowledge delivered events");
            return Err(error.into());
        }
        if let Some(metrics) = &self.metrics {
            metrics.events_delivered(delivered.len() as u64);
        }
        match first_error {
            None => Ok(delivered.len()),
            Some(first) => Err(RelayError::Publish {
                failed: retry.len(),
                claimed,
                first,
            }),
        }
    }

    /// Runs until `shutdown` turns true: finishes the round in progress, flushes the publisher,
    /// then hands entries it could not deliver back to the outbox. Nothing is removed unless
    /// delivered, so a restart loses nothing.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Backoff { failures: 0 };
        let mut last_report = Instant::now();
        tracing::info!(consumer = %self.options.consumer, "outbox relay started");
        while !*shutdown.borrow() {
            let pause = match self.step().await {
                Ok(0) => self.options.poll_interval,
                Ok(_) => {
                    backoff.failures = 0;
                    Duration::ZERO
                }
                Err(error) => {
                    let pause = backoff.next();
                    tracing::warn!(%error, retry_in = ?pause, "outbox relay round failed");
                    pause
                }
            };
            if last_report.elapsed() >= Duration::from_secs(10) {
                last_report = Instant::now();
                self.report_backlog().await;
            }
            if !pause.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        self.publisher.flush(Duration::from_secs(5)).await;
        // What could not be delivered goes back to the outbox for the other instances (or
        // this one's successor) to take at once.
        let undelivered: Vec<String> = self.retry.lock().await.drain(..).map(|e| e.id).collect();
        if !undelivered.is_empty() {
            match self.store.outbox_release(&undelivered).await {
                Ok(()) => tracing::info!(
                    count = undelivered.len(),
                    "undelivered events handed back to the outbox"
                ),
                Err(error) => {
                    tracing::warn!(%error, count = undelivered.len(), "cannot hand events back; they are taken over after the reclaim interval")
                }
            }
        }
        tracing::info!("outbox relay stopped");
    }

    async fn report_backlog(&self) {
        if let Ok(stats) = self.store.outbox_stats().await {
            let age = stats.oldest_age.unwrap_or_default();
            if stats.backlog > self.options.warn_backlog || age > self.options.warn_age {
                tracing::warn!(
                    backlog = stats.backlog,
                    oldest_age_secs = age.as_secs(),
                    "booking events are waiting for delivery"
                );
            }
        }
    }
}
