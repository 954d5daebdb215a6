//! The bounded discard of a request body the relay answered without reading it all: read and
//! thrown away, at most [`DISCARD_BYTES`] within the body timeout, so that a client that
//! writes its whole body before reading still gets the answer.

use super::watchdog::Busy;
use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::runtime::Handle;

/// The most of a refused request body the relay still reads (and throws away) so that a client
/// that writes its whole body before reading gets the answer; a body declared longer is not
/// read, and its connection closes after the answer.
pub const DISCARD_BYTES: u64 = 8 << 20;

/// A request body that, dropped before its end (the relay answered without reading it all),
/// reads the rest and throws it away, at most [`DISCARD_BYTES`] for at most the body timeout:
/// a client that writes its whole body before reading would otherwise have its connection
/// reset under it and never read the answer.
pub(super) struct Discarding {
  pub(super) body: Option<Incoming>,
  pub(super) reading: Option<Busy>,
  pub(super) time: Duration,
  /// False while a client that sent `Expect: 100-continue` has not been asked for its body.
  pub(super) discard: bool,
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
