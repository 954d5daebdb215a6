//! What a request says about itself, checked before its events are read: who is asking (a
//! bearer token, or the widget's origin), where from (the client address), what it sent (the
//! content type) and the body itself, within the route's limit and the body timeout.

use crate::answer::{Refusal, RelayErrorCode};
use crate::batch::Limits;
use crate::router::Shared;
use crate::tokens::Tokens;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sns_logger_core::error::quote;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The app's source, from its `Authorization: Bearer` token.
pub fn authenticate<'t>(tokens: &'t Tokens, headers: &HeaderMap) -> Result<&'t Arc<str>, Refusal> {
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

/// The widget route's middleware: only a request from an allowed `Origin` goes on.
pub async fn require_widget_origin(
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

/// The body must be one of `allowed` media types, in UTF-8 (no other `charset`), and sent as
/// is: the relay decodes no `Content-Encoding`, and reading a compressed or otherwise encoded
/// body as UTF-8 JSON would misread it.
pub fn require_content_type(headers: &HeaderMap, allowed: &[&str]) -> Result<(), Refusal> {
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

/// The whole body, refused as soon as it is known to be over the route's limit (from
/// `Content-Length`, or while reading) or when it takes longer than `timeout` to arrive.
pub async fn read_body(
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
pub fn client_address(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool) -> IpAddr {
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

#[cfg(test)]
mod tests {
  use super::*;

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
