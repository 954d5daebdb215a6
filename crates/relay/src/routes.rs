//! Answering one request: the checks in the order a client would want to hear about them
//! (draining, then who is asking, then what was sent, then how much), then the events.

use crate::answer::{Accepted, Refusal, Rejected, RelayErrorCode};
use crate::batch::{self, Limits, APP_LIMITS, WIDGET_LIMITS};
use crate::metrics::Metrics;
use crate::tokens::{Tokens, WIDGET_SOURCE};
use crate::widget::{self, Origins, RateLimit};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sha2::{Digest, Sha256};
use sns_logger_core::delivery::{AcceptUntil, Refused};
use sns_logger_core::error::quote;
use sns_logger_core::plan::Value;
use sns_logger_core::Logger;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Seconds a client is asked to wait when the relay is draining or full.
const RETRY_AFTER_UNAVAILABLE: u64 = 5;

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

type Shared = Arc<RelayState>;

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

async fn healthz() -> Json<serde_json::Value> {
  Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Shared>) -> Response {
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

async fn metrics(State(state): State<Shared>) -> Response {
  (
    [(
      header::CONTENT_TYPE,
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    )],
    state.metrics.encode(),
  )
    .into_response()
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

/// `POST /v1/batch`: apps and servers, with a bearer token.
async fn app_batch(
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
async fn widget_batch(
  State(state): State<Shared>,
  ConnectInfo(peer): ConnectInfo<SocketAddr>,
  headers: HeaderMap,
  body: Body,
) -> Result<Json<Accepted>, Refusal> {
  refuse_if_draining(&state)?;
  let client = client_address(&headers, peer, state.trust_forwarded_for);
  if let Err(wait) = state.rate_limit.check(client) {
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

async fn require_widget_origin(
  State(state): State<Shared>,
  request: Request,
  next: Next,
) -> Response {
  let allowed = request
    .headers()
    .get(header::ORIGIN)
    .is_some_and(|origin| state.origins.allows(origin));
  if allowed {
    return next.run(request).await;
  }
  let why = if state.origins.is_empty() {
    "the relay allows no widget origin (start it with --widget-origin)"
  } else if request.headers().contains_key(header::ORIGIN) {
    "this Origin is not on the relay's widget allow-list"
  } else {
    "a widget request needs an Origin header from an allowed site"
  };
  Refusal::new(RelayErrorCode::OriginNotAllowed, why).into_response()
}

/// 503, with the `Retry-After` a client should honour.
fn unavailable(why: &str) -> Refusal {
  Refusal::new(RelayErrorCode::Unavailable, why).retry_after(RETRY_AFTER_UNAVAILABLE)
}

const SHUTTING_DOWN: &str = "the relay is shutting down; retry later";

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

/// `/readyz`'s reason for not being ready (also the `reason` label of `relay_ready`'s help).
pub fn readiness_reason(refused: Refused) -> &'static str {
  match refused {
    Refused::Closed => "draining",
    Refused::SpoolFailing => "spool_failing",
    Refused::Full | Refused::Unconfirmed => "full",
  }
}

fn refuse_if_draining(state: &RelayState) -> Result<(), Refusal> {
  if state.draining.load(Relaxed) {
    return Err(unavailable(SHUTTING_DOWN));
  }
  Ok(())
}

fn authenticate<'t>(tokens: &'t Tokens, headers: &HeaderMap) -> Result<&'t Arc<str>, Refusal> {
  let presented = headers
    .get(header::AUTHORIZATION)
    .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "));
  let Some(token) = presented else {
    return Err(Refusal::new(
      RelayErrorCode::Unauthorized,
      "an Authorization: Bearer <token> header is required",
    ));
  };
  tokens.source_of(token).ok_or_else(|| {
    Refusal::new(
      RelayErrorCode::Unauthorized,
      "the bearer token is not one of the relay's tokens",
    )
  })
}

/// The body must be one of `allowed` media types, in UTF-8 (no other `charset`), and sent as
/// is: the relay decodes no `Content-Encoding`, and reading a compressed or otherwise encoded
/// body as UTF-8 JSON would misread it.
fn require_content_type(headers: &HeaderMap, allowed: &[&str]) -> Result<(), Refusal> {
  let unsupported = |message: String| Refusal::new(RelayErrorCode::UnsupportedMediaType, message);
  let given = headers
    .get(header::CONTENT_TYPE)
    .and_then(|v| v.to_str().ok());
  let mut parts = given.unwrap_or("").split(';');
  let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
  if given.is_none() || !allowed.contains(&media.as_str()) {
    return Err(unsupported(format!(
      "Content-Type {} is not taken here; allowed: {}",
      given.map_or("(none)".to_string(), |_| format!(
        "\"{}\"",
        media.escape_debug()
      )),
      allowed.join(" or ")
    )));
  }
  for parameter in parts {
    let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
    if !name.trim().eq_ignore_ascii_case("charset") {
      continue;
    }
    let charset = value.trim().trim_matches('"').to_ascii_lowercase();
    if charset != "utf-8" && charset != "utf8" {
      return Err(unsupported(format!(
        "charset {} is not taken here; allowed: utf-8 (or no charset)",
        quote(&charset)
      )));
    }
  }
  let encodings = headers
    .get_all(header::CONTENT_ENCODING)
    .iter()
    .map(|v| v.to_str().unwrap_or("(not text)"))
    .flat_map(|v| v.split(','))
    .map(str::trim);
  for encoding in encodings {
    if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
      return Err(unsupported(format!(
        "Content-Encoding {} is not taken here; the relay reads bodies as sent (identity)",
        quote(encoding)
      )));
    }
  }
  Ok(())
}

async fn read_body(
  headers: &HeaderMap,
  body: Body,
  limits: Limits,
  timeout: Duration,
) -> Result<Bytes, Refusal> {
  let too_large = || {
    Refusal::new(
      RelayErrorCode::TooLarge,
      format!(
        "the body is over {} bytes, the most this route takes",
        limits.body_bytes
      ),
    )
  };
  let declared = headers
    .get(header::CONTENT_LENGTH)
    .and_then(|v| v.to_str().ok())
    .and_then(|v| v.parse::<u64>().ok());
  if declared.is_some_and(|len| len > limits.body_bytes as u64) {
    return Err(too_large());
  }
  match tokio::time::timeout(timeout, Limited::new(body, limits.body_bytes).collect()).await {
    Err(_) => Err(Refusal::new(
      RelayErrorCode::RequestTimeout,
      format!("the body did not arrive within {} ms", timeout.as_millis()),
    )),
    Ok(Err(error)) if error.is::<LengthLimitError>() => Err(too_large()),
    Ok(Err(_)) => Err(Refusal::new(
      RelayErrorCode::BadJson,
      "the body could not be read to its end",
    )),
    Ok(Ok(collected)) => Ok(collected.to_bytes()),
  }
}

/// The client's address for the rate limit: the peer, or behind a trusted proxy the address
/// that proxy appended to `X-Forwarded-For`.
fn client_address(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool) -> IpAddr {
  if trust_forwarded_for {
    let forwarded = headers
      .get_all("x-forwarded-for")
      .iter()
      .filter_map(|v| v.to_str().ok())
      .flat_map(|v| v.split(','))
      .last()
      .and_then(|last| last.trim().parse().ok());
    if let Some(address) = forwarded {
      return address;
    }
  }
  peer.ip()
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

/// The `MessageDeduplicationId` of a client's `messageId`: the same for a retried request,
/// different for another source or another browser tab that happens to pick the same id.
fn dedup_id(source: &str, tab_id: &str, message_id: &str) -> String {
  let mut hash = Sha256::new();
  for part in [source, tab_id, message_id] {
    hash.update(part.as_bytes());
    hash.update([0]);
  }
  let digest = hash.finalize();
  let mut id = String::with_capacity(65);
  id.push('m');
  for byte in digest {
    id.push_str(&format!("{byte:02x}"));
  }
  id
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_message_id_gives_the_same_dedup_id_within_its_source_and_tab_only() {
    let a = dedup_id("SF.app", "", "m-1");
    assert_eq!(a, dedup_id("SF.app", "", "m-1"));
    assert_ne!(a, dedup_id("DF.app", "", "m-1"));
    assert_ne!(
      dedup_id("Widget", "tab-1", "1"),
      dedup_id("Widget", "tab-2", "1")
    );
    assert_ne!(dedup_id("Widget", "a", "b"), dedup_id("Widget", "ab", ""));
    assert!(a.len() <= 128 && a.bytes().all(|b| b.is_ascii_alphanumeric()));
  }

  #[test]
  fn the_client_address_comes_from_the_proxy_only_when_trusted() {
    let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut headers = HeaderMap::new();
    headers.append("x-forwarded-for", "10.0.0.1, 10.0.0.2".parse().unwrap());
    headers.append("x-forwarded-for", "203.0.113.9".parse().unwrap());
    assert_eq!(client_address(&headers, peer, false), peer.ip());
    assert_eq!(
      client_address(&headers, peer, true),
      "203.0.113.9".parse::<IpAddr>().unwrap()
    );
    assert_eq!(client_address(&HeaderMap::new(), peer, true), peer.ip());
  }
}
