//! Protective limits: the in-flight bound that sheds load with 503, the per-client-IP and
//! per-identity booking rate limits (429), the header size limit (431), and where a client's
//! IP comes from.
//!
//! Each answers at once with a `Retry-After`: past the machine's capacity a quick "try again in
//! N seconds" serves people better than a queue that ends in timeouts.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State as AxumState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::api::problem::{ApiError, retry_after_secs};
use crate::app::AppState;
use crate::metrics::{Limit, Metrics};

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

/// Where the client's address comes from.
#[derive(Debug, Clone, Copy)]
pub struct ClientIpSource {
    /// Proxies in front of this server that append to `X-Forwarded-For`. 0: the TCP peer is
    /// the client and the header is ignored (anyone can write it).
    pub trusted_proxy_hops: usize,
}

impl ClientIpSource {
    /// With N trusted proxies, the N-th address from the right of `X-Forwarded-For` is the one
    /// the outermost trusted proxy saw; anything left of it was written by the client.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        let from_header = (self.trusted_proxy_hops > 0)
            .then(|| {
                let hops: Vec<&str> = headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .collect();
                let index = hops.len().checked_sub(self.trusted_proxy_hops)?;
                hops.get(index)?.parse::<IpAddr>().ok()
            })
            .flatten();
        from_header.or_else(|| peer.map(|p| p.ip()))
    }
}

/// The limits every booking front end shares. The web form's POST handler takes the same
/// [`BookingPostAllowed`] extractor as the JSON endpoints.
#[derive(Debug)]
pub struct Limits {
    pub booking_posts_per_ip: KeyedLimiter,
    pub client_ip: ClientIpSource,
    pub shedder: Shedder,
}

/// Extracting it spends one of the client IP's booking POSTs; rejected with 429 when none is
/// left. Put it first in a booking handler's arguments so a refused POST costs nothing more.
#[derive(Debug, Clone, Copy)]
pub struct BookingPostAllowed;

/// The 429 a client gets from [`BookingPostAllowed`]; front ends render it in their own shape.
#[derive(Debug, Clone, Copy)]
pub struct TooManyBookingPosts {
    pub retry_after_secs: u64,
}

impl From<TooManyBookingPosts> for ApiError {
    fn from(limited: TooManyBookingPosts) -> Self {
        ApiError::RateLimited {
            retry_after_secs: limited.retry_after_secs,
        }
    }
}

impl IntoResponse for TooManyBookingPosts {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl FromRequestParts<AppState> for BookingPostAllowed {
    type Rejection = TooManyBookingPosts;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let limits = &state.limits;
        if !limits.booking_posts_per_ip.is_enabled() {
            return Ok(Self);
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        // No address at all (an in-process call): one shared bucket, never unlimited.
        let ip = limits.client_ip.client_ip(&parts.headers, peer);
        match limits.booking_posts_per_ip.check(ip) {
            Ok(()) => Ok(Self),
            Err(wait) => {
                state.service.metrics().rate_limited(Limit::ClientIp);
                Err(TooManyBookingPosts {
                    retry_after_secs: retry_after(wait),
                })
            }
        }
    }
}

/// The in-flight bound: a request that finds no permit is answered 503 at once.
#[derive(Clone)]
pub struct Shedder {
    permits: Arc<Semaphore>,
    limit: usize,
    metrics: Arc<Metrics>,
    /// Renders the 503 for a request's headers and path. The web pages replace it with their
    /// own friendly page.
    page: Arc<OverloadPage>,
}

/// Renders the overload answer from a request's headers and path.
pub type OverloadPage = dyn Fn(&HeaderMap, &str) -> Response + Send + Sync;

impl std::fmt::Debug for Shedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shedder")
            .field("limit", &self.limit)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl Shedder {
    pub fn new(limit: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            metrics,
            page: Arc::new(|headers, _path| overloaded(headers)),
        }
    }

    /// Replaces the overload answer (e.g. with the web UI's own page for browsers).
    pub fn with_page(
        mut self,
        page: impl Fn(&HeaderMap, &str) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.page = Arc::new(page);
        self
    }

    pub fn in_flight(&self) -> usize {
        self.limit.saturating_sub(self.permits.available_permits())
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Middleware: holds a permit for the whole request, or sheds it.
pub async fn shed_load(
    AxumState(shedder): AxumState<Shedder>,
    request: Request,
    next: Next,
) -> Response {
    match Arc::clone(&shedder.permits).try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => {
            shedder.metrics.shed();
            (shedder.page)(request.headers(), request.uri().path())
        }
    }
}

/// The default overload answer: a short bilingual page for browsers, problem+json otherwise.
pub fn overloaded(headers: &HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        return ApiError::Overloaded.into_response();
    }
    let secs = retry_after_secs();
    let page = format!(
        "<!doctype html><html lang=\"ms\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{secs}\"><title>Sila cuba sebentar lagi</title></head>\
         <body><main><h1>Sila cuba sebentar lagi</h1>\
         <p>Terlalu ramai orang sedang menggunakan perkhidmatan ini. Halaman ini akan dimuat semula \
         dalam {secs} saat. Tiada apa-apa yang ditempah.</p>\
         <h2 lang=\"en\">Please try again in a moment</h2>\
         <p lang=\"en\">Too many people are using this service right now. This page reloads in \
         {secs} seconds. Nothing has been booked.</p></main></body></html>"
    );
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::RETRY_AFTER, HeaderValue::from(secs)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        page,
    )
        .into_response()
}

/// Bound on a request's header block (names, values and the request target).
#[derive(Debug, Clone)]
pub struct HeaderLimit {
    pub max_bytes: usize,
    pub metrics: Arc<Metrics>,
}

/// Middleware: 431 for oversized headers, before any handler runs. (hyper already refuses more
/// than 100 headers and a head larger than its read buffer; this bound is tighter and set here.)
pub async fn limit_headers(
    AxumState(limit): AxumState<HeaderLimit>,
    request: Request,
    next: Next,
) -> Response {
    let size: usize = request.uri().to_string().len()
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > limit.max_bytes {
        limit.metrics.header_too_large();
        return ApiError::HeadersTooLarge(limit.max_bytes).into_response();
    }
    next.run(request).await
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

    #[test]
    fn forwarded_for_is_ignored_unless_proxies_are_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 10.0.0.9"),
        );
        let peer = Some(SocketAddr::from(([192, 168, 1, 1], 4000)));
        let untrusted = ClientIpSource {
            trusted_proxy_hops: 0,
        };
        assert_eq!(
            untrusted.client_ip(&headers, peer),
            Some(IpAddr::from([192, 168, 1, 1]))
        );
        let one_proxy = ClientIpSource {
            trusted_proxy_hops: 1,
        };
        assert_eq!(
            one_proxy.client_ip(&headers, peer),
            Some(IpAddr::from([10, 0, 0, 9]))
        );
        let two_proxies = ClientIpSource {
            trusted_proxy_hops: 2,
        };
        assert_eq!(
            two_proxies.client_ip(&headers, peer),
            Some(IpAddr::from([6, 6, 6, 6]))
        );
    }
}
