//! Protective limits at the HTTP edge: the in-flight bound that sheds load with 503, the
//! per-client-IP booking limit (429), the header size limit (431), and where a client's IP
//! comes from. (The per-identity attempt limit is the booking service's.)
//!
//! Each answers at once: past the machine's capacity a quick "try again in N seconds" serves
//! people better than a queue that ends in timeouts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::refusal::{Refusal, RequestHead};
use super::state::AppState;
use crate::limiter::{KeyedLimiter, retry_after};
use crate::metrics::{Limit, Metrics};

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

/// The limits every booking front end shares.
#[derive(Debug)]
pub struct Limits {
    pub booking_posts_per_ip: KeyedLimiter,
    pub client_ip: ClientIpSource,
    pub shedder: Shedder,
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

/// Middleware: 431 for oversized headers, before any handler runs. (hyper already refuses more
/// than 100 headers and a head larger than its read buffer; this bound is tighter and set here.)
pub async fn limit_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let max_bytes = state.config.max_header_bytes;
    let size: usize = request.uri().to_string().len()
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > max_bytes {
        state.service.metrics().header_too_large();
        return state.refusals.render(
            Refusal::HeadersTooLarge { max_bytes },
            &RequestHead::of(&request),
        );
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
