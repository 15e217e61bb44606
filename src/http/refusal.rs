//! Refusals the HTTP layer gives on its own, before or instead of a handler, and how they are
//! rendered: each front end supplies a [`RefusalPages`] (problem+json for API clients, a
//! friendly page for browsers), and [`Refusals`] picks one per request.

use std::fmt;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;

use super::client::Client;

/// Why the HTTP layer answered instead of a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The in-flight bound is reached: 503 at once rather than a queue that ends in timeouts.
    Overloaded,
    /// The request ran past its time limit: 503.
    TimedOut,
    /// The request head is larger than allowed: 431.
    HeadersTooLarge { max_bytes: usize },
    /// Nothing answers at this address: 404.
    NotFound,
    /// The request body did not arrive in time: 408.
    BodyTimedOut,
    /// A state-changing request sent by a page of another site (`Sec-Fetch-Site: cross-site`):
    /// 403.
    CrossSite,
}

/// What a refusal page may need of the request it answers.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub method: Method,
    pub uri: Uri,
    /// Empty unless the request asked for HTML: only pages read them (language, cookies).
    pub headers: HeaderMap,
    /// The client used https (a trusted proxy says so): pages write `__Host-` cookies.
    pub https: bool,
}

impl RequestHead {
    /// The head of `request`, keeping its headers only for a browser (cheap for API clients).
    pub fn of(request: &Request) -> Self {
        let headers = if wants_html(request.headers()) {
            request.headers().clone()
        } else {
            HeaderMap::new()
        };
        Self::with_headers(request, headers)
    }

    /// The head of `request` with all its headers, for a page whatever the request asked for.
    pub fn full(request: &Request) -> Self {
        Self::with_headers(request, request.headers().clone())
    }

    fn with_headers(request: &Request, headers: HeaderMap) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers,
            https: request
                .extensions()
                .get::<Client>()
                .is_some_and(|client| client.https),
        }
    }
}

/// A front end's rendering of the HTTP layer's refusals.
pub trait RefusalPages: Send + Sync + fmt::Debug + 'static {
    fn render(&self, refusal: Refusal, head: &RequestHead) -> Response;
}

/// Both renderings; [`Refusals::render`] picks by what the request asked for.
#[derive(Debug, Clone)]
pub struct Refusals {
    pub api: Arc<dyn RefusalPages>,
    pub web: Arc<dyn RefusalPages>,
}

impl Refusals {
    pub fn render(&self, refusal: Refusal, head: &RequestHead) -> Response {
        if wants_html(&head.headers) {
            self.web.render(refusal, head)
        } else {
            self.api.render(refusal, head)
        }
    }
}

/// Whether a request is a browser asking for a page (rather than an API client).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
        || headers.contains_key("hx-request")
}

/// The cause of a 5xx, put in the response's extensions by whoever rendered it; the
/// [`super::middleware::log_failures`] middleware logs it once, inside the request's span (so
/// with its request id). Never request data: a store error, a timeout.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);
