//! The citizen web app: server-rendered pages in Bahasa Melayu and English, with htmx as an
//! enhancement. Every handler answers htmx with a partial and everyone else with the whole
//! page; every form is a real POST answered 303 (post/redirect/get) or 422 with its errors.
//! Like the JSON API, it is a thin adapter over `BookingService`.
//!
//! - [`browse`]: home, a state's centres, a centre's slots.
//! - [`book`]: the booking form, its submission and the confirmation.
//! - [`manage`]: check or find, show and cancel a booking.
//! - [`page`]: layout, security headers, friendly notice pages; [`error`]: `WebError`, the
//!   failures handlers return, rendered as those pages.
//! - [`ctx`]: language, CSRF, cookies. [`pass`]: the signed booking pass.
//! - [`i18n`]: the message catalogue (one file per language) and date/number formats.
//! - [`forms`]: form fields as rendered, and the person's details parsed through the domain.
//! - [`qr`]: the confirmation's QR code.

pub mod book;
pub mod browse;
pub mod ctx;
pub mod error;
pub mod forms;
pub mod i18n;
pub mod manage;
pub mod page;
pub mod pass;
pub mod qr;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, Path, Query};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::http::{AppState, Refusal, RefusalPages, RequestHead};
use ctx::Ctx;
use error::WebError;
use i18n::Lang;
use page::NoticeKind;
use pass::PassKey;

/// What the web handlers reach: the shared state, and the key that signs booking passes.
#[derive(Debug, Clone)]
pub struct WebState {
    pub app: AppState,
    pub pass_key: Arc<PassKey>,
}

impl FromRef<WebState> for AppState {
    fn from_ref(web: &WebState) -> Self {
        web.app.clone()
    }
}

/// Every page route, with their errors rendered as pages.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(browse::home))
        .route("/states/{code}", get(browse::state_page))
        .route("/centres/{code}", get(browse::centre_page))
        .route("/book", get(book::form).post(book::submit))
        .route("/book/validate", post(book::validate))
        .route("/booked", get(book::confirmation))
        .route("/check", get(manage::check_form).post(manage::check_submit))
        .route("/find", get(manage::find_form).post(manage::find_submit))
        .route("/my-booking", get(manage::show))
        .route(
            "/my-booking/cancel",
            get(manage::confirm_cancel).post(manage::cancel),
        )
        .route("/lang/{code}", get(switch_language))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::render_errors,
        ))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Back {
    back: String,
}

/// A path on this site and nothing else: it starts with one `/` (not `//` or `/\`, which
/// browsers read as another host) and holds no control characters or whitespace (browsers drop
/// tabs and line breaks from URLs, so `/\t/evil.example` would become `//evil.example`).
fn is_local_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

/// The language switcher: a plain link, so it works without JavaScript. Remembers the choice
/// in a cookie and returns to the page it was clicked on (only ever a path on this site).
async fn switch_language(
    ctx: Ctx,
    Path(code): Path<String>,
    Query(Back { back }): Query<Back>,
) -> Result<Response, WebError> {
    let lang = Lang::parse(&code).ok_or_else(WebError::not_found)?;
    let mut response = ctx.redirect(if is_local_path(&back) { &back } else { "/" });
    if let Some(cookie) = ctx.lang_cookie_header(lang) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The HTTP layer's refusals as friendly pages, in the visitor's language.
#[derive(Debug, Clone, Copy)]
pub struct PageRefusals {
    pub secure_cookies: bool,
}

impl RefusalPages for PageRefusals {
    fn render(&self, refusal: Refusal, head: &RequestHead) -> Response {
        let ctx = Ctx::from_head(head, self.secure_cookies);
        let (status, notice) = match refusal {
            Refusal::Overloaded | Refusal::TimedOut => {
                (StatusCode::SERVICE_UNAVAILABLE, NoticeKind::Unavailable)
            }
            Refusal::HeadersTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                NoticeKind::HeadersTooLarge,
            ),
            Refusal::NotFound => (StatusCode::NOT_FOUND, NoticeKind::NotFound),
            // The form arrived incomplete: the bad-request page says so, and that nothing
            // was changed.
            Refusal::BodyTimedOut => (StatusCode::REQUEST_TIMEOUT, NoticeKind::BadRequest),
            // The "send the form from its own page" page: what a cross-site form needs to hear.
            Refusal::CrossSite => (StatusCode::FORBIDDEN, NoticeKind::Forbidden),
        };
        ctx.notice(status, notice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_followed_back() {
        for local in ["/", "/centres/PWTC", "/book?centre=IDCC&date=2030-01-01"] {
            assert!(is_local_path(local), "{local}");
        }
        for away in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "evil.example",
        ] {
            assert!(!is_local_path(away), "{away:?}");
        }
    }
}
