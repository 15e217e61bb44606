//! jkjav: a vaccination appointment booking service that never confirms what it did not store.
//!
//! The map of the crate, from the core outwards. Each room imports only rooms listed above it
//! (`domain ← catalogue ← store ← events ← booking ← http ← api, web ← app`); the two leaf
//! utilities ([`limiter`], [`metrics`]) and [`config`] import nothing of the others.
//!
//! - [`domain`]: newtypes that parse at the edge (MyKad, phone, reference, slot…) and the one
//!   parse of a person's details that every front end uses.
//! - [`catalogue`]: states → centres → slots and campaign hours, from TOML.
//! - [`store`]: the `Store` trait; Redis (one Lua script per booking) and in-memory backends.
//! - [`events`]: the booking event schema, the Kafka/log publisher, the outbox relay.
//! - [`booking`]: `BookingService`, the one path to book, cancel, look up and find a booking,
//!   the limits on failed attempts to open one (counted in the store), and the availability
//!   snapshot that keeps readers off the store. No HTTP in it or below it.
//! - [`http`]: what both front ends share — `AppState`, who the client is (through trusted
//!   proxies only), the limits (body read before the in-flight permit, shedding, per-client),
//!   the middleware (cross-site writes refused, time bound, Retry-After, failure logs, request
//!   metrics), health endpoints (public and operators'), static assets, the HTTP layer's own
//!   refusals, and the serving of connections (head deadline, connection caps).
//! - [`api`]: the JSON front ends — `/api/v1` (problem+json errors) and the 2021 seed's
//!   `/stations/{name}` and `/booking` — and their OpenAPI document at `/openapi.json` (docs at
//!   `/docs`), built with the router from the same `routes!` calls.
//! - [`web`]: the citizen pages (askama + htmx, Bahasa Melayu and English, works without
//!   JavaScript), CSRF, the booking pass, the friendly error pages.
//! - [`app`]: `Application::build` wires store → service → relay → router; only `main` and
//!   tests use it.
//! - [`limiter`]: a keyed token bucket (per identity number, per client address).
//! - [`metrics`]: Prometheus series (`prometheus-client`), encoded as OpenMetrics at `/metrics`
//!   on the operators' address.
//! - [`config`]: every setting as a flag and an environment variable.
//! - [`telemetry`]: JSON logs without personal data.

pub mod api;
pub mod app;
pub mod booking;
pub mod catalogue;
pub mod config;
pub mod domain;
pub mod events;
pub mod http;
pub mod limiter;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod web;
