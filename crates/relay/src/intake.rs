//! The batch routes: the checks in the order a client would want to hear about them
//! (draining, then who is asking, then what was sent, then how much), then the events,
//! validated one by one and taken together.

use crate::answer::{Accepted, Refusal, Rejected, RelayErrorCode};
use crate::batch::{self, Limits, APP_LIMITS, WIDGET_LIMITS};
use crate::dedup::dedup_id;
use crate::request::{authenticate, client_address, read_body, require_content_type};
use crate::router::{RelayState, Shared};
use crate::tokens::WIDGET_SOURCE;
use crate::widget;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use sns_logger_core::delivery::Refused;
use sns_logger_core::plan::Value;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

/// Seconds a client is asked to wait when the relay is draining or full.
const RETRY_AFTER_UNAVAILABLE: u64 = 5;

const SHUTTING_DOWN: &str = "the relay is shutting down; retry later";

/// `POST /v1/batch`: apps and servers, with a bearer token.
pub async fn app_batch(
  State(state): State<Shared>,
  headers: HeaderMap,
  body: Body,
) -> Result<Json<Accepted>, Refusal> {
  refuse_if_draining(&state)?;
  let source = authenticate(&state.tokens, &headers)?;
  require_content_type(&headers, &["application/json"])?;
  let body = read_body(&headers, body, APP_LIMITS, state.body_timeout).await?;
  take(&state, &body, APP_LIMITS, source, false).await
}

/// `POST /v1/w`: the widget, from an allowed origin (checked by `require_widget_origin`).
pub async fn widget_batch(
  State(state): State<Shared>,
  ConnectInfo(peer): ConnectInfo<SocketAddr>,
  headers: HeaderMap,
  body: Body,
) -> Result<Json<Accepted>, Refusal> {
  refuse_if_draining(&state)?;
  let client = client_address(&headers, peer, state.trust_forwarded_for);
  if let Err(wait) = state.rate_limit.admit(client) {
    return Err(
      Refusal::new(
        RelayErrorCode::RateLimited,
        "too many widget requests from this address; wait for Retry-After seconds",
      )
      .retry_after(wait.as_secs_f64().ceil() as u64),
    );
  }
  require_content_type(&headers, &["application/json", "text/plain"])?;
  let body = read_body(&headers, body, WIDGET_LIMITS, state.body_timeout).await?;
  take(&state, &body, WIDGET_LIMITS, WIDGET_SOURCE, true).await
}

/// 503, with the `Retry-After` a client should honour.
fn unavailable(why: &str) -> Refusal {
  Refusal::new(RelayErrorCode::Unavailable, why).retry_after(RETRY_AFTER_UNAVAILABLE)
}

/// Why the relay cannot take a batch now, for its 503.
fn refusal_reason(refused: Refused) -> &'static str {
  match refused {
    Refused::Closed => SHUTTING_DOWN,
    Refused::Full => {
      "the relay's queue and spool are full (or its spool writer is behind); retry later"
    }
    Refused::SpoolFailing => {
      "the relay's spool cannot be written now, so it cannot keep the events; retry later"
    }
    Refused::Unconfirmed => {
      "SNS has not confirmed every event of the batch in time; retry later with the same messageIds"
    }
  }
}

fn refuse_if_draining(state: &RelayState) -> Result<(), Refusal> {
  if state.draining.load(Relaxed) {
    return Err(unavailable(SHUTTING_DOWN));
  }
  Ok(())
}

/// Validates every event of a body and takes the valid ones together, answering once they
/// are kept as `--ack` asks.
async fn take(
  state: &RelayState,
  body: &[u8],
  limits: Limits,
  source: &str,
  widget: bool,
) -> Result<Json<Accepted>, Refusal> {
  let events = batch::parse(body, limits)?;
  let mut prepared = Vec::with_capacity(events.len());
  let mut names = Vec::with_capacity(events.len());
  let mut rejected = Vec::new();
  for (index, raw) in events.into_iter().enumerate() {
    let result = batch::read_event(raw).and_then(|event| {
      let tab_id = match &event.input.tab_id {
        Some(Value::String(tab)) => tab.as_str(),
        _ => "",
      };
      let dedup_id = event
        .message_id
        .as_deref()
        .map(|id| dedup_id(source, tab_id, id));
      state.logger.prepare(event.input, dedup_id, |plan, valid| {
        if widget {
          widget::admit(plan, valid)?;
        }
        Ok((valid.category.to_string(), valid.action.to_string()))
      })
    });
    match result {
      Ok((event, name)) => {
        prepared.push(event);
        names.push(name);
      }
      Err(error) => rejected.push(Rejected {
        index,
        code: error.code.as_str(),
        message: error.message,
      }),
    }
  }
  if let Err(refused) = state.logger.accept(prepared, state.accept_until).await {
    return Err(unavailable(refusal_reason(refused)));
  }
  let accepted = names.len();
  // One metrics update per kind of event in the batch, not per event.
  names.sort_unstable();
  for same in names.chunk_by(|a, b| a == b) {
    let (category, action) = &same[0];
    state
      .metrics
      .accepted(source, category, action, same.len() as u64);
  }
  for rejection in &rejected {
    state.metrics.rejected(rejection.code);
  }
  let counters = &state.counters;
  counters.events_accepted.fetch_add(accepted as u64, Relaxed);
  counters
    .events_rejected
    .fetch_add(rejected.len() as u64, Relaxed);
  Ok(Json(Accepted { accepted, rejected }))
}
