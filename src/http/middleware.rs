//! Middleware every request passes through, whichever front end answers it: the refusal of
//! cross-site writes, the time bound, Retry-After on every 503, one log line per failure, and
//! request metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::refusal::{ErrorCause, Refusal, RequestHead};
use super::state::AppState;
use crate::metrics;

/// Past the request timeout the client gets 503, never a hang: a friendly page for a browser,
/// a problem document for an API client.
pub async fn bound_request_time(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
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
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.method().is_safe() && is_cross_site(request.headers()) {
        return state
            .refusals
            .render(Refusal::CrossSite, &RequestHead::of(&request));
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site.trim().eq_ignore_ascii_case("cross-site"))
}

/// Seconds a client should wait before retrying a 503 (`JKJAV_RETRY_AFTER_SECS`).
#[derive(Debug, Clone, Copy)]
pub struct RetryAfter(pub u64);

/// Every 503 carries `Retry-After`, so clients back off instead of hammering. Answers that know
/// better (a rate limit's own wait) set it themselves and are left alone.
pub async fn retry_after_on_503(
    State(RetryAfter(secs)): State<RetryAfter>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Logs the cause of a failed request once, inside the request's span (so with its request
/// id). The renderers (problem+json, the web pages) only attach the cause; load shedding
/// attaches none, since a log line per shed request would only add to the load.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::warn!(status = response.status().as_u16(), %cause, "request failed");
    }
    response
}

/// Counts and times every request by its route pattern and method, never the raw path or an
/// invented method: either would let clients create series without bound.
pub async fn record_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // A clone of the matched path shares its pattern rather than copying it.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = metrics::Method::from(request.method().as_str());
    let response = next.run(request).await;
    state.service.metrics().http_request(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
