//! `ApiJson`: the JSON body extractor whose every failure is a 4xx naming what is wrong.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use utoipa::IntoResponses;

use super::problem::{ApiError, FieldError, Problem};

/// Like `axum::Json`, but rejections are problem documents: 415 for a wrong content type,
/// 413 for an oversized body, 400 for broken JSON, 422 naming the field for a missing,
/// unknown or wrongly typed one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(usize::MAX, |limit| limit.0);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_error(rejection, limit))?;
        parse(&bytes).map(ApiJson)
    }
}

/// What [`ApiJson`] answers before a handler sees the body, for the handlers that take one to
/// list in their `responses(...)`. (Its 422 for a missing, unknown or mistyped field is listed
/// with each handler's own 422, under the same problem type.)
#[derive(Debug, IntoResponses)]
pub enum JsonBodyRefused {
    /// `/problems/malformed-json`: the body is not JSON; or `/problems/unreadable-body`: it
    /// broke off before its end.
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(Problem),
    /// `/problems/payload-too-large`: the body is larger than the server takes
    /// (`JKJAV_MAX_BODY_BYTES`).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// `/problems/unsupported-media-type`: the `Content-Type` is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(Problem),
}

/// Why a body could not be read: too large (413), or broken off or malformed in transit (400,
/// e.g. a client that hung up halfway) — not every failure is "too large".
pub fn body_error(rejection: BytesRejection, limit: usize) -> ApiError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            ApiError::PayloadTooLarge(limit)
        }
        other => ApiError::BodyUnreadable(other.body_text()),
    }
}

/// The configured body limit, put in request extensions so rejections can quote it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// `application/json` or `application/…+json`: types a page of another site cannot send
/// without the browser first asking this server (a CORS preflight), which it never allows.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Deserialises `bytes`, naming the offending field in the error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let field = unknown_field(&message)
                    .map(|name| join_path(&path, name))
                    .unwrap_or(path);
                let message = strip_position(&message);
                ApiError::Validation(vec![FieldError::new(field, message)])
            }
            _ => ApiError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// serde names an unknown field only in its message: "unknown field `foo`, expected ...".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// serde_path_to_error already ends the path with the unknown field's name; older versions
/// stopped at its parent.
fn join_path(path: &str, name: &str) -> String {
    if path == name || path.ends_with(&format!(".{name}")) {
        path.to_owned()
    } else if path == "." || path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// "invalid type: integer `5`, expected a string at line 1 column 12" → without the position.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        phone: String,
    }

    fn field_of(error: ApiError) -> String {
        match error {
            ApiError::Validation(errors) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_wrongly_typed_field_is_named() {
        assert_eq!(
            field_of(parse::<Sample>(br#"{"phone": 5}"#).unwrap_err()),
            "phone"
        );
    }

    #[test]
    fn an_unknown_field_is_named() {
        let error = parse::<Sample>(br#"{"phone": "x", "colour": 1}"#).unwrap_err();
        assert_eq!(field_of(error), "colour");
    }

    #[test]
    fn broken_json_and_trailing_garbage_are_malformed() {
        assert!(matches!(
            parse::<Sample>(br#"{"phone": "#),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse::<Sample>(br#"{"phone": "x"} x"#),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
