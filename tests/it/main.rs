//! jkjav's one integration-test binary. Redis tests start their own `redis-server`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod conformance;
mod cross_site;
mod events;
mod harness;
mod hostile;
mod html;
mod layers;
mod limits;
mod metrics;
mod openapi;
mod operators;
mod probe;
mod process;
mod resilience;
mod scrape;
mod slow_clients;
mod snapshot;
mod tansu;
mod web;
mod web_router;
