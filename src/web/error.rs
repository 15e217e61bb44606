//! `WebError`: every way a page request can fail, as the friendly page and status a browser
//! gets. Handlers return `Result<Response, WebError>` and use `?` on the booking service's
//! answers; [`render_errors`] turns the error into its page with the request's language and
//! cookies, and attaches the cause of a 5xx for the one log line `log_failures` writes.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::WebState;
use super::ctx::Ctx;
use super::page::NoticeKind;
use crate::booking::{BookError, LookupError};
use crate::http::{ErrorCause, RequestHead};
use crate::limiter::retry_after;
use crate::store::StoreError;

/// A page-level failure: which notice to show, with which status, and for a 5xx its cause.
#[derive(Debug, Clone)]
pub struct WebError {
    status: StatusCode,
    notice: NoticeKind,
    cause: Option<String>,
}

impl WebError {
    pub fn new(status: StatusCode, notice: NoticeKind) -> Self {
        Self {
            status,
            notice,
            cause: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, NoticeKind::NotFound)
    }

    /// A form that could not be read at all.
    pub fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST, NoticeKind::BadRequest)
    }

    /// A form without this browser's CSRF token.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, NoticeKind::Forbidden)
    }

    fn unavailable(cause: String) -> Self {
        Self {
            cause: Some(cause),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, NoticeKind::Unavailable)
        }
    }

    /// A template that failed to render: a bug, but the person still gets an answer.
    pub fn render_failed(error: &askama::Error) -> Self {
        Self::internal(format!("a page template failed to render: {error}"))
    }

    fn internal(cause: String) -> Self {
        Self {
            cause: Some(cause),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, NoticeKind::Error)
        }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        Self::unavailable(error.to_string())
    }
}

/// Refusals of a booking that are pages of their own. (Those that belong next to a field —
/// already booked, no such slot — are the booking form's to show.)
impl From<BookError> for WebError {
    fn from(error: BookError) -> Self {
        match error {
            BookError::SoldOut => {
                Self::new(StatusCode::CONFLICT, NoticeKind::SoldOut { centre: None })
            }
            BookError::NotOpen { opens_at } => {
                Self::new(StatusCode::CONFLICT, NoticeKind::NotOpen { opens_at })
            }
            BookError::Closed { closed_at } => {
                Self::new(StatusCode::CONFLICT, NoticeKind::Closed { closed_at })
            }
            BookError::TooManyAttempts { retry_after: wait } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                NoticeKind::TooManyAttempts {
                    retry_after_secs: retry_after(wait),
                },
            ),
            BookError::AlreadyBooked | BookError::UnknownSlot | BookError::KeyReused => {
                Self::new(StatusCode::CONFLICT, NoticeKind::Error)
            }
            BookError::Unavailable(error) => error.into(),
            BookError::Event(error) => Self::internal(error.to_string()),
        }
    }
}

impl From<LookupError> for WebError {
    fn from(error: LookupError) -> Self {
        match error {
            LookupError::NotFound => Self::not_found(),
            LookupError::AlreadyCancelled => Self::new(StatusCode::CONFLICT, NoticeKind::Error),
            LookupError::Locked {
                by,
                retry_after: wait,
            } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                NoticeKind::Locked {
                    retry_after_secs: retry_after(wait),
                    by,
                },
            ),
            LookupError::Unavailable(error) => error.into(),
            LookupError::Event(error) => Self::internal(error.to_string()),
        }
    }
}

impl WebError {
    /// The sold-out page, with a way back to this centre's slots.
    pub fn sold_out_at(centre: &crate::domain::CentreCode) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            NoticeKind::SoldOut {
                centre: Some(centre.clone()),
            },
        )
    }
}

/// Carries the error from the handler to [`render_errors`], which knows the request.
#[derive(Debug, Clone)]
struct Pending(WebError);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(Pending(self));
        response
    }
}

/// Middleware over the web routes: renders a handler's [`WebError`] as its page, in the
/// request's language, with its cookies.
pub async fn render_errors(State(web): State<WebState>, request: Request, next: Next) -> Response {
    let head = RequestHead::full(&request);
    let response = next.run(request).await;
    let Some(Pending(error)) = response.extensions().get::<Pending>().cloned() else {
        return response;
    };
    let ctx = Ctx::from_head(&head, web.app.config.secure_cookies);
    let mut page = ctx.notice(error.status, error.notice);
    if let Some(cause) = error.cause {
        page.extensions_mut().insert(ErrorCause(cause));
    }
    page
}
