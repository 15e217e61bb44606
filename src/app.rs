//! `Application`: builds the store, the booking service, the relay and the router from
//! configuration, and serves until a shutdown signal. Tests build it on port 0. The only room
//! that sees every other: it wires `api` and `web` over the shared `http` layer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::from_fn_with_state;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::api::json::BodyLimit;
use crate::api::problem::ProblemRefusals;
use crate::booking::{BookingService, FailureLimits};
use crate::catalogue::{Catalogue, CatalogueError};
use crate::config::ServeConfig;
use crate::events::publisher::{
    KafkaOptions, KafkaPublisher, LogPublisher, PublishError, Publisher,
};
use crate::events::relay::{Relay, RelayOptions};
use crate::http::limits::{ClientIpSource, Limits, Shedder};
use crate::http::middleware;
use crate::http::serve::{Connections, Server};
use crate::http::{self as shared, AppState, Refusal, Refusals, RequestHead, Shared};
use crate::limiter::KeyedLimiter;
use crate::metrics::Metrics;
use crate::store::{
    InstrumentedStore, MemoryStore, RedisStore, RedisStoreOptions, Store, StoreError,
};
use crate::web::{self, PageRefusals, WebState};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up the Kafka producer: {0}")]
    Kafka(#[from] PublishError),
    #[error("cannot encode the OpenAPI document: {0}")]
    OpenApi(#[source] serde_json::Error),
    #[error(
        "JKJAV_COOKIE_KEY must be set when REDIS_URL is set: every instance sharing the store \
         must sign booking passes with the same secret (at least 32 characters), or a person \
         whose next page reaches another instance loses sight of their booking"
    )]
    CookieKeyRequired,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The two bound listeners (the public one and the operators') plus everything they serve.
#[derive(Debug)]
pub struct Application {
    public: Server,
    /// `/metrics` and the detailed `/readyz`, on `JKJAV_ADMIN_ADDR`.
    admin: Server,
    service: BookingService,
    shutdown_grace: Duration,
    relay: Relay,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl Application {
    /// Loads the configured catalogue (or the compiled-in demo) and builds.
    pub async fn build(config: ServeConfig) -> Result<Self, BuildError> {
        let catalogue = match &config.catalogue {
            Some(path) => Catalogue::load(path)?,
            None => Catalogue::demo()?,
        };
        Self::build_with(config, catalogue).await
    }

    /// Builds with a given catalogue. Does not wait for Redis: if it is down, the catalogue is
    /// synced in the background once it answers, and requests get 503 until then.
    pub async fn build_with(config: ServeConfig, catalogue: Catalogue) -> Result<Self, BuildError> {
        // With Redis there can be many instances; a key made up per process would make each
        // one's booking passes worthless to the others (and after every restart).
        if config.redis_url.is_some() && config.cookie_key.is_none() {
            return Err(BuildError::CookieKeyRequired);
        }
        let (store, backend): (Arc<dyn Store>, &'static str) = match &config.redis_url {
            Some(url) => (
                Arc::new(RedisStore::new(RedisStoreOptions {
                    url: url.clone(),
                    namespace: catalogue.campaign().id.clone(),
                    timeout: config.redis_timeout(),
                })?),
                "redis",
            ),
            None => {
                tracing::warn!(
                    "REDIS_URL is not set: using the in-memory store. NOTHING IS DURABLE: every \
                     booking is lost when this process stops. Set REDIS_URL for real use."
                );
                (Arc::new(MemoryStore::new()), "memory")
            }
        };
        Self::build_with_store(config, catalogue, store, backend).await
    }

    /// Builds over a given store (`backend` names it in metrics): tests wrap real stores to
    /// count or hold calls.
    pub async fn build_with_store(
        config: ServeConfig,
        catalogue: Catalogue,
        store: Arc<dyn Store>,
        backend: &'static str,
    ) -> Result<Self, BuildError> {
        let metrics = Metrics::new();
        let store: Arc<dyn Store> =
            Arc::new(InstrumentedStore::new(store, backend, Arc::clone(&metrics)));
        let service = BookingService::with(
            store.clone(),
            Arc::new(catalogue),
            config.snapshot_max_age(),
            KeyedLimiter::new(config.booking_attempts_per_id_per_min),
            failure_limits(&config),
            Duration::from_secs(config.idempotency_ttl_secs),
            Arc::clone(&metrics),
        );
        let relay = Relay::new(store, publisher(&config).await?, relay_options(&config))
            .with_metrics(Arc::clone(&metrics));
        if let Err(error) = service.sync_catalogue().await {
            tracing::warn!(%error, "cannot load the catalogue into the store yet; retrying in the background");
            let service = service.clone();
            tokio::spawn(async move {
                let mut delay = Duration::from_millis(200);
                while let Err(error) = service.sync_catalogue().await {
                    tracing::warn!(%error, "catalogue sync failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                tracing::info!("catalogue loaded into the store");
            });
        }
        let listener = bind(SocketAddr::new(config.host, config.port)).await?;
        let admin_listener = bind(config.admin_addr).await?;
        let shutdown_grace = Duration::from_secs(config.shutdown_grace_secs);
        let connections = |metrics| {
            Connections::new(
                config.max_connections,
                config.max_connections_per_client,
                config.trusted_proxies.clone(),
                metrics,
            )
        };
        let (public_connections, admin_connections) =
            (connections(Some(Arc::clone(&metrics))), connections(None));
        let limits = Arc::new(Limits {
            booking_posts_per_ip: KeyedLimiter::new(config.booking_posts_per_ip_per_min),
            client_ip: ClientIpSource {
                trusted_proxies: config.trusted_proxies.clone(),
            },
            shedder: Shedder::new(config.max_in_flight, metrics),
            connections: Arc::clone(&public_connections),
        });
        let header_read_timeout = config.header_read_timeout();
        let refusals = Refusals {
            api: Arc::new(ProblemRefusals),
            web: Arc::new(PageRefusals {
                secure_cookies: config.secure_cookies,
            }),
        };
        let pass_key = Arc::new(web::pass::PassKey::rotating(
            config.cookie_key.as_ref(),
            config.cookie_key_previous.as_ref(),
        ));
        let state = AppState::new(Shared {
            service: service.clone(),
            config: Arc::new(config),
            limits,
            refusals,
        });
        Ok(Self {
            public: Server {
                listener,
                router: router(state.clone(), pass_key)?,
                connections: public_connections,
                header_read_timeout,
            },
            admin: Server {
                listener: admin_listener,
                router: shared::health::admin_router().with_state(state),
                connections: admin_connections,
                header_read_timeout,
            },
            service,
            shutdown_grace,
            relay,
        })
    }

    /// The public router alone, for tests that call it in process (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> Router {
        self.public.router.clone()
    }

    /// The public listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        local_addr(&self.public.listener)
    }

    /// The operators' listener's address (`/metrics`, the detailed `/readyz`).
    pub fn admin_addr(&self) -> SocketAddr {
        local_addr(&self.admin.listener)
    }

    pub fn service(&self) -> &BookingService {
        &self.service
    }

    /// The outbox relay this application runs.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Serves both listeners until `shutdown` completes, then lets in-flight requests finish for
    /// up to the configured grace period; the relay then finishes its round and flushes the
    /// producer.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let relay = tokio::spawn(self.relay.run(rx.clone()));
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let grace = self.shutdown_grace;
        let (public, admin) = tokio::join!(
            self.public.run(rx.clone(), grace),
            self.admin.run(rx, grace)
        );
        if tokio::time::timeout(Duration::from_secs(15), relay)
            .await
            .is_err()
        {
            tracing::warn!("the outbox relay did not stop in time; its events stay in the outbox");
        }
        public.and(admin)
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, BuildError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| BuildError::Bind { addr, source })
}

fn local_addr(listener: &TcpListener) -> SocketAddr {
    // A bound listener always has an address; fall back to unspecified rather than panic.
    listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
}

fn failure_limits(config: &ServeConfig) -> FailureLimits {
    FailureLimits {
        per_reference: config.failed_lookups_per_reference,
        per_identity: config.failed_finds_per_id,
        booking_window: Duration::from_secs(config.failed_attempts_lock_secs),
        per_client: config.failed_attempts_per_client,
        client_window: Duration::from_secs(config.failed_attempts_client_lock_secs),
    }
}

/// Kafka when brokers are configured (topic created if missing), the log otherwise.
async fn publisher(config: &ServeConfig) -> Result<Arc<dyn Publisher>, BuildError> {
    let Some(brokers) = &config.kafka_brokers else {
        tracing::warn!("KAFKA_BROKERS is not set: booking events are written to the log only");
        return Ok(Arc::new(LogPublisher));
    };
    let kafka = KafkaPublisher::new(KafkaOptions {
        brokers: brokers.clone(),
        topic: config.kafka_topic.clone(),
        message_timeout: Duration::from_millis(config.kafka_message_timeout_ms),
        partitions: config.kafka_topic_partitions,
        replication: config.kafka_topic_replication,
    })?;
    let kafka = Arc::new(kafka);
    // In the background, so a slow or absent broker never delays start-up; a broker that is
    // down now gets the topic when the relay first reaches it.
    let creator = Arc::clone(&kafka);
    tokio::spawn(async move {
        if let Err(error) = creator.ensure_topic().await {
            tracing::warn!(%error, "cannot make sure the Kafka topic exists yet");
        }
    });
    Ok(kafka)
}

fn relay_options(config: &ServeConfig) -> RelayOptions {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "jkjav".into());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    RelayOptions {
        consumer: format!("{host}-{}-{}", std::process::id(), &unique[..8]),
        batch: config.relay_batch,
        poll_interval: Duration::from_millis(config.relay_poll_ms),
        reclaim_after: Duration::from_millis(config.relay_reclaim_ms),
        warn_backlog: config.outbox_warn_backlog,
        warn_age: Duration::from_secs(config.outbox_warn_age_secs),
    }
}

/// Every route, and the layers every request passes through. (`api::docs` documents what these
/// layers answer for every API operation: keep the two in step.)
pub fn router(state: AppState, pass_key: Arc<web::pass::PassKey>) -> Result<Router, BuildError> {
    let api = crate::api::router().map_err(BuildError::OpenApi)?;
    let body_limit = state.config.max_body_bytes;
    let web = WebState {
        app: state.clone(),
        pass_key,
    };
    let refusals = state.refusals.clone();
    let router = Router::new()
        .merge(api.with_state(state.clone()))
        .merge(web::router(web))
        .merge(shared::assets::router())
        // Everything above is shed past the in-flight bound; the health routes below are not,
        // so probes still answer while the service sheds.
        .route_layer(from_fn_with_state(state.clone(), shared::limits::shed_load))
        .merge(shared::health::public_router().with_state(state.clone()))
        .fallback(move |request: Request| async move {
            refusals.render(Refusal::NotFound, &RequestHead::of(&request))
        })
        .layer(from_fn_with_state(state, middleware::every_request))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(BodyLimit(body_limit)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Failures are logged once, with their cause, by `log_failures` inside this span.
        .layer(TraceLayer::new_for_http().on_failure(()).make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or("-", |p| p.as_str());
            tracing::info_span!("request", request_id, method = %request.method(), route, path = %request.uri().path())
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    Ok(router)
}
