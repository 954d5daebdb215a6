//! The intake: on the caller's thread, validate an event, build its message and envelope,
//! and queue it, or hand it to the spool writer when the queue is full.

use super::queue::Queued;
use super::{Logger, NoticeCode};
use crate::config::OverflowPolicy;
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{build_message, Envelope};
use crate::plan::{EventInput, TrackingPlan, ValidEvent};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Overflow held in memory for the spool writer. Past it, `log()` waits for the writer:
/// only a flood faster than the disk, during an outage, ever does, and memory stays bounded.
pub(super) const OVERFLOW_BUFFER_BYTES: usize = 2 << 20;
/// The longest `log()` waits for the spool writer; after that it stops waiting until the
/// writer catches up, so a stuck disk cannot hang the app.
const OVERFLOW_WAIT: Duration = Duration::from_secs(1);

/// A validated event with its message built, not yet queued ([`Logger::prepare`]).
pub struct Prepared {
  envelope: Arc<Envelope>,
  seq: u64,
}

/// Why [`Logger::enqueue_all`] took none of its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
  /// close() has begun.
  Closed,
  /// The queue is full and no spool can take more now (none configured, overflow policy
  /// `drop`, or the spool writer is behind): try again later.
  Full,
}

impl Logger {
  /// Validates, builds the request and enqueues it. A rejected event leaves no trace.
  pub fn log(&self, input: EventInput) -> Result<()> {
    let shared = &self.shared;
    if shared.closed.load(Relaxed) {
      return Err(closed_error());
    }
    let (Prepared { envelope, seq }, ()) = self.prepare(input, None, |_, _| Ok(()))?;
    let limits = &shared.config.delivery;
    let mut queue = shared.queue.lock();
    if queue.is_closed() {
      return Err(closed_error());
    }
    let bytes = Queued::bytes_of(&envelope);
    let (wake, wake_spool) = if queue.has_room_for(
      1,
      bytes,
      limits.max_queue_events,
      limits.max_queue_bytes,
    ) {
      (queue.push(envelope, seq, false, Instant::now()), false)
    } else if self.overflow_goes_to_spool() {
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
    self.accepted(1, wake, wake_spool);
    Ok(())
  }

  /// The first half of [`Logger::log`]: validates the event and builds its request, without
  /// queueing it. `dedup_id` replaces the logger's own `MessageDeduplicationId` (a front door
  /// that derives it from the client's message id, so that a retried request is not
  /// delivered twice). `admit` sees the validated event first and may refuse it (the relay's
  /// widget route admits only the widget's events); what it returns comes back beside it.
  pub fn prepare<T>(
    &self,
    input: EventInput,
    dedup_id: Option<String>,
    admit: impl FnOnce(&TrackingPlan, &ValidEvent) -> Result<T>,
  ) -> Result<(Prepared, T)> {
    let shared = &self.shared;
    let config = &shared.config;
    let event = config.plan.validate(input)?;
    let admitted = admit(&config.plan, &event)?;
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
      dedup_id: dedup_id.unwrap_or_else(|| shared.dedup_ids.id(seq)),
      message,
    });
    Ok((Prepared { envelope, seq }, admitted))
  }

  /// Queues prepared events, in order, all or none, without ever waiting: when the queue has
  /// no room they go to the spool, and when the spool cannot take them now either, none is
  /// taken ([`Refused::Full`]) and the caller answers "try again later". Nothing is dropped.
  pub fn enqueue_all(&self, events: Vec<Prepared>) -> std::result::Result<(), Refused> {
    if events.is_empty() {
      return Ok(());
    }
    let shared = &self.shared;
    let limits = &shared.config.delivery;
    let count = events.len() as u64;
    let bytes: usize = events.iter().map(|e| Queued::bytes_of(&e.envelope)).sum();
    let mut queue = shared.queue.lock();
    if queue.is_closed() {
      return Err(Refused::Closed);
    }
    let now = Instant::now();
    let (mut wake, mut wake_spool) = (false, false);
    if queue.has_room_for(
      events.len(),
      bytes,
      limits.max_queue_events,
      limits.max_queue_bytes,
    ) {
      for Prepared { envelope, seq } in events {
        wake |= queue.push(envelope, seq, false, now);
      }
    } else if self.overflow_goes_to_spool()
      && queue.overflow_bytes() + bytes <= OVERFLOW_BUFFER_BYTES
    {
      for Prepared { envelope, seq } in events {
        queue.push_overflow(envelope, seq, now);
      }
      wake_spool = true;
    } else {
      return Err(Refused::Full);
    }
    drop(queue);
    self.accepted(count, wake, wake_spool);
    Ok(())
  }

  /// Whether an event logged now would be taken without waiting: not closed, and the queue
  /// has room or the spool can take the overflow.
  pub fn is_accepting(&self) -> bool {
    let shared = &self.shared;
    let limits = &shared.config.delivery;
    let queue = shared.queue.lock();
    !queue.is_closed()
      && (queue.has_room_for(1, 0, limits.max_queue_events, limits.max_queue_bytes)
        || (self.overflow_goes_to_spool() && queue.overflow_bytes() < OVERFLOW_BUFFER_BYTES))
  }

  /// After the queue lock is released: counts what was taken and wakes whoever must look.
  fn accepted(&self, events: u64, wake_dispatcher: bool, wake_spool_keeper: bool) {
    let shared = &self.shared;
    shared.counters.accepted.fetch_add(events, Relaxed);
    if wake_dispatcher {
      shared.wake.notify_one();
    }
    if wake_spool_keeper {
      shared.wake_spool.notify_one();
    }
  }

  fn overflow_goes_to_spool(&self) -> bool {
    self.shared.spool.is_some() && self.shared.config.delivery.overflow == OverflowPolicy::Spool
  }
}

fn closed_error() -> LoggerError {
  LoggerError::new(
    ErrorCode::Closed,
    "the logger is closed: logEvent is refused after close()",
  )
}
