//! `ApiError`: every way an API request can fail, each variant naming its status, rendered as
//! `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::booking::{BookError, LookupError};
use crate::store::StoreError;

/// One field that could not be accepted, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The JSON field (or query parameter), e.g. `phone`.
    pub field: String,
    /// What is wrong with it, written for a person.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document. `type` is a relative URI naming the problem; clients branch on
/// it (e.g. `/problems/sold-out` vs `/problems/already-booked`), not on `title` or `detail`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Present on validation errors: one entry per field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Every failure the API reports. 5xx bodies are generic; the cause is logged once.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("some fields are invalid")]
    Validation(Vec<FieldError>),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Book(BookError),
    #[error(transparent)]
    Lookup(LookupError),
    #[error("the service is temporarily unavailable")]
    Unavailable {
        retry_after_secs: u64,
        cause: String,
    },
    /// The in-flight bound is reached: shed at once rather than queued into a timeout.
    #[error("the service is busy")]
    Overloaded,
    /// Too many booking requests from this client's address.
    #[error("too many booking requests from your network; please wait {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("the request headers are larger than {0} bytes")]
    HeadersTooLarge(usize),
}

/// Seconds a client should wait before retrying a 503; set once from configuration.
static RETRY_AFTER_SECS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

pub fn set_retry_after_secs(secs: u64) {
    let _ = RETRY_AFTER_SECS.set(secs);
}

pub fn retry_after_secs() -> u64 {
    RETRY_AFTER_SECS.get().copied().unwrap_or(2)
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn unavailable(cause: &StoreError) -> Self {
        Self::Unavailable {
            retry_after_secs: retry_after_secs(),
            cause: cause.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Book(BookError::UnknownSlot) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Book(
                BookError::NotOpen { .. }
                | BookError::Closed { .. }
                | BookError::SoldOut
                | BookError::AlreadyBooked,
            ) => StatusCode::CONFLICT,
            Self::Lookup(LookupError::NotFound) => StatusCode::NOT_FOUND,
            Self::Lookup(LookupError::AlreadyCancelled) => StatusCode::CONFLICT,
            Self::Book(BookError::TooManyAttempts { .. }) | Self::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Book(BookError::Unavailable(_))
            | Self::Lookup(LookupError::Unavailable(_))
            | Self::Unavailable { .. }
            | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The problem type's last path segment: stable, machine-readable.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation-error",
            Self::MalformedJson(_) => "malformed-json",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::NotFound(_) | Self::Lookup(LookupError::NotFound) => "not-found",
            Self::Book(BookError::UnknownSlot) => "unknown-slot",
            Self::Book(BookError::NotOpen { .. }) => "not-open",
            Self::Book(BookError::Closed { .. }) => "closed",
            Self::Book(BookError::SoldOut) => "sold-out",
            Self::Book(BookError::AlreadyBooked) => "already-booked",
            Self::Lookup(LookupError::AlreadyCancelled) => "already-cancelled",
            Self::Book(BookError::TooManyAttempts { .. }) | Self::RateLimited { .. } => {
                "too-many-requests"
            }
            Self::HeadersTooLarge(_) => "headers-too-large",
            Self::Overloaded => "overloaded",
            Self::Book(BookError::Unavailable(_))
            | Self::Lookup(LookupError::Unavailable(_))
            | Self::Unavailable { .. } => "service-unavailable",
        }
    }

    fn title(&self) -> &'static str {
        match self.kind() {
            "validation-error" => "Some fields are invalid",
            "malformed-json" => "The request body is not valid JSON",
            "unsupported-media-type" => "The request body must be JSON",
            "payload-too-large" => "The request body is too large",
            "not-found" => "Not found",
            "unknown-slot" => "No such slot",
            "not-open" => "Bookings are not open yet",
            "closed" => "Bookings are closed",
            "sold-out" => "Fully booked",
            "already-booked" => "Already booked",
            "already-cancelled" => "Already cancelled",
            "too-many-requests" => "Too many requests",
            "headers-too-large" => "Request headers too large",
            "overloaded" => "Too busy right now",
            _ => "Service temporarily unavailable",
        }
    }

    /// Seconds the client should wait before trying again, for the `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Book(BookError::TooManyAttempts { retry_after }) => {
                Some(crate::limits::retry_after(*retry_after))
            }
            _ if self.status().is_server_error() => Some(retry_after_secs()),
            _ => None,
        }
    }

    pub fn to_problem(&self) -> Problem {
        let detail = if self.status().is_server_error() {
            // The cause stays in the log; clients learn only that they may retry.
            format!("Please try again in {} seconds.", retry_after_secs())
        } else {
            self.to_string()
        };
        Problem {
            problem_type: format!("/problems/{}", self.kind()),
            title: self.title().to_owned(),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }

    /// A short cause for the log line; never contains request data.
    pub fn log_cause(&self) -> String {
        match self {
            Self::Overloaded => "in-flight bound reached".into(),
            Self::Unavailable { cause, .. } => cause.clone(),
            Self::Book(BookError::Unavailable(e)) | Self::Lookup(LookupError::Unavailable(e)) => {
                e.to_string()
            }
            other => other.kind().to_owned(),
        }
    }
}

impl From<BookError> for ApiError {
    fn from(error: BookError) -> Self {
        Self::Book(error)
    }
}

impl From<LookupError> for ApiError {
    fn from(error: LookupError) -> Self {
        Self::Lookup(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::unavailable(&error)
    }
}

/// Adds `Retry-After` (when there is one) so clients back off instead of hammering.
pub fn set_retry_after(mut response: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Adds `Retry-After` to a 503 so clients back off instead of hammering.
pub fn with_retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs()));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Shedding is the system working as designed under load: counted in metrics, and a log
        // line per shed request would only add to the load.
        if self.status().is_server_error() && !matches!(self, Self::Overloaded) {
            tracing::warn!(problem = self.kind(), cause = %self.log_cause(), "request failed");
        }
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let response = (
            self.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response();
        set_retry_after(response, self.retry_after())
    }
}
