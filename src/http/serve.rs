//! Serving HTTP/1.1 connections with hyper directly, for what `axum::serve` does not offer: a
//! deadline on each request's head, which also ends idle keep-alive connections (hyper starts
//! it when a connection begins waiting for a request), and caps on the connections open at
//! once, in total and per client. A connection past a cap is closed at once, unanswered:
//! answering would mean reading its request, which is what the cap saves.
//!
//! On shutdown the listener closes, idle connections close, and requests in progress get the
//! grace period to finish; whatever is left then is dropped.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::booking::ClientKey;
use crate::config::TrustedProxies;
use crate::metrics::{ConnectionCap, Metrics};

/// The caps on open connections, and what they are counted against.
#[derive(Debug)]
pub struct Connections {
    /// Connections open at once; 0: no cap.
    max_total: usize,
    /// Connections open at once per [`ClientKey`]; 0: no cap.
    max_per_client: usize,
    /// Peers not capped per client: a proxy carries many clients over its connections.
    trusted_proxies: TrustedProxies,
    /// Counts refusals; `None` for a listener whose refusals are not reported (operators').
    metrics: Option<Arc<Metrics>>,
    open: AtomicUsize,
    /// Open connections per client key; a key leaves the map with its last connection, so the
    /// map never holds more entries than there are open connections.
    per_client: Mutex<HashMap<ClientKey, usize>>,
}

impl Connections {
    pub fn new(
        max_total: usize,
        max_per_client: usize,
        trusted_proxies: TrustedProxies,
        metrics: Option<Arc<Metrics>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_client,
            trusted_proxies,
            metrics,
            open: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A place for a new connection from `peer`, held until the [`Admitted`] is dropped; or
    /// the cap that refuses it.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, ConnectionCap> {
        let open = self.open.fetch_add(1, Ordering::AcqRel);
        // From here on, dropping `admitted` gives the place back, refused or not.
        let mut admitted = Admitted {
            connections: Arc::clone(self),
            client: None,
        };
        if self.max_total > 0 && open >= self.max_total {
            return Err(ConnectionCap::Total);
        }
        if self.max_per_client > 0 && !self.trusted_proxies.contains(peer) {
            let key = ClientKey::of(Some(peer));
            let mut per_client = self.lock();
            let count = per_client.entry(key.clone()).or_insert(0);
            if *count >= self.max_per_client {
                return Err(ConnectionCap::PerClient);
            }
            *count += 1;
            admitted.client = Some(key);
        }
        Ok(admitted)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, usize>> {
        // A poisoned lock only means a thread panicked while counting; the counts still hold.
        self.per_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One connection's place under the caps.
#[derive(Debug)]
struct Admitted {
    connections: Arc<Connections>,
    /// The client key counted for it, if it is capped per client.
    client: Option<ClientKey>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let connections = &self.connections;
        connections.open.fetch_sub(1, Ordering::AcqRel);
        if let Some(key) = &self.client {
            let mut per_client = connections.lock();
            if let Some(count) = per_client.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    per_client.remove(key);
                }
            }
        }
    }
}

/// A bound listener and what it serves.
#[derive(Debug)]
pub struct Server {
    pub listener: TcpListener,
    pub router: Router,
    pub connections: Arc<Connections>,
    /// Time to send a request's head, from when the connection starts waiting for it.
    pub header_read_timeout: Duration,
}

impl Server {
    /// Serves until `stop` turns true; then waits up to `grace` for requests in progress.
    pub async fn run(self, mut stop: watch::Receiver<bool>, grace: Duration) -> io::Result<()> {
        let Self {
            listener,
            router,
            connections,
            header_read_timeout,
        } = self;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let graceful = GracefulShutdown::new();
        let mut open = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            accept_failed(error).await;
                            continue;
                        }
                    };
                    let admitted = match connections.admit(peer.ip()) {
                        Ok(admitted) => admitted,
                        Err(cap) => {
                            if let Some(metrics) = &connections.metrics {
                                metrics.connection_refused(cap);
                            }
                            continue;
                        }
                    };
                    // Each request learns the peer's address, as axum's `ConnectInfo` gives it.
                    let router = router.clone();
                    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        router.clone().oneshot(request.map(Body::new))
                    });
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    open.spawn(async move {
                        // An error here is the client's (it hung up, sent garbage, or ran out
                        // of time for its head): hyper has answered it if it could.
                        let _ = connection.await;
                        drop(admitted);
                    });
                }
                // Finished connections are reaped as they go, so the set holds only open ones.
                Some(_) = open.join_next(), if !open.is_empty() => {}
                () = stopping(&mut stop) => break,
            }
        }
        drop(listener);
        let drained = async {
            graceful.shutdown().await;
            while open.join_next().await.is_some() {}
        };
        if tokio::time::timeout(grace, drained).await.is_err() {
            tracing::warn!(
                ?grace,
                "shutdown grace period over; dropping remaining connections"
            );
        }
        // Dropping the set aborts whatever is still open.
        Ok(())
    }
}

async fn stopping(stop: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: nobody can ask to stop any more, so serve on.
    if stop.wait_for(|stopping| *stopping).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A failed `accept`: a connection that died in the backlog is nothing; anything else (out of
/// file descriptors) is logged, and accepting pauses a moment rather than spinning.
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
