//! A token bucket per key (an IP, an identity number), kept in this process. Pure: no HTTP,
//! no store. The booking service bounds attempts per identity number with it, and the HTTP
//! layer bounds booking POSTs per client address.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shards of a [`KeyedLimiter`]: enough that two cores rarely wait on the same lock.
const SHARDS: usize = 16;

/// A token bucket per key: up to `per_minute` at once, refilled at `per_minute` a minute.
///
/// Keys are stored as keyed 64-bit hashes (the key itself — an IP, an identity number — is
/// never kept), and buckets that have refilled completely are dropped, so memory follows the
/// number of keys active in the last minute rather than every key ever seen.
#[derive(Debug)]
pub struct KeyedLimiter {
    /// Bucket size, and tokens added per minute; 0 turns the limit off.
    per_minute: u32,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
}

#[derive(Debug)]
struct Shard {
    buckets: HashMap<u64, Bucket>,
    /// Prune full buckets when the map reaches this size; doubles with what survives.
    prune_at: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Below this a shard is never pruned: cheap to keep, not worth the scan.
const PRUNE_FLOOR: usize = 1024;

impl KeyedLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            hasher: RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        buckets: HashMap::new(),
                        prune_at: PRUNE_FLOOR,
                    })
                })
                .collect(),
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.per_minute > 0
    }

    /// Takes one token for `key`; when there is none, how long until there is.
    pub fn check(&self, key: impl Hash) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: impl Hash, now: Instant) -> Result<(), Duration> {
        if !self.is_enabled() {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let hash = self.hasher.hash_one(key);
        let index = (hash % SHARDS as u64) as usize;
        // A poisoned lock only means another request panicked mid-update; the numbers are
        // still usable, and refusing everyone would be worse.
        let mut shard = match self.shards[index].lock() {
            Ok(shard) => shard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if shard.buckets.len() >= shard.prune_at {
            shard.buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * per_sec < capacity
            });
            shard.prune_at = (shard.buckets.len() * 2).max(PRUNE_FLOOR);
        }
        let bucket = shard.buckets.entry(hash).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let refilled = now.duration_since(bucket.updated).as_secs_f64() * per_sec;
        bucket.tokens = (bucket.tokens + refilled).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_sec))
        }
    }
}

/// Whole seconds for `Retry-After`, rounded up and never 0 (0 would invite an instant retry).
pub fn retry_after(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_size_at_once_then_refuses_until_it_refills() {
        let limiter = KeyedLimiter::new(3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", start).is_ok());
        }
        let wait = limiter.check_at("a", start).unwrap_err();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        assert!(
            limiter.check_at("b", start).is_ok(),
            "keys have their own buckets"
        );
        assert!(
            limiter
                .check_at("a", start + Duration::from_secs(21))
                .is_ok()
        );
    }

    #[test]
    fn zero_per_minute_turns_the_limit_off() {
        let limiter = KeyedLimiter::new(0);
        assert!((0..10_000).all(|n| limiter.check(n).is_ok()));
    }

    #[test]
    fn buckets_that_refilled_are_forgotten() {
        let limiter = KeyedLimiter::new(60);
        let start = Instant::now();
        for n in 0..(PRUNE_FLOOR * SHARDS * 2) {
            let _ = limiter.check_at(n, start);
        }
        // A second later every bucket is full again; the next insertions prune them.
        let later = start + Duration::from_secs(2);
        for n in 0..(PRUNE_FLOOR * SHARDS * 2) {
            let _ = limiter.check_at(n + 1_000_000, later);
        }
        let kept: usize = limiter
            .shards
            .iter()
            .map(|s| s.lock().unwrap().buckets.len())
            .sum();
        assert!(
            kept < PRUNE_FLOOR * SHARDS * 3,
            "kept {kept} buckets: full ones were not pruned"
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after(Duration::from_millis(10)), 1);
        assert_eq!(retry_after(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after(Duration::from_secs(3)), 3);
    }
}
