//! `serve()`: the HTTP relay (`sns_logger_relay`) started from JavaScript, and its handle.

use crate::logger::{observer, CloseReport, JsNotice, LoggerStats};
use crate::to_js;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use sns_logger_core::runtime;
use sns_logger_relay::{Relay, RelayConfig};
use std::net::SocketAddr;
use std::sync::Arc;

/// Where a listener is.
#[napi(object)]
pub struct RelayAddress {
  pub host: String,
  pub port: u32,
  /// `http://host:port`, for clients.
  pub url: String,
}

impl From<SocketAddr> for RelayAddress {
  fn from(address: SocketAddr) -> Self {
    RelayAddress {
      host: address.ip().to_string(),
      port: address.port().into(),
      url: format!("http://{address}"),
    }
  }
}

#[napi(object)]
pub struct RelayStats {
  /// Requests answered on the public listener.
  pub requests: i64,
  /// Events queued from requests.
  pub events_accepted: i64,
  /// Events refused in 200 answers (bad events).
  pub events_rejected: i64,
  /// True once close() began.
  pub draining: bool,
  /// The relay's logger.
  pub logger: LoggerStats,
}

/// A running relay. `close()` drains it and closes its logger.
#[napi(js_name = "Relay")]
pub struct JsRelay {
  relay: Arc<Relay>,
  warnings: Vec<String>,
}

/// Starts the relay: reads the options and the environment, binds both listeners, opens the
/// logger and serves on the shared runtime. Throws on bad options (`ERR_INVALID_OPTIONS`,
/// `ERR_INVALID_CONFIG`) or an address it cannot bind (`ERR_LISTEN`).
#[napi(
  catch_unwind,
  ts_args_type = "options?: object, onNotice?: (notice: JsNotice) => void, deliveries?: boolean"
)]
pub fn serve(
  options: Option<serde_json::Value>,
  on_notice: Option<Function<JsNotice, ()>>,
  deliveries: Option<bool>,
) -> Result<JsRelay, &'static str> {
  let config =
    RelayConfig::resolve(options.as_ref(), &|name| std::env::var(name).ok()).map_err(to_js)?;
  let warnings = config.warnings();
  let relay = Relay::start(config, observer(on_notice, deliveries)?).map_err(to_js)?;
  Ok(JsRelay {
    relay: Arc::new(relay),
    warnings,
  })
}

#[napi]
impl JsRelay {
  #[napi(getter)]
  pub fn address(&self) -> RelayAddress {
    self.relay.address().into()
  }

  /// The admin listener, which serves `/metrics`.
  #[napi(getter)]
  pub fn admin_address(&self) -> RelayAddress {
    self.relay.admin_address().into()
  }

  /// What the relay refuses by its configuration (no tokens, no widget origin, ...).
  #[napi(getter)]
  pub fn warnings(&self) -> Vec<String> {
    self.warnings.clone()
  }

  #[napi]
  pub fn stats(&self) -> RelayStats {
    let s = self.relay.stats();
    RelayStats {
      requests: s.requests as i64,
      events_accepted: s.events_accepted as i64,
      events_rejected: s.events_rejected as i64,
      draining: s.draining,
      logger: s.logger.into(),
    }
  }

  /// Drains (503s while requests in flight finish), stops listening, and closes the logger
  /// within the shutdown timeout; what could not be sent is in the spool. Never rejects.
  #[napi(ts_return_type = "Promise<CloseReport>")]
  pub fn close<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    let relay = self.relay.clone();
    runtime::handle().spawn(async move {
      let report = relay.close().await;
      deferred.resolve(move |_| Ok(CloseReport::from(report)));
    });
    Ok(promise)
  }
}
