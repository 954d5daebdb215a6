//! One message group's queue: its pending events, the batch in flight, and its backoff.

use super::ticket::Ticket;
use crate::message::Envelope;
use crate::sink::SinkLimits;
use backon::ExponentialBackoff;
use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An accepted event waiting for (or in) a request. Small: a queue holds many.
#[derive(Debug, Clone)]
pub struct Queued {
  pub envelope: Arc<Envelope>,
  /// One more than the flush epoch it was logged in (see `Epochs`); `None` for an event
  /// replayed from the spool, which a flush already reported as spooled (or an earlier run
  /// accepted).
  epoch: Option<NonZeroU64>,
  /// A copy is in the spool (replayed from there, or written ahead): removed once settled.
  in_spool: bool,
  pub enqueued: Instant,
  /// Told the event's outcome (a relay request waiting until SNS has its events).
  ticket: Option<Arc<Ticket>>,
}

impl Queued {
  /// `epoch`: the flush epoch of a new event; `None` for one replayed from the spool.
  pub fn new(
    envelope: Arc<Envelope>,
    epoch: Option<u64>,
    in_spool: bool,
    enqueued: Instant,
    ticket: Option<Arc<Ticket>>,
  ) -> Queued {
    Queued {
      envelope,
      epoch: epoch.and_then(|e| NonZeroU64::new(e + 1)),
      in_spool,
      enqueued,
      ticket,
    }
  }

  pub fn epoch(&self) -> Option<u64> {
    self.epoch.map(|e| e.get() - 1)
  }

  /// Acceptance order; also the event's key in the spool.
  pub fn seq(&self) -> u64 {
    self.envelope.seq()
  }

  /// A copy is in the spool: remove it once settled.
  pub fn in_spool(&self) -> bool {
    self.in_spool
  }

  pub fn ticket(&self) -> Option<&Arc<Ticket>> {
    self.ticket.as_ref()
  }

  /// What an event holds in memory, for the queue's byte cap.
  pub fn bytes_of(envelope: &Envelope) -> usize {
    envelope.memory_bytes() + std::mem::size_of::<Queued>()
  }

  pub fn bytes(&self) -> usize {
    Queued::bytes_of(&self.envelope)
  }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
  pub topic: Arc<str>,
  pub group: Arc<str>,
}

#[derive(Default)]
pub(super) struct Group {
  pub(super) pending: VecDeque<Queued>,
  pub(super) pending_bytes: usize,
  /// The batch being sent; `Some` means nothing else of this group may be sent.
  pub(super) in_flight: Option<Vec<Queued>>,
  /// Not before this instant (retry backoff).
  pub(super) retry_at: Option<Instant>,
  /// Backoff of the current run of failures; `None` after a success.
  pub(super) backoff: Option<ExponentialBackoff>,
}

impl Group {
  pub(super) fn push_back(&mut self, queued: Queued) {
    self.pending_bytes += queued.bytes();
    self.pending.push_back(queued);
  }

  /// Puts failed entries back at the head, in their original order, so no later event of the
  /// group overtakes them.
  pub(super) fn requeue_front(&mut self, entries: Vec<Queued>) {
    for queued in entries.into_iter().rev() {
      self.pending_bytes += queued.bytes();
      self.pending.push_front(queued);
    }
  }

  /// Takes every pending entry, oldest first.
  pub(super) fn take_pending(&mut self) -> Vec<Queued> {
    self.pending_bytes = 0;
    self.pending.drain(..).collect()
  }

  pub(super) fn is_idle(&self) -> bool {
    self.pending.is_empty() && self.in_flight.is_none()
  }

  pub(super) fn is_full(&self, limits: &SinkLimits) -> bool {
    self.pending.len() >= limits.batch_entries || self.pending_bytes >= limits.batch_bytes
  }

  /// When the head of the group may be sent, or `None` when it cannot be (empty or in flight).
  /// `hurry_epoch`: events of this epoch or older skip the linger (a flush is waiting on them).
  pub(super) fn ready_at(
    &self,
    linger: Duration,
    limits: &SinkLimits,
    hurry_epoch: Option<u64>,
    paused_until: Option<Instant>,
  ) -> Option<Instant> {
    if self.in_flight.is_some() {
      return None;
    }
    let head = self.pending.front()?;
    let hurry = self.is_full(limits)
      || hurry_epoch.is_some_and(|e| head.epoch().is_some_and(|head| head <= e));
    let lingered = if hurry {
      head.enqueued
    } else {
      head.enqueued + linger
    };
    Some(
      [Some(lingered), self.retry_at, paused_until]
        .into_iter()
        .flatten()
        .max()
        .expect("lingered is set"),
    )
  }

  /// Moves the next batch (within the sink's entries and bytes per request, counted as SNS
  /// counts them: messages and their attributes) into flight.
  pub(super) fn take_batch(&mut self, limits: &SinkLimits) -> Vec<Arc<Envelope>> {
    let mut batch = Vec::with_capacity(self.pending.len().min(limits.batch_entries));
    let mut request_bytes = 0;
    let mut memory_bytes = 0;
    while let Some(head) = self.pending.front() {
      let size = head.envelope.wire_len();
      if batch.len() == limits.batch_entries
        || (!batch.is_empty() && request_bytes + size > limits.batch_bytes)
      {
        break;
      }
      request_bytes += size;
      memory_bytes += head.bytes();
      batch.push(self.pending.pop_front().expect("front exists"));
    }
    self.pending_bytes -= memory_bytes;
    let envelopes = batch.iter().map(|q| q.envelope.clone()).collect();
    self.in_flight = Some(batch);
    envelopes
  }
}
