//! jkjav: a vaccination appointment booking service that never confirms what it did not store.
//!
//! The map of the crate, from the edge inwards:
//!
//! - [`config`]: every setting as a flag and an environment variable.
//! - [`app`]: `Application::build` wires store → service → router; middleware (request ids,
//!   timeouts, body limits); `/healthz` and `/readyz`.
//! - [`web`]: the citizen pages (askama + htmx, Bahasa Melayu and English, works without
//!   JavaScript), CSRF, the friendly error pages.
//! - [`api`]: the JSON front ends — `/api/v1` (problem+json errors, OpenAPI at `/openapi.json`,
//!   docs at `/docs`) and the 2021 seed's `/stations/{name}` and `/booking`.
//! - [`booking`]: `BookingService`, the one path to book, cancel and look up, and the
//!   availability snapshot that keeps readers off the store.
//! - [`catalogue`]: states → centres → slots and campaign hours, from TOML.
//! - [`domain`]: newtypes that parse at the edge (MyKad, phone, reference, slot…).
//! - [`store`]: the `Store` trait; Redis (one Lua script per booking) and in-memory backends.
//! - [`events`]: the booking event schema written to the outbox with each change.
//! - [`limits`]: load shedding (503), per-IP and per-identity booking limits (429), header size.
//! - [`metrics`]: Prometheus series, rendered at `/metrics`.
//! - [`telemetry`]: JSON logs without personal data.

pub mod api;
pub mod app;
pub mod booking;
pub mod catalogue;
pub mod config;
pub mod domain;
pub mod events;
pub mod limits;
pub mod metrics;
pub mod store;
pub mod telemetry;
pub mod web;
