//! Protective limits at the HTTP edge: the body read in full before an in-flight permit is
//! taken (408 past its time), the in-flight bound that sheds load with 503, the per-client
//! booking limit (429) and the header size limit (431). (Connection caps are `serve`'s; the
//! per-identity attempt limit is the booking service's.)
//!
//! Each answers at once: past the machine's capacity a quick "try again in N seconds" serves
//! people better than a queue that ends in timeouts.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use super::client::Client;
pub use super::client::ClientIpSource;
use super::refusal::{Refusal, RequestHead};
use super::serve::Connections;
use super::state::AppState;
use crate::booking::ClientKey;
use crate::limiter::{KeyedLimiter, retry_after};
use crate::metrics::{Limit, Metrics};

/// The limits every booking front end shares.
#[derive(Debug)]
pub struct Limits {
    /// Keyed by [`crate::booking::ClientKey`]: an IPv4 address, an IPv6 /64.
    pub booking_posts_per_ip: KeyedLimiter,
    pub client_ip: ClientIpSource,
    pub shedder: Shedder,
    /// The public listener's open connections, for the metrics.
    pub connections: Arc<Connections>,
}

/// Extracting it spends one of the client IP's booking POSTs. Booking handlers take it as
/// `Result<BookingPostAllowed, TooManyBookingPosts>`, first in their arguments so a refused
/// POST costs nothing more, and render the refusal their own way.
#[derive(Debug, Clone, Copy)]
pub struct BookingPostAllowed;

/// No booking POST left for this client address just now.
#[derive(Debug, Clone, Copy)]
pub struct TooManyBookingPosts {
    pub retry_after_secs: u64,
}

/// Only reached by a handler that takes `BookingPostAllowed` bare; the front ends render
/// their own (problem+json, the seed's shape, a page).
impl IntoResponse for TooManyBookingPosts {
    fn into_response(self) -> Response {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_secs),
            )],
        )
            .into_response()
    }
}

impl<S> FromRequestParts<S> for BookingPostAllowed
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = TooManyBookingPosts;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let limits = &state.limits;
        if !limits.booking_posts_per_ip.is_enabled() {
            return Ok(Self);
        }
        let ip = match parts.extensions.get::<Client>() {
            Some(client) => client.ip,
            None => {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0);
                limits.client_ip.client_ip(&parts.headers, peer)
            }
        };
        // No address at all (an in-process call): one shared bucket, never unlimited.
        match limits
            .booking_posts_per_ip
            .check(ip.map(|ip| ClientKey::of(Some(ip))))
        {
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
#[derive(Debug, Clone)]
pub struct Shedder {
    permits: Arc<Semaphore>,
    limit: usize,
    metrics: Arc<Metrics>,
}

impl Shedder {
    pub fn new(limit: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            metrics,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.limit.saturating_sub(self.permits.available_permits())
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Outside the in-flight bound: reads the whole body before the request goes on, so a slow body
/// holds a connection but never an in-flight permit. Past the body-read timeout the answer is
/// 408 and the connection closes. It reads at most a little past the size limit: a larger body
/// goes on cut there, and the front end's own extractor refuses it in its own shape (a 413
/// problem, the seed's 400, a page).
pub async fn read_body(state: &AppState, request: Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return Ok(Request::from_parts(parts, body));
    }
    let limit = state.config.max_body_bytes;
    let time = state.config.body_read_timeout();
    match tokio::time::timeout(time, buffer(body, limit)).await {
        Ok(body) => Ok(Request::from_parts(parts, body)),
        Err(_) => {
            let request = Request::from_parts(parts, Body::empty());
            let mut response = state
                .refusals
                .render(Refusal::BodyTimedOut, &RequestHead::of(&request));
            // The rest of the body may still come: this connection has nothing more to say.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

/// The body in memory, or as much of it as arrived before it broke (then the error follows, for
/// the extractor to report), or its first chunks once they pass `limit`.
async fn buffer(body: Body, limit: usize) -> Body {
    let mut stream = body.into_data_stream();
    let mut buffered: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(data) => {
                buffered.extend_from_slice(&data);
                if buffered.len() > limit {
                    break;
                }
            }
            Err(error) => {
                let parts: [Result<Bytes, axum::Error>; 2] = [Ok(buffered.into()), Err(error)];
                return Body::from_stream(futures_util::stream::iter(parts));
            }
        }
    }
    Body::from(buffered)
}

/// Middleware: holds a permit for the whole request, or sheds it.
pub async fn shed_load(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let shedder = &state.limits.shedder;
    match Arc::clone(&shedder.permits).try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(_) => {
            shedder.metrics.shed();
            state
                .refusals
                .render(Refusal::Overloaded, &RequestHead::of(&request))
        }
    }
}

/// 431 for oversized headers, before any handler runs. (hyper already refuses more than 100
/// headers and a head larger than its read buffer; this bound is tighter and set here.)
pub fn oversized_head(state: &AppState, request: &Request) -> Option<Response> {
    let max_bytes = state.config.max_header_bytes;
    let size: usize = request.uri().to_string().len()
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    (size > max_bytes).then(|| {
        state.service.metrics().header_too_large();
        state.refusals.render(
            Refusal::HeadersTooLarge { max_bytes },
            &RequestHead::of(request),
        )
    })
}
