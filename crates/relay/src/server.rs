//! The relay's life: bind both listeners, open the logger, serve on the core's runtime, and
//! on close drain (503s, requests in flight finish) before the logger closes.

use crate::config::{Ack, RelayConfig};
use crate::connections::{self, ConnectionLimits, Phase};
use crate::metrics::Metrics;
use crate::router::{self, Counters, RelayState};
use crate::widget::RateLimit;
use sns_logger_core::delivery::{AcceptUntil, CloseReport, Observer, Stats};
use sns_logger_core::{runtime, ErrorCode, Logger, LoggerError, Result};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the rate limiter forgets clients that went quiet.
const FORGET_IDLE_CLIENTS_EVERY: Duration = Duration::from_secs(60);
/// Before it stops listening, a closing relay answers 503 (and `/readyz` 503), each answer with
/// `Connection: close`, this long at most, so that a load balancer sees it leave instead of
/// refused connections. Then connections quiet since before the drain close, and a request
/// head that had begun to arrive, or a connection opened during the notice, gets as long
/// again to send its request (and its 503).
const MAX_DRAIN_NOTICE: Duration = Duration::from_secs(1);

/// What `stats()` reports.
#[derive(Debug, Clone)]
pub struct RelayStats {
  /// Requests answered on the public listener.
  pub requests: u64,
  /// Events queued (each is also counted in the logger's `accepted`).
  pub events_accepted: u64,
  /// Events refused in a 200 answer.
  pub events_rejected: u64,
  pub draining: bool,
  pub logger: Stats,
}

/// A running relay.
pub struct Relay {
  address: SocketAddr,
  admin_address: SocketAddr,
  state: Arc<RelayState>,
  shutdown_timeout: Duration,
  phase: watch::Sender<Phase>,
  servers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
  forget_idle: JoinHandle<()>,
}

fn listen_error(what: &str, address: SocketAddr, error: std::io::Error) -> LoggerError {
  LoggerError::new(
    ErrorCode::ListenFailed,
    format!("cannot listen on {address} for {what}: {error}"),
  )
}

impl Relay {
  /// Checks the spool directory, binds the listeners, then opens the logger (which replays an
  /// earlier run's spool) and serves. Fails with `ERR_INVALID_OPTIONS` when the spool directory
  /// cannot be used (nothing listens then), `ERR_LISTEN` when an address cannot be bound.
  pub fn start(config: RelayConfig, observer: Option<Observer>) -> Result<Relay> {
    let runtime = runtime::handle();
    let bind = |address: SocketAddr, what: &str| -> Result<tokio::net::TcpListener> {
      let listener =
        std::net::TcpListener::bind(address).map_err(|e| listen_error(what, address, e))?;
      listener
        .set_nonblocking(true)
        .map_err(|e| listen_error(what, address, e))?;
      let _entered = runtime.enter();
      tokio::net::TcpListener::from_std(listener).map_err(|e| listen_error(what, address, e))
    };
    // A spool directory that cannot be used is an error now, before anything listens, not a
    // warning at the first write.
    if let Some(dir) = &config.logger.delivery.spool_dir {
      sns_logger_core::delivery::validate_spool_dir(dir)?;
    }
    let public = bind(config.listen, "the relay")?;
    let admin = bind(config.admin, "the admin listener (/metrics)")?;
    let address = public
      .local_addr()
      .map_err(|e| listen_error("the relay", config.listen, e))?;
    let admin_address = admin
      .local_addr()
      .map_err(|e| listen_error("the admin listener", config.admin, e))?;
    let accept_until = match config.ack {
      Ack::Published => AcceptUntil::Published(config.publish_timeout),
      Ack::Spooled | Ack::Queued => AcceptUntil::Kept,
    };
    let logger = Logger::open(config.logger, observer)?;
    let draining = Arc::new(AtomicBool::new(false));
    let state = Arc::new(RelayState {
      logger: logger.clone(),
      accept_until,
      tokens: config.tokens,
      origins: config.widget_origins,
      rate_limit: RateLimit::per_second(config.widget_rate),
      body_timeout: config.body_timeout,
      trust_forwarded_for: config.trust_forwarded_for,
      draining: draining.clone(),
      metrics: Metrics::new(logger, draining.clone()),
      counters: Counters::default(),
    });
    let (phase, phase_seen) = watch::channel(Phase::Serving);
    let limits = ConnectionLimits {
      header_timeout: config.header_timeout,
      idle_timeout: config.idle_timeout,
      max_connections: config.max_connections,
      discard_time: config.body_timeout,
    };
    let serve = |listener, router| {
      connections::serve(
        runtime,
        listener,
        router,
        draining.clone(),
        phase_seen.clone(),
        limits,
      )
    };
    let servers = vec![
      serve(public, router::public(state.clone())),
      serve(admin, router::admin(state.clone())),
    ];
    let forget_idle = runtime.spawn({
      let state = state.clone();
      async move {
        let mut every = tokio::time::interval(FORGET_IDLE_CLIENTS_EVERY);
        loop {
          every.tick().await;
          state.rate_limit.forget_idle();
        }
      }
    });
    Ok(Relay {
      address,
      admin_address,
      state,
      shutdown_timeout: config.shutdown_timeout,
      phase,
      servers: parking_lot::Mutex::new(servers),
      forget_idle,
    })
  }

  pub fn address(&self) -> SocketAddr {
    self.address
  }

  pub fn admin_address(&self) -> SocketAddr {
    self.admin_address
  }

  pub fn stats(&self) -> RelayStats {
    let state = &self.state;
    let counters = &state.counters;
    RelayStats {
      requests: counters.requests.load(Relaxed),
      events_accepted: counters.events_accepted.load(Relaxed),
      events_rejected: counters.events_rejected.load(Relaxed),
      draining: state.draining.load(Relaxed),
      logger: state.logger.stats(),
    }
  }

  /// Drains and stops: from now on `/readyz` and new requests get 503; after a short notice
  /// the listeners close, requests in flight finish, and the logger closes with what is left
  /// of the shutdown timeout (what it cannot send in time goes to the spool). A second call
  /// waits for nothing and reports the logger's close again.
  pub async fn close(&self) -> CloseReport {
    let deadline = tokio::time::Instant::now() + self.shutdown_timeout;
    if !self.state.draining.swap(true, Relaxed) {
      let drain_began = tokio::time::Instant::now();
      let notice = MAX_DRAIN_NOTICE.min(self.shutdown_timeout / 4);
      tokio::time::sleep(notice).await;
      self.phase.send_replace(Phase::Closing {
        drain_began,
        heads_until: tokio::time::Instant::now() + notice,
      });
    }
    let servers = std::mem::take(&mut *self.servers.lock());
    for server in servers {
      if tokio::time::timeout_at(deadline, server).await.is_err() {
        break; // A request still in flight at the deadline is cut off; its events were not queued.
      }
    }
    self.forget_idle.abort();
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let logger = &self.state.logger;
    let report = logger.close(left).await;
    sns_logger_core::delivery::open_loggers::forget(logger);
    report
  }
}
