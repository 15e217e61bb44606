//! jkjav's one integration-test binary. Redis tests start their own `redis-server`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod conformance;
mod events;
mod flash;
mod harness;
mod process;
mod resilience;
mod tansu;
mod web;
mod web_router;
