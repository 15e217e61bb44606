//! Conditional, cacheable availability answers: `ETag` + `If-None-Match` → 304, and
//! `Cache-Control` that lets browsers and CDNs absorb repeated reads for a second.

use std::hash::{DefaultHasher, Hasher};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::problem::ApiError;
use crate::booking::Availability;

/// Present (`true`) when the counts come from an older snapshot because the store could not
/// be read: the seed's endpoint cannot say so in its body, so both endpoints say it here.
pub const STALE: HeaderName = HeaderName::from_static("x-availability-stale");

/// A cache may serve a copy for a second, and an expired copy for a few more while it fetches
/// a new one: at noon that keeps the refresh button from reaching this server at all.
const CACHE_CONTROL: HeaderValue =
    HeaderValue::from_static("public, max-age=1, stale-while-revalidate=5");

/// An answer rendered once per snapshot: its bytes and their `ETag`.
#[derive(Debug)]
struct Rendered {
    bytes: Bytes,
    etag: HeaderValue,
}

/// The JSON of `body()` with a strong `ETag` over its bytes, or 304 when the client already
/// has it. `key` names the answer (endpoint and centre): it is rendered once per snapshot.
pub fn availability_json<T: Serialize>(
    request_headers: &HeaderMap,
    availability: &Availability,
    key: &str,
    body: impl FnOnce() -> T,
) -> Response {
    let rendered = availability.memo(key, || {
        serde_json::to_vec(&body())
            .map(|bytes| {
                let mut hasher = DefaultHasher::new();
                hasher.write(&bytes);
                let etag = HeaderValue::try_from(format!("\"{:016x}\"", hasher.finish()))
                    .unwrap_or(HeaderValue::from_static("\"0\""));
                Rendered {
                    bytes: Bytes::from(bytes),
                    etag,
                }
            })
            .map_err(|error| error.to_string())
    });
    let rendered = match rendered.as_ref() {
        Ok(rendered) => rendered,
        Err(error) => {
            return ApiError::Internal {
                cause: format!("cannot encode availability: {error}"),
            }
            .into_response();
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, CACHE_CONTROL);
    headers.insert(header::ETAG, rendered.etag.clone());
    if availability.stale {
        headers.insert(STALE, HeaderValue::from_static("true"));
    }
    if rendered
        .etag
        .to_str()
        .is_ok_and(|etag| matches(request_headers, etag))
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (headers, rendered.bytes.clone()).into_response()
}

/// RFC 9110 `If-None-Match`: weak comparison, a list of tags, or `*`.
fn matches(request_headers: &HeaderMap, etag: &str) -> bool {
    request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(matches(&headers, "\"b\""));
        assert!(matches(&headers, "\"a\""));
        assert!(!matches(&headers, "\"c\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&headers, "\"c\""));
    }
}
