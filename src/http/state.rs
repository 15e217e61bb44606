//! `AppState`: what every handler can reach. A cheap `Clone` handle.

use std::sync::Arc;

use super::limits::Limits;
use super::refusal::Refusals;
use crate::booking::BookingService;
use crate::config::ServeConfig;

#[derive(Debug, Clone)]
pub struct AppState {
    /// The one path to book, cancel and look up.
    pub service: BookingService,
    pub config: Arc<ServeConfig>,
    /// Per-IP booking limit, client-IP source and the in-flight bound.
    pub limits: Arc<Limits>,
    /// How the HTTP layer's own refusals look to an API client and to a browser.
    pub refusals: Refusals,
}
