//! Configuration: every setting is a flag and an environment variable (see the README's table).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

#[derive(Debug, Parser)]
#[command(
    name = "jkjav",
    version,
    about = "A truthful vaccination appointment booking service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web pages, the JSON API and the seed's endpoints.
    Serve(ServeConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "JKJAV_HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Port to listen on (the seed's default, 3000). 0 picks a free port.
    #[arg(long, env = "PORT", default_value_t = 3000)]
    pub port: u16,

    /// Redis URL, e.g. redis://127.0.0.1:6379. Unset: the in-memory store (nothing durable).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Bound on every Redis call, connecting included; past it the request gets 503.
    #[arg(long, env = "JKJAV_REDIS_TIMEOUT_MS", default_value_t = 500)]
    pub redis_timeout_ms: u64,

    /// Kafka bootstrap servers (comma-separated). Unset: booking events are written to the log.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,

    /// Kafka topic for booking events (the seed's name by default).
    #[arg(long, env = "KAFKA_TOPIC", default_value = "booking-slot")]
    pub kafka_topic: String,

    /// librdkafka's delivery budget per message (retries included); past it the relay retries
    /// from the outbox.
    #[arg(long, env = "JKJAV_KAFKA_MESSAGE_TIMEOUT_MS", default_value_t = 30_000)]
    pub kafka_message_timeout_ms: u64,

    /// Partitions when the relay has to create the topic.
    #[arg(long, env = "JKJAV_KAFKA_TOPIC_PARTITIONS", default_value_t = 6)]
    pub kafka_topic_partitions: i32,

    /// Replication factor when the relay has to create the topic.
    #[arg(long, env = "JKJAV_KAFKA_TOPIC_REPLICATION", default_value_t = 1)]
    pub kafka_topic_replication: i32,

    /// Events the relay claims per round.
    #[arg(long, env = "JKJAV_RELAY_BATCH", default_value_t = 256)]
    pub relay_batch: usize,

    /// How often an idle relay looks for new events, in milliseconds.
    #[arg(long, env = "JKJAV_RELAY_POLL_MS", default_value_t = 100)]
    pub relay_poll_ms: u64,

    /// An event claimed by a relay that has not confirmed delivery within this many milliseconds
    /// is taken over by another (the first is presumed dead).
    #[arg(long, env = "JKJAV_RELAY_RECLAIM_MS", default_value_t = 60_000)]
    pub relay_reclaim_ms: u64,

    /// Warn in the log when more events than this wait for delivery.
    #[arg(long, env = "JKJAV_OUTBOX_WARN_BACKLOG", default_value_t = 10_000)]
    pub outbox_warn_backlog: u64,

    /// Warn in the log when the oldest undelivered event is older than this many seconds.
    #[arg(long, env = "JKJAV_OUTBOX_WARN_AGE_SECS", default_value_t = 60)]
    pub outbox_warn_age_secs: u64,

    /// Catalogue TOML file (states, centres, slots, campaign hours). Unset: the demo catalogue
    /// compiled in (data/demo.toml, dates from tomorrow).
    #[arg(long, env = "JKJAV_CATALOGUE")]
    pub catalogue: Option<PathBuf>,

    /// Log filter, in tracing's EnvFilter syntax (e.g. `info`, `jkjav=debug`).
    #[arg(long, env = "JKJAV_LOG", default_value = "info")]
    pub log: String,

    /// Log format.
    #[arg(long, env = "JKJAV_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Largest request body accepted, in bytes; larger gets 413.
    #[arg(long, env = "JKJAV_MAX_BODY_BYTES", default_value_t = 16 * 1024)]
    pub max_body_bytes: usize,

    /// Bound on a whole request; past it the client gets 503 with Retry-After.
    #[arg(long, env = "JKJAV_REQUEST_TIMEOUT_MS", default_value_t = 5_000)]
    pub request_timeout_ms: u64,

    /// The Retry-After value (seconds) sent with every 503.
    #[arg(long, env = "JKJAV_RETRY_AFTER_SECS", default_value_t = 2)]
    pub retry_after_secs: u64,

    /// Oldest availability snapshot served while the store answers, in milliseconds.
    #[arg(long, env = "JKJAV_SNAPSHOT_MAX_AGE_MS", default_value_t = 1_000)]
    pub snapshot_max_age_ms: u64,

    /// Requests served at once (health, readiness and metrics excepted); past it a request is
    /// answered 503 + Retry-After at once instead of queueing into a timeout.
    #[arg(long, env = "JKJAV_MAX_IN_FLIGHT", default_value_t = 1024)]
    pub max_in_flight: usize,

    /// Largest request head (target plus headers) accepted, in bytes; larger gets 431.
    #[arg(long, env = "JKJAV_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Time a client has to send a request's head (request line and headers), counted from
    /// when the connection starts waiting for it, so this also ends an idle keep-alive
    /// connection. Past it the connection is closed: a head trickled a line at a time holds
    /// nothing for long.
    #[arg(long, env = "JKJAV_HEADER_READ_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// Time a client has to send a request's body once its head is in; past it 408. The body
    /// is read before the request takes an in-flight permit, so a slow body holds none.
    #[arg(long, env = "JKJAV_BODY_READ_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_ms: u64,

    /// Connections open at once, on each listener; a connection past it is closed at once.
    /// 0: no cap.
    #[arg(long, env = "JKJAV_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Connections open at once from one client address (an IPv6 client: its /64); past it a
    /// new connection from that address is closed at once. Generous: thousands of phones can
    /// share one carrier-NAT address, each browser opening up to six. Trusted proxies
    /// (`JKJAV_TRUSTED_PROXIES`) carry many clients and are not capped. 0: no cap.
    #[arg(
        long,
        env = "JKJAV_MAX_CONNECTIONS_PER_CLIENT",
        default_value_t = 1_000
    )]
    pub max_connections_per_client: usize,

    /// Booking POSTs per client IP per minute, all booking endpoints together; a client may use
    /// the whole minute's allowance at once. Generous because many phones share one carrier-NAT
    /// address. Past it: 429 + Retry-After. 0 turns the limit off.
    #[arg(
        long,
        env = "JKJAV_BOOKING_POSTS_PER_IP_PER_MIN",
        default_value_t = 600
    )]
    pub booking_posts_per_ip_per_min: u32,

    /// Booking attempts per identity number per minute from one client address (at once or
    /// spread out). Per address too, so a stranger's attempts with someone's identity number
    /// never use up theirs. Past it: 429 + Retry-After. 0 turns the limit off.
    #[arg(
        long,
        env = "JKJAV_BOOKING_ATTEMPTS_PER_ID_PER_MIN",
        default_value_t = 10
    )]
    pub booking_attempts_per_id_per_min: u32,

    /// Failed lookups and cancellations (reference + identity number) per booking reference
    /// before it is locked for JKJAV_FAILED_ATTEMPTS_LOCK_SECS. Counted in the store, so the
    /// limit holds across instances. 0 turns the limit off.
    #[arg(long, env = "JKJAV_FAILED_LOOKUPS_PER_REFERENCE", default_value_t = 5)]
    pub failed_lookups_per_reference: u32,

    /// Failed "find my booking" attempts (identity + phone number) per identity number before
    /// finding by it is locked for JKJAV_FAILED_ATTEMPTS_LOCK_SECS. 0 turns the limit off.
    #[arg(long, env = "JKJAV_FAILED_FINDS_PER_ID", default_value_t = 5)]
    pub failed_finds_per_id: u32,

    /// How long a reference's or an identity number's failed attempts count, and how long it
    /// stays locked once it has too many.
    #[arg(long, env = "JKJAV_FAILED_ATTEMPTS_LOCK_SECS", default_value_t = 900)]
    pub failed_attempts_lock_secs: u64,

    /// Failed lookups, cancellations and finds per client address (IPv6: per /64) before that
    /// client is locked out of them for JKJAV_FAILED_ATTEMPTS_CLIENT_LOCK_SECS. Generous:
    /// thousands of phones can share one carrier-NAT address. 0 turns the limit off.
    #[arg(long, env = "JKJAV_FAILED_ATTEMPTS_PER_CLIENT", default_value_t = 100)]
    pub failed_attempts_per_client: u32,

    /// How long a client's failed attempts count, and how long it stays locked.
    #[arg(
        long,
        env = "JKJAV_FAILED_ATTEMPTS_CLIENT_LOCK_SECS",
        default_value_t = 600
    )]
    pub failed_attempts_client_lock_secs: u64,

    /// How long a booking's `Idempotency-Key` (or the web form's token) is remembered: a retry
    /// within it gets the booking back instead of "already booked".
    #[arg(long, env = "JKJAV_IDEMPOTENCY_TTL_SECS", default_value_t = 86_400)]
    pub idempotency_ttl_secs: u64,

    /// Address ranges (CIDRs, comma-separated, e.g. `10.0.0.0/8,fd00::/8`; a bare address is
    /// a range of one) of the reverse proxies in front of this server. Only a request whose TCP
    /// peer is in one of them has its `X-Forwarded-For` and `X-Forwarded-Proto` believed: the
    /// client is the first address from the right of `X-Forwarded-For` that is not a trusted
    /// proxy. Empty: the TCP peer is the client and both headers are ignored (anyone can
    /// write them).
    #[arg(long, env = "JKJAV_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,

    /// On SIGTERM/Ctrl-C, how long in-flight requests get to finish.
    #[arg(long, env = "JKJAV_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// The site is served over https (TLS ends in front of this server): the web pages'
    /// cookies are `Secure` and named with the `__Host-` prefix, and every answer carries
    /// `Strict-Transport-Security`. Also done per request when a trusted proxy
    /// (`JKJAV_TRUSTED_PROXIES`) says `X-Forwarded-Proto: https`.
    #[arg(long, env = "JKJAV_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// `max-age` of the `Strict-Transport-Security` header sent over https, in seconds: how
    /// long browsers refuse plain http to this site. Start small when first turning https on.
    #[arg(long, env = "JKJAV_HSTS_MAX_AGE_SECS", default_value_t = 31_536_000)]
    pub hsts_max_age_secs: u64,

    /// Listen address of the operators' endpoints: `/metrics` and the detailed `/readyz`
    /// (store error, outbox backlog), which the public address does not serve. Loopback by
    /// default; to scrape from elsewhere, listen on a private interface, never a public one.
    #[arg(long, env = "JKJAV_ADMIN_ADDR", default_value = "127.0.0.1:9091")]
    pub admin_addr: SocketAddr,

    /// Secret (at least 32 characters) that signs the booking pass cookie the web pages give
    /// after a booking or a check. Every instance behind one address needs the same one, so it
    /// is required with REDIS_URL (the server refuses to start without it); without Redis (one
    /// process, nothing durable) an unset key is made up per process.
    #[arg(long, env = "JKJAV_COOKIE_KEY", hide_env_values = true)]
    pub cookie_key: Option<Secret>,

    /// The key JKJAV_COOKIE_KEY replaced, while rotating: passes it signed are still accepted
    /// (for their 30 minutes); nothing new is signed with it.
    #[arg(long, env = "JKJAV_COOKIE_KEY_PREVIOUS", hide_env_values = true)]
    pub cookie_key_previous: Option<Secret>,
}

/// Settings no longer read, and what replaces each. One still set means a deployment written for
/// an older version: started anyway, it would run without the replacement (behind a proxy,
/// every client would share the proxy's allowances), so the server refuses to start instead.
const REMOVED: &[(&str, &str)] = &[(
    "JKJAV_TRUSTED_PROXY_HOPS",
    "set JKJAV_TRUSTED_PROXIES to the proxies' address ranges instead (e.g. 10.0.0.0/8)",
)];

/// What to tell the operator about each removed setting that `env` still has.
pub fn removed_settings(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<String> {
    REMOVED
        .iter()
        .filter(|(name, _)| env(name).is_some())
        .map(|(name, instead)| format!("{name} is no longer read: {instead}"))
        .collect()
}

/// A configuration value that must never be printed: its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.chars().count() < 32 {
            return Err("must be at least 32 characters".into());
        }
        Ok(Self(value.to_owned()))
    }
}

/// The address ranges of trusted reverse proxies (`JKJAV_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is in one of the ranges (an IPv4 address written as IPv6, `::ffff:a.b.c.d`,
    /// as the IPv4 address it is).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|range| range.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::str::FromStr for TrustedProxies {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        value
            .split(',')
            .map(str::trim)
            .filter(|range| !range.is_empty())
            .map(|range| {
                range
                    .parse::<IpNet>()
                    .or_else(|_| range.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{range:?} is not an address range like 10.0.0.0/8"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl ServeConfig {
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    pub fn snapshot_max_age(&self) -> Duration {
        Duration::from_millis(self.snapshot_max_age_ms)
    }

    /// The defaults, ignoring the environment: a base for tests and embedding.
    pub fn defaults() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 3000,
            redis_url: None,
            redis_timeout_ms: 500,
            kafka_brokers: None,
            kafka_topic: "booking-slot".into(),
            kafka_message_timeout_ms: 30_000,
            kafka_topic_partitions: 6,
            kafka_topic_replication: 1,
            relay_batch: 256,
            relay_poll_ms: 100,
            relay_reclaim_ms: 60_000,
            outbox_warn_backlog: 10_000,
            outbox_warn_age_secs: 60,
            catalogue: None,
            log: "info".into(),
            log_format: LogFormat::Json,
            max_body_bytes: 16 * 1024,
            request_timeout_ms: 5_000,
            retry_after_secs: 2,
            snapshot_max_age_ms: 1_000,
            max_in_flight: 1024,
            max_header_bytes: 16 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            max_connections: 10_000,
            max_connections_per_client: 1_000,
            booking_posts_per_ip_per_min: 600,
            booking_attempts_per_id_per_min: 10,
            failed_lookups_per_reference: 5,
            failed_finds_per_id: 5,
            failed_attempts_lock_secs: 900,
            failed_attempts_per_client: 100,
            failed_attempts_client_lock_secs: 600,
            idempotency_ttl_secs: 86_400,
            trusted_proxies: TrustedProxies::default(),
            shutdown_grace_secs: 20,
            secure_cookies: false,
            hsts_max_age_secs: 31_536_000,
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 9091)),
            cookie_key: None,
            cookie_key_previous: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_match_what_clap_gives_without_flags() {
        // Guards `defaults()` against drifting from the documented flag defaults. The
        // environment is switched off for every argument, so a REDIS_URL (or any other
        // setting) in the test's own environment cannot change the answer.
        use clap::{CommandFactory, FromArgMatches};
        let command = Cli::command()
            .mut_subcommand("serve", |serve| serve.mut_args(|arg| arg.env(None::<&str>)));
        let matches = command
            .try_get_matches_from(["jkjav", "serve"])
            .expect("no flag is required");
        let Cli {
            command: Command::Serve(parsed),
        } = Cli::from_arg_matches(&matches).expect("the defaults parse");
        assert_eq!(
            format!("{parsed:?}"),
            format!("{:?}", ServeConfig::defaults())
        );
    }

    #[test]
    fn trusted_proxies_are_ranges_or_single_addresses_and_ipv4_written_as_ipv6_is_ipv4() {
        let proxies: TrustedProxies = " 10.0.0.0/8, 192.168.1.7 ,fd00::/8,".parse().unwrap();
        for inside in ["10.1.2.3", "192.168.1.7", "fd12::1", "::ffff:10.9.9.9"] {
            assert!(proxies.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["11.0.0.1", "192.168.1.8", "fe80::1", "::ffff:11.0.0.1"] {
            assert!(!proxies.contains(outside.parse().unwrap()), "{outside}");
        }
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.internal".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn a_removed_setting_still_set_is_named_with_its_replacement() {
        let old = |name: &str| (name == "JKJAV_TRUSTED_PROXY_HOPS").then(|| "1".into());
        let found = removed_settings(old);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("JKJAV_TRUSTED_PROXIES"), "{found:?}");
        assert!(removed_settings(|_| None).is_empty());
    }

    #[test]
    fn the_operators_endpoints_listen_on_loopback_unless_told_otherwise() {
        assert!(ServeConfig::defaults().admin_addr.ip().is_loopback());
    }

    #[test]
    fn every_setting_is_in_the_readme_configuration_table() {
        use clap::CommandFactory;
        let readme = include_str!("../README.md");
        let command = Cli::command();
        let serve = command
            .find_subcommand("serve")
            .expect("the serve subcommand");
        let missing: Vec<String> = serve
            .get_arguments()
            .filter_map(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .filter(|env| !readme.contains(&format!("| `{env}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "README's configuration table lacks: {missing:?}"
        );
    }
}
