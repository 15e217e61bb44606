//! What every page handler needs from the request: the language, the CSRF token, whether htmx
//! asked for a partial, and how to write cookies (Secure behind TLS).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use rand::Rng;

use super::i18n::{Lang, Messages};
use crate::app::AppState;

pub const LANG_COOKIE: &str = "lang";
pub const CSRF_COOKIE: &str = "jkjav_csrf";
/// Reference and identity number of the booking just made or looked up, so the result page of
/// a post/redirect/get can show it. HttpOnly, SameSite=Strict, short-lived.
pub const BOOKING_COOKIE: &str = "jkjav_booking";
/// How long the booking cookie lives: long enough to read the confirmation and cancel.
const BOOKING_COOKIE_SECS: u32 = 30 * 60;
const CSRF_TOKEN_BYTES: usize = 32;

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
    /// Cookies get `Secure`: configured so, or the proxy says the client used https.
    secure: bool,
    booking_cookie: Option<String>,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let mut ctx = Self::from_headers(
            &parts.headers,
            parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            state.config.secure_cookies,
        );
        ctx.is_get = parts.method == axum::http::Method::GET;
        Ok(ctx)
    }
}

impl Ctx {
    pub fn from_headers(headers: &HeaderMap, path: String, secure_cookies: bool) -> Self {
        let lang = cookie(headers, LANG_COOKIE)
            .and_then(Lang::parse)
            .or_else(|| {
                headers
                    .get("accept-language")
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::negotiate)
            })
            .unwrap_or(Lang::Ms);
        let htmx = header_is_true(headers, "hx-request")
            && !header_is_true(headers, "hx-history-restore-request");
        let existing = cookie(headers, CSRF_COOKIE)
            .filter(|token| {
                token.len() == CSRF_TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
            })
            .map(str::to_owned);
        let csrf_is_new = existing.is_none();
        let csrf = existing.unwrap_or_else(new_token);
        let secure = secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        Self {
            lang,
            t: lang.messages(),
            htmx,
            path,
            is_get: true,
            csrf,
            csrf_is_new,
            secure,
            booking_cookie: cookie(headers, BOOKING_COOKIE).map(str::to_owned),
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
            self.cookie(CSRF_COOKIE, &self.csrf, None, "Strict")
                .into_iter()
                .collect()
        } else {
            Vec::new()
        }
    }

    pub fn booking_cookie_header(&self, value: &str) -> Option<HeaderValue> {
        self.cookie(BOOKING_COOKIE, value, Some(BOOKING_COOKIE_SECS), "Strict")
    }

    pub fn lang_cookie_header(&self, lang: Lang) -> Option<HeaderValue> {
        // Lax: the choice should hold when someone follows a link here from elsewhere.
        self.cookie(LANG_COOKIE, lang.code(), Some(365 * 24 * 3600), "Lax")
    }

    fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: Option<u32>,
        same_site: &str,
    ) -> Option<HeaderValue> {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
        if let Some(secs) = max_age {
            cookie.push_str(&format!("; Max-Age={secs}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).ok()
    }
}

fn header_is_true(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "true")
}

/// The value of the first cookie called `name` in any `Cookie` header.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
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

    #[test]
    fn the_lang_cookie_wins_over_accept_language_and_malay_is_the_default() {
        let cookie_en = headers(&[("cookie", "a=b; lang=en"), ("accept-language", "ms")]);
        assert_eq!(
            Ctx::from_headers(&cookie_en, "/".into(), false).lang,
            Lang::En
        );
        let header_en = headers(&[("accept-language", "en-US,en;q=0.9")]);
        assert_eq!(
            Ctx::from_headers(&header_en, "/".into(), false).lang,
            Lang::En
        );
        let neither = headers(&[("accept-language", "fr")]);
        assert_eq!(
            Ctx::from_headers(&neither, "/".into(), false).lang,
            Lang::Ms
        );
    }

    #[test]
    fn a_form_token_is_valid_only_with_the_same_cookie() {
        let token = "ab".repeat(CSRF_TOKEN_BYTES);
        let with_cookie = headers(&[("cookie", &format!("jkjav_csrf={token}"))]);
        let ctx = Ctx::from_headers(&with_cookie, "/".into(), false);
        assert!(ctx.csrf_matches(&token));
        assert!(!ctx.csrf_matches(&"cd".repeat(CSRF_TOKEN_BYTES)));
        assert!(!ctx.csrf_matches(""));
        assert!(ctx.set_cookies().is_empty());

        let without = Ctx::from_headers(&HeaderMap::new(), "/".into(), false);
        assert!(!without.csrf_matches(without.csrf()));
        assert_eq!(without.set_cookies().len(), 1);
    }

    #[test]
    fn cookies_are_secure_behind_tls() {
        let tls = headers(&[("x-forwarded-proto", "https")]);
        let ctx = Ctx::from_headers(&tls, "/".into(), false);
        let cookie = ctx.set_cookies()[0].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("Secure") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        let plain = Ctx::from_headers(&HeaderMap::new(), "/".into(), false);
        assert!(!plain.set_cookies()[0].to_str().unwrap().contains("Secure"));
    }
}
