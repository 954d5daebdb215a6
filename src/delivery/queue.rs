//! The in-memory queue: one FIFO per (topic, message group), at most one batch of a group in
//! flight, and per-flush bookkeeping. Everything here runs under the logger's mutex and does
//! constant work per event.

use crate::message::Envelope;
use backon::ExponentialBackoff;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// PublishBatch limits: entries per request and total bytes per request.
pub const MAX_BATCH_ENTRIES: usize = 10;
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// An accepted event waiting for (or in) a request.
#[derive(Debug, Clone)]
pub struct Queued {
  pub envelope: Arc<Envelope>,
  /// Acceptance order; also the event's key in the spool.
  pub seq: u64,
  /// A copy is in the spool (it was replayed from there): remove it once settled.
  pub in_spool: bool,
  /// The flush epoch it was logged in (see [`Epochs`]).
  pub epoch: u64,
  pub enqueued: Instant,
}

impl Queued {
  /// What this event holds in memory, for the queue's byte cap.
  pub fn bytes(&self) -> usize {
    self.envelope.memory_bytes() + std::mem::size_of::<Queued>()
  }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
  pub topic: Arc<str>,
  pub group: Arc<str>,
}

#[derive(Default)]
pub struct Group {
  pub pending: VecDeque<Queued>,
  pending_bytes: usize,
  /// The batch being sent; `Some` means nothing else of this group may be sent.
  pub in_flight: Option<Vec<Queued>>,
  /// Not before this instant (retry backoff).
  pub retry_at: Option<Instant>,
  /// Backoff of the current run of failures; `None` after a success.
  pub backoff: Option<ExponentialBackoff>,
}

impl Group {
  pub fn push_back(&mut self, queued: Queued) {
    self.pending_bytes += queued.bytes();
    self.pending.push_back(queued);
  }

  /// Puts failed entries back at the head, in their original order, so no later event of the
  /// group overtakes them.
  pub fn requeue_front(&mut self, entries: Vec<Queued>) {
    for queued in entries.into_iter().rev() {
      self.pending_bytes += queued.bytes();
      self.pending.push_front(queued);
    }
  }

  /// Takes every pending entry, oldest first.
  pub fn take_pending(&mut self) -> Vec<Queued> {
    self.pending_bytes = 0;
    self.pending.drain(..).collect()
  }

  pub fn is_idle(&self) -> bool {
    self.pending.is_empty() && self.in_flight.is_none()
  }

  fn is_full(&self) -> bool {
    self.pending.len() >= MAX_BATCH_ENTRIES || self.pending_bytes >= MAX_BATCH_BYTES
  }

  /// When the head of the group may be sent, or `None` when it cannot be (empty or in flight).
  /// `hurry_epoch`: events of this epoch or older skip the linger (a flush is waiting on them).
  fn ready_at(
    &self,
    linger: Duration,
    hurry_epoch: Option<u64>,
    paused_until: Option<Instant>,
  ) -> Option<Instant> {
    if self.in_flight.is_some() {
      return None;
    }
    let head = self.pending.front()?;
    let hurry = self.is_full() || hurry_epoch.is_some_and(|e| head.epoch <= e);
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

  /// Moves the next batch (at most 10 entries and 256 KiB) into flight.
  fn take_batch(&mut self) -> Vec<Arc<Envelope>> {
    let mut batch = Vec::with_capacity(self.pending.len().min(MAX_BATCH_ENTRIES));
    let mut bytes = 0;
    while let Some(head) = self.pending.front() {
      let size = head.bytes();
      if batch.len() == MAX_BATCH_ENTRIES || (!batch.is_empty() && bytes + size > MAX_BATCH_BYTES) {
        break;
      }
      bytes += size;
      batch.push(self.pending.pop_front().expect("front exists"));
    }
    self.pending_bytes -= bytes;
    let envelopes = batch.iter().map(|q| q.envelope.clone()).collect();
    self.in_flight = Some(batch);
    envelopes
  }
}

/// How an accepted event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
  Sent,
  DeadLettered,
  Spooled,
  Dropped,
}

/// Outcome counts of a set of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
  pub sent: u64,
  pub dead_lettered: u64,
  pub spooled: u64,
  pub dropped: u64,
}

impl Tally {
  pub fn add(&mut self, outcome: Outcome, count: u64) {
    match outcome {
      Outcome::Sent => self.sent += count,
      Outcome::DeadLettered => self.dead_lettered += count,
      Outcome::Spooled => self.spooled += count,
      Outcome::Dropped => self.dropped += count,
    }
  }

  fn merge(&mut self, other: &Tally) {
    self.sent += other.sent;
    self.dead_lettered += other.dead_lettered;
    self.spooled += other.spooled;
    self.dropped += other.dropped;
  }
}

#[derive(Default)]
struct Epoch {
  outstanding: u64,
  tally: Tally,
}

/// Flush bookkeeping in O(1) per event. Each event belongs to the epoch current when it was
/// logged; `flush()` closes the current epoch and waits until it and every older one have no
/// outstanding events. Each flush reports the epochs it closed itself, so concurrent flushes
/// never report an event twice or claim another's.
pub struct Epochs {
  /// Epoch number of `open[0]`.
  first: u64,
  /// `None`: already reported by its flush.
  open: VecDeque<Option<Epoch>>,
  /// First epoch not yet closed by a flush.
  unflushed: u64,
}

/// The epochs one flush waits for and reports: `from..=to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushRange {
  from: u64,
  to: u64,
}

impl Default for Epochs {
  fn default() -> Self {
    Epochs {
      first: 0,
      open: VecDeque::from([Some(Epoch::default())]),
      unflushed: 0,
    }
  }
}

impl Epochs {
  pub fn current(&self) -> u64 {
    self.first + self.open.len() as u64 - 1
  }

  fn slot(&mut self, epoch: u64) -> Option<&mut Epoch> {
    let index = epoch.checked_sub(self.first)?;
    self.open.get_mut(index as usize)?.as_mut()
  }

  pub fn accept(&mut self) -> u64 {
    let current = self.current();
    self
      .slot(current)
      .expect("the current epoch is open")
      .outstanding += 1;
    current
  }

  /// Ends the current epoch; the flush owns every epoch no earlier flush closed.
  pub fn advance(&mut self) -> FlushRange {
    let range = FlushRange {
      from: self.unflushed,
      to: self.current(),
    };
    self.open.push_back(Some(Epoch::default()));
    self.unflushed = range.to + 1;
    range
  }

  pub fn settle(&mut self, epoch: u64, outcome: Outcome) {
    if let Some(slot) = self.slot(epoch) {
      slot.outstanding -= 1;
      slot.tally.add(outcome, 1);
    }
  }

  /// When every event up to `range.to` has settled: the outcomes of the range's epochs.
  pub fn take_if_settled(&mut self, range: FlushRange) -> Option<Tally> {
    let waiting = (range.to + 1).saturating_sub(self.first) as usize;
    if self
      .open
      .iter()
      .take(waiting)
      .flatten()
      .any(|e| e.outstanding > 0)
    {
      return None;
    }
    let mut tally = Tally::default();
    for epoch in range.from.max(self.first)..=range.to {
      if let Some(taken) = self.open[(epoch - self.first) as usize].take() {
        tally.merge(&taken.tally);
      }
    }
    while self.open.len() > 1 && self.open.front().is_some_and(|e| e.is_none()) {
      self.open.pop_front();
      self.first += 1;
    }
    Some(tally)
  }
}

/// A batch taken for sending: its group and its entries.
pub type ReadyBatch = (GroupKey, Vec<Arc<Envelope>>);

/// Everything the logger mutates, behind one mutex.
#[derive(Default)]
pub struct Queue {
  pub groups: HashMap<GroupKey, Group>,
  pub events: usize,
  pub bytes: usize,
  pub in_flight_batches: usize,
  /// How long a lone event waits for batch mates (the logger's lingerMs).
  pub linger: Duration,
  /// The dispatcher was notified and has not looked yet: no need to notify it again.
  pub dispatch_requested: bool,
  /// When the dispatcher will look again on its own; `None`: only when notified.
  pub dispatcher_wakes_at: Option<Instant>,
  pub epochs: Epochs,
  /// Flushes waiting: events of this epoch or older skip the linger.
  pub hurry_epoch: Option<u64>,
  /// Topics paused after throttling.
  pub paused: HashMap<Arc<str>, Instant>,
  pub closed: bool,
  /// Accepted events waiting to be written to the spool (counted in `events` and `bytes`).
  pub overflow: Vec<Queued>,
  /// Bytes of `overflow`: new events wait for the spool writer when it grows too large.
  pub overflow_bytes: usize,
  /// The spool writer missed a deadline: stop waiting for it until it takes the overflow.
  pub overflow_stalled: bool,
  /// While set, new events go to the spool so none overtakes a spooled one.
  pub spool_mode: bool,
  /// Highest spool key loaded for replay; `None`: start from the oldest.
  pub replay_cursor: Option<u64>,
  /// Sequence numbers of replayed events now in memory (skipped when re-reading the spool).
  pub replayed_in_memory: HashSet<u64>,
  /// Spool keys of replayed events that settled: to delete from the spool.
  pub to_unspool: Vec<u64>,
}

impl Queue {
  /// Adds an event; returns true when the dispatcher should look at its group now (it was
  /// idle, or a batch just filled up).
  pub fn push(&mut self, envelope: Arc<Envelope>, seq: u64, in_spool: bool, now: Instant) -> bool {
    let queued = self.accept(envelope, seq, in_spool, now);
    if in_spool {
      self.replayed_in_memory.insert(seq);
    }
    let key = GroupKey {
      topic: queued.envelope.topic_arn.clone(),
      group: queued.envelope.group_id.clone(),
    };
    let group = self.groups.entry(key).or_default();
    let was_idle = group.is_idle();
    group.push_back(queued);
    let due = if group.pending.len() == MAX_BATCH_ENTRIES {
      now
    } else if was_idle {
      now + self.linger
    } else {
      return false;
    };
    self.needs_dispatcher(due)
  }

  /// Whether the dispatcher must be notified to look by `due`. Waking a sleeping thread costs
  /// microseconds, so not when it is already notified or will look by then anyway.
  fn needs_dispatcher(&mut self, due: Instant) -> bool {
    if self.dispatch_requested || self.dispatcher_wakes_at.is_some_and(|at| at <= due) {
      return false;
    }
    self.dispatch_requested = true;
    true
  }

  /// Counts a new event in and gives it its flush epoch.
  fn accept(&mut self, envelope: Arc<Envelope>, seq: u64, in_spool: bool, now: Instant) -> Queued {
    let queued = Queued {
      envelope,
      seq,
      in_spool,
      epoch: self.epochs.accept(),
      enqueued: now,
    };
    self.events += 1;
    self.bytes += queued.bytes();
    queued
  }

  /// Accepts an event straight for the spool; from now on new events follow it there.
  pub fn push_overflow(&mut self, envelope: Arc<Envelope>, seq: u64, now: Instant) {
    let queued = self.accept(envelope, seq, false, now);
    self.overflow_bytes += queued.bytes();
    self.overflow.push(queued);
    self.spool_mode = true;
  }

  /// Hands the overflow to the spool writer.
  pub fn take_overflow(&mut self) -> Vec<Queued> {
    self.overflow_bytes = 0;
    self.overflow_stalled = false;
    std::mem::take(&mut self.overflow)
  }

  /// Settles an event that has left the queue for good.
  pub fn settle(&mut self, queued: &Queued, outcome: Outcome) {
    self.events -= 1;
    self.bytes -= queued.bytes();
    self.epochs.settle(queued.epoch, outcome);
    if queued.in_spool && self.replayed_in_memory.remove(&queued.seq) && outcome != Outcome::Spooled
    {
      self.to_unspool.push(queued.seq);
    }
  }

  /// Sends events back to the spool (retry budget spent): those already there are settled,
  /// the others wait in `overflow`; replay restarts from the oldest.
  pub fn respool(&mut self, entries: impl IntoIterator<Item = Queued>) {
    for queued in entries {
      if queued.in_spool {
        self.settle(&queued, Outcome::Spooled);
      } else {
        self.overflow_bytes += queued.bytes();
        self.overflow.push(queued);
      }
    }
    self.spool_mode = true;
    self.replay_cursor = None;
  }

  /// Takes every batch that may be sent now; also returns when to look again.
  pub fn take_ready(
    &mut self,
    now: Instant,
    linger: Duration,
  ) -> (Vec<ReadyBatch>, Option<Instant>) {
    let mut batches = Vec::new();
    let mut next: Option<Instant> = None;
    self.paused.retain(|_, until| *until > now);
    for (key, group) in self.groups.iter_mut() {
      let Some(at) = group.ready_at(
        linger,
        self.hurry_epoch,
        self.paused.get(&key.topic).copied(),
      ) else {
        continue;
      };
      if at <= now {
        batches.push((key.clone(), group.take_batch()));
        self.in_flight_batches += 1;
      } else {
        next = Some(next.map_or(at, |n| n.min(at)));
      }
    }
    (batches, next)
  }

  /// Removes idle groups so the map does not grow with every group ever seen.
  pub fn forget_if_idle(&mut self, key: &GroupKey) {
    if self.groups.get(key).is_some_and(|g| g.is_idle()) {
      self.groups.remove(key);
    }
  }

  /// Takes every event still held, in flight or not, oldest first per group.
  pub fn drain_all(&mut self) -> Vec<Queued> {
    let mut all = self.take_overflow();
    for (_, mut group) in self.groups.drain() {
      all.extend(group.in_flight.take().unwrap_or_default());
      all.extend(group.take_pending());
    }
    self.in_flight_batches = 0;
    all
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn envelope(group: &str, bytes: usize) -> Arc<Envelope> {
    Arc::new(Envelope {
      topic_arn: "arn:aws:sns:us-east-1:1:t.fifo".into(),
      group_id: group.into(),
      dedup_id: "d".into(),
      message: "x".repeat(bytes),
    })
  }

  #[test]
  fn batches_hold_at_most_ten_entries_and_256_kib() {
    let mut queue = Queue::default();
    let now = Instant::now();
    for _ in 0..25 {
      queue.push(envelope("g", 10), 0, false, now);
    }
    let (batches, _) = queue.take_ready(now, Duration::from_secs(1));
    assert_eq!(batches.len(), 1, "one batch per group in flight");
    assert_eq!(batches[0].1.len(), 10);

    let mut queue = Queue::default();
    for _ in 0..3 {
      queue.push(envelope("g", 100 * 1024), 0, false, now);
    }
    let (batches, _) = queue.take_ready(now, Duration::from_secs(1));
    assert_eq!(
      batches[0].1.len(),
      2,
      "a third 100 KiB entry would pass 256 KiB"
    );
  }

  #[test]
  fn the_dispatcher_is_notified_only_when_it_would_not_look_in_time() {
    let now = Instant::now();
    let linger = Duration::from_millis(5);
    let mut queue = Queue {
      linger,
      ..Queue::default()
    };
    assert!(
      queue.push(envelope("a", 10), 0, false, now),
      "the first event wakes a sleeping dispatcher"
    );
    assert!(
      !queue.push(envelope("b", 10), 1, false, now),
      "already notified: no second wake-up"
    );
    // The dispatcher looks: it will come back when group a's linger ends.
    queue.dispatch_requested = false;
    let (_, next) = queue.take_ready(now, linger);
    queue.dispatcher_wakes_at = next;
    assert_eq!(next, Some(now + linger));
    let later = now + Duration::from_millis(1);
    assert!(
      !queue.push(envelope("c", 10), 2, false, later),
      "a lingering event due after the dispatcher's own wake-up needs no notification"
    );
    for seq in 3..12 {
      let woke = queue.push(envelope("a", 10), seq, false, later);
      assert_eq!(
        woke,
        seq == 11,
        "a full batch (the tenth pending event) is due now: notify"
      );
    }
  }

  #[test]
  fn a_lone_event_waits_for_the_linger_only() {
    let mut queue = Queue::default();
    let now = Instant::now();
    let linger = Duration::from_millis(5);
    assert!(queue.push(envelope("g", 10), 0, false, now));
    let (batches, next) = queue.take_ready(now, linger);
    assert!(batches.is_empty());
    assert_eq!(next, Some(now + linger));
    let (batches, _) = queue.take_ready(now + linger, linger);
    assert_eq!(batches.len(), 1);
  }

  #[test]
  fn requeued_entries_keep_their_place() {
    let mut queue = Queue::default();
    let now = Instant::now();
    for i in 0..12 {
      let mut e = (*envelope("g", 1)).clone();
      e.dedup_id = i.to_string();
      queue.push(Arc::new(e), i, false, now);
    }
    let (batches, _) = queue.take_ready(now, Duration::ZERO);
    let key = batches[0].0.clone();
    let group = queue.groups.get_mut(&key).unwrap();
    let failed: Vec<Queued> = group
      .in_flight
      .take()
      .unwrap()
      .into_iter()
      .filter(|q| q.envelope.dedup_id != "0")
      .collect();
    group.requeue_front(failed);
    let order: Vec<&str> = group
      .pending
      .iter()
      .map(|q| q.envelope.dedup_id.as_str())
      .collect();
    assert_eq!(
      order,
      ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
    );
  }

  #[test]
  fn flush_epochs_wait_for_older_events_only() {
    let mut epochs = Epochs::default();
    let a = epochs.accept();
    let flush1 = epochs.advance();
    let b = epochs.accept();
    assert_eq!(epochs.take_if_settled(flush1), None);
    epochs.settle(b, Outcome::Sent);
    assert_eq!(
      epochs.take_if_settled(flush1),
      None,
      "a is still outstanding"
    );
    epochs.settle(a, Outcome::Spooled);
    assert_eq!(
      epochs.take_if_settled(flush1),
      Some(Tally {
        spooled: 1,
        ..Default::default()
      })
    );
    let flush2 = epochs.advance();
    assert_eq!(
      epochs.take_if_settled(flush2),
      Some(Tally {
        sent: 1,
        ..Default::default()
      })
    );
    assert_eq!(epochs.take_if_settled(flush2), Some(Tally::default()));
  }

  #[test]
  fn taking_every_pending_entry_resets_the_byte_count() {
    let mut queue = Queue::default();
    let now = Instant::now();
    let linger = Duration::from_secs(1);
    for i in 0..3 {
      queue.push(envelope("g", 100 * 1024), i, false, now);
    }
    let group = queue.groups.values_mut().next().unwrap();
    assert_eq!(group.take_pending().len(), 3);
    queue.push(envelope("g", 10), 3, false, now);
    let (batches, next) = queue.take_ready(now, linger);
    assert!(
      batches.is_empty(),
      "one small event is not a full batch: it waits for the linger"
    );
    assert_eq!(next, Some(now + linger));
  }

  #[test]
  fn concurrent_flushes_report_their_own_events() {
    let mut epochs = Epochs::default();
    let a = epochs.accept();
    let first = epochs.advance();
    let b = epochs.accept();
    let second = epochs.advance();
    epochs.settle(a, Outcome::Sent);
    epochs.settle(b, Outcome::Sent);
    // The second flush finishes first: it must not take the first one's event.
    assert_eq!(
      epochs.take_if_settled(second),
      Some(Tally {
        sent: 1,
        ..Default::default()
      })
    );
    assert_eq!(
      epochs.take_if_settled(first),
      Some(Tally {
        sent: 1,
        ..Default::default()
      })
    );
  }
}
