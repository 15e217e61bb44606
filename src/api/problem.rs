//! `ApiError`: every way an API request can fail, each variant naming its status, rendered as
//! `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::booking::{BookError, Locked, LookupError};
use crate::domain::FieldErrors;
use crate::http::limits::TooManyBookingPosts;
use crate::http::{ErrorCause, Refusal, RefusalPages, RequestHead};
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
    /// Present when a booking could not be confirmed (it may or may not have been made), and
    /// when a reference is locked after too many failed attempts: where to find the person's
    /// booking with their identity number and phone number instead.
    #[serde(rename = "findBooking", skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/v1/bookings/find")]
    pub find_booking: Option<&'static str>,
    /// Present when "find my booking" is locked for an identity number after too many failed
    /// attempts: the other way in, with the reference and identity number.
    #[serde(rename = "lookupBooking", skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/v1/bookings/lookup")]
    pub lookup_booking: Option<&'static str>,
}

/// Where a person finds their booking with their identity and phone numbers.
pub const FIND_BOOKING: &str = "/api/v1/bookings/find";
/// Where a person opens their booking with its reference and their identity number.
pub const LOOKUP_BOOKING: &str = "/api/v1/bookings/lookup";

/// What every answer that could not confirm a booking says.
const UNCONFIRMED: &str = "The booking could not be confirmed: it may or may not have been \
    made. Before booking again, find out with POST /api/v1/bookings/find (the identity number \
    and the phone number it was booked with), or send the same request again, with the same \
    Idempotency-Key, after the number of seconds in the Retry-After header.";

/// Every failure the API reports. 5xx bodies are generic; the cause is logged once, by the
/// `log_failures` middleware.
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
    /// The body could not be read to its end (the client hung up or sent it broken).
    #[error("the request body could not be read: {0}")]
    BodyUnreadable(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Book(BookError),
    #[error(transparent)]
    Lookup(LookupError),
    #[error("the service is temporarily unavailable")]
    Unavailable { cause: String },
    /// A booking request that ran out of time: the store may have booked it.
    #[error("the booking could not be confirmed")]
    Unconfirmed { cause: String },
    /// The in-flight bound is reached: shed at once rather than queued into a timeout.
    #[error("the service is busy")]
    Overloaded,
    /// Too many booking requests from this client's address.
    #[error("too many booking requests from your network; please wait {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("the request headers are larger than {0} bytes")]
    HeadersTooLarge(usize),
    /// The body did not arrive within the body-read timeout.
    #[error("the request body did not arrive in time; please send it again")]
    RequestTimeout,
    /// A browser says a page of another site sent this request.
    #[error("a page of another site cannot send this request (Sec-Fetch-Site: cross-site)")]
    CrossSite,
    /// A bug on this side; the cause is logged, never sent.
    #[error("internal error")]
    Internal { cause: String },
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// Every field error of a parse, under the names `name` gives its fields.
    pub fn fields<F>(errors: FieldErrors<F>, name: impl Fn(&F) -> &'static str) -> Self {
        Self::Validation(
            errors
                .iter()
                .map(|(field, error)| FieldError::new(name(field), error.message()))
                .collect(),
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MalformedJson(_) | Self::BodyUnreadable(_) => StatusCode::BAD_REQUEST,
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
            Self::Book(BookError::KeyReused) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Book(BookError::TooManyAttempts { .. })
            | Self::RateLimited { .. }
            | Self::Lookup(LookupError::Locked { .. }) => StatusCode::TOO_MANY_REQUESTS,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::CrossSite => StatusCode::FORBIDDEN,
            Self::Book(BookError::Event(_))
            | Self::Lookup(LookupError::Event(_))
            | Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Book(BookError::Unavailable(_))
            | Self::Lookup(LookupError::Unavailable(_))
            | Self::Unavailable { .. }
            | Self::Unconfirmed { .. }
            | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The problem type's last path segment, and its title: stable, machine-readable.
    fn kind_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::Validation(_) | Self::Book(BookError::KeyReused) => {
                ("validation-error", "Some fields are invalid")
            }
            Self::MalformedJson(_) => ("malformed-json", "The request body is not valid JSON"),
            Self::BodyUnreadable(_) => ("unreadable-body", "The request body could not be read"),
            Self::UnsupportedMediaType => {
                ("unsupported-media-type", "The request body must be JSON")
            }
            Self::PayloadTooLarge(_) => ("payload-too-large", "The request body is too large"),
            Self::NotFound(_) | Self::Lookup(LookupError::NotFound) => ("not-found", "Not found"),
            Self::Book(BookError::UnknownSlot) => ("unknown-slot", "No such slot"),
            Self::Book(BookError::NotOpen { .. }) => ("not-open", "Bookings are not open yet"),
            Self::Book(BookError::Closed { .. }) => ("closed", "Bookings are closed"),
            Self::Book(BookError::SoldOut) => ("sold-out", "Fully booked"),
            Self::Book(BookError::AlreadyBooked) => ("already-booked", "Already booked"),
            Self::Lookup(LookupError::AlreadyCancelled) => {
                ("already-cancelled", "Already cancelled")
            }
            Self::Book(BookError::TooManyAttempts { .. }) | Self::RateLimited { .. } => {
                ("too-many-requests", "Too many requests")
            }
            Self::Lookup(LookupError::Locked { .. }) => {
                ("too-many-failed-attempts", "Too many failed attempts")
            }
            Self::HeadersTooLarge(_) => ("headers-too-large", "Request headers too large"),
            Self::RequestTimeout => ("request-timeout", "The request body came too slowly"),
            Self::CrossSite => ("cross-site-request", "Cross-site request refused"),
            Self::Overloaded => ("overloaded", "Too busy right now"),
            Self::Book(BookError::Event(_))
            | Self::Lookup(LookupError::Event(_))
            | Self::Internal { .. } => ("internal-error", "Something went wrong on our side"),
            Self::Book(BookError::Unavailable(_))
            | Self::Lookup(LookupError::Unavailable(_))
            | Self::Unavailable { .. }
            | Self::Unconfirmed { .. } => {
                ("service-unavailable", "Service temporarily unavailable")
            }
        }
    }

    /// Whether this answers a booking request without confirming or refusing it: the booking
    /// may have been made.
    fn unconfirmed(&self) -> bool {
        matches!(
            self,
            Self::Book(BookError::Unavailable(_) | BookError::Event(_)) | Self::Unconfirmed { .. }
        )
    }

    /// The problem type's last path segment: stable, machine-readable.
    pub fn kind(&self) -> &'static str {
        self.kind_and_title().0
    }

    /// Seconds the client should wait before trying again, when this error knows better than
    /// the configured default (which the HTTP layer adds to every 503 without one).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Self::Book(BookError::TooManyAttempts { retry_after })
            | Self::Lookup(LookupError::Locked { retry_after, .. }) => {
                Some(crate::limiter::retry_after(*retry_after))
            }
            _ => None,
        }
    }

    pub fn to_problem(&self) -> Problem {
        let (kind, title) = self.kind_and_title();
        let (mut find_booking, mut lookup_booking) = (None, None);
        let detail = if self.unconfirmed() {
            find_booking = Some(FIND_BOOKING);
            UNCONFIRMED.to_owned()
        } else if self.status().is_server_error() {
            // The cause stays in the log; clients learn only that they may retry.
            "Please try again after the number of seconds in the Retry-After header.".to_owned()
        } else if let Self::Lookup(LookupError::Locked { by, .. }) = self {
            let wait = self.retry_after().unwrap_or(1);
            match by {
                Locked::Reference => {
                    find_booking = Some(FIND_BOOKING);
                    format!(
                        "Too many failed attempts for this booking reference: it is locked for \
                         {wait} seconds. The booking can still be found with the identity number \
                         and the phone number it was made with: POST {FIND_BOOKING}."
                    )
                }
                Locked::Identity => {
                    lookup_booking = Some(LOOKUP_BOOKING);
                    format!(
                        "Too many failed attempts to find a booking for this identity number: \
                         finding is locked for {wait} seconds. The booking can still be opened \
                         with its reference and the identity number: POST {LOOKUP_BOOKING}."
                    )
                }
                Locked::Client => format!(
                    "Too many failed attempts from your network: please wait {wait} seconds."
                ),
            }
        } else {
            self.to_string()
        };
        Problem {
            problem_type: format!("/problems/{kind}"),
            title: title.to_owned(),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                Self::Book(BookError::KeyReused) => vec![FieldError::new(
                    "Idempotency-Key",
                    "was already used for a different booking request by this identity number; \
                     send a new key with a new request",
                )],
                _ => Vec::new(),
            },
            find_booking,
            lookup_booking,
        }
    }

    /// What the log says about a 5xx; never request data. `None` for what is not a failure of
    /// this service (4xx) or is the system working as designed (shedding).
    pub fn log_cause(&self) -> Option<String> {
        match self {
            Self::Overloaded => None,
            Self::Unavailable { cause }
            | Self::Internal { cause }
            | Self::Unconfirmed { cause } => Some(cause.clone()),
            Self::Book(BookError::Unavailable(e)) | Self::Lookup(LookupError::Unavailable(e)) => {
                Some(e.to_string())
            }
            Self::Book(BookError::Event(e)) | Self::Lookup(LookupError::Event(e)) => {
                Some(e.to_string())
            }
            _ => None,
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

impl From<TooManyBookingPosts> for ApiError {
    fn from(limited: TooManyBookingPosts) -> Self {
        Self::RateLimited {
            retry_after_secs: limited.retry_after_secs,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable {
            cause: error.to_string(),
        }
    }
}

/// Adds `Retry-After` when the error knows how long to wait.
pub fn set_retry_after(mut response: Response, secs: Option<u64>) -> Response {
    if let Some(secs) = secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The cause of a 5xx, for the `log_failures` middleware.
pub fn with_cause(mut response: Response, error: &ApiError) -> Response {
    if let Some(cause) = error.log_cause() {
        response.extensions_mut().insert(ErrorCause(cause));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match serde_json::to_vec(&self.to_problem()) {
            Ok(body) => body,
            Err(error) => {
                // Plain strings and numbers do not fail to encode; if they ever did, say so.
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.extensions_mut().insert(ErrorCause(format!(
                    "cannot encode a problem document: {error}"
                )));
                return response;
            }
        };
        let response = (
            self.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response();
        with_cause(set_retry_after(response, self.retry_after()), &self)
    }
}

/// The HTTP layer's refusals, as problem documents for API clients.
#[derive(Debug, Clone, Copy)]
pub struct ProblemRefusals;

/// The paths that book: a booking request cut short may have been made.
pub const BOOKING_PATHS: [&str; 2] = ["/api/v1/bookings", "/booking"];

impl RefusalPages for ProblemRefusals {
    fn render(&self, refusal: Refusal, head: &RequestHead) -> Response {
        let booking =
            head.method == axum::http::Method::POST && BOOKING_PATHS.contains(&head.uri.path());
        match refusal {
            Refusal::Overloaded => ApiError::Overloaded,
            Refusal::TimedOut if booking => ApiError::Unconfirmed {
                cause: "a booking request ran out of time".into(),
            },
            Refusal::TimedOut => ApiError::Unavailable {
                cause: "the request ran out of time".into(),
            },
            Refusal::HeadersTooLarge { max_bytes } => ApiError::HeadersTooLarge(max_bytes),
            Refusal::NotFound => ApiError::NotFound("there is nothing at this address".into()),
            Refusal::BodyTimedOut => ApiError::RequestTimeout,
            Refusal::CrossSite => ApiError::CrossSite,
        }
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_5xx_is_titled_as_unavailable() {
        let client_errors = [
            ApiError::field("x", "y"),
            ApiError::MalformedJson("x".into()),
            ApiError::BodyUnreadable("x".into()),
            ApiError::UnsupportedMediaType,
            ApiError::PayloadTooLarge(1),
            ApiError::NotFound("x".into()),
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::HeadersTooLarge(1),
            ApiError::RequestTimeout,
            ApiError::CrossSite,
            ApiError::Book(BookError::SoldOut),
            ApiError::Lookup(LookupError::AlreadyCancelled),
        ];
        for error in client_errors {
            let problem = error.to_problem();
            assert!(problem.status < 500, "{problem:?}");
            assert_ne!(
                problem.title, "Service temporarily unavailable",
                "{problem:?}"
            );
            assert!(problem.problem_type.starts_with("/problems/"));
        }
        let down = ApiError::from(StoreError::Timeout(std::time::Duration::from_millis(5)));
        assert_eq!(down.to_problem().title, "Service temporarily unavailable");
        assert!(
            !down.to_problem().detail.contains("5ms"),
            "a 5xx body never carries its cause"
        );
    }
}
