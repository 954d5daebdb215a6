//! The intake: on the caller's thread, validate an event, build its message and envelope,
//! and queue it, or hand it to the spool writer when the queue is full.

use super::queue::Queued;
use super::{Logger, NoticeCode};
use crate::config::OverflowPolicy;
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{build_message, Envelope};
use crate::plan::EventInput;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Overflow held in memory for the spool writer. Past it, `log()` waits for the writer:
/// only a flood faster than the disk, during an outage, ever does, and memory stays bounded.
pub(super) const OVERFLOW_BUFFER_BYTES: usize = 2 << 20;
/// The longest `log()` waits for the spool writer; after that it stops waiting until the
/// writer catches up, so a stuck disk cannot hang the app.
const OVERFLOW_WAIT: Duration = Duration::from_secs(1);

impl Logger {
  /// Validates, builds the request and enqueues it. A rejected event leaves no trace.
  pub fn log(&self, input: EventInput) -> Result<()> {
    let shared = &self.shared;
    if shared.closed.load(Relaxed) {
      return Err(closed_error());
    }
    let config = &shared.config;
    let event = config.plan.validate(input)?;
    let agent = config.df_config.resolve(event.agent.as_deref())?;
    let message = build_message(&agent.agent_id, &event);
    let max_bytes = shared.limits.message_bytes;
    if message.len() > max_bytes {
      return Err(LoggerError::new(
        ErrorCode::MessageTooLarge,
        format!(
          "the message would be {} bytes; SNS allows at most {max_bytes} bytes",
          message.len()
        ),
      ));
    }
    let seq = shared.next_seq.fetch_add(1, Relaxed);
    let envelope = Arc::new(Envelope {
      topic_arn: agent.topic_arn.clone(),
      group_id: config.site_url.clone(),
      dedup_id: shared.dedup_ids.id(seq),
      message,
    });
    let limits = &config.delivery;
    let mut queue = shared.queue.lock();
    if queue.is_closed() {
      return Err(closed_error());
    }
    let bytes = Queued::bytes_of(&envelope);
    let (wake, wake_spool) = if queue.has_room_for(
      bytes,
      limits.max_queue_events,
      limits.max_queue_bytes,
    ) {
      (queue.push(envelope, seq, false, Instant::now()), false)
    } else if shared.spool.is_some() && limits.overflow == OverflowPolicy::Spool {
      queue.push_overflow(envelope, seq, Instant::now());
      if queue.overflow_exceeds(OVERFLOW_BUFFER_BYTES) {
        shared.wake_spool.notify_one();
        let wait = shared.overflow_taken.wait_while_for(
          &mut queue,
          |q| q.overflow_bytes() > OVERFLOW_BUFFER_BYTES,
          OVERFLOW_WAIT,
        );
        if wait.timed_out() {
          queue.overflow_writer_stalled();
        }
      }
      (false, true)
    } else {
      drop(queue);
      shared.counters.accepted.fetch_add(1, Relaxed);
      shared.counters.dropped.fetch_add(1, Relaxed);
      shared.notify_error(
          NoticeCode::QueueFull,
          format!(
            "the in-memory queue is full ({} events or {} bytes) and overflow goes to {}: the event was dropped",
            limits.max_queue_events,
            limits.max_queue_bytes,
            if shared.spool.is_some() { "drop" } else { "no spool" }
          ),
          1,
        );
      return Ok(());
    };
    drop(queue);
    shared.counters.accepted.fetch_add(1, Relaxed);
    if wake {
      shared.wake.notify_one();
    }
    if wake_spool {
      shared.wake_spool.notify_one();
    }
    Ok(())
  }
}

fn closed_error() -> LoggerError {
  LoggerError::new(
    ErrorCode::Closed,
    "the logger is closed: logEvent is refused after close()",
  )
}
