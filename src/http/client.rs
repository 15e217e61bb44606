//! `Client`: who a request comes from, as the per-client limits count it (an address; an IPv6
//! /64), from the connection or a trusted proxy's `X-Forwarded-For`.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::state::AppState;
use crate::booking::ClientKey;

/// The request's client. Never refuses: without a known address (an in-process call) every
/// such request is one shared client.
#[derive(Debug, Clone)]
pub struct Client(pub ClientKey);

impl<S> FromRequestParts<S> for Client
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let ip = state.limits.client_ip.client_ip(&parts.headers, peer);
        Ok(Self(ClientKey::of(ip)))
    }
}
