//! The routes of both listeners and the middleware around them; the answering is done by
//! [`intake`](crate::intake) (the batches), [`probes`](crate::probes) (health, readiness,
//! metrics) and [`request`](crate::request) (the widget's origin check).

use crate::answer::{Refusal, RelayErrorCode};
use crate::intake::{app_batch, widget_batch};
use crate::metrics::Metrics;
use crate::probes::{healthz, metrics, readyz};
use crate::request::require_widget_origin;
use crate::tokens::Tokens;
use crate::widget::{Origins, RateLimit};
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use sns_logger_core::delivery::AcceptUntil;
use sns_logger_core::Logger;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every request handler shares.
pub struct RelayState {
  pub logger: Logger,
  /// When a request's events count as taken (`--ack`).
  pub accept_until: AcceptUntil,
  pub tokens: Tokens,
  pub origins: Origins,
  pub rate_limit: RateLimit,
  pub body_timeout: Duration,
  pub trust_forwarded_for: bool,
  pub draining: Arc<AtomicBool>,
  pub metrics: Metrics,
  pub counters: Counters,
}

/// What `stats()` counts.
#[derive(Default)]
pub struct Counters {
  pub requests: AtomicU64,
  pub events_accepted: AtomicU64,
  pub events_rejected: AtomicU64,
}

pub type Shared = Arc<RelayState>;

/// The public listener's routes.
pub fn public(state: Shared) -> Router {
  let widget = Router::new()
    // OPTIONS is routed so that a preflight passes the origin check and reaches CORS, which
    // answers it; a plain OPTIONS gets 204.
    .route(
      "/v1/w",
      post(widget_batch).options(|| async { StatusCode::NO_CONTENT }),
    )
    .layer(state.origins.cors())
    .layer(middleware::from_fn_with_state(
      state.clone(),
      require_widget_origin,
    ));
  Router::new()
    .route("/v1/batch", post(app_batch))
    .route("/healthz", get(healthz))
    .route("/readyz", get(readyz))
    .merge(widget)
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(middleware::from_fn_with_state(state.clone(), observe))
    .with_state(state)
}

/// The admin listener's routes.
pub fn admin(state: Shared) -> Router {
  Router::new()
    .route("/metrics", get(metrics))
    .route("/healthz", get(healthz))
    .fallback(not_found)
    .with_state(state)
}

/// Counts and times every answer of the public listener.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
  let route = match request
    .extensions()
    .get::<MatchedPath>()
    .map(MatchedPath::as_str)
  {
    Some("/v1/batch") => "batch",
    Some("/v1/w") => "widget",
    Some("/healthz") => "healthz",
    Some("/readyz") => "readyz",
    _ => "other",
  };
  let started = Instant::now();
  let response = next.run(request).await;
  state.counters.requests.fetch_add(1, Relaxed);
  state.metrics.request(
    route,
    response.status().as_u16(),
    started.elapsed().as_secs_f64(),
  );
  response
}

async fn not_found() -> Refusal {
  Refusal::new(
    RelayErrorCode::NotFound,
    "no such route; the relay has POST /v1/batch, POST /v1/w, GET /healthz and GET /readyz",
  )
}

async fn method_not_allowed() -> Refusal {
  Refusal::new(
    RelayErrorCode::MethodNotAllowed,
    "this route takes another method: POST for /v1/batch and /v1/w, GET for /healthz and /readyz",
  )
}
