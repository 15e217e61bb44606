//! `Application`: builds the store, the booking service and the router from configuration, and
//! serves until a shutdown signal. Tests build it on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::api::json::BodyLimit;
use crate::api::problem::{ApiError, set_retry_after_secs};
use crate::api::{docs, seed, v1};
use crate::booking::BookingService;
use crate::catalogue::{Catalogue, CatalogueError};
use crate::config::ServeConfig;
use crate::events::publisher::{
    KafkaOptions, KafkaPublisher, LogPublisher, PublishError, Publisher,
};
use crate::events::relay::{Relay, RelayOptions};
use crate::limits::{self, ClientIpSource, HeaderLimit, KeyedLimiter, Limits, Shedder};
use crate::metrics::{Gauges, Metrics};
use crate::store::{
    InstrumentedStore, MemoryStore, RedisStore, RedisStoreOptions, Store, StoreError,
};
use crate::web;

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub service: BookingService,
    pub config: Arc<ServeConfig>,
    /// Per-IP booking limit, client-IP source and the in-flight bound.
    pub limits: Arc<Limits>,
    /// Signs the web pages' booking pass cookie.
    pub pass_key: Arc<web::pass::PassKey>,
}

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot set up the Kafka producer: {0}")]
    Kafka(#[from] PublishError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A bound listener plus everything it serves.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
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
        set_retry_after_secs(config.retry_after_secs);
        let metrics = Metrics::new();
        let store: Arc<dyn Store> =
            Arc::new(InstrumentedStore::new(store, backend, Arc::clone(&metrics)));
        let service = BookingService::with(
            store.clone(),
            Arc::new(catalogue),
            config.snapshot_max_age(),
            KeyedLimiter::new(config.booking_attempts_per_id_per_min),
            Arc::clone(&metrics),
        );
        let relay = Relay::new(store, publisher(&config).await?, relay_options(&config));
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
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BuildError::Bind { addr, source })?;
        let shutdown_grace = Duration::from_secs(config.shutdown_grace_secs);
        let secure_cookies = config.secure_cookies;
        let limits = Arc::new(Limits {
            booking_posts_per_ip: KeyedLimiter::new(config.booking_posts_per_ip_per_min),
            client_ip: ClientIpSource {
                trusted_proxy_hops: config.trusted_proxy_hops,
            },
            shedder: Shedder::new(config.max_in_flight, metrics).with_page(move |headers, path| {
                // Browsers get the citizen pages' own friendly 503; API clients problem+json.
                if web::wants_html(headers) {
                    web::overloaded_page(headers, path, secure_cookies)
                } else {
                    limits::overloaded(headers)
                }
            }),
        });
        let pass_key = Arc::new(web::pass::PassKey::new(config.cookie_key.as_ref()));
        let state = AppState {
            service: service.clone(),
            config: Arc::new(config),
            limits,
            pass_key,
        };
        Ok(Self {
            listener,
            router: router(state),
            service,
            shutdown_grace,
            relay,
        })
    }

    /// The router alone, for tests that call it in process (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has an address; fall back to unspecified rather than panic.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn service(&self) -> &BookingService {
        &self.service
    }

    /// The outbox relay this application runs.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish for up to the
    /// configured grace period; the relay then finishes its round and flushes the producer.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let relay = tokio::spawn(self.relay.run(rx.clone()));
        let grace = self.shutdown_grace;
        // Connection info gives the rate limits the peer address.
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(self.listener, service).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let mut rx_grace = rx;
        let served = tokio::select! {
            result = server => result,
            _ = async move {
                let _ = rx_grace.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(?grace, "shutdown grace period over; dropping remaining connections");
                Ok(())
            }
        };
        if tokio::time::timeout(Duration::from_secs(15), relay)
            .await
            .is_err()
        {
            tracing::warn!("the outbox relay did not stop in time; its events stay in the outbox");
        }
        served
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

/// Every route, and the layers every request passes through.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let request_timeout = state.config.request_timeout();
    let secure_cookies = state.config.secure_cookies;
    let metrics = Arc::clone(state.service.metrics());
    let header_limit = HeaderLimit {
        max_bytes: state.config.max_header_bytes,
        metrics: Arc::clone(&metrics),
    };
    let shedder = state.limits.shedder.clone();
    Router::new()
        .merge(v1::router())
        .merge(seed::router())
        .merge(docs::router())
        .merge(web::router())
        // Everything above is shed past the in-flight bound; the operators' routes below are
        // not, so probes and scrapes still answer while the service sheds.
        .route_layer(middleware::from_fn_with_state(shedder, limits::shed_load))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            (request_timeout, secure_cookies),
            bound_request_time,
        ))
        .layer(middleware::from_fn_with_state(header_limit, limits::limit_headers))
        .layer(middleware::from_fn_with_state(metrics, record_request))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::Extension(BodyLimit(body_limit)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Failures are logged once, with their cause, where they are rendered (ApiError).
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
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Counts and times every request by its route pattern (never the raw path: unbounded labels).
async fn record_request(
    AxumState(metrics): AxumState<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.http_request(
        route.as_deref().unwrap_or("unmatched"),
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Prometheus text exposition of the service's metrics.
async fn metrics_text(AxumState(state): AxumState<AppState>) -> Response {
    let service = &state.service;
    let outbox = service.store().outbox_stats().await.ok();
    let shedder = &state.limits.shedder;
    let text = service.metrics().render(Gauges {
        snapshot_age: service.snapshot_age(),
        outbox_backlog: outbox.map(|o| o.backlog),
        outbox_oldest_age: outbox.and_then(|o| o.oldest_age),
        in_flight: shedder.in_flight() as u64,
        in_flight_limit: shedder.limit() as u64,
    });
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Past the request timeout the client gets 503 + Retry-After, never a hang: a friendly page
/// for a browser, a problem document for an API client.
async fn bound_request_time(
    AxumState((limit, secure_cookies)): AxumState<(Duration, bool)>,
    request: Request,
    next: Next,
) -> Response {
    let html = web::wants_html(request.headers())
        .then(|| (request.headers().clone(), request.uri().path().to_owned()));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let cause = format!("request exceeded {limit:?}");
            match html {
                Some((headers, path)) => {
                    tracing::warn!(%cause, "request failed");
                    web::overloaded_page(&headers, &path, secure_cookies)
                }
                None => ApiError::Unavailable {
                    retry_after_secs: crate::api::problem::retry_after_secs(),
                    cause,
                }
                .into_response(),
            }
        }
    }
}

async fn not_found(
    AxumState(state): AxumState<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if web::wants_html(&headers) {
        web::not_found_page(&headers, uri.path(), state.config.secure_cookies)
    } else {
        ApiError::NotFound("there is nothing at this address".into()).into_response()
    }
}

/// Liveness: the process is up and serving.
async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Readiness {
    ready: bool,
    store: String,
    catalogue_synced: bool,
    outbox_backlog: Option<u64>,
    outbox_oldest_age_secs: Option<u64>,
}

/// Readiness: the store answers and holds the catalogue. 503 otherwise, so a load balancer
/// sends traffic elsewhere.
async fn readyz(AxumState(state): AxumState<AppState>) -> Response {
    let service = &state.service;
    let store = service.check_ready().await;
    let synced = service.catalogue_synced();
    let outbox = service.store().outbox_stats().await.ok();
    let ready = store.is_ok() && synced;
    let body = Readiness {
        ready,
        store: store.map_or_else(|e| e.to_string(), |()| "ok".into()),
        catalogue_synced: synced,
        outbox_backlog: outbox.map(|o| o.backlog),
        outbox_oldest_age_secs: outbox.and_then(|o| o.oldest_age).map(|age| age.as_secs()),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    crate::api::problem::with_retry_after((status, Json(body)).into_response())
}
