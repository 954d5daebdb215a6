//! A connection's watchdog: what the connection is doing ([`Activity`]: requests being
//! answered, a request head arriving, quiet since when), the socket wrapper that tells it when
//! bytes come in ([`Watched`]), and its [`Verdict`] under the header and idle timeouts and the
//! drain phases.

use super::{ConnectionLimits, Phase};
use parking_lot::Mutex;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

pub(super) enum Verdict {
  /// Until this instant (or until something changes).
  Wait(Option<Instant>),
  /// Close between requests, letting hyper finish what it writes.
  Close,
  /// Close now.
  Drop,
}

/// What a connection is doing, as its watchdog needs to know.
pub(super) struct Activity {
  state: Mutex<ActivityState>,
  pub(super) changed: Notify,
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
  pub(super) fn new() -> Activity {
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
  pub(super) fn request_began(self: &Arc<Self>) -> Busy {
    self.state.lock().requests += 1;
    self.busy()
  }

  pub(super) fn busy(self: &Arc<Self>) -> Busy {
    let mut state = self.state.lock();
    state.busy += 1;
    state.head_since = None;
    Busy(self.clone())
  }

  pub(super) fn verdict(&self, phase: Phase, limits: &ConnectionLimits, now: Instant) -> Verdict {
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
pub(super) struct Busy(Arc<Activity>);

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
pub(super) struct Watched {
  pub(super) stream: TcpStream,
  pub(super) activity: Arc<Activity>,
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

#[cfg(test)]
mod tests {
  use super::*;
  use std::time::Duration;

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
