//! Turning a page into a response: the partial alone for htmx, the partial inside the base
//! layout otherwise; security headers on every page; and the friendly notice pages (sold out,
//! not open, closed, 404, 403, 429, 503, error).

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset};

use super::ctx::Ctx;
use super::error::WebError;
use super::forms::PostedForm;
use super::i18n::{Lang, Messages};
use crate::booking::Locked;
use crate::domain::CentreCode;
use crate::http::ErrorCause;

/// No inline scripts or styles anywhere: htmx's own indicator styles are switched off in its
/// config for the same reason.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

/// What the frame around every page (header, language switcher, footer) needs.
#[derive(Debug)]
pub struct Chrome {
    pub title: String,
    /// Rendering for htmx: the partial carries its `<title>`, which htmx moves to the head.
    pub htmx: bool,
    pub switch_href: String,
    pub switch_lang: &'static str,
    pub switch_label: &'static str,
}

impl Ctx {
    pub fn chrome(&self, title: impl Into<String>) -> Chrome {
        let other = match self.lang {
            Lang::Ms => Lang::En,
            Lang::En => Lang::Ms,
        };
        Chrome {
            title: title.into(),
            htmx: self.htmx,
            switch_href: format!("/lang/{}?back={}", other.code(), percent_encode(&self.path)),
            switch_lang: other.code(),
            switch_label: other.messages().self_name,
        }
    }

    /// The page with `status`: the partial for htmx, the whole document otherwise.
    pub fn render<P: WebPage>(&self, status: StatusCode, page: &P) -> Response {
        let partial = match page.render() {
            Ok(html) => html,
            Err(error) => return render_failed(&error),
        };
        let body = if self.htmx {
            partial
        } else {
            let layout = Layout {
                lang: self.lang.code(),
                t: self.t,
                title: &page.chrome().title,
                body: &partial,
            };
            match layout.render() {
                Ok(html) => html,
                Err(error) => return render_failed(&error),
            }
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        // Pages carry a CSRF token and sometimes personal data: never stored by caches.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::VARY,
            HeaderValue::from_static("HX-Request, Cookie, Accept-Language"),
        );
        if self.htmx && !status.is_success() {
            // A refused form stays at its own address in the history.
            headers.insert("hx-push-url", HeaderValue::from_static("false"));
        }
        self.with_cookies(response)
    }

    /// Post/redirect/get: 303 to `to`, carrying any cookies. A `to` that cannot be a header
    /// value (it comes from a query string at times) goes home instead.
    pub fn redirect(&self, to: &str) -> Response {
        let location = HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/"));
        self.with_cookies((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
    }

    fn with_cookies(&self, mut response: Response) -> Response {
        for cookie in self.set_cookies() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }

    /// The posted form, if it can be read (else 400) and carries this browser's CSRF token
    /// (else 403). Every POST handler takes its form through here.
    pub fn accept<T: PostedForm>(
        &self,
        form: Result<Form<T>, FormRejection>,
    ) -> Result<T, WebError> {
        let Ok(Form(values)) = form else {
            return Err(WebError::bad_request());
        };
        if !self.csrf_matches(values.csrf()) {
            return Err(WebError::forbidden());
        }
        Ok(values)
    }

    /// A friendly page for something that is not a form error.
    pub fn notice(&self, status: StatusCode, kind: NoticeKind) -> Response {
        let t = self.t;
        let home = Link::new("/", t.link_home);
        let (heading, paragraphs, links) = match kind {
            NoticeKind::SoldOut { centre } => (
                t.sold_out_title,
                vec![t.sold_out_body.to_owned()],
                match centre {
                    Some(centre) => vec![
                        Link::new(format!("/centres/{centre}"), t.sold_out_link),
                        home,
                    ],
                    None => vec![home],
                },
            ),
            NoticeKind::NotOpen { opens_at } => (
                t.not_open_title,
                vec![format!(
                    "{} {}.",
                    t.not_open_body,
                    self.lang.date_time(opens_at)
                )],
                vec![home],
            ),
            NoticeKind::Closed { closed_at } => (
                t.closed_title,
                vec![format!(
                    "{} {}.",
                    t.closed_body,
                    self.lang.date_time(closed_at)
                )],
                vec![home],
            ),
            NoticeKind::NotFound => (
                t.not_found_title,
                vec![t.not_found_body.to_owned()],
                vec![home],
            ),
            NoticeKind::Unavailable => (
                t.unavailable_title,
                vec![t.unavailable_body.to_owned(), t.unavailable_safe.to_owned()],
                // Trying a GET again is the same page (query included); a POST's address may
                // not even answer a GET, so after one the way on is to find out whether the
                // booking was made — by identity and phone number, since a person whose booking
                // answer was lost never saw its reference — or start again.
                if self.is_get {
                    vec![
                        Link::new(self.path.clone(), t.link_try_again),
                        Link::new("/check", t.link_check),
                    ]
                } else {
                    vec![
                        Link::new("/find", t.link_find),
                        Link::new("/check", t.link_check),
                        home,
                    ]
                },
            ),
            NoticeKind::HeadersTooLarge => (
                t.bad_request_title,
                vec![t.bad_request_body.to_owned()],
                vec![home],
            ),
            NoticeKind::TooManyAttempts { retry_after_secs } => {
                let page = NoticePage {
                    chrome: self.chrome(t.too_many_title),
                    t,
                    heading: t.too_many_title,
                    paragraphs: vec![format!(
                        "{} {retry_after_secs} {}",
                        t.too_many_body, t.seconds
                    )],
                    links: vec![Link::new("/check", t.link_check), home],
                };
                let mut response = self.render(StatusCode::TOO_MANY_REQUESTS, &page);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                return response;
            }
            NoticeKind::Locked {
                retry_after_secs,
                by,
            } => {
                let (body, links) = match by {
                    Locked::Reference => (
                        t.locked_reference,
                        vec![Link::new("/find", t.link_find), home],
                    ),
                    Locked::Identity => (
                        t.locked_identity,
                        vec![Link::new("/check", t.link_check), home],
                    ),
                    Locked::Client => (t.locked_client, vec![home]),
                };
                let page = NoticePage {
                    chrome: self.chrome(t.locked_title),
                    t,
                    heading: t.locked_title,
                    paragraphs: vec![format!("{body} {retry_after_secs} {}", t.seconds)],
                    links,
                };
                let mut response = self.render(StatusCode::TOO_MANY_REQUESTS, &page);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                return response;
            }
            NoticeKind::Forbidden => (
                t.forbidden_title,
                vec![t.forbidden_body.to_owned()],
                vec![home],
            ),
            NoticeKind::Error => (t.error_title, vec![t.error_body.to_owned()], vec![home]),
            NoticeKind::BadRequest => (
                t.bad_request_title,
                vec![t.bad_request_body.to_owned()],
                vec![home],
            ),
        };
        let page = NoticePage {
            chrome: self.chrome(heading),
            t,
            heading,
            paragraphs,
            links,
        };
        self.render(status, &page)
    }
}

/// Which friendly page to show.
#[derive(Debug, Clone)]
pub enum NoticeKind {
    /// With a link back to the centre's other slots when the centre is known.
    SoldOut {
        centre: Option<CentreCode>,
    },
    NotOpen {
        opens_at: DateTime<FixedOffset>,
    },
    Closed {
        closed_at: DateTime<FixedOffset>,
    },
    NotFound,
    /// 431: a request head too large to read.
    HeadersTooLarge,
    Unavailable,
    /// 429: too many booking attempts from this address or for this identity number.
    TooManyAttempts {
        retry_after_secs: u64,
    },
    /// 429: too many failed attempts to open a booking; `by` says which way in is locked, and
    /// so which other way the page offers.
    Locked {
        retry_after_secs: u64,
        by: Locked,
    },
    Forbidden,
    BadRequest,
    Error,
}

/// A page template that sits in the frame.
pub trait WebPage: Template {
    fn chrome(&self) -> &Chrome;
}

macro_rules! web_page {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::web::page::WebPage for $ty {
            fn chrome(&self) -> &$crate::web::page::Chrome {
                &self.chrome
            }
        }
    )*};
}
pub(crate) use web_page;

#[derive(Debug, Template)]
#[template(path = "base.html")]
struct Layout<'a> {
    lang: &'static str,
    t: &'static Messages,
    title: &'a str,
    body: &'a str,
}

#[derive(Debug)]
pub struct Link {
    pub href: String,
    pub label: &'static str,
}

impl Link {
    pub fn new(href: impl Into<String>, label: &'static str) -> Self {
        Self {
            href: href.into(),
            label,
        }
    }
}

#[derive(Debug, Template)]
#[template(path = "pages/notice.html")]
struct NoticePage {
    chrome: Chrome,
    t: &'static Messages,
    heading: &'static str,
    paragraphs: Vec<String>,
    links: Vec<Link>,
}
web_page!(NoticePage);

/// A template that fails to render is a bug; the person still gets an answer, and the cause
/// goes to the log (once, by the `log_failures` middleware).
fn render_failed(error: &askama::Error) -> Response {
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "500 Internal Server Error",
    )
        .into_response();
    response.extensions_mut().insert(ErrorCause(format!(
        "a page template failed to render: {error}"
    )));
    response
}

/// Enough escaping for a path in a query parameter.
pub fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
