//! What the relay says about itself: `/healthz` (alive), `/readyz` (taking events, or why
//! not) and the admin listener's `/metrics`.

use crate::router::Shared;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sns_logger_core::delivery::Refused;
use std::sync::atomic::Ordering::Relaxed;

pub async fn healthz() -> Json<serde_json::Value> {
  Json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<Shared>) -> Response {
  let refused = if state.draining.load(Relaxed) {
    Some(Refused::Closed)
  } else {
    state.logger.refusal()
  };
  match refused.map(readiness_reason) {
    None => Json(serde_json::json!({ "status": "ready" })).into_response(),
    Some(reason) => (
      StatusCode::SERVICE_UNAVAILABLE,
      Json(serde_json::json!({ "status": reason, "reason": reason })),
    )
      .into_response(),
  }
}

pub async fn metrics(State(state): State<Shared>) -> Response {
  (
    [(
      header::CONTENT_TYPE,
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )],
    state.metrics.encode(),
  )
    .into_response()
}

/// `/readyz`'s reason for not being ready (also the `reason` label of `relay_ready`'s help).
pub fn readiness_reason(refused: Refused) -> &'static str {
  match refused {
    Refused::Closed => "draining",
    Refused::SpoolFailing => "spool_failing",
    Refused::Full | Refused::Unconfirmed => "full",
  }
}
