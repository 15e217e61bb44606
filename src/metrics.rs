//! Prometheus metrics: the counters and histograms the service keeps, rendered as the
//! Prometheus text format (version 0.0.4) at `/metrics`.
//!
//! Hand-rolled on atomics rather than a metrics framework: the set is small and fixed, the hot
//! path is one read-locked map lookup plus a few relaxed atomic adds, and the crate stays lean.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds (seconds) of the latency buckets: sub-millisecond answers (snapshot reads, the
/// sold-out fast path) up to the request timeout.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A latency histogram with fixed buckets; every field is a lock-free counter.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per bucket, non-cumulative (summed when rendered).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    /// Nanoseconds, so the sum stays an integer add.
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|bound| secs <= *bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Series created on first use and kept for the life of the process. Label values come from a
/// closed set (matched route patterns, not raw paths), so the map stays small.
#[derive(Debug)]
struct Family<K> {
    series: RwLock<HashMap<K, Arc<Histogram>>>,
}

impl<K> Default for Family<K> {
    fn default() -> Self {
        Self {
            series: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone + Ord> Family<K> {
    fn get(&self, key: &K) -> Option<Arc<Histogram>> {
        let series = self.series.read().ok()?;
        series.get(key).cloned()
    }

    fn observe(&self, key: K, elapsed: Duration) {
        let histogram = match self.get(&key) {
            Some(histogram) => histogram,
            None => match self.series.write() {
                Ok(mut series) => Arc::clone(series.entry(key).or_default()),
                Err(_) => return,
            },
        };
        histogram.observe(elapsed);
    }

    /// Sorted, so the output is stable from one scrape to the next.
    fn snapshot(&self) -> Vec<(K, Arc<Histogram>)> {
        let mut all: Vec<(K, Arc<Histogram>)> = self
            .series
            .read()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Why a booking was refused, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    SoldOut,
    AlreadyBooked,
    UnknownSlot,
    NotOpen,
    Closed,
    RateLimited,
    Unavailable,
}

impl Refusal {
    const ALL: [Refusal; 7] = [
        Self::SoldOut,
        Self::AlreadyBooked,
        Self::UnknownSlot,
        Self::NotOpen,
        Self::Closed,
        Self::RateLimited,
        Self::Unavailable,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::SoldOut => "sold_out",
            Self::AlreadyBooked => "already_booked",
            Self::UnknownSlot => "unknown_slot",
            Self::NotOpen => "not_open",
            Self::Closed => "closed",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Which abuse limit answered 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Booking POSTs per client IP.
    ClientIp,
    /// Booking attempts per identity number.
    Identity,
}

/// Every series the service exports. One per application, shared by `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Keyed by (matched route, method, status).
    http: Family<(String, String, u16)>,
    /// Keyed by (backend, operation).
    store_calls: Family<(&'static str, &'static str)>,
    bookings_confirmed: AtomicU64,
    /// Indexed like `Refusal::ALL`.
    bookings_refused: [AtomicU64; Refusal::ALL.len()],
    /// Refusals answered from the snapshot without a store round trip (a subset of sold_out).
    sold_out_fast_path: AtomicU64,
    snapshot_hits: AtomicU64,
    snapshot_refreshes: AtomicU64,
    snapshot_refresh_failures: AtomicU64,
    snapshot_stale_served: AtomicU64,
    shed: AtomicU64,
    rate_limited_ip: AtomicU64,
    rate_limited_identity: AtomicU64,
    headers_too_large: AtomicU64,
    /// Outbox events the relay delivered downstream (Kafka, or the log).
    events_delivered: AtomicU64,
}

/// Values read at scrape time rather than counted: they describe the present.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Age of the availability snapshot, if there is one.
    pub snapshot_age: Option<Duration>,
    /// Events waiting for the relay, if the store answered.
    pub outbox_backlog: Option<u64>,
    pub outbox_oldest_age: Option<Duration>,
    /// Requests being served now (bounded by the in-flight limit).
    pub in_flight: u64,
    pub in_flight_limit: u64,
}

fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http
            .observe((route.to_owned(), method.to_owned(), status), elapsed);
    }

    pub fn store_call(&self, backend: &'static str, op: &'static str, elapsed: Duration) {
        self.store_calls.observe((backend, op), elapsed);
    }

    pub fn booking_confirmed(&self) {
        inc(&self.bookings_confirmed);
    }

    pub fn booking_refused(&self, reason: Refusal) {
        if let Some(i) = Refusal::ALL.iter().position(|r| *r == reason) {
            inc(&self.bookings_refused[i]);
        }
    }

    pub fn sold_out_fast_path(&self) {
        inc(&self.sold_out_fast_path);
    }

    pub fn snapshot_hit(&self) {
        inc(&self.snapshot_hits);
    }

    pub fn snapshot_refreshed(&self, ok: bool) {
        inc(if ok {
            &self.snapshot_refreshes
        } else {
            &self.snapshot_refresh_failures
        });
    }

    pub fn snapshot_stale_served(&self) {
        inc(&self.snapshot_stale_served);
    }

    pub fn shed(&self) {
        inc(&self.shed);
    }

    pub fn rate_limited(&self, limit: Limit) {
        inc(match limit {
            Limit::ClientIp => &self.rate_limited_ip,
            Limit::Identity => &self.rate_limited_identity,
        });
    }

    pub fn header_too_large(&self) {
        inc(&self.headers_too_large);
    }

    pub fn events_delivered(&self, count: u64) {
        self.events_delivered.fetch_add(count, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);

        let http = self.http.snapshot();
        header(
            &mut out,
            "jkjav_http_requests_total",
            "counter",
            "HTTP requests answered, by matched route, method and status.",
        );
        for ((route, method, status), h) in &http {
            let _ = writeln!(
                out,
                "jkjav_http_requests_total{{{}}} {}",
                http_labels(route, method, *status),
                h.count()
            );
        }
        header(
            &mut out,
            "jkjav_http_request_duration_seconds",
            "histogram",
            "Time from receiving a request to its response head, by matched route, method and status.",
        );
        for ((route, method, status), h) in &http {
            h.render(
                &mut out,
                "jkjav_http_request_duration_seconds",
                &http_labels(route, method, *status),
            );
        }

        header(
            &mut out,
            "jkjav_store_call_duration_seconds",
            "histogram",
            "Latency of each call to the store (Redis in production), timeouts included.",
        );
        for ((backend, op), h) in self.store_calls.snapshot() {
            h.render(
                &mut out,
                "jkjav_store_call_duration_seconds",
                &format!("backend=\"{backend}\",op=\"{op}\""),
            );
        }

        header(
            &mut out,
            "jkjav_bookings_confirmed_total",
            "counter",
            "Bookings stored and confirmed.",
        );
        let _ = writeln!(
            out,
            "jkjav_bookings_confirmed_total {}",
            load(&self.bookings_confirmed)
        );
        header(
            &mut out,
            "jkjav_bookings_refused_total",
            "counter",
            "Booking requests refused, by reason (nothing was stored).",
        );
        for (reason, counter) in Refusal::ALL.iter().zip(&self.bookings_refused) {
            let _ = writeln!(
                out,
                "jkjav_bookings_refused_total{{reason=\"{}\"}} {}",
                reason.label(),
                load(counter)
            );
        }
        counter(
            &mut out,
            "jkjav_sold_out_fast_path_total",
            "Sold-out refusals answered from the availability snapshot, without a store round trip.",
            load(&self.sold_out_fast_path),
        );
        counter(
            &mut out,
            "jkjav_availability_snapshot_hits_total",
            "Availability reads served from the in-process snapshot without reading the store.",
            load(&self.snapshot_hits),
        );
        counter(
            &mut out,
            "jkjav_availability_snapshot_refreshes_total",
            "Store reads that refreshed the availability snapshot.",
            load(&self.snapshot_refreshes),
        );
        counter(
            &mut out,
            "jkjav_availability_snapshot_refresh_failures_total",
            "Snapshot refreshes that failed (store slow or down).",
            load(&self.snapshot_refresh_failures),
        );
        counter(
            &mut out,
            "jkjav_availability_stale_served_total",
            "Availability answers served from a stale snapshot because the store could not be read.",
            load(&self.snapshot_stale_served),
        );
        header(
            &mut out,
            "jkjav_availability_snapshot_age_seconds",
            "gauge",
            "Age of the current availability snapshot (absent before the first read).",
        );
        if let Some(age) = gauges.snapshot_age {
            let _ = writeln!(
                out,
                "jkjav_availability_snapshot_age_seconds {}",
                age.as_secs_f64()
            );
        }
        counter(
            &mut out,
            "jkjav_shed_requests_total",
            "Requests answered 503 at once because the in-flight bound was reached.",
            load(&self.shed),
        );
        header(
            &mut out,
            "jkjav_rate_limited_requests_total",
            "counter",
            "Requests answered 429, by the limit that refused them.",
        );
        let _ = writeln!(
            out,
            "jkjav_rate_limited_requests_total{{limit=\"client_ip\"}} {}",
            load(&self.rate_limited_ip)
        );
        let _ = writeln!(
            out,
            "jkjav_rate_limited_requests_total{{limit=\"identity\"}} {}",
            load(&self.rate_limited_identity)
        );
        counter(
            &mut out,
            "jkjav_headers_too_large_total",
            "Requests refused with 431 because their headers exceeded the limit.",
            load(&self.headers_too_large),
        );
        gauge(
            &mut out,
            "jkjav_in_flight_requests",
            "Requests being served now.",
            gauges.in_flight as f64,
        );
        gauge(
            &mut out,
            "jkjav_in_flight_limit",
            "The in-flight bound past which requests are shed.",
            gauges.in_flight_limit as f64,
        );
        counter(
            &mut out,
            "jkjav_outbox_events_delivered_total",
            "Booking events the outbox relay delivered downstream and removed from the outbox.",
            load(&self.events_delivered),
        );
        header(
            &mut out,
            "jkjav_outbox_backlog",
            "gauge",
            "Booking events written and not yet delivered downstream (absent if the store did not answer).",
        );
        if let Some(backlog) = gauges.outbox_backlog {
            let _ = writeln!(out, "jkjav_outbox_backlog {backlog}");
        }
        header(
            &mut out,
            "jkjav_outbox_oldest_age_seconds",
            "gauge",
            "Age of the oldest undelivered booking event (absent when there is none).",
        );
        if let Some(age) = gauges.outbox_oldest_age {
            let _ = writeln!(out, "jkjav_outbox_oldest_age_seconds {}", age.as_secs_f64());
        }
        out
    }
}

fn http_labels(route: &str, method: &str, status: u16) -> String {
    format!(
        "route=\"{}\",method=\"{}\",status=\"{status}\"",
        escape(route),
        escape(method)
    )
}

/// Label values are route patterns and methods, but escape anyway: the format demands it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets_count_and_sum() {
        let metrics = Metrics::default();
        metrics.http_request("/x", "GET", 200, Duration::from_micros(200));
        metrics.http_request("/x", "GET", 200, Duration::from_millis(30));
        let text = metrics.render(Gauges::default());
        assert!(text.contains(
            "jkjav_http_request_duration_seconds_bucket{route=\"/x\",method=\"GET\",status=\"200\",le=\"0.00025\"} 1"
        ));
        assert!(text.contains(
            "jkjav_http_request_duration_seconds_bucket{route=\"/x\",method=\"GET\",status=\"200\",le=\"+Inf\"} 2"
        ));
        assert!(
            text.contains(
                "jkjav_http_requests_total{route=\"/x\",method=\"GET\",status=\"200\"} 2"
            )
        );
    }
}
