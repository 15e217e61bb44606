//! Prometheus metrics: the counters and histograms the service keeps, encoded by
//! `prometheus-client` as OpenMetrics text at `/metrics`.
//!
//! Every label value comes from a closed set — an enum, a matched route pattern, a status code,
//! a name written in the code — so no client can make the series grow without bound: a method
//! nobody defined counts as `other`, an unknown path as `unmatched`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The media type of [`Metrics::render`]'s output: the OpenMetrics 1.0 text the crate's encoder
/// writes (it ends in `# EOF`), which Prometheus asks for and parses.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the latency buckets: sub-millisecond answers (snapshot reads, the
/// sold-out fast path) up to the request timeout.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The request method as a label. The methods the service can answer are named; any other
/// (`FOO`, `BAR1`, … a client may invent them freely) is `other`, so it cannot create a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    fn label(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Other => "other",
        }
    }
}

impl From<&str> for Method {
    /// Methods are case-sensitive (RFC 9110): `get` is not `GET`, so it is `other`.
    fn from(method: &str) -> Self {
        match method {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

/// Why a booking was refused, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// In declaration order, so `reason as usize` indexes it.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Booking POSTs per client IP.
    ClientIp,
    /// Booking attempts per identity number.
    Identity,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Self::ClientIp => "client_ip",
            Self::Identity => "identity",
        }
    }
}

/// Which cap closed a new connection unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionCap {
    /// Connections open at once on the listener.
    Total,
    /// Connections open at once from one client address.
    PerClient,
}

impl ConnectionCap {
    fn label(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::PerClient => "per_client",
        }
    }
}

// The crate's `EncodeLabelValue` derive writes the Rust variant name (`SoldOut`, `Get`) and
// takes no rename; these keep the label values operators' queries and dashboards already use.
macro_rules! label_value {
    ($($kind:ty),*) => {$(
        impl EncodeLabelValue for $kind {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
                fmt::Write::write_str(encoder, self.label())
            }
        }
    )*};
}
label_value!(Method, Refusal, Limit, ConnectionCap);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    /// The matched route pattern (`/api/v1/centres/{code}/availability`), never the raw path,
    /// or `unmatched`.
    route: String,
    method: Method,
    /// At most three digits (hyper refuses others), so bounded too.
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StoreLabels {
    backend: &'static str,
    op: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusalLabels {
    reason: Refusal,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LimitLabels {
    limit: Limit,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CapLabels {
    cap: ConnectionCap,
}

/// Every series the service exports. One per application, shared by `Arc`.
///
/// The fields are handles onto the series in `registry` (a clone of a counter or a family shares
/// its value), kept so that recording is an atomic add rather than a lookup by name.
#[derive(Debug)]
pub struct Metrics {
    /// What `/metrics` encodes: every series below, registered once at start.
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram>,
    store_calls: Family<StoreLabels, Histogram>,
    bookings_confirmed: Counter,
    /// Indexed like `Refusal::ALL`; every reason exists from the start, so it reads 0 rather
    /// than being absent before its first refusal.
    bookings_refused: [Counter; Refusal::ALL.len()],
    /// Refusals answered from the snapshot without a store round trip (a subset of sold_out).
    sold_out_fast_path: Counter,
    snapshot_hits: Counter,
    snapshot_refreshes: Counter,
    snapshot_refresh_failures: Counter,
    snapshot_stale_served: Counter,
    shed: Counter,
    rate_limited_ip: Counter,
    rate_limited_identity: Counter,
    headers_too_large: Counter,
    /// New connections closed unanswered, past the total cap and past the per-client cap.
    connections_refused_total: Counter,
    connections_refused_per_client: Counter,
    /// Outbox events the relay delivered downstream (Kafka, or the log).
    events_delivered: Counter,
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
    /// Connections open now on the public listener.
    pub open_connections: u64,
}

/// Registers a counter under `name`; the encoder appends `_total` to its samples.
fn counter(registry: &mut Registry, name: &str, help: &str) -> Counter {
    let counter = Counter::default();
    registry.register(name, help, counter.clone());
    counter
}

impl Default for Metrics {
    fn default() -> Self {
        // Help texts without a final full stop: the crate adds one. Names carry their unit
        // (`_seconds`) themselves, with no `# UNIT` line, as before: the strict parser the tests
        // use refuses UNIT on a histogram, and Prometheus needs none.
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "jkjav_http_requests",
            "HTTP requests answered, by matched route, method and status",
            http_requests.clone(),
        );
        let http_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "jkjav_http_request_duration_seconds",
            "Time from receiving a request to its response head, by matched route, method and status",
            http_duration.clone(),
        );
        let store_calls = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "jkjav_store_call_duration_seconds",
            "Latency of each call to the store (Redis in production), timeouts included",
            store_calls.clone(),
        );
        let bookings_confirmed = counter(
            &mut registry,
            "jkjav_bookings_confirmed",
            "Bookings stored and confirmed",
        );
        let refused = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "jkjav_bookings_refused",
            "Booking requests refused, by reason (nothing was stored)",
            refused.clone(),
        );
        let bookings_refused =
            Refusal::ALL.map(|reason| refused.get_or_create_owned(&RefusalLabels { reason }));
        let sold_out_fast_path = counter(
            &mut registry,
            "jkjav_sold_out_fast_path",
            "Sold-out refusals answered from the availability snapshot, without a store round trip",
        );
        let snapshot_hits = counter(
            &mut registry,
            "jkjav_availability_snapshot_hits",
            "Availability reads served from the in-process snapshot without reading the store",
        );
        let snapshot_refreshes = counter(
            &mut registry,
            "jkjav_availability_snapshot_refreshes",
            "Store reads that refreshed the availability snapshot",
        );
        let snapshot_refresh_failures = counter(
            &mut registry,
            "jkjav_availability_snapshot_refresh_failures",
            "Snapshot refreshes that failed (store slow or down)",
        );
        let snapshot_stale_served = counter(
            &mut registry,
            "jkjav_availability_stale_served",
            "Availability answers served from a stale snapshot because the store could not be read",
        );
        let shed = counter(
            &mut registry,
            "jkjav_shed_requests",
            "Requests answered 503 at once because the in-flight bound was reached",
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "jkjav_rate_limited_requests",
            "Requests answered 429, by the limit that refused them",
            rate_limited.clone(),
        );
        let limited = |limit| rate_limited.get_or_create_owned(&LimitLabels { limit });
        let (rate_limited_ip, rate_limited_identity) =
            (limited(Limit::ClientIp), limited(Limit::Identity));
        let headers_too_large = counter(
            &mut registry,
            "jkjav_headers_too_large",
            "Requests refused with 431 because their headers exceeded the limit",
        );
        let connections_refused = Family::<CapLabels, Counter>::default();
        registry.register(
            "jkjav_connections_refused",
            "New connections closed unanswered because a connection cap was reached, by cap",
            connections_refused.clone(),
        );
        let (connections_refused_total, connections_refused_per_client) = (
            connections_refused.get_or_create_owned(&CapLabels {
                cap: ConnectionCap::Total,
            }),
            connections_refused.get_or_create_owned(&CapLabels {
                cap: ConnectionCap::PerClient,
            }),
        );
        let events_delivered = counter(
            &mut registry,
            "jkjav_outbox_events_delivered",
            "Booking events the outbox relay delivered downstream and removed from the outbox",
        );
        Self {
            registry,
            http_requests,
            http_duration,
            store_calls,
            bookings_confirmed,
            bookings_refused,
            sold_out_fast_path,
            snapshot_hits,
            snapshot_refreshes,
            snapshot_refresh_failures,
            snapshot_stale_served,
            shed,
            rate_limited_ip,
            rate_limited_identity,
            headers_too_large,
            connections_refused_total,
            connections_refused_per_client,
            events_delivered,
        }
    }
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn http_request(&self, route: &str, method: Method, status: u16, elapsed: Duration) {
        let labels = HttpLabels {
            route: route.to_owned(),
            method,
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn store_call(&self, backend: &'static str, op: &'static str, elapsed: Duration) {
        self.store_calls
            .get_or_create(&StoreLabels { backend, op })
            .observe(elapsed.as_secs_f64());
    }

    pub fn booking_confirmed(&self) {
        self.bookings_confirmed.inc();
    }

    pub fn booking_refused(&self, reason: Refusal) {
        if let Some(counter) = self.bookings_refused.get(reason as usize) {
            counter.inc();
        }
    }

    pub fn sold_out_fast_path(&self) {
        self.sold_out_fast_path.inc();
    }

    pub fn snapshot_hit(&self) {
        self.snapshot_hits.inc();
    }

    pub fn snapshot_refreshed(&self, ok: bool) {
        if ok {
            self.snapshot_refreshes.inc();
        } else {
            self.snapshot_refresh_failures.inc();
        }
    }

    pub fn snapshot_stale_served(&self) {
        self.snapshot_stale_served.inc();
    }

    pub fn shed(&self) {
        self.shed.inc();
    }

    pub fn rate_limited(&self, limit: Limit) {
        match limit {
            Limit::ClientIp => self.rate_limited_ip.inc(),
            Limit::Identity => self.rate_limited_identity.inc(),
        };
    }

    pub fn header_too_large(&self) {
        self.headers_too_large.inc();
    }

    pub fn connection_refused(&self, cap: ConnectionCap) {
        match cap {
            ConnectionCap::Total => self.connections_refused_total.inc(),
            ConnectionCap::PerClient => self.connections_refused_per_client.inc(),
        };
    }

    pub fn events_delivered(&self, count: u64) {
        self.events_delivered.inc_by(count);
    }

    /// The OpenMetrics text of every series, with `gauges` as read for this scrape ([`CONTENT_TYPE`]).
    ///
    /// The gauges go in a registry of this scrape's own, so concurrent scrapes never see each
    /// other's values, and a value that could not be read is absent rather than stale.
    pub fn render(&self, gauges: Gauges) -> Result<String, fmt::Error> {
        let mut now = Registry::default();
        if let Some(age) = gauges.snapshot_age {
            now.register(
                "jkjav_availability_snapshot_age_seconds",
                "Age of the current availability snapshot (absent before the first read)",
                ConstGauge::new(age.as_secs_f64()),
            );
        }
        now.register(
            "jkjav_in_flight_requests",
            "Requests being served now",
            ConstGauge::new(gauges.in_flight),
        );
        now.register(
            "jkjav_in_flight_limit",
            "The in-flight bound past which requests are shed",
            ConstGauge::new(gauges.in_flight_limit),
        );
        now.register(
            "jkjav_open_connections",
            "Connections open now on the public listener",
            ConstGauge::new(gauges.open_connections),
        );
        if let Some(backlog) = gauges.outbox_backlog {
            now.register(
                "jkjav_outbox_backlog",
                "Booking events written and not yet delivered downstream (absent if the store did not answer)",
                ConstGauge::new(backlog),
            );
        }
        if let Some(age) = gauges.outbox_oldest_age {
            now.register(
                "jkjav_outbox_oldest_age_seconds",
                "Age of the oldest undelivered booking event (absent when there is none)",
                ConstGauge::new(age.as_secs_f64()),
            );
        }
        let mut text = String::with_capacity(16 * 1024);
        encode_registry(&mut text, &self.registry)?;
        encode_registry(&mut text, &now)?;
        encode_eof(&mut text)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_counted_and_timed_in_the_bucket_its_latency_falls_in() {
        let metrics = Metrics::default();
        metrics.http_request("/x", Method::Get, 200, Duration::from_micros(200));
        metrics.http_request("/x", Method::Get, 200, Duration::from_millis(30));
        let text = metrics.render(Gauges::default()).unwrap();
        let series = "route=\"/x\",method=\"GET\",status=\"200\"";
        for line in [
            format!("jkjav_http_request_duration_seconds_bucket{{le=\"0.0001\",{series}}} 0"),
            format!("jkjav_http_request_duration_seconds_bucket{{le=\"0.00025\",{series}}} 1"),
            format!("jkjav_http_request_duration_seconds_bucket{{le=\"0.05\",{series}}} 2"),
            format!("jkjav_http_request_duration_seconds_bucket{{le=\"+Inf\",{series}}} 2"),
            format!("jkjav_http_request_duration_seconds_count{{{series}}} 2"),
            format!("jkjav_http_requests_total{{{series}}} 2"),
        ] {
            assert!(
                text.contains(&format!("\n{line}\n")),
                "no {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn each_refusal_reason_counts_under_its_own_label() {
        let metrics = Metrics::default();
        for (times, reason) in Refusal::ALL.into_iter().enumerate() {
            for _ in 0..times {
                metrics.booking_refused(reason);
            }
        }
        let text = metrics.render(Gauges::default()).unwrap();
        for (times, reason) in Refusal::ALL.into_iter().enumerate() {
            let line = format!(
                "jkjav_bookings_refused_total{{reason=\"{}\"}} {times}",
                reason.label()
            );
            assert!(text.contains(&line), "no {line:?} in\n{text}");
        }
    }

    #[test]
    fn methods_outside_the_known_set_are_other() {
        assert_eq!(Method::from("GET"), Method::Get);
        assert_eq!(Method::from("OPTIONS"), Method::Options);
        for invented in ["FOO", "get", "BAR1", "CONNECT", ""] {
            assert_eq!(Method::from(invented), Method::Other, "{invented:?}");
        }
    }
}
