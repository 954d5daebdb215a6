//! The relay's connections: an accept loop that serves at most `max_connections` at once per
//! listener, and for each connection hyper's HTTP/1.1 with a watchdog that closes it when a
//! request head takes longer than the header timeout, when it stays quiet past the idle
//! timeout, and when the relay drains; plus the bounded discard of a request body the relay
//! answered without reading it.
//!
//! This file holds the limits, the drain [`Phase`]s, the accept loop ([`serve`]) and the
//! serving of one connection; what a connection is doing and when its watchdog closes it
//! (with the socket wrapper that reports the bytes read) is in [`watchdog`], the discard of
//! refused bodies in [`discard`].
//!
//! hyper's own `header_read_timeout` is not used: it runs from the moment a connection waits
//! for a head, so it also bounds the quiet time between kept-alive requests, and a header
//! timeout shorter than the idle timeout would cut every quiet connection short.

mod discard;
mod watchdog;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request};
use axum::Router;
use discard::Discarding;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::{pending, poll_fn};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;
use watchdog::{Activity, Verdict, Watched};

/// After a failed accept (out of file descriptors), the pause before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How long connections may take, and how many there may be.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
  /// From the first byte of a request head to its end.
  pub header_timeout: Duration,
  /// Quiet, between requests or before the first.
  pub idle_timeout: Duration,
  /// At once, per listener.
  pub max_connections: usize,
  /// How long a refused body may still be read: the body timeout.
  pub discard_time: Duration,
}

/// Where the relay is in its life, as its connections see it. While the relay drains but still
/// listens it is `Serving` here (its answers say `Connection: close`, by the draining flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
  Serving,
  /// The listeners are closed: a connection quiet since before the drain began closes; one
  /// whose request head has begun to arrive, or that was opened or answered during the drain
  /// notice, may send its request until `heads_until` (and gets its 503).
  Closing {
    drain_began: Instant,
    heads_until: Instant,
  },
}

/// Accepts on `listener` until the phase is `Closing`, then waits for every connection to end.
pub fn serve(
  runtime: &Handle,
  listener: TcpListener,
  router: Router,
  draining: Arc<AtomicBool>,
  phase: watch::Receiver<Phase>,
  limits: ConnectionLimits,
) -> JoinHandle<()> {
  runtime.spawn(async move {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let closing = {
      let mut phase = phase.clone();
      async move {
        if phase.wait_for(|p| *p != Phase::Serving).await.is_err() {
          pending::<()>().await; // the relay was dropped without close(): serve on
        }
      }
    };
    tokio::pin!(closing);
    let start = |stream: TcpStream, peer: SocketAddr, slot: OwnedSemaphorePermit| {
      let connection = Connection {
        router: router.clone(),
        draining: draining.clone(),
        phase: phase.clone(),
        limits,
        peer,
      };
      tokio::spawn(async move {
        connection.serve(stream).await;
        drop(slot);
      });
    };
    loop {
      // Past the cap a new connection waits in the listen backlog until one ends.
      let slot = tokio::select! {
        _ = &mut closing => break,
        slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
      };
      let (stream, peer) = tokio::select! {
        _ = &mut closing => break,
        accepted = listener.accept() => match accepted {
          Ok(accepted) => accepted,
          Err(_) => {
            tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            continue;
          }
        },
      };
      start(stream, peer, slot);
    }
    // Connections the kernel completed before the listener closes are served, not reset.
    while let Ok(slot) = slots.clone().try_acquire_owned() {
      let accepted = poll_fn(|cx| Poll::Ready(listener.poll_accept(cx))).await;
      let Poll::Ready(Ok((stream, peer))) = accepted else {
        break;
      };
      start(stream, peer, slot);
    }
    drop(listener);
    // Each connection gives its slot back when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
  })
}

struct Connection {
  router: Router,
  draining: Arc<AtomicBool>,
  phase: watch::Receiver<Phase>,
  limits: ConnectionLimits,
  peer: SocketAddr,
}

impl Connection {
  async fn serve(self, stream: TcpStream) {
    let Connection {
      router,
      draining,
      mut phase,
      limits,
      peer,
    } = self;
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
      stream,
      activity: activity.clone(),
    });
    let service = hyper::service::service_fn({
      let activity = activity.clone();
      move |request: Request<Incoming>| {
        let handling = activity.request_began();
        let expects_continue = request
          .headers()
          .get(header::EXPECT)
          .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let mut request = request.map(|body| {
          Body::new(Discarding {
            body: Some(body),
            reading: Some(activity.busy()),
            time: limits.discard_time,
            // Reading it would ask for the body the client was about to be spared.
            discard: !expects_continue,
          })
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        let draining = draining.clone();
        async move {
          let mut response = router
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
          if draining.load(Relaxed) {
            // Else a client goes on reusing the connection, and the drain closes it unread.
            response
              .headers_mut()
              .insert(header::CONNECTION, HeaderValue::from_static("close"));
          }
          drop(handling);
          Ok::<_, Infallible>(response)
        }
      }
    });
    let connection = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(connection);
    let mut shutting_down = false;
    let mut phase_open = true;
    loop {
      let wake = match activity.verdict(*phase.borrow(), &limits, Instant::now()) {
        Verdict::Wait(until) => until,
        // Nothing was ever asked on it, or a head went past its time: nothing is owed.
        Verdict::Drop => return,
        Verdict::Close => {
          // hyper closes a connection between requests at once, after what it still writes.
          if !shutting_down {
            connection.as_mut().graceful_shutdown();
            shutting_down = true;
          }
          None
        }
      };
      let timer = async {
        match wake {
          Some(at) => tokio::time::sleep_until(at).await,
          None => pending().await,
        }
      };
      let phase_changed = async {
        if !phase_open || phase.changed().await.is_err() {
          return false;
        }
        true
      };
      tokio::select! {
        // The connection first: bytes it has read count before the watchdog decides.
        biased;
        _ = connection.as_mut() => return,
        _ = activity.changed.notified() => {}
        still_open = phase_changed => phase_open = still_open,
        _ = timer => {}
      }
    }
  }
}
