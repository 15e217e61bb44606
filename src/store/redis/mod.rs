//! The Redis store: one multiplexed connection, one Lua script per booking or cancellation.
//!
//! Key layout (every key carries the campaign as its hash tag, so a campaign's keys live in one
//! Redis Cluster hash slot and each script's keys are co-located):
//!
//! | key                          | type   | holds                                         |
//! |------------------------------|--------|-----------------------------------------------|
//! | `jkjav:{C}:capacity`         | hash   | slot → capacity (from the catalogue)          |
//! | `jkjav:{C}:taken`            | hash   | slot → places booked (only scripts change it) |
//! | `jkjav:{C}:holders`          | hash   | person → reference of their active booking    |
//! | `jkjav:{C}:booking:{REF}`    | hash   | person, slot, status, cancelled_at, data JSON |
//! | `jkjav:{C}:outbox`           | stream | events waiting for the relay                  |
//! | `jkjav:{C}:idem:{KEY}`       | hash   | reference, fingerprint; expires (TTL)         |
//! | `jkjav:{C}:attempts:{KEY}`   | string | attempts counted; expires (TTL)               |

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimReply, StreamRangeReply, StreamReadReply};
use redis::{AsyncCommands, Script};

use super::{
    AttemptLimit, AttemptOutcome, BookOutcome, CancelOutcome, Idempotency, IdempotentBooking,
    OutboxEntry, OutboxEvent, OutboxStats, SlotCount, Store, StoreError,
};
use crate::domain::{Booking, BookingStatus, PersonId, Reference, SlotKey};

/// How to reach Redis and how long to wait for it.
#[derive(Debug, Clone)]
pub struct RedisStoreOptions {
    pub url: String,
    /// The campaign id: namespaces (and hash-tags) every key.
    pub namespace: String,
    /// The bound on every call, connecting included: past it the caller gets
    /// [`StoreError::Timeout`] and the HTTP layer answers 503.
    pub timeout: Duration,
}

/// A cheap-to-share handle: `ConnectionManager` multiplexes all callers over one connection
/// and reconnects by itself after Redis restarts.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
    timeout: Duration,
    book: Script,
    cancel: Script,
    attempt: Script,
    attempt_succeeded: Script,
    /// Whether the relays' consumer group is known to exist; reset when Redis says it does not
    /// (a Redis that restarted empty).
    group_ready: Arc<AtomicBool>,
}

/// The consumer group every app instance's relay joins: each entry goes to one of them.
const RELAY_GROUP: &str = "relay";

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("namespace", &self.keys.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
    capacity: String,
    taken: String,
    holders: String,
    outbox: String,
}

impl Keys {
    fn new(namespace: &str) -> Self {
        let prefix = format!("jkjav:{{{namespace}}}:");
        Self {
            capacity: format!("{prefix}capacity"),
            taken: format!("{prefix}taken"),
            holders: format!("{prefix}holders"),
            outbox: format!("{prefix}outbox"),
            prefix,
        }
    }

    fn booking(&self, reference: &Reference) -> String {
        format!("{}booking:{}", self.prefix, reference.as_str())
    }

    fn idempotency(&self, key: &str) -> String {
        format!("{}idem:{key}", self.prefix)
    }

    fn attempts(&self, key: &str) -> String {
        format!("{}attempts:{key}", self.prefix)
    }
}

/// Capacities are written in batches so one call never carries an unbounded argument list.
const CAPACITY_BATCH: usize = 1000;

impl RedisStore {
    /// Does not connect: the first call does, so the server starts (and answers 503) while
    /// Redis is still down.
    pub fn new(options: RedisStoreOptions) -> Result<Self, StoreError> {
        let client = redis::Client::open(options.url.as_str())
            .map_err(|e| StoreError::Unavailable(format!("invalid REDIS_URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            // Fail fast and let the next request try again, rather than queue behind retries.
            .set_number_of_retries(1)
            .set_max_delay(options.timeout);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            conn,
            keys: Keys::new(&options.namespace),
            timeout: options.timeout,
            book: Script::new(include_str!("book.lua")),
            cancel: Script::new(include_str!("cancel.lua")),
            attempt: Script::new(include_str!("attempt.lua")),
            attempt_succeeded: Script::new(include_str!("attempt_succeeded.lua")),
            group_ready: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Runs one Redis call under the store's timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(StoreError::Timeout(self.timeout)),
            Ok(Err(e)) if e.is_timeout() => Err(StoreError::Timeout(self.timeout)),
            Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
            Ok(Ok(value)) => Ok(value),
        }
    }
}

fn parse_counts(
    capacity: HashMap<String, u32>,
    taken: HashMap<String, u32>,
) -> HashMap<SlotKey, SlotCount> {
    capacity
        .into_iter()
        .filter_map(|(field, capacity)| {
            let key = SlotKey::from_storage_key(&field).ok()?;
            let taken = taken.get(&field).copied().unwrap_or(0);
            Some((key, SlotCount { capacity, taken }))
        })
        .collect()
}

#[async_trait]
impl Store for RedisStore {
    async fn set_capacities(&self, slots: &[(SlotKey, u32)]) -> Result<(), StoreError> {
        for batch in slots.chunks(CAPACITY_BATCH) {
            let fields: Vec<(String, u32)> = batch
                .iter()
                .map(|(slot, capacity)| (slot.storage_key(), *capacity))
                .collect();
            let mut conn = self.conn.clone();
            self.bounded(conn.hset_multiple::<_, _, _, ()>(&self.keys.capacity, &fields))
                .await?;
        }
        Ok(())
    }

    async fn counts(&self) -> Result<HashMap<SlotKey, SlotCount>, StoreError> {
        let mut conn = self.conn.clone();
        // One round trip for both hashes.
        let (capacity, taken): (HashMap<String, u32>, HashMap<String, u32>) = self
            .bounded(
                redis::pipe()
                    .hgetall(&self.keys.capacity)
                    .hgetall(&self.keys.taken)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(parse_counts(capacity, taken))
    }

    async fn book(
        &self,
        booking: &Booking,
        event: &OutboxEvent,
        idempotency: Option<&Idempotency>,
    ) -> Result<BookOutcome, StoreError> {
        let data = serde_json::to_string(booking)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode booking: {e}")))?;
        let mut conn = self.conn.clone();
        let mut invocation = self.book.prepare_invoke();
        invocation
            .key(&self.keys.capacity)
            .key(&self.keys.taken)
            .key(&self.keys.holders)
            .key(self.keys.booking(&booking.reference))
            .key(&self.keys.outbox)
            .arg(booking.slot.storage_key())
            .arg(booking.person.id.storage_key())
            .arg(booking.reference.as_str())
            .arg(data)
            .arg(&event.key)
            .arg(&event.payload);
        if let Some(once) = idempotency {
            invocation
                .key(self.keys.idempotency(&once.key))
                .arg(&once.fingerprint)
                .arg(once.ttl.as_millis().max(1) as u64);
        }
        let answer: String = self.bounded(invocation.invoke_async(&mut conn)).await?;
        if let Some(reference) = answer.strip_prefix("replayed:") {
            return Reference::parse(reference)
                .map(BookOutcome::Replayed)
                .map_err(|_| StoreError::Corrupt("an idempotency key holds no reference".into()));
        }
        match answer.as_str() {
            "booked" => Ok(BookOutcome::Booked),
            "key_reused" => Ok(BookOutcome::KeyReused),
            "already_booked" => Ok(BookOutcome::AlreadyBooked),
            "sold_out" => Ok(BookOutcome::SoldOut),
            "slot_missing" => Ok(BookOutcome::SlotMissing),
            "reference_taken" => Ok(BookOutcome::ReferenceTaken),
            other => Err(StoreError::Corrupt(format!(
                "book script answered {other:?}"
            ))),
        }
    }

    async fn cancel(
        &self,
        reference: &Reference,
        person: &PersonId,
        cancelled_at: DateTime<Utc>,
        event: &OutboxEvent,
    ) -> Result<CancelOutcome, StoreError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.cancel.prepare_invoke();
        invocation
            .key(&self.keys.taken)
            .key(&self.keys.holders)
            .key(self.keys.booking(reference))
            .key(&self.keys.outbox)
            .arg(person.storage_key())
            .arg(cancelled_at.to_rfc3339())
            .arg(&event.key)
            .arg(&event.payload);
        let answer: String = self.bounded(invocation.invoke_async(&mut conn)).await?;
        match answer.as_str() {
            "cancelled" => Ok(CancelOutcome::Cancelled),
            "not_found" => Ok(CancelOutcome::NotFound),
            "already_cancelled" => Ok(CancelOutcome::AlreadyCancelled),
            other => Err(StoreError::Corrupt(format!(
                "cancel script answered {other:?}"
            ))),
        }
    }

    async fn find(&self, reference: &Reference) -> Result<Option<Booking>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = self
            .bounded(conn.hgetall(self.keys.booking(reference)))
            .await?;
        let Some(data) = fields.get("data") else {
            return Ok(None);
        };
        // Not the error's text: serde quotes the value it could not read, and this is personal
        // data. Nor the reference: it does not belong in logs either.
        let mut booking: Booking = serde_json::from_str(data).map_err(|e| {
            StoreError::Corrupt(format!(
                "a stored booking cannot be read ({:?} error at column {})",
                e.classify(),
                e.column()
            ))
        })?;
        if fields.get("status").map(String::as_str) == Some("cancelled") {
            let cancelled_at = fields
                .get("cancelled_at")
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| at.with_timezone(&Utc))
                .ok_or_else(|| {
                    StoreError::Corrupt("a cancelled booking has no readable cancelled_at".into())
                })?;
            booking.status = BookingStatus::Cancelled { cancelled_at };
        }
        Ok(Some(booking))
    }

    async fn idempotent(&self, key: &str) -> Result<Option<IdempotentBooking>, StoreError> {
        let mut conn = self.conn.clone();
        let (reference, fingerprint): (Option<String>, Option<String>) = self
            .bounded(
                redis::cmd("HMGET")
                    .arg(self.keys.idempotency(key))
                    .arg("reference")
                    .arg("fingerprint")
                    .query_async(&mut conn),
            )
            .await?;
        let (Some(reference), Some(fingerprint)) = (reference, fingerprint) else {
            return Ok(None);
        };
        let reference = Reference::parse(&reference)
            .map_err(|_| StoreError::Corrupt("an idempotency key holds no reference".into()))?;
        Ok(Some(IdempotentBooking {
            reference,
            fingerprint,
        }))
    }

    async fn active_booking_of(&self, person: &PersonId) -> Result<Option<Booking>, StoreError> {
        let mut conn = self.conn.clone();
        let held: Option<String> = self
            .bounded(conn.hget(&self.keys.holders, person.storage_key()))
            .await?;
        let Some(held) = held else {
            return Ok(None);
        };
        let reference = Reference::parse(&held)
            .map_err(|_| StoreError::Corrupt("a holder's reference cannot be read".into()))?;
        // A cancellation between the two reads leaves the booking cancelled: not active.
        Ok(self
            .find(&reference)
            .await?
            .filter(|booking| booking.is_active() && &booking.person.id == person))
    }

    async fn attempt(&self, limits: &[AttemptLimit]) -> Result<AttemptOutcome, StoreError> {
        if limits.iter().all(|limit| limit.max == 0) {
            return Ok(AttemptOutcome::Allowed);
        }
        let mut conn = self.conn.clone();
        let mut invocation = self.attempt.prepare_invoke();
        for limit in limits {
            invocation
                .key(self.keys.attempts(&limit.key))
                .arg(limit.max)
                .arg(limit.window.as_millis().max(1) as u64);
        }
        let answer: Vec<u64> = self.bounded(invocation.invoke_async(&mut conn)).await?;
        match answer.as_slice() {
            [0] => Ok(AttemptOutcome::Allowed),
            [index, left] if (1..=limits.len() as u64).contains(index) => {
                Ok(AttemptOutcome::Refused {
                    index: (*index - 1) as usize,
                    retry_after: Duration::from_millis(*left),
                })
            }
            other => Err(StoreError::Corrupt(format!(
                "attempt script answered {other:?}"
            ))),
        }
    }

    async fn attempt_succeeded(&self, limits: &[AttemptLimit]) -> Result<(), StoreError> {
        let counted: Vec<&AttemptLimit> = limits.iter().filter(|limit| limit.max > 0).collect();
        if counted.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut invocation = self.attempt_succeeded.prepare_invoke();
        for limit in counted {
            invocation.key(self.keys.attempts(&limit.key));
        }
        self.bounded(invocation.invoke_async::<i64>(&mut conn))
            .await
            .map(drop)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        self.bounded(redis::cmd("PING").query_async::<String>(&mut conn))
            .await
            .map(drop)
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let mut conn = self.conn.clone();
        let (backlog, oldest): (u64, StreamRangeReply) = self
            .bounded(
                redis::pipe()
                    .xlen(&self.keys.outbox)
                    .cmd("XRANGE")
                    .arg(&self.keys.outbox)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut conn),
            )
            .await?;
        // A stream id starts with the Redis server's clock in milliseconds at the write.
        let oldest_age = oldest.ids.first().and_then(|entry| {
            let written_ms: u64 = entry.id.split('-').next()?.parse().ok()?;
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_millis() as u64;
            Some(Duration::from_millis(now_ms.saturating_sub(written_ms)))
        });
        Ok(OutboxStats {
            backlog,
            oldest_age,
        })
    }

    async fn outbox_claim(
        &self,
        consumer: &str,
        max: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut conn = self.conn.clone();
        if !self.group_ready.load(Ordering::Acquire) {
            let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&self.keys.outbox)
                .arg(RELAY_GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn)
                .await;
            match created {
                Ok(()) => {}
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                Err(e) => return Err(StoreError::Unavailable(e.to_string())),
            }
            self.group_ready.store(true, Ordering::Release);
        }
        // One round trip: entries abandoned by a dead relay first, then new ones.
        let reply: redis::RedisResult<(StreamAutoClaimReply, Option<StreamReadReply>)> =
            match tokio::time::timeout(
                self.timeout,
                redis::pipe()
                    .cmd("XAUTOCLAIM")
                    .arg(&self.keys.outbox)
                    .arg(RELAY_GROUP)
                    .arg(consumer)
                    .arg(reclaim_after.as_millis() as u64)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(max)
                    .cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(RELAY_GROUP)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(max)
                    .arg("STREAMS")
                    .arg(&self.keys.outbox)
                    .arg(">")
                    .query_async(&mut conn),
            )
            .await
            {
                Ok(reply) => reply,
                Err(_) => return Err(StoreError::Timeout(self.timeout)),
            };
        let (reclaimed, fresh) = match reply {
            Ok(reply) => reply,
            Err(e) if e.code() == Some("NOGROUP") => {
                self.group_ready.store(false, Ordering::Release);
                return Ok(Vec::new());
            }
            Err(e) => return Err(StoreError::Unavailable(e.to_string())),
        };
        let fresh = fresh.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids);
        let entries: Vec<OutboxEntry> = reclaimed
            .claimed
            .into_iter()
            .chain(fresh)
            .filter_map(|entry| {
                let key = entry.get::<String>("key")?;
                let payload = entry.get::<String>("event")?;
                Some(OutboxEntry {
                    id: entry.id,
                    event: OutboxEvent { key, payload },
                })
            })
            .collect();
        // Not truncated to `max`: entries XREADGROUP handed over are ours now; dropping them
        // here would only delay them until they are reclaimed.
        Ok(entries)
    }

    async fn outbox_release(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        // Streams have no "unclaim": move them to a consumer no relay runs as, marked idle for
        // a day, so the next XAUTOCLAIM by any relay takes them over at once.
        let mut conn = self.conn.clone();
        let mut release = redis::cmd("XCLAIM");
        release
            .arg(&self.keys.outbox)
            .arg(RELAY_GROUP)
            .arg("released")
            .arg(0)
            .arg(ids)
            .arg("IDLE")
            .arg(86_400_000)
            .arg("JUSTID");
        self.bounded(release.query_async::<redis::Value>(&mut conn))
            .await
            .map(drop)
    }

    async fn outbox_ack(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        self.bounded(
            redis::pipe()
                .atomic()
                .xack(&self.keys.outbox, RELAY_GROUP, ids)
                .ignore()
                .xdel(&self.keys.outbox, ids)
                .ignore()
                .query_async::<()>(&mut conn),
        )
        .await
    }
}
