//! Spool mode and replay bookkeeping of the [`Queue`]: the overflow waiting for the spool
//! writer, events written ahead (cached in memory or left in the spool), events read back
//! from the spool, the replay cursor, the keys of settled events to delete from the spool, and
//! the work the spool keeper takes on each round ([`SpoolWork`]). While the queue is in spool
//! mode, new events follow the spooled ones there so none overtakes them.

use super::{Queue, Queued};
use crate::delivery::epochs::Outcome;
use crate::delivery::ticket::Ticket;
use crate::message::Envelope;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

/// What the spool keeper has to do on one round.
pub struct SpoolWork {
  /// Accepted events to write to the spool.
  pub overflow: Vec<Queued>,
  /// Spool keys of replayed events that settled: to delete.
  pub to_unspool: Vec<u64>,
  /// `Some(cursor)`: the queue is idle in spool mode, so load the next chunk after `cursor`.
  pub replay_from: Option<Option<u64>>,
  /// How many events written ahead had been left in the spool when this work was taken
  /// (see [`Queue::load_replayed`]).
  pub left_in_spool_mark: u64,
  pub closed: bool,
}

impl Queue {
  /// A spool left by an earlier run holds events: new ones follow them there.
  pub fn resume_from_spool(&mut self) {
    self.spool_mode = true;
  }

  pub fn in_spool_mode(&self) -> bool {
    self.spool_mode
  }

  /// Adds an event read back from the spool to its group, counting its memory here.
  fn push_replayed(&mut self, envelope: Arc<Envelope>, now: Instant) {
    let queued = Queued::new(envelope, None, true, now, None);
    self.hand_off.add(1, queued.bytes());
    self.replayed_in_memory.insert(queued.seq());
    self.join_group(queued);
  }

  /// Adds an event written ahead to its group: it counts for flushes like a new one and is
  /// deleted from the spool once settled like a replayed one. Replay starts after it.
  pub(super) fn push_written_ahead(
    &mut self,
    envelope: Arc<Envelope>,
    now: Instant,
    ticket: Option<Arc<Ticket>>,
  ) {
    let epoch = self.epochs.accept();
    let queued = Queued::new(envelope, Some(epoch), true, now, ticket);
    self.replayed_in_memory.insert(queued.seq());
    self.replay_cursor = Some(
      self
        .replay_cursor
        .map_or(queued.seq(), |c| c.max(queued.seq())),
    );
    self.join_group(queued);
  }

  /// An event written ahead that memory does not cache: settled as spooled now, sent when
  /// replay reaches it; from now on new events follow it there.
  pub(super) fn leave_in_spool(&mut self, ticket: Option<Arc<Ticket>>) {
    let epoch = self.epochs.accept();
    self.epochs.settle(epoch, Outcome::Spooled);
    if let Some(ticket) = ticket {
      ticket.settle(Outcome::Spooled);
    }
    self.left_in_spool += 1;
    self.hand_off.spooled_ahead().fetch_add(1, Relaxed);
    self.spool_mode = true;
  }

  /// Accepts an event straight for the spool; from now on new events follow it there.
  pub(super) fn push_overflow(
    &mut self,
    envelope: Arc<Envelope>,
    now: Instant,
    ticket: Option<Arc<Ticket>>,
  ) {
    let epoch = self.epochs.accept();
    self
      .overflow
      .push(Queued::new(envelope, Some(epoch), false, now, ticket));
    self.spool_mode = true;
  }

  pub fn has_overflow(&self) -> bool {
    !self.overflow.is_empty()
  }

  /// Hands the overflow to the spool writer.
  pub(super) fn take_overflow(&mut self) -> Vec<Queued> {
    let taken = std::mem::take(&mut self.overflow);
    self
      .hand_off
      .overflow_taken(taken.iter().map(Queued::bytes).sum());
    taken
  }

  /// What the spool keeper has to do now.
  pub fn take_spool_work(&mut self) -> SpoolWork {
    self.absorb();
    let overflow = self.take_overflow();
    let idle = self.depth().events == overflow.len() && self.spool_mode && !self.closed;
    SpoolWork {
      to_unspool: self.take_unspooled(),
      replay_from: idle.then_some(self.replay_cursor),
      left_in_spool_mark: self.left_in_spool,
      closed: self.closed,
      overflow,
    }
  }

  /// Queues a chunk read from the spool, skipping events already in memory; returns how many
  /// were queued. An empty chunk ends spool mode unless overflow is waiting, or events
  /// written ahead were left in the spool since the work was taken (`left_in_spool_mark`):
  /// the read may have missed them.
  pub fn load_replayed(
    &mut self,
    events: Vec<(u64, Envelope)>,
    left_in_spool_mark: u64,
    now: Instant,
  ) -> u64 {
    let Some(last) = events.last().map(|(key, _)| *key) else {
      if self.overflow.is_empty() && self.left_in_spool == left_in_spool_mark {
        self.spool_mode = false;
      }
      return 0;
    };
    let mut loaded = 0;
    for (seq, envelope) in events {
      if !self.replayed_in_memory.contains(&seq) {
        self.push_replayed(Arc::new(envelope.with_seq(seq)), now);
        loaded += 1;
      }
    }
    self.replay_cursor = Some(last);
    loaded
  }

  /// Sends events back to the spool (retry budget spent): those already there are settled,
  /// the others wait in the overflow; replay restarts from the oldest.
  pub fn respool(&mut self, entries: impl IntoIterator<Item = Queued>) {
    for queued in entries {
      if queued.in_spool() {
        if queued.epoch().is_some() {
          // Written ahead, not replayed: its move to the spool was not counted yet.
          self.hand_off.spooled_ahead().fetch_add(1, Relaxed);
        }
        self.settle(&queued, Outcome::Spooled);
      } else {
        self.hand_off.overflow_grew(queued.bytes());
        self.overflow.push(queued);
      }
    }
    self.spool_mode = true;
    self.replay_cursor = None;
  }

  /// Spool keys of replayed events that settled, to delete from the spool.
  pub fn take_unspooled(&mut self) -> Vec<u64> {
    std::mem::take(&mut self.to_unspool)
  }

  /// Keys whose deletion failed: tried again on the next round.
  pub fn return_unspooled(&mut self, keys: Vec<u64>) {
    self.to_unspool.extend(keys);
  }
}
