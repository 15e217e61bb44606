//! The citizen web app: server-rendered pages in Bahasa Melayu and English, with htmx as an
//! enhancement. Every handler answers htmx with a partial and everyone else with the whole
//! page; every form is a real POST answered 303 (post/redirect/get) or 422 with its errors.
//! Like the JSON API, it is a thin adapter over `BookingService`.
//!
//! - [`browse`]: home, a state's centres, a centre's slots.
//! - [`book`]: the booking form, its submission and the confirmation.
//! - [`manage`]: check, show and cancel a booking.
//! - [`page`]: layout, security headers, friendly error pages. [`ctx`]: language, CSRF, cookies.
//! - [`i18n`]: the message catalogue and date/number formats. [`forms`], [`qr`].

pub mod book;
pub mod browse;
pub mod ctx;
pub mod forms;
pub mod i18n;
pub mod manage;
pub mod page;
pub mod pass;
pub mod qr;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::app::AppState;
use ctx::Ctx;
use i18n::Lang;
use page::NoticeKind;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(browse::home))
        .route("/states/{code}", get(browse::state_page))
        .route("/centres/{code}", get(browse::centre_page))
        .route("/book", get(book::form).post(book::submit))
        .route("/book/validate", post(book::validate))
        .route("/booked", get(book::confirmation))
        .route("/check", get(manage::check_form).post(manage::check_submit))
        .route("/my-booking", get(manage::show))
        .route(
            "/my-booking/cancel",
            get(manage::confirm_cancel).post(manage::cancel),
        )
        .route("/lang/{code}", get(switch_language))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Back {
    back: String,
}

/// The language switcher: a plain link, so it works without JavaScript. Remembers the choice
/// in a cookie and returns to the page it was clicked on (only ever a path on this site).
async fn switch_language(
    ctx: Ctx,
    Path(code): Path<String>,
    Query(Back { back }): Query<Back>,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return ctx.notice(StatusCode::NOT_FOUND, NoticeKind::NotFound);
    };
    let local = back.starts_with('/') && !back.starts_with("//") && !back.contains('\\');
    let mut response = ctx.redirect(if local { &back } else { "/" });
    if let Some(cookie) = ctx.lang_cookie_header(lang) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Whether a request is a browser asking for a page (rather than an API client).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
        || headers.contains_key("hx-request")
}

/// The friendly page for an address nothing answers.
pub fn not_found_page(headers: &HeaderMap, path: &str, secure_cookies: bool) -> Response {
    Ctx::from_headers(headers, path.to_owned(), secure_cookies)
        .notice(StatusCode::NOT_FOUND, NoticeKind::NotFound)
}

/// The friendly 503 (with Retry-After) for a request that ran out of time.
pub fn overloaded_page(headers: &HeaderMap, path: &str, secure_cookies: bool) -> Response {
    Ctx::from_headers(headers, path.to_owned(), secure_cookies)
        .notice(StatusCode::SERVICE_UNAVAILABLE, NoticeKind::Unavailable)
        .into_response()
}
