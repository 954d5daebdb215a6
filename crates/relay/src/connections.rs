//! The relay's connections: an accept loop that serves at most `max_connections` at once per
//! listener, and for each connection hyper's HTTP/1.1 with a watchdog that closes it when a
//! request head takes longer than the header timeout, when it stays quiet past the idle
//! timeout, and when the relay drains; plus the bounded discard of a request body the relay
//! answered without reading it.
//!
//! hyper's own `header_read_timeout` is not used: it runs from the moment a connection waits
//! for a head, so it also bounds the quiet time between kept-alive requests, and a header
//! timeout shorter than the idle timeout would cut every quiet connection short.

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request};
use axum::Router;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::convert::Infallible;
use std::future::{pending, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::ServiceExt;

/// The most of a refused request body the relay still reads (and throws away) so that a client
/// that writes its whole body before reading gets the answer; a body declared longer is not
/// read, and its connection closes after the answer.
pub const DISCARD_BYTES: u64 = 8 << 20;

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
    }
    // Connections the kernel completed before the listener closes are served, not reset.
    while let Ok(slot) = slots.clone().try_acquire_owned() {
      let accepted = poll_fn(|cx| Poll::Ready(listener.poll_accept(cx))).await;
      let Poll::Ready(Ok((stream, peer))) = accepted else {
        break;
      };
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

enum Verdict {
  /// Until this instant (or until something changes).
  Wait(Option<Instant>),
  /// Close between requests, letting hyper finish what it writes.
  Close,
  /// Close now.
  Drop,
}

/// What a connection is doing, as its watchdog needs to know.
struct Activity {
  state: Mutex<ActivityState>,
  changed: Notify,
}

struct ActivityState {
  /// Requests being answered, and bodies still being read or discarded.
  busy: usize,
  requests: u64,
  /// When the first byte of a request head came, until the head is whole.
  head_since: Option<Instant>,
  /// When the connection last became quiet.
  quiet_since: Instant,
}

impl Activity {
  fn new() -> Activity {
    Activity {
      state: Mutex::new(ActivityState {
        busy: 0,
        requests: 0,
        head_since: None,
        quiet_since: Instant::now(),
      }),
      changed: Notify::new(),
    }
  }

  /// Bytes came in.
  fn read(&self) {
    let mut state = self.state.lock();
    if state.busy == 0 && state.head_since.is_none() {
      state.head_since = Some(Instant::now());
      drop(state);
      self.changed.notify_one();
    }
  }

  /// A head is whole: hyper hands its request over.
  fn request_began(self: &Arc<Self>) -> Busy {
    self.state.lock().requests += 1;
    self.busy()
  }

  fn busy(self: &Arc<Self>) -> Busy {
    let mut state = self.state.lock();
    state.busy += 1;
    state.head_since = None;
    Busy(self.clone())
  }

  fn verdict(&self, phase: Phase, limits: &ConnectionLimits, now: Instant) -> Verdict {
    let state = self.state.lock();
    if state.busy > 0 {
      return Verdict::Wait(None);
    }
    if let Some(since) = state.head_since {
      let mut until = since + limits.header_timeout;
      if let Phase::Closing { heads_until, .. } = phase {
        until = until.min(heads_until);
      }
      return if now >= until {
        Verdict::Drop
      } else {
        Verdict::Wait(Some(until))
      };
    }
    let mut until = state.quiet_since + limits.idle_timeout;
    if let Phase::Closing {
      drain_began,
      heads_until,
    } = phase
    {
      // A client that connected, or was answered, during the notice may be about to send.
      until = if state.quiet_since < drain_began {
        now
      } else {
        until.min(heads_until)
      };
    }
    let quiet_enough = now >= until;
    match (quiet_enough, state.requests) {
      (false, _) => Verdict::Wait(Some(until)),
      // hyper would wait for the first head even once told to shut down.
      (true, 0) => Verdict::Drop,
      (true, _) => Verdict::Close,
    }
  }
}

/// A request being answered, or its body being read.
struct Busy(Arc<Activity>);

impl Drop for Busy {
  fn drop(&mut self) {
    let mut state = self.0.state.lock();
    state.busy -= 1;
    if state.busy == 0 {
      state.quiet_since = Instant::now();
      drop(state);
      self.0.changed.notify_one();
    }
  }
}

/// The connection's socket, telling its [`Activity`] when bytes come in.
struct Watched {
  stream: TcpStream,
  activity: Arc<Activity>,
}

impl AsyncRead for Watched {
  fn poll_read(
    self: Pin<&mut Self>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
  ) -> Poll<io::Result<()>> {
    let this = self.get_mut();
    let before = buf.filled().len();
    let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
    if buf.filled().len() > before {
      this.activity.read();
    }
    polled
  }
}

impl AsyncWrite for Watched {
  fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
  }

  fn poll_write_vectored(
    self: Pin<&mut Self>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
  ) -> Poll<io::Result<usize>> {
    Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
  }

  fn is_write_vectored(&self) -> bool {
    self.stream.is_write_vectored()
  }

  fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.get_mut().stream).poll_flush(cx)
  }

  fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
  }
}

/// A request body that, dropped before its end (the relay answered without reading it all),
/// reads the rest and throws it away, at most [`DISCARD_BYTES`] for at most the body timeout:
/// a client that writes its whole body before reading would otherwise have its connection
/// reset under it and never read the answer.
struct Discarding {
  body: Option<Incoming>,
  reading: Option<Busy>,
  time: Duration,
  /// False while a client that sent `Expect: 100-continue` has not been asked for its body.
  discard: bool,
}

impl HttpBody for Discarding {
  type Data = Bytes;
  type Error = hyper::Error;

  fn poll_frame(
    self: Pin<&mut Self>,
    cx: &mut Context<'_>,
  ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
    let this = self.get_mut();
    this.discard = true;
    match this.body.as_mut() {
      Some(body) => Pin::new(body).poll_frame(cx),
      None => Poll::Ready(None),
    }
  }

  fn is_end_stream(&self) -> bool {
    self.body.as_ref().is_none_or(HttpBody::is_end_stream)
  }

  fn size_hint(&self) -> SizeHint {
    self
      .body
      .as_ref()
      .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
  }
}

impl Drop for Discarding {
  fn drop(&mut self) {
    let (Some(body), reading) = (self.body.take(), self.reading.take()) else {
      return;
    };
    if !self.discard || body.is_end_stream() || body.size_hint().lower() > DISCARD_BYTES {
      return;
    }
    let Ok(runtime) = Handle::try_current() else {
      return;
    };
    runtime.spawn(discard(body, reading, self.time));
  }
}

async fn discard(mut body: Incoming, reading: Option<Busy>, time: Duration) {
  let mut left = DISCARD_BYTES;
  let _ = tokio::time::timeout(time, async {
    while let Some(Ok(frame)) = body.frame().await {
      let length = frame.data_ref().map_or(0, |data| data.len() as u64);
      if length > left {
        return; // Past what is discarded: the connection closes.
      }
      left -= length;
    }
  })
  .await;
  drop(body);
  drop(reading);
}

#[cfg(test)]
mod tests {
  use super::*;

  const LIMITS: ConnectionLimits = ConnectionLimits {
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    max_connections: 1,
    discard_time: Duration::from_secs(10),
  };

  fn waits_until(verdict: Verdict) -> Option<Option<Instant>> {
    match verdict {
      Verdict::Wait(until) => Some(until),
      _ => None,
    }
  }

  #[tokio::test]
  async fn a_quiet_connection_closes_after_the_idle_timeout_and_a_slow_head_after_the_header_one() {
    let activity = Arc::new(Activity::new());
    let opened = activity.state.lock().quiet_since;
    let idle_end = opened + LIMITS.idle_timeout;
    let verdict = |now| activity.verdict(Phase::Serving, &LIMITS, now);
    assert_eq!(waits_until(verdict(opened)), Some(Some(idle_end)));
    // Never asked anything: dropped, as hyper would wait on for a first head.
    assert!(matches!(verdict(idle_end), Verdict::Drop));

    activity.read();
    let head_since = activity.state.lock().head_since.expect("a head began");
    let head_end = head_since + LIMITS.header_timeout;
    assert_eq!(waits_until(verdict(head_since)), Some(Some(head_end)));
    assert!(matches!(verdict(head_end), Verdict::Drop));

    let answering = activity.request_began();
    assert_eq!(
      waits_until(verdict(head_end + LIMITS.idle_timeout)),
      Some(None)
    );
    drop(answering);
    let quiet_since = activity.state.lock().quiet_since;
    assert!(activity.state.lock().head_since.is_none());
    // Asked once: closed between requests, after what hyper still writes.
    assert!(matches!(
      verdict(quiet_since + LIMITS.idle_timeout),
      Verdict::Close
    ));
  }

  #[tokio::test]
  async fn a_drain_closes_what_is_quiet_and_gives_a_begun_head_until_its_end() {
    let activity = Arc::new(Activity::new());
    let now = Instant::now() + Duration::from_secs(1);
    let closing = Phase::Closing {
      drain_began: now - Duration::from_millis(500),
      heads_until: now + Duration::from_secs(1),
    };
    // Quiet since before the drain: never used, dropped; used, closed between requests.
    assert!(matches!(
      activity.verdict(closing, &LIMITS, now),
      Verdict::Drop
    ));
    drop(activity.request_began());
    assert!(matches!(
      activity.verdict(closing, &LIMITS, now),
      Verdict::Close
    ));
    activity.read();
    assert_eq!(
      waits_until(activity.verdict(closing, &LIMITS, now)),
      Some(Some(now + Duration::from_secs(1)))
    );
    assert!(matches!(
      activity.verdict(closing, &LIMITS, now + Duration::from_secs(1)),
      Verdict::Drop
    ));
    let answering = activity.request_began();
    assert_eq!(
      waits_until(activity.verdict(closing, &LIMITS, now + LIMITS.idle_timeout)),
      Some(None),
      "a request in flight finishes"
    );
    drop(answering);
    // Answered (or opened) during the notice: its client may be about to send.
    activity.state.lock().quiet_since = now - Duration::from_millis(100);
    assert_eq!(
      waits_until(activity.verdict(closing, &LIMITS, now)),
      Some(Some(now + Duration::from_secs(1)))
    );
    assert!(matches!(
      activity.verdict(closing, &LIMITS, now + Duration::from_secs(1)),
      Verdict::Close
    ));
  }
}
