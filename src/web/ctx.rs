//! What every page handler needs from the request: the language, the CSRF token, whether htmx
//! asked for a partial, and how to write cookies (over https: `Secure`, and named with the
//! `__Host-` prefix). Cookies are read and written with the `cookie` crate.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use cookie::{Cookie, SameSite};
use rand::Rng;

use super::WebState;
use super::i18n::{Lang, Messages};
use super::pass::PASS_LIFETIME;
use crate::http::RequestHead;
use crate::http::client::Client;

/// A cookie's name over plain http, and over https: there it carries the `__Host-` prefix, so
/// browsers take it only when it is `Secure`, has `Path=/` and no `Domain` — a sibling
/// subdomain or a plain-http page cannot plant one (say, a CSRF token of its choosing).
#[derive(Debug, Clone, Copy)]
pub struct CookieName {
    plain: &'static str,
    host_only: &'static str,
}

impl CookieName {
    pub fn get(self, secure: bool) -> &'static str {
        if secure { self.host_only } else { self.plain }
    }
}

pub const LANG_COOKIE: CookieName = CookieName {
    plain: "lang",
    host_only: "__Host-lang",
};
pub const CSRF_COOKIE: CookieName = CookieName {
    plain: "jkjav_csrf",
    host_only: "__Host-jkjav_csrf",
};
/// The signed booking pass (see `web::pass`) of the booking just made or looked up, so the
/// result page of a post/redirect/get can show it. HttpOnly, SameSite=Strict, short-lived.
pub const BOOKING_COOKIE: CookieName = CookieName {
    plain: "jkjav_booking",
    host_only: "__Host-jkjav_booking",
};
const CSRF_TOKEN_BYTES: usize = 32;
/// The language choice is kept for a year.
const LANG_COOKIE_SECS: i64 = 365 * 24 * 3600;

/// The request as the web pages see it.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub t: &'static Messages,
    /// Asked by htmx for a partial (and not a history restore, which needs the whole page).
    pub htmx: bool,
    /// The path and query of this request, so the language switcher can come back to it.
    pub path: String,
    /// A GET: coming back to `path` shows the same page (after a POST it would not).
    pub is_get: bool,
    /// The double-submit token: the cookie's value, or a new one this response sets.
    csrf: String,
    csrf_is_new: bool,
    /// Over https (configured so, or a trusted proxy says the client used it): cookies are
    /// `Secure` and carry the `__Host-` prefix.
    secure: bool,
    booking_cookie: Option<String>,
}

impl FromRequestParts<WebState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let https = parts
            .extensions
            .get::<Client>()
            .is_some_and(|client| client.https);
        Ok(Self::new(
            &parts.headers,
            &parts.method,
            path_and_query(&parts.uri),
            state.app.config.secure_cookies || https,
        ))
    }
}

fn path_and_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query().map_or("/", |p| p.as_str()).to_owned()
}

impl Ctx {
    /// For pages rendered outside a handler (the HTTP layer's refusals, [`super::error`]).
    pub fn from_head(head: &RequestHead, secure_cookies: bool) -> Self {
        Self::new(
            &head.headers,
            &head.method,
            path_and_query(&head.uri),
            secure_cookies || head.https,
        )
    }

    fn new(headers: &HeaderMap, method: &Method, path: String, secure: bool) -> Self {
        let lang = cookie(headers, LANG_COOKIE.get(secure))
            .and_then(|value| Lang::parse(&value))
            .or_else(|| {
                headers
                    .get("accept-language")
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::negotiate)
            })
            .unwrap_or(Lang::Ms);
        let htmx = header_is_true(headers, "hx-request")
            && !header_is_true(headers, "hx-history-restore-request");
        let existing = cookie(headers, CSRF_COOKIE.get(secure)).filter(|token| {
            token.len() == CSRF_TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
        });
        let csrf_is_new = existing.is_none();
        let csrf = existing.unwrap_or_else(new_token);
        Self {
            lang,
            t: lang.messages(),
            htmx,
            path,
            is_get: method == Method::GET,
            csrf,
            csrf_is_new,
            secure,
            booking_cookie: cookie(headers, BOOKING_COOKIE.get(secure)),
        }
    }

    /// The token to put in every form of this page.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// A form's token is valid only if this browser already had the cookie and they match.
    pub fn csrf_matches(&self, submitted: &str) -> bool {
        !self.csrf_is_new && constant_time_eq(self.csrf.as_bytes(), submitted.as_bytes())
    }

    pub fn booking_cookie(&self) -> Option<&str> {
        self.booking_cookie.as_deref()
    }

    /// `Set-Cookie` values this response must carry (a new CSRF token).
    pub fn set_cookies(&self) -> Vec<HeaderValue> {
        if self.csrf_is_new {
            let csrf = self.cookie(CSRF_COOKIE, self.csrf.clone(), SameSite::Strict);
            self.header(csrf).into_iter().collect()
        } else {
            Vec::new()
        }
    }

    /// The booking pass cookie, living as long as the pass it carries.
    pub fn booking_cookie_header(&self, value: String) -> Option<HeaderValue> {
        let mut cookie = self.cookie(BOOKING_COOKIE, value, SameSite::Strict);
        cookie.set_max_age(cookie::time::Duration::seconds(
            PASS_LIFETIME.as_secs() as i64
        ));
        self.header(cookie)
    }

    pub fn lang_cookie_header(&self, lang: Lang) -> Option<HeaderValue> {
        // Lax: the choice should hold when someone follows a link here from elsewhere.
        let mut cookie = self.cookie(LANG_COOKIE, lang.code().to_owned(), SameSite::Lax);
        cookie.set_max_age(cookie::time::Duration::seconds(LANG_COOKIE_SECS));
        self.header(cookie)
    }

    fn cookie(&self, name: CookieName, value: String, same_site: SameSite) -> Cookie<'static> {
        Cookie::build((name.get(self.secure), value))
            .path("/")
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure)
            .build()
    }

    fn header(&self, cookie: Cookie<'_>) -> Option<HeaderValue> {
        HeaderValue::from_str(&cookie.to_string()).ok()
    }
}

fn header_is_true(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "true")
}

/// The value of the first cookie called `name` in any `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}

fn new_token() -> String {
    let mut bytes = [0u8; CSRF_TOKEN_BYTES];
    rand::rng().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so timing reveals nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn ctx(headers: &HeaderMap) -> Ctx {
        Ctx::new(headers, &Method::GET, "/".into(), false)
    }

    #[test]
    fn the_lang_cookie_wins_over_accept_language_and_malay_is_the_default() {
        let cookie_en = headers(&[("cookie", "a=b; lang=en"), ("accept-language", "ms")]);
        assert_eq!(ctx(&cookie_en).lang, Lang::En);
        let header_en = headers(&[("accept-language", "en-US,en;q=0.9")]);
        assert_eq!(ctx(&header_en).lang, Lang::En);
        let neither = headers(&[("accept-language", "fr")]);
        assert_eq!(ctx(&neither).lang, Lang::Ms);
    }

    #[test]
    fn a_form_token_is_valid_only_with_the_same_cookie() {
        let token = "ab".repeat(CSRF_TOKEN_BYTES);
        let with_cookie = headers(&[("cookie", &format!("jkjav_csrf={token}"))]);
        let with = ctx(&with_cookie);
        assert!(with.csrf_matches(&token));
        assert!(!with.csrf_matches(&"cd".repeat(CSRF_TOKEN_BYTES)));
        assert!(!with.csrf_matches(""));
        assert!(with.set_cookies().is_empty());

        let without = ctx(&HeaderMap::new());
        assert!(!without.csrf_matches(without.csrf()));
        assert_eq!(without.set_cookies().len(), 1);
    }

    #[test]
    fn over_https_cookies_are_secure_host_only_and_read_back_under_that_name() {
        let tls = Ctx::new(&HeaderMap::new(), &Method::GET, "/".into(), true);
        let cookie = Cookie::parse(tls.set_cookies()[0].to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cookie.name(), "__Host-jkjav_csrf");
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.path(), Some("/"));
        assert_eq!(cookie.domain(), None);
        assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        let lang = tls.lang_cookie_header(Lang::En).unwrap();
        assert!(lang.to_str().unwrap().starts_with("__Host-lang=en;"));

        // Back over https, only the prefixed cookies count; a plain one could have been
        // planted by a plain-http page or a sibling subdomain.
        let token = "ab".repeat(CSRF_TOKEN_BYTES);
        let back = headers(&[(
            "cookie",
            &format!("jkjav_csrf={token}; lang=en; jkjav_booking=planted"),
        )]);
        let planted = Ctx::new(&back, &Method::GET, "/".into(), true);
        assert!(!planted.csrf_matches(&token));
        assert_eq!(planted.lang, Lang::Ms);
        assert_eq!(planted.booking_cookie(), None);
        let prefixed = headers(&[("cookie", &format!("__Host-jkjav_csrf={token}"))]);
        assert!(Ctx::new(&prefixed, &Method::GET, "/".into(), true).csrf_matches(&token));

        let plain = ctx(&HeaderMap::new());
        let cookie = Cookie::parse(plain.set_cookies()[0].to_str().unwrap().to_owned()).unwrap();
        assert_eq!(cookie.name(), "jkjav_csrf");
        assert_eq!(cookie.secure(), None);
    }

    #[test]
    fn a_forwarded_proto_header_alone_does_not_make_cookies_secure() {
        // Believed only from a trusted proxy, which `identify_client` decides, not the page.
        let forged = headers(&[("x-forwarded-proto", "https")]);
        let cookie = ctx(&forged).set_cookies()[0].to_str().unwrap().to_owned();
        assert!(
            cookie.starts_with("jkjav_csrf=") && !cookie.contains("Secure"),
            "{cookie}"
        );
    }

    #[test]
    fn the_booking_pass_cookie_lives_as_long_as_the_pass() {
        let set = ctx(&HeaderMap::new())
            .booking_cookie_header("pass".into())
            .unwrap();
        let parsed = Cookie::parse(set.to_str().unwrap().to_owned()).unwrap();
        assert_eq!(
            parsed.max_age().map(|age| age.whole_seconds()),
            Some(PASS_LIFETIME.as_secs() as i64)
        );
        assert_eq!(parsed.same_site(), Some(SameSite::Strict));
    }
}
