//! Who the client is: its address (the TCP peer, or — only when that peer is a trusted proxy —
//! the address the proxies forwarded), the key per-client limits count it under (an IPv6
//! client's /64, see `booking::ClientKey`), and whether it reached the site over https.
//! [`identify`] works this out once per request; [`add_hsts`] marks answers sent over https.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::state::AppState;
use crate::booking::ClientKey;
use crate::config::TrustedProxies;

/// Where the client's address and scheme come from.
#[derive(Debug, Clone, Default)]
pub struct ClientIpSource {
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed. Anyone else can
    /// write anything in them.
    pub trusted_proxies: TrustedProxies,
}

/// The client of one request, as [`identify`] found it (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// `None` only for a request that did not come over a socket (an in-process call).
    pub ip: Option<IpAddr>,
    /// A trusted proxy says the client used https.
    pub https: bool,
}

impl ClientIpSource {
    /// The TCP peer, unless it is a trusted proxy: then `X-Forwarded-For` is walked from the
    /// right (each proxy appends the address it saw) past every trusted proxy, and the first
    /// address that is not one is the client. What lies left of it was written by the client
    /// and is never read.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        let mut client = peer?.ip().to_canonical();
        if !self.trusted_proxies.contains(client) {
            return Some(client);
        }
        for hop in forwarded_for(headers).rev() {
            // A trusted proxy wrote this entry; if it is not an address, the proxy that
            // wrote it is the best we know.
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.trusted_proxies.contains(client) {
                break;
            }
        }
        Some(client)
    }

    /// Whether the client used https: only a trusted proxy can say so, in the last
    /// `X-Forwarded-Proto` value (the one the nearest proxy wrote).
    pub fn https(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
        let trusted = peer.is_some_and(|peer| self.trusted_proxies.contains(peer.ip()));
        trusted
            && headers
                .get_all("x-forwarded-proto")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty())
                .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
    }

    pub fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Client {
        Client {
            ip: self.client_ip(headers, peer),
            https: self.https(headers, peer),
        }
    }
}

/// Every `X-Forwarded-For` entry, in order, across all such headers.
fn forwarded_for(headers: &HeaderMap) -> impl DoubleEndedIterator<Item = &str> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

/// An address, with or without a port (`1.2.3.4:5678`, `[2001:db8::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

impl Client {
    /// The key per-client limits count this client under (an IPv4 address; an IPv6 /64).
    pub fn key(&self) -> ClientKey {
        ClientKey::of(self.ip)
    }
}

/// The request's client key, for the store-counted limits (failed lookups, attempts): what
/// [`identify`] found, or — for a router called in process without it — the peer.
#[derive(Debug, Clone)]
pub struct ClientId(pub ClientKey);

impl<S> FromRequestParts<S> for ClientId
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(client) = parts.extensions.get::<Client>() {
            return Ok(Self(client.key()));
        }
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Self(ClientKey::of(
            state.limits.client_ip.client_ip(&parts.headers, peer),
        )))
    }
}

/// Works out the request's [`Client`] once (for the limits and the pages' cookies) and keeps it
/// in the request's extensions.
pub fn identify(state: &AppState, request: &mut Request) -> Client {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = state.limits.client_ip.client(request.headers(), peer);
    request.extensions_mut().insert(client);
    client
}

/// Over https, tells browsers to use nothing else (`Strict-Transport-Security`).
pub fn add_hsts(state: &AppState, client: Client, response: &mut Response) {
    let max_age = state.config.hsts_max_age_secs;
    // Digits only: always a valid header value.
    if (state.config.secure_cookies || client.https)
        && let Ok(hsts) = HeaderValue::from_str(&format!("max-age={max_age}"))
    {
        response
            .headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(trusted: &str) -> ClientIpSource {
        ClientIpSource {
            trusted_proxies: trusted.parse().unwrap(),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40_000))
    }

    fn ip(ip: &str) -> Option<IpAddr> {
        Some(ip.parse().unwrap())
    }

    #[test]
    fn forwarded_headers_are_ignored_from_a_peer_that_is_not_a_trusted_proxy() {
        let forged = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
        ]);
        for trusted in ["", "10.0.0.0/8"] {
            let source = source(trusted);
            assert_eq!(
                source.client_ip(&forged, peer("192.168.1.1")),
                ip("192.168.1.1")
            );
            assert!(!source.https(&forged, peer("192.168.1.1")));
        }
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_first_untrusted_address_from_the_right() {
        let source = source("10.0.0.0/8, fd00::/8");
        // The client wrote 6.6.6.6 itself; the edge proxy saw 203.0.113.9 and appended it;
        // an inner proxy (10.0.0.5) appended the edge's address.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(
            source.client_ip(&chain, peer("10.0.0.7")),
            ip("203.0.113.9")
        );
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "2001:db8::7, fd00::1"),
        ]);
        assert_eq!(
            source.client_ip(&split, peer("::ffff:10.0.0.7")),
            ip("2001:db8::7")
        );
        // Only proxies all the way: the leftmost is as far as anyone can tell.
        let proxies = headers(&[("x-forwarded-for", "10.0.0.1:5000, 10.0.0.2")]);
        assert_eq!(source.client_ip(&proxies, peer("10.0.0.3")), ip("10.0.0.1"));
        // No header: the proxy itself.
        assert_eq!(
            source.client_ip(&HeaderMap::new(), peer("10.0.0.3")),
            ip("10.0.0.3")
        );
        // Garbage a trusted proxy passed on stops the walk at that proxy.
        let garbage = headers(&[("x-forwarded-for", "6.6.6.6, not-an-address, 10.0.0.2")]);
        assert_eq!(source.client_ip(&garbage, peer("10.0.0.3")), ip("10.0.0.2"));
        assert_eq!(source.client_ip(&chain, None), None);
    }

    #[test]
    fn only_a_trusted_proxy_can_say_the_client_used_https() {
        let source = source("10.0.0.0/8");
        let https = headers(&[("x-forwarded-proto", "http, https")]);
        assert!(source.https(&https, peer("10.1.1.1")));
        assert!(!source.https(&https, peer("11.1.1.1")));
        let http = headers(&[("x-forwarded-proto", "https, http")]);
        assert!(!source.https(&http, peer("10.1.1.1")));
        assert!(!source.https(&HeaderMap::new(), peer("10.1.1.1")));
    }
}
