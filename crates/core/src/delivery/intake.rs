//! The intake: on the caller's thread, validate an event, build its message and envelope,
//! reserve its memory and hand it over (see `HandOff`): for the queue, or for the spool
//! writer when the queue is full.

use super::handoff::Handed;
use super::queue::Queued;
use super::{Logger, NoticeCode};
use crate::config::OverflowPolicy;
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{check_message_size, Envelope};
use crate::plan::{EventInput, TrackingPlan, ValidEvent};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Overflow held in memory for the spool writer, past the queue's caps. Past it, `log()` waits for the writer:
/// only a flood faster than the disk, during an outage, ever does, and memory stays bounded.
pub(super) const OVERFLOW_BUFFER_BYTES: usize = 2 << 20;
/// The longest `log()` waits for the spool writer; after that it stops waiting until the
/// writer catches up, so a stuck disk cannot hang the app.
const OVERFLOW_WAIT: Duration = Duration::from_secs(1);

/// A validated event with its message built, not yet queued ([`Logger::prepare`]).
pub struct Prepared {
  envelope: Arc<Envelope>,
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
  /// Validates, builds the request and hands it to delivery. A rejected event leaves no
  /// trace. Takes no lock the delivery tasks hold (see `HandOff`).
  pub fn log(&self, input: EventInput) -> Result<()> {
    let shared = &self.shared;
    if shared.hand_off.is_closed() {
      return Err(closed_error());
    }
    let (Prepared { envelope }, ()) = self.prepare(input, None, |_, _| Ok(()))?;
    let limits = &shared.config.delivery;
    let hand_off = &shared.hand_off;
    let Some(entered) = hand_off.enter() else {
      return Err(closed_error());
    };
    let bytes = Queued::bytes_of(&envelope);
    let overflow = if hand_off.reserve(1, bytes, limits.max_queue_events, limits.max_queue_bytes) {
      false
    } else if self.overflow_goes_to_spool() {
      hand_off.reserve_overflow(1, bytes, OVERFLOW_BUFFER_BYTES, true)
    } else {
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
    let at = Instant::now();
    let wake = hand_off.push(
      Handed {
        envelope,
        overflow,
        at,
      },
      limits.linger,
    );
    drop(entered);
    self.accepted(1, wake, overflow);
    if overflow && hand_off.overflow_bytes() > OVERFLOW_BUFFER_BYTES {
      hand_off.wait_for_spool_writer(OVERFLOW_BUFFER_BYTES, OVERFLOW_WAIT);
    }
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
    let agent = config.df_config.resolve_index(event.agent.as_deref())?;
    let envelope = Envelope::new(shared.routes[agent].clone(), &event, dedup_id.as_deref());
    check_message_size(envelope.message_len(), shared.limits.message_bytes)?;
    // Taken only once the event is accepted, so a refused one leaves no gap.
    let seq = shared.next_seq.fetch_add(1, Relaxed);
    let envelope = Arc::new(envelope.with_seq(seq));
    Ok((Prepared { envelope }, admitted))
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
    let hand_off = &shared.hand_off;
    let Some(_entered) = hand_off.enter() else {
      return Err(Refused::Closed);
    };
    let count = events.len();
    let bytes: usize = events.iter().map(|e| Queued::bytes_of(&e.envelope)).sum();
    let overflow = if hand_off.reserve(
      count,
      bytes,
      limits.max_queue_events,
      limits.max_queue_bytes,
    ) {
      false
    } else if self.overflow_goes_to_spool()
      && hand_off.reserve_overflow(count, bytes, OVERFLOW_BUFFER_BYTES, false)
    {
      true
    } else {
      return Err(Refused::Full);
    };
    let at = Instant::now();
    let mut wake = false;
    for Prepared { envelope } in events {
      let handed = Handed {
        envelope,
        overflow,
        at,
      };
      wake |= hand_off.push(handed, limits.linger);
    }
    self.accepted(count as u64, wake, overflow);
    Ok(())
  }

  /// Whether an event logged now would be taken without waiting: not closed, and the queue
  /// has room or the spool can take the overflow.
  pub fn is_accepting(&self) -> bool {
    let shared = &self.shared;
    let limits = &shared.config.delivery;
    let (events, bytes) = shared.hand_off.memory();
    !shared.hand_off.is_closed()
      && ((events < limits.max_queue_events && bytes < limits.max_queue_bytes)
        || (self.overflow_goes_to_spool()
          && shared.hand_off.overflow_bytes() < OVERFLOW_BUFFER_BYTES))
  }

  /// Counts what was taken and wakes whoever must look.
  fn accepted(&self, events: u64, wake_dispatcher: bool, wake_spool_keeper: bool) {
    let shared = &self.shared;
    shared.counters.accepted.fetch_add(events, Relaxed);
    if wake_dispatcher {
      // `HandOff::push` already marked the dispatcher as woken.
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
