#![deny(clippy::all)]
//! The relay: an HTTP intake in front of the core, for the event sources that cannot load
//! the addon. Sandboxed apps post batches with a bearer token (`/v1/batch`), the browser
//! widget posts from an allowed origin (`/v1/w`); both are parsed, validated by the plan and
//! queued on the core's runtime without touching JavaScript.
//!
//! The path of a request: [`server`] (listeners, draining) -> [`connections`] (the cap,
//! header and idle timeouts, the drain per connection, the discard of refused bodies) ->
//! [`router`] (which route, the request metrics) -> [`intake`] (a batch route's checks in
//! order, then its events), which asks [`request`] who is asking and reads the body within
//! its limits -> [`batch`] (the body, as events, each read by [`event_json`]) ->
//! `sns_logger_core::Logger::prepare` / `accept`, each event with its [`dedup`] id.
//! [`probes`] answers `/healthz`, `/readyz` and `/metrics`; [`tokens`] knows the apps'
//! secrets, [`widget`] the browser's rules (origins, CORS, rate limit, which events),
//! [`metrics`] what `/metrics` says, [`answer`] every status and error body.

mod answer;
mod batch;
mod config;
mod connections;
mod dedup;
mod event_json;
mod intake;
mod metrics;
mod probes;
mod request;
mod router;
mod server;
mod tokens;
mod widget;

pub use answer::RelayErrorCode;
pub use config::{RelayConfig, DEFAULT_ADMIN_PORT, DEFAULT_PORT, RELAY_SETTINGS};
pub use server::{Relay, RelayStats};
