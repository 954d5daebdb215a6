//! The in-memory queue: one FIFO per (topic, message group), at most one batch of a group in
//! flight, the overflow waiting for the spool, and the flush epochs. Everything here runs
//! under the logger's mutex and does constant work per event; its state is private, changed
//! only through the methods below.

use super::epochs::{Epochs, FlushRange, Outcome, Tally};
use super::group::Group;
pub use super::group::{GroupKey, Queued};
use crate::message::Envelope;
use crate::sink::{sns, SinkLimits};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A batch taken for sending: its group and its entries.
pub type ReadyBatch = (GroupKey, Vec<Arc<Envelope>>);

/// How many events and bytes the queue holds, and how many batches are in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
  pub events: usize,
  pub bytes: usize,
  pub in_flight_batches: usize,
}

/// What the spool keeper has to do on one round.
pub struct SpoolWork {
  /// Accepted events to write to the spool.
  pub overflow: Vec<Queued>,
  /// Spool keys of replayed events that settled: to delete.
  pub to_unspool: Vec<u64>,
  /// `Some(cursor)`: the queue is idle in spool mode, so load the next chunk after `cursor`.
  pub replay_from: Option<Option<u64>>,
  pub closed: bool,
}

/// Everything the logger mutates, behind one mutex.
pub struct Queue {
  groups: HashMap<GroupKey, Group>,
  depth: Depth,
  /// How long a lone event waits for batch mates (the logger's lingerMs).
  linger: Duration,
  limits: SinkLimits,
  /// The dispatcher was notified and has not looked yet: no need to notify it again.
  dispatch_requested: bool,
  /// When the dispatcher will look again on its own; `None`: only when notified.
  dispatcher_wakes_at: Option<Instant>,
  epochs: Epochs,
  /// Flushes waiting: events of this epoch or older skip the linger.
  hurry_epoch: Option<u64>,
  /// Topics paused after throttling.
  paused: HashMap<Arc<str>, Instant>,
  closed: bool,
  /// Accepted events waiting to be written to the spool (counted in `depth`).
  overflow: Vec<Queued>,
  /// Bytes of `overflow`: new events wait for the spool writer when it grows too large.
  overflow_bytes: usize,
  /// The spool writer missed a deadline: stop waiting for it until it takes the overflow.
  overflow_stalled: bool,
  /// While set, new events go to the spool so none overtakes a spooled one.
  spool_mode: bool,
  /// Highest spool key loaded for replay; `None`: start from the oldest.
  replay_cursor: Option<u64>,
  /// Sequence numbers of replayed events now in memory (skipped when re-reading the spool).
  replayed_in_memory: HashSet<u64>,
  /// Spool keys of replayed events that settled: to delete from the spool.
  to_unspool: Vec<u64>,
}

impl Default for Queue {
  fn default() -> Self {
    Queue::new(Duration::ZERO, sns::LIMITS)
  }
}

impl Queue {
  pub fn new(linger: Duration, limits: SinkLimits) -> Queue {
    Queue {
      groups: HashMap::new(),
      depth: Depth::default(),
      linger,
      limits,
      dispatch_requested: false,
      dispatcher_wakes_at: None,
      epochs: Epochs::default(),
      hurry_epoch: None,
      paused: HashMap::new(),
      closed: false,
      overflow: Vec::new(),
      overflow_bytes: 0,
      overflow_stalled: false,
      spool_mode: false,
      replay_cursor: None,
      replayed_in_memory: HashSet::new(),
      to_unspool: Vec::new(),
    }
  }

  pub fn depth(&self) -> Depth {
    self.depth
  }

  pub fn is_closed(&self) -> bool {
    self.closed
  }

  /// Refuses new events from now on.
  pub fn close(&mut self) {
    self.closed = true;
  }

  /// Nothing left to dispatch, ever: closed and no group holds anything.
  pub fn is_finished(&self) -> bool {
    self.closed && self.groups.is_empty()
  }

  /// Whether `events` events of `bytes` in all may wait in memory: the queue has room within
  /// its caps and nothing is spooled ahead of them.
  pub fn has_room_for(
    &self,
    events: usize,
    bytes: usize,
    max_events: usize,
    max_bytes: usize,
  ) -> bool {
    !self.spool_mode
      && self.depth.events + events <= max_events
      && self.depth.bytes + bytes <= max_bytes
  }

  /// A spool left by an earlier run holds events: new ones follow them there.
  pub fn resume_from_spool(&mut self) {
    self.spool_mode = true;
  }

  pub fn in_spool_mode(&self) -> bool {
    self.spool_mode
  }

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
    let due = if group.pending.len() == self.limits.batch_entries {
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
      epoch: (!in_spool).then(|| self.epochs.accept()),
      enqueued: now,
    };
    self.depth.events += 1;
    self.depth.bytes += queued.bytes();
    queued
  }

  /// Accepts an event straight for the spool; from now on new events follow it there.
  pub fn push_overflow(&mut self, envelope: Arc<Envelope>, seq: u64, now: Instant) {
    let queued = self.accept(envelope, seq, false, now);
    self.overflow_bytes += queued.bytes();
    self.overflow.push(queued);
    self.spool_mode = true;
  }

  /// The overflow is past `limit` and the spool writer has not missed a deadline: the caller
  /// should wait for the writer.
  pub fn overflow_exceeds(&self, limit: usize) -> bool {
    self.overflow_bytes > limit && !self.overflow_stalled
  }

  /// The spool writer missed a deadline: stop waiting for it until it takes the overflow.
  pub fn overflow_writer_stalled(&mut self) {
    self.overflow_stalled = true;
  }

  pub fn overflow_bytes(&self) -> usize {
    self.overflow_bytes
  }

  pub fn has_overflow(&self) -> bool {
    !self.overflow.is_empty()
  }

  /// Hands the overflow to the spool writer.
  fn take_overflow(&mut self) -> Vec<Queued> {
    self.overflow_bytes = 0;
    self.overflow_stalled = false;
    std::mem::take(&mut self.overflow)
  }

  /// What the spool keeper has to do now.
  pub fn take_spool_work(&mut self) -> SpoolWork {
    let overflow = self.take_overflow();
    let idle = self.depth.events == overflow.len() && self.spool_mode && !self.closed;
    SpoolWork {
      to_unspool: self.take_unspooled(),
      replay_from: idle.then_some(self.replay_cursor),
      closed: self.closed,
      overflow,
    }
  }

  /// Queues a chunk read from the spool, skipping events already in memory; returns how many
  /// were queued. An empty chunk ends spool mode unless overflow is waiting.
  pub fn load_replayed(&mut self, events: Vec<(u64, Envelope)>, now: Instant) -> u64 {
    let Some(last) = events.last().map(|(key, _)| *key) else {
      if self.overflow.is_empty() {
        self.spool_mode = false;
      }
      return 0;
    };
    let mut loaded = 0;
    for (seq, envelope) in events {
      if !self.replayed_in_memory.contains(&seq) {
        self.push(Arc::new(envelope), seq, true, now);
        loaded += 1;
      }
    }
    self.replay_cursor = Some(last);
    loaded
  }

  /// Settles an event that has left the queue for good.
  pub fn settle(&mut self, queued: &Queued, outcome: Outcome) {
    self.depth.events -= 1;
    self.depth.bytes -= queued.bytes();
    if let Some(epoch) = queued.epoch {
      self.epochs.settle(epoch, outcome);
    }
    if queued.in_spool && self.replayed_in_memory.remove(&queued.seq) && outcome != Outcome::Spooled
    {
      self.to_unspool.push(queued.seq);
    }
  }

  /// Sends events back to the spool (retry budget spent): those already there are settled,
  /// the others wait in the overflow; replay restarts from the oldest.
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

  /// Closes the current flush epoch: the flush waits for every event logged before it, and
  /// those skip the linger.
  pub fn begin_flush(&mut self) -> FlushRange {
    let range = self.epochs.advance();
    self.hurry_epoch = Some(self.epochs.current() - 1);
    range
  }

  /// The outcomes of a flush's events, once every one of them has settled.
  pub fn take_settled(&mut self, range: FlushRange) -> Option<Tally> {
    self.epochs.take_if_settled(range)
  }

  /// The dispatcher's look: every batch that may be sent now, and when to look again.
  pub fn dispatch(&mut self, now: Instant) -> (Vec<ReadyBatch>, Option<Instant>) {
    self.dispatch_requested = false;
    let (batches, next) = self.take_ready(now, self.linger);
    self.dispatcher_wakes_at = next;
    (batches, next)
  }

  /// Takes every batch that may be sent now; also returns when to look again.
  fn take_ready(&mut self, now: Instant, linger: Duration) -> (Vec<ReadyBatch>, Option<Instant>) {
    let mut batches = Vec::new();
    let mut next: Option<Instant> = None;
    self.paused.retain(|_, until| *until > now);
    for (key, group) in self.groups.iter_mut() {
      let paused_until = self.paused.get(&key.topic).copied();
      let Some(at) = group.ready_at(linger, &self.limits, self.hurry_epoch, paused_until) else {
        continue;
      };
      if at <= now {
        batches.push((key.clone(), group.take_batch(&self.limits)));
        self.depth.in_flight_batches += 1;
      } else {
        next = Some(next.map_or(at, |n| n.min(at)));
      }
    }
    (batches, next)
  }

  /// Takes a group's batch out of flight, for its results; `None` when close() or exit
  /// already spooled it.
  pub fn finish_in_flight(&mut self, key: &GroupKey) -> Option<Vec<Queued>> {
    let batch = self.groups.get_mut(key)?.in_flight.take()?;
    self.depth.in_flight_batches -= 1;
    Some(batch)
  }

  /// Whether the group is in a run of failures (its next retry waits for a backoff).
  pub fn is_backing_off(&self, key: &GroupKey) -> bool {
    self.groups.get(key).is_some_and(|g| g.backoff.is_some())
  }

  /// A batch of the group went through: its next failure starts a new backoff.
  pub fn reset_backoff(&mut self, key: &GroupKey) {
    if let Some(group) = self.groups.get_mut(key) {
      group.backoff = None;
      group.retry_at = None;
    }
  }

  /// The delay before the group's next retry, or `None` once its retry budget is spent (the
  /// backoff then starts over).
  pub fn next_retry_delay(
    &mut self,
    key: &GroupKey,
    policy: &ExponentialBuilder,
  ) -> Option<Duration> {
    let group = self.groups.get_mut(key)?;
    let delay = group.backoff.get_or_insert_with(|| policy.build()).next();
    if delay.is_none() {
      group.backoff = None;
      group.retry_at = None;
    }
    delay
  }

  /// Puts entries back at the head of their group, to be sent again at `at` at the earliest.
  pub fn retry_at(&mut self, key: &GroupKey, entries: Vec<Queued>, at: Instant) {
    let group = self.groups.entry(key.clone()).or_default();
    group.retry_at = Some(at);
    group.requeue_front(entries);
  }

  /// Holds every group of the topic until `until` (the service asked to slow down).
  pub fn pause_topic(&mut self, topic: Arc<str>, until: Instant) {
    self.paused.insert(topic, until);
  }

  /// Spool keys of replayed events that settled, to delete from the spool.
  pub fn take_unspooled(&mut self) -> Vec<u64> {
    std::mem::take(&mut self.to_unspool)
  }

  /// Keys whose deletion failed: tried again on the next round.
  pub fn return_unspooled(&mut self, keys: Vec<u64>) {
    self.to_unspool.extend(keys);
  }

  /// Takes everything the group has pending, oldest first.
  pub fn take_pending(&mut self, key: &GroupKey) -> Vec<Queued> {
    self
      .groups
      .get_mut(key)
      .map(Group::take_pending)
      .unwrap_or_default()
  }

  /// Takes every event waiting to be sent (not those in flight), oldest first per group.
  pub fn take_all_pending(&mut self) -> Vec<Queued> {
    let mut all = Vec::new();
    for group in self.groups.values_mut() {
      all.extend(group.take_pending());
    }
    self.groups.retain(|_, g| !g.is_idle());
    all
  }

  /// Removes an idle group so the map does not grow with every group ever seen.
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
    self.depth.in_flight_batches = 0;
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
}
