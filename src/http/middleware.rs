//! What every request passes through, whichever front end answers it — in one middleware, not
//! one layer each: every layer clones its state and its inner service per request, and with a
//! handful of them that bookkeeping cost a third of a `/healthz` answer's CPU (`make
//! bench-compare` and a `perf` profile showed it). In order:
//!
//! 1. who the client is ([`super::client::identify`]);
//! 2. a head too large → 431 ([`super::limits::oversized_head`]);
//! 3. a write another site's page sent → 403 ([`cross_site_refusal`]);
//! 4. the body read in full, within its time → 408 ([`super::limits::read_body`]), before the
//!    request can take an in-flight permit;
//! 5. the whole answer within the request timeout → 503;
//!
//! and on the way out: `Retry-After` on every 503, HSTS over https, one log line per failure
//! (with its cause, inside the request's span), and the request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::client::{add_hsts, identify};
use super::limits::{oversized_head, read_body};
use super::refusal::{ErrorCause, Refusal, RequestHead};
use super::state::AppState;
use crate::metrics;

/// The middleware every route and the fallback run under.
pub async fn every_request(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // A clone of the matched path shares its pattern rather than copying it.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = metrics::Method::from(request.method().as_str());
    let client = identify(&state, &mut request);
    let mut response = match refusal_before(&state, request).await {
        Ok(request) => bounded(&state, request, next).await,
        Err(refused) => refused,
    };
    after(&state, &mut response);
    add_hsts(&state, client, &mut response);
    state.service.metrics().http_request(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Steps 2–4: the request as it goes on (its body read), or the refusal to answer instead.
async fn refusal_before(state: &AppState, request: Request) -> Result<Request, Response> {
    if let Some(refused) = oversized_head(state, &request) {
        return Err(refused);
    }
    if let Some(refused) = cross_site_refusal(state, &request) {
        return Err(refused);
    }
    read_body(state, request).await
}

/// Past the request timeout the client gets 503, never a hang: a friendly page for a browser,
/// a problem document for an API client.
async fn bounded(state: &AppState, request: Request, next: Next) -> Response {
    let limit = state.config.request_timeout();
    let head = RequestHead::of(&request);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = state.refusals.render(Refusal::TimedOut, &head);
            response
                .extensions_mut()
                .insert(ErrorCause(format!("request exceeded {limit:?}")));
            response
        }
    }
}

/// A request that changes something (any method but GET, HEAD, OPTIONS and TRACE) which the
/// browser says a page of another site sent (`Sec-Fetch-Site: cross-site`) is refused with 403
/// before its body is read: no other site may book or cancel through its visitors' browsers.
/// `same-origin`, `same-site`, `none` (typed or bookmarked) and no header at all (API clients,
/// older browsers) pass, for the web forms' CSRF token and the API's JSON content type to guard.
pub fn cross_site_refusal(state: &AppState, request: &Request) -> Option<Response> {
    (!request.method().is_safe() && is_cross_site(request.headers())).then(|| {
        state
            .refusals
            .render(Refusal::CrossSite, &RequestHead::of(request))
    })
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.trim().eq_ignore_ascii_case("cross-site"))
}

/// Every 503 carries `Retry-After` (`JKJAV_RETRY_AFTER_SECS`), so clients back off instead of
/// hammering; answers that know better (a rate limit's own wait) set it themselves and are left
/// alone. The cause of a failure is logged once, inside the request's span (so with its
/// request id): the renderers (problem+json, the web pages) only attach it, and load shedding
/// attaches none, since a log line per shed request would only add to the load.
fn after(state: &AppState, response: &mut Response) {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(state.config.retry_after_secs),
        );
    }
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::warn!(status = response.status().as_u16(), %cause, "request failed");
    }
}
