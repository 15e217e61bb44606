//! What the two front ends (`api`, `web`) share, and nothing either owns: the state handlers
//! reach, the HTTP layer's own refusals (overload, timeouts, oversized heads, unknown paths,
//! cross-site writes) and how each front end renders them, who the client is (through trusted
//! proxies only), the protective limits, the middleware every request passes through, the
//! health endpoints, the static assets, and the serving of connections (head deadline,
//! connection caps).
//!
//! It sits above the core (`booking` and below) and below the front ends: it never imports
//! `api`, `web` or `app`. What a front end must supply — the look of a refusal — comes in as a
//! [`RefusalPages`] value when `app` wires everything together.

pub mod assets;
pub mod client;
pub mod health;
pub mod limits;
pub mod middleware;
mod refusal;
pub mod serve;
mod state;

pub use refusal::{ErrorCause, Refusal, RefusalPages, Refusals, RequestHead, wants_html};
pub use state::{AppState, Shared};
