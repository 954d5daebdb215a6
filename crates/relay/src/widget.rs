//! The browser's door: which origins may post, CORS for them, a rate limit per client
//! address, and which events a widget may send (the plan's events with source Widget).

use crate::tokens::WIDGET_SOURCE;
use axum::http::{header, HeaderValue, Method};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sns_logger_core::error::quote;
use sns_logger_core::plan::{PropertyValue, TrackingPlan, ValidEvent};
use sns_logger_core::{ErrorCode, LoggerError};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The allow-list of `--widget-origin`, as browsers write an `Origin` header.
#[derive(Debug, Clone, Default)]
pub struct Origins(Vec<HeaderValue>);

impl Origins {
  pub fn parse(origins: &[String]) -> Result<Origins, String> {
    let mut list = Vec::with_capacity(origins.len());
    for origin in origins {
      let normal = normalize(origin).ok_or_else(|| {
        format!(
          "widget origin {} is not allowed; allowed: a scheme, host and optional port such as \"https://www.example.com\" or \"http://localhost:3000\", without a path (\"*\" is not allowed: list each site)",
          quote(origin)
        )
      })?;
      let value = HeaderValue::from_str(&normal).map_err(|_| {
        format!(
          "widget origin {} is not a valid header value",
          quote(origin)
        )
      })?;
      if !list.contains(&value) {
        list.push(value);
      }
    }
    Ok(Origins(list))
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_empty()
  }

  pub fn allows(&self, origin: &HeaderValue) -> bool {
    self.0.iter().any(|allowed| allowed == origin)
  }

  /// CORS for the widget route only: the allowed origin echoed (with `Vary: Origin`), POST
  /// and OPTIONS, `Content-Type`, cached an hour, never credentials. `Retry-After` is exposed
  /// so that the page's script can wait as long as a 429 or 503 asks.
  pub fn cors(&self) -> CorsLayer {
    CorsLayer::new()
      .allow_origin(AllowOrigin::list(self.0.clone()))
      .allow_methods([Method::POST, Method::OPTIONS])
      .allow_headers([header::CONTENT_TYPE])
      .expose_headers([header::RETRY_AFTER])
      .max_age(Duration::from_secs(3600))
  }
}

/// `scheme://host[:port]`, lower-cased, for http and https only.
fn normalize(origin: &str) -> Option<String> {
  let (scheme, rest) = origin.trim().split_once("://")?;
  let scheme = scheme.to_ascii_lowercase();
  if scheme != "http" && scheme != "https" {
    return None;
  }
  // A port follows the last ':' unless that ':' sits inside an IPv6 address's brackets.
  let (host, port) = match rest.rfind(':') {
    Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
    _ => (rest, None),
  };
  if port.is_some_and(|p| p.parse::<u16>().is_err()) {
    return None;
  }
  let host_ok = !host.is_empty()
    && (host
      .bytes()
      .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
      || host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
          .parse::<std::net::Ipv6Addr>()
          .is_ok());
  if !host_ok {
    return None;
  }
  let host = host.to_ascii_lowercase();
  Some(match port {
    Some(port) => format!("{scheme}://{host}:{port}"),
    None => format!("{scheme}://{host}"),
  })
}

/// Widget requests per second per client address, with a burst of twice that.
pub struct RateLimit {
  limiter: DefaultKeyedRateLimiter<IpAddr>,
  clock: DefaultClock,
}

impl RateLimit {
  pub fn per_second(rate: NonZeroU32) -> RateLimit {
    let burst = rate.saturating_mul(NonZeroU32::new(2).expect("2 is not 0"));
    RateLimit {
      limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
      clock: DefaultClock::default(),
    }
  }

  /// `Err(wait)` when `client` is over its rate.
  pub fn admit(&self, client: IpAddr) -> Result<(), Duration> {
    self
      .limiter
      .check_key(&client)
      .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
  }

  /// Forgets clients that are back within their rate, so memory follows the active ones.
  pub fn forget_idle(&self) {
    self.limiter.retain_recent();
    self.limiter.shrink_to_fit();
  }
}

/// Admits an event on the widget route: one the plan lists with source Widget, from a tab.
pub fn admit(plan: &TrackingPlan, event: &ValidEvent) -> Result<(), LoggerError> {
  if !plan.sources_of(event).iter().any(|s| s == WIDGET_SOURCE) {
    let allowed = plan.events_of_source(WIDGET_SOURCE);
    return Err(LoggerError::new(
      ErrorCode::NotAWidgetEvent,
      format!(
        "{} is not an event the widget sends; allowed from the widget: {}",
        event_name(plan, event),
        allowed.join(", ")
      ),
    ));
  }
  if event.tab_id.is_empty() {
    return Err(LoggerError::new(
      ErrorCode::InvalidEvent,
      "tabId is required for widget events: a non-empty string naming the browser tab",
    ));
  }
  Ok(())
}

/// `"Chat Session" / "closed"`, with the enum value that decides its source when the action
/// does not (`with close_method "agent"`).
fn event_name(plan: &TrackingPlan, event: &ValidEvent) -> String {
  let name = format!("{} / {}", quote(event.category), quote(event.action));
  let action = plan
    .category(event.category)
    .and_then(|c| c.action(event.action));
  if action.is_some_and(|a| a.sources.is_empty()) {
    if let Some((property, PropertyValue::String(value))) = event
      .properties
      .iter()
      .find(|(_, v)| matches!(v, PropertyValue::String(_)))
    {
      return format!("{name} with {property} {}", quote(value));
    }
  }
  name
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn origins_are_kept_as_browsers_write_them() {
    let origins = Origins::parse(&[
      "https://WWW.Example.com".into(),
      "http://localhost:3000".into(),
      "http://[::1]:8080".into(),
      "http://[::1]".into(),
    ])
    .unwrap();
    assert!(origins.allows(&HeaderValue::from_static("https://www.example.com")));
    assert!(origins.allows(&HeaderValue::from_static("http://localhost:3000")));
    assert!(origins.allows(&HeaderValue::from_static("http://[::1]:8080")));
    assert!(origins.allows(&HeaderValue::from_static("http://[::1]")));
    assert!(!origins.allows(&HeaderValue::from_static("http://localhost:3001")));
    assert!(!origins.allows(&HeaderValue::from_static("https://evil.example.com")));
    for bad in [
      "*",
      "null",
      "www.example.com",
      "https://example.com/",
      "https://example.com/path",
      "ftp://x",
      "https://a:99999",
      "https://a:",
      "https://user@host",
      "http://[::1",
    ] {
      let error = Origins::parse(&[bad.into()]).unwrap_err();
      assert!(error.contains(&quote(bad)), "{error}");
    }
  }

  #[test]
  fn the_rate_limit_allows_a_burst_of_twice_the_rate() {
    let limit = RateLimit::per_second(NonZeroU32::new(2).unwrap());
    let client: IpAddr = "127.0.0.7".parse().unwrap();
    for _ in 0..4 {
      assert!(limit.admit(client).is_ok());
    }
    let wait = limit.admit(client).unwrap_err();
    assert!(wait <= Duration::from_millis(500), "{wait:?}");
    assert!(
      limit.admit("127.0.0.8".parse().unwrap()).is_ok(),
      "another client has its own budget"
    );
  }
}
