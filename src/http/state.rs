//! `AppState`: what every handler can reach. A cheap `Clone` handle over one `Arc`.

use std::ops::Deref;
use std::sync::Arc;

use super::limits::Limits;
use super::refusal::Refusals;
use crate::booking::BookingService;
use crate::config::ServeConfig;

/// Every middleware layer and extractor clones the state once per request. One `Arc` makes that
/// one reference-count change instead of one per field: with five `Arc`s, those counts bouncing
/// between cores cost a quarter of a `/healthz` answer's CPU (a `perf` profile showed
/// `drop_in_place::<AppState>` at 13 %).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// The state's contents, reached through `AppState`'s `Deref`.
#[derive(Debug)]
pub struct Shared {
    /// The one path to book, cancel and look up.
    pub service: BookingService,
    pub config: Arc<ServeConfig>,
    /// Per-IP booking limit, client-IP source and the in-flight bound.
    pub limits: Arc<Limits>,
    /// How the HTTP layer's own refusals look to an API client and to a browser.
    pub refusals: Refusals,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
