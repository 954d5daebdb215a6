//! The intake: on the caller's thread, validate an event, build its message and envelope,
//! reserve its memory and hand it over (see `HandOff`): for the queue, or for the spool
//! writer when the queue is full.

use super::handoff::{Handed, HandedTo};
use super::queue::Queued;
use super::ticket::Ticket;
use super::write_ahead::WriteAhead;
use super::{Logger, NoticeCode};
use crate::config::OverflowPolicy;
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{validate_message_size, Envelope};
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
/// How long [`Logger::accept`] waits for room in a full queue while no event leaves memory,
/// before its events go to the spool (or, without one, are refused): ample for delivery to
/// free room for a batch, so a client that sends as fast as it is answered is paced by
/// delivery instead of sending every later event through the disk; short, so that while
/// delivery is stuck (SNS down) a request is answered soon, and only one wait is spent (see
/// `HandOff::room_stalled`).
pub(super) const ROOM_WAIT: Duration = Duration::from_millis(250);
/// The longest it waits while events do leave memory (others took the room each time).
pub(super) const ROOM_WAIT_MOST: Duration = Duration::from_secs(1);

/// What [`Logger::enqueue`] did with a batch.
enum Enqueued {
  Taken,
  /// The queue has no room and the caller would rather wait than spill: the batch, untaken.
  NoRoom(Vec<Prepared>),
}

/// A validated event with its message built, not yet queued ([`Logger::prepare`]). It gets
/// its sequence number (acceptance order) when queued or written ahead.
pub struct Prepared {
  envelope: Envelope,
}

/// Why [`Logger::accept`] took none of its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
  /// close() has begun.
  Closed,
  /// The queue is full and no spool can take more now (none configured, overflow policy
  /// `drop`, the spool writer is behind, or the spool is at `maxSpoolBytes`): try again later.
  Full,
  /// The spool cannot be written (disk full, directory unusable): try again later.
  SpoolFailing,
  /// Waiting for SNS: not every event was sent within the caller's patience (they may still
  /// be; a retry with the same dedup ids is harmless).
  Unconfirmed,
}

/// When [`Logger::accept`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptUntil {
  /// Once the events are queued (in the spool first when the logger writes ahead).
  Kept,
  /// Once SNS accepted every event, or `Refused::Unconfirmed` after this long.
  Published(Duration),
}

/// Why a logger that writes ahead refuses: the spool is failing, full, or its writer behind.
fn write_ahead_refusal(shared: &super::Shared, write_ahead: &WriteAhead) -> Option<Refused> {
  if shared.spool_failing.load(Relaxed) {
    return Some(Refused::SpoolFailing);
  }
  (shared.spool_is_full() || write_ahead.backlog_bytes() >= shared.config.delivery.max_queue_bytes)
    .then_some(Refused::Full)
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
    if let Some(write_ahead) = &shared.write_ahead {
      return self.log_ahead(write_ahead, envelope);
    }
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
      self.drop_one(format!(
        "the in-memory queue is full ({} events or {} bytes) and overflow goes to {}: the event was dropped",
        limits.max_queue_events,
        limits.max_queue_bytes,
        if shared.spool.is_some() { "drop" } else { "no spool" }
      ));
      return Ok(());
    };
    let at = Instant::now();
    let route = if overflow {
      HandedTo::Overflow
    } else {
      HandedTo::Queue
    };
    let wake = hand_off.push(
      Handed {
        envelope,
        route,
        at,
        ticket: None,
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

  /// `log()` of a logger that writes ahead: hands the event to the writer thread without
  /// waiting for the write. Past `maxQueueBytes` of events waiting for it, waits for the
  /// writer up to a second, then drops (counted and reported): a disk slower than the app.
  fn log_ahead(&self, write_ahead: &WriteAhead, envelope: Envelope) -> Result<()> {
    let limit = self.shared.config.delivery.max_queue_bytes;
    if write_ahead.backlog_bytes() >= limit && !write_ahead.wait_for_room(limit, OVERFLOW_WAIT) {
      self.drop_one(format!(
        "the spool writer is behind ({} bytes of events wait for it, maxQueueBytes): the event was dropped",
        write_ahead.backlog_bytes()
      ));
      return Ok(());
    }
    match write_ahead.submit(vec![envelope], false) {
      Ok(_) => Ok(()),
      Err(_) => Err(closed_error()),
    }
  }

  /// Counts and reports an event accepted and dropped at once.
  fn drop_one(&self, why: String) {
    let shared = &self.shared;
    shared.counters.accepted.fetch_add(1, Relaxed);
    shared.counters.dropped.fetch_add(1, Relaxed);
    shared.notify_error(NoticeCode::QueueFull, why, 1);
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
    validate_message_size(&envelope, shared.limits.message_bytes)?;
    Ok((Prepared { envelope }, admitted))
  }

  /// Takes prepared events, in order, all or none, and answers as `until` asks:
  /// - a logger that writes ahead (`durability: disk`) answers once they are in the spool
  ///   (group-committed with other callers' events), or refuses them all when the spool
  ///   cannot take them (failing, full, its writer behind);
  /// - otherwise they are queued; when the queue has no room they wait for delivery to free
  ///   some (bounded: see `enqueue_paced`), then go to the spool, and when the spool cannot
  ///   take them now either (or is failing), none is taken;
  /// - `Published(patience)` then waits until SNS has every one of them.
  ///
  /// A refused batch was not taken (but `Unconfirmed`: taken, not yet confirmed sent).
  pub async fn accept(
    &self,
    events: Vec<Prepared>,
    until: AcceptUntil,
  ) -> std::result::Result<(), Refused> {
    if events.is_empty() {
      return Ok(());
    }
    let shared = &self.shared;
    if let Some(write_ahead) = &shared.write_ahead {
      if let Some(refused) = write_ahead_refusal(shared, write_ahead) {
        return Err(refused);
      }
      let envelopes = events.into_iter().map(|p| p.envelope).collect();
      let receipt = write_ahead.submit(envelopes, true)?;
      let receipt = receipt.expect("a reply was asked for");
      // A dropped sender: the writer failed unexpectedly; nothing counts as accepted.
      return receipt.await.unwrap_or(Err(Refused::SpoolFailing));
    }
    let ticket = match until {
      AcceptUntil::Kept => None,
      AcceptUntil::Published(_) => Some(Arc::new(Ticket::new(events.len()))),
    };
    self.enqueue_paced(events, ticket.clone()).await?;
    match (until, ticket) {
      (AcceptUntil::Published(patience), Some(ticket)) => {
        match tokio::time::timeout(patience, ticket.all_sent()).await {
          Ok(true) => Ok(()),
          _ => Err(Refused::Unconfirmed),
        }
      }
      _ => Ok(()),
    }
  }

  /// Takes prepared events, in order, all or none, without waiting for anything: queued (a
  /// logger that writes ahead hands them to its writer and does not wait for the write).
  pub fn enqueue_all(&self, events: Vec<Prepared>) -> std::result::Result<(), Refused> {
    if let Some(write_ahead) = &self.shared.write_ahead {
      let envelopes = events.into_iter().map(|p| p.envelope).collect();
      return write_ahead.submit(envelopes, false).map(|_| ());
    }
    self.enqueue(events, None, true).map(|_| ())
  }

  /// [`Logger::enqueue`], waiting for room in the queue before the events go past it: until
  /// [`ROOM_WAIT`] passes with no event leaving memory (delivery is stuck: later callers then
  /// do not wait until room is found again), or [`ROOM_WAIT_MOST`] in all.
  async fn enqueue_paced(
    &self,
    mut events: Vec<Prepared>,
    ticket: Option<Arc<Ticket>>,
  ) -> std::result::Result<(), Refused> {
    let shared = &self.shared;
    let started = tokio::time::Instant::now();
    let mut stuck_at = started + ROOM_WAIT;
    let give_up_at = started + ROOM_WAIT_MOST;
    let mut waited = false;
    loop {
      let room = shared.room.notified();
      tokio::pin!(room);
      room.as_mut().enable();
      let may_spill = shared.hand_off.room_stalled();
      match self.enqueue(events, ticket.clone(), may_spill)? {
        Enqueued::Taken => {
          if waited {
            // The room freed may fit another waiter too.
            shared.room.notify_one();
          }
          return Ok(());
        }
        Enqueued::NoRoom(untaken) => events = untaken,
      }
      if tokio::time::timeout_at(stuck_at.min(give_up_at), room)
        .await
        .is_err()
      {
        if tokio::time::Instant::now() >= stuck_at {
          shared.hand_off.mark_room_stalled();
        }
        return self.enqueue(events, ticket, true).map(|_| ());
      }
      // Events left memory: delivery is moving.
      stuck_at = tokio::time::Instant::now() + ROOM_WAIT;
      waited = true;
    }
  }

  /// Queues prepared events (memory durability), in order, all or none, without waiting:
  /// past the queue's caps to the spool when `may_spill`, else given back.
  fn enqueue(
    &self,
    events: Vec<Prepared>,
    ticket: Option<Arc<Ticket>>,
    may_spill: bool,
  ) -> std::result::Result<Enqueued, Refused> {
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
    } else if !may_spill {
      return Ok(Enqueued::NoRoom(events));
    } else if shared.spool_failing.load(Relaxed) && self.overflow_goes_to_spool() {
      return Err(Refused::SpoolFailing);
    } else if self.overflow_goes_to_spool()
      && hand_off.reserve_overflow(count, bytes, OVERFLOW_BUFFER_BYTES, false)
    {
      true
    } else {
      return Err(Refused::Full);
    };
    let at = Instant::now();
    let route = if overflow {
      HandedTo::Overflow
    } else {
      HandedTo::Queue
    };
    let mut wake = false;
    for Prepared { envelope } in events {
      let handed = Handed {
        envelope,
        route,
        at,
        ticket: ticket.clone(),
      };
      wake |= hand_off.push(handed, limits.linger);
    }
    self.accepted(count as u64, wake, overflow);
    Ok(Enqueued::Taken)
  }

  /// Why an event logged now would be refused, or `None` when it would be taken without
  /// waiting: not closed, the spool not failing, and the queue has room or the spool can
  /// take the overflow (with a write-ahead log: the spool under its cap, its writer keeping
  /// up).
  pub fn refusal(&self) -> Option<Refused> {
    let shared = &self.shared;
    if shared.hand_off.is_closed() {
      return Some(Refused::Closed);
    }
    if let Some(write_ahead) = &shared.write_ahead {
      return write_ahead_refusal(shared, write_ahead);
    }
    let limits = &shared.config.delivery;
    let (events, bytes) = shared.hand_off.memory();
    if events < limits.max_queue_events && bytes < limits.max_queue_bytes {
      return None;
    }
    if !self.overflow_goes_to_spool() {
      return Some(Refused::Full);
    }
    if shared.spool_failing.load(Relaxed) {
      return Some(Refused::SpoolFailing);
    }
    (shared.spool_is_full() || shared.hand_off.overflow_bytes() >= OVERFLOW_BUFFER_BYTES)
      .then_some(Refused::Full)
  }

  /// Whether an event logged now would be taken without waiting ([`Logger::refusal`]).
  pub fn is_accepting(&self) -> bool {
    self.refusal().is_none()
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
