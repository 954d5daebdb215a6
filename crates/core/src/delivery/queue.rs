//! The in-memory queue: one FIFO per (topic, message group), at most one batch of a group in
//! flight, the overflow waiting for the spool, and the flush epochs. Everything here runs
//! under the logger's mutex, held by the delivery tasks and flushes, never by `log()`: events
//! arrive through the lock-free [`HandOff`] and are absorbed whenever the mutex is taken to
//! look at the whole queue. Constant work per event; the state is private, changed only
//! through the methods below and those of [`spool_mode`] (the overflow, replay and the spool
//! keys to delete: the spool keeper's side).

mod spool_mode;

use super::epochs::{Epochs, FlushRange, Outcome, Tally};
use super::group::Group;
pub use super::group::{GroupKey, Queued};
use super::handoff::{HandOff, Handed, HandedTo};
use super::ticket::Ticket;
use crate::message::Envelope;
use crate::sink::{sns, SinkLimits};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
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

/// Everything the delivery tasks mutate, behind one mutex.
pub struct Queue {
  groups: HashMap<GroupKey, Group>,
  /// Where new events arrive, and the memory and in-flight counts it keeps.
  hand_off: Arc<HandOff>,
  /// How long a lone event waits for batch mates (the logger's lingerMs).
  linger: Duration,
  limits: SinkLimits,
  epochs: Epochs,
  /// Flushes waiting: events of this epoch or older skip the linger.
  hurry_epoch: Option<u64>,
  /// Topics paused after throttling.
  paused: HashMap<Arc<str>, Instant>,
  closed: bool,
  /// Accepted events waiting to be written to the spool (counted in `depth`).
  overflow: Vec<Queued>,
  /// While set, new events go to the spool so none overtakes a spooled one.
  spool_mode: bool,
  /// Highest spool key loaded for replay; `None`: start from the oldest.
  replay_cursor: Option<u64>,
  /// Sequence numbers of replayed events now in memory (skipped when re-reading the spool).
  replayed_in_memory: HashSet<u64>,
  /// Spool keys of replayed events that settled: to delete from the spool.
  to_unspool: Vec<u64>,
  /// Events written ahead that were left in the spool (not cached in memory), ever.
  left_in_spool: u64,
}

impl Default for Queue {
  fn default() -> Self {
    Queue::new(Duration::ZERO, sns::LIMITS, Arc::default())
  }
}

impl Queue {
  pub fn new(linger: Duration, limits: SinkLimits, hand_off: Arc<HandOff>) -> Queue {
    Queue {
      groups: HashMap::new(),
      hand_off,
      linger,
      limits,
      epochs: Epochs::default(),
      hurry_epoch: None,
      paused: HashMap::new(),
      closed: false,
      overflow: Vec::new(),
      spool_mode: false,
      replay_cursor: None,
      replayed_in_memory: HashSet::new(),
      to_unspool: Vec::new(),
      left_in_spool: 0,
    }
  }

  /// Takes in every event handed over so far, in the order handed, numbering new ones in
  /// that order (so a group's events leave in the order of their numbers, which are their
  /// keys in the spool): each joins its group, or the overflow when it came past the caps or
  /// while events wait in the spool (so none overtakes a spooled one). Returns how many
  /// joined a group.
  pub fn absorb(&mut self) -> usize {
    let mut queued = 0;
    while let Some(Handed {
      envelope,
      route,
      at,
      ticket,
    }) = self.hand_off.pop()
    {
      let envelope = match route {
        HandedTo::WrittenAhead { .. } => envelope,
        _ => envelope.with_seq(self.hand_off.take_seqs(1)),
      };
      let envelope = Arc::new(envelope);
      match route {
        HandedTo::Overflow => self.push_overflow(envelope, at, ticket),
        HandedTo::Queue if self.spool_mode => {
          self.hand_off.overflow_grew(Queued::bytes_of(&envelope));
          self.push_overflow(envelope, at, ticket);
        }
        HandedTo::Queue => {
          self.push(envelope, at, ticket);
          queued += 1;
        }
        HandedTo::WrittenAhead { cached: true } if !self.spool_mode => {
          self.push_written_ahead(envelope, at, ticket);
          queued += 1;
        }
        HandedTo::WrittenAhead { cached } => {
          if cached {
            self.hand_off.release(1, Queued::bytes_of(&envelope));
          }
          self.leave_in_spool(ticket);
        }
      }
    }
    queued
  }

  pub fn depth(&self) -> Depth {
    let (events, bytes) = self.hand_off.memory();
    Depth {
      events,
      bytes,
      in_flight_batches: self.hand_off.in_flight_batches().load(Relaxed),
    }
  }

  /// Refuses new events from now on (the hand-off is closed first: see `HandOff::close`).
  pub fn close(&mut self) {
    self.absorb();
    self.closed = true;
  }

  /// Nothing left to dispatch, ever: closed and no group holds anything.
  pub fn is_finished(&self) -> bool {
    self.closed && self.groups.is_empty() && !self.hand_off.has_pending()
  }

  /// Adds a new event to its group (its memory was reserved by the caller).
  fn push(&mut self, envelope: Arc<Envelope>, now: Instant, ticket: Option<Arc<Ticket>>) {
    let epoch = self.epochs.accept();
    self.join_group(Queued::new(envelope, Some(epoch), false, now, ticket));
  }

  fn join_group(&mut self, queued: Queued) {
    let key = GroupKey {
      topic: queued.envelope.topic_arn().clone(),
      group: queued.envelope.group_id().clone(),
    };
    self.groups.entry(key).or_default().push_back(queued);
  }

  /// Settles an event that has left the queue for good.
  pub fn settle(&mut self, queued: &Queued, outcome: Outcome) {
    self.hand_off.release(1, queued.bytes());
    if let Some(epoch) = queued.epoch() {
      self.epochs.settle(epoch, outcome);
    }
    if let Some(ticket) = queued.ticket() {
      ticket.settle(outcome);
    }
    if queued.in_spool()
      && self.replayed_in_memory.remove(&queued.seq())
      && outcome != Outcome::Spooled
    {
      self.to_unspool.push(queued.seq());
    }
  }

  /// Closes the current flush epoch: the flush waits for every event logged before it, and
  /// those skip the linger.
  pub fn begin_flush(&mut self) -> FlushRange {
    self.absorb();
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
    self.absorb();
    self.take_ready(now, self.linger)
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
        self.hand_off.in_flight_batches().fetch_add(1, Relaxed);
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
    self.hand_off.in_flight_batches().fetch_sub(1, Relaxed);
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
    self.absorb();
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
    self.absorb();
    let mut all = self.take_overflow();
    for (_, mut group) in self.groups.drain() {
      if let Some(in_flight) = group.in_flight.take() {
        self.hand_off.in_flight_batches().fetch_sub(1, Relaxed);
        all.extend(in_flight);
      }
      all.extend(group.take_pending());
    }
    all
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::message::MessageAttributes;

  fn envelope(group: &str, bytes: usize) -> Arc<Envelope> {
    dedup_envelope(group, bytes, "d")
  }

  fn dedup_envelope(group: &str, bytes: usize, dedup_id: &str) -> Arc<Envelope> {
    let message = "x".repeat(bytes);
    Arc::new(Envelope::whole(
      "arn:aws:sns:us-east-1:1:t.fifo",
      group,
      dedup_id,
      &message,
    ))
  }

  #[test]
  fn batches_hold_at_most_ten_entries_and_256_kib() {
    let mut queue = Queue::default();
    let now = Instant::now();
    for _ in 0..25 {
      queue.push(envelope("g", 10), now, None);
    }
    let (batches, _) = queue.take_ready(now, Duration::from_secs(1));
    assert_eq!(batches.len(), 1, "one batch per group in flight");
    assert_eq!(batches[0].1.len(), 10);

    let mut queue = Queue::default();
    for _ in 0..3 {
      queue.push(envelope("g", 100 * 1024), now, None);
    }
    let (batches, _) = queue.take_ready(now, Duration::from_secs(1));
    assert_eq!(
      batches[0].1.len(),
      2,
      "a third 100 KiB entry would pass 256 KiB"
    );
  }

  #[test]
  fn batches_are_cut_by_the_bytes_of_messages_and_their_attributes() {
    let attributes = crate::message::MessageAttributes {
      category: "Escalation".into(),
      action: "successful".into(),
      event_type: "session".into(),
    };
    // Two messages that together fill 256 KiB but for 40 bytes: one request without
    // attributes; with them (68 bytes each) the second passes 256 KiB and waits.
    let message = "x".repeat(128 * 1024 - 20);
    let with = |attributes: Option<&MessageAttributes>, dedup_id: &str| {
      let topic = "arn:aws:sns:us-east-1:1:t.fifo";
      Arc::new(match attributes {
        None => Envelope::whole(topic, "g", dedup_id, &message),
        Some(a) => Envelope::whole_with_attributes(topic, "g", dedup_id, &message, a).unwrap(),
      })
    };
    assert_eq!(attributes.size(), 68);
    let now = Instant::now();
    let mut queue = Queue::default();
    queue.push(with(None, "1"), now, None);
    queue.push(with(None, "2"), now, None);
    let (batches, _) = queue.take_ready(now, Duration::ZERO);
    assert_eq!(batches[0].1.len(), 2);
    let mut queue = Queue::default();
    queue.push(with(Some(&attributes), "1"), now, None);
    queue.push(with(Some(&attributes), "2"), now, None);
    let (batches, _) = queue.take_ready(now, Duration::ZERO);
    assert_eq!(batches[0].1.len(), 1, "the second would pass 256 KiB");
    assert_eq!(batches[0].1[0].wire_len(), 128 * 1024 - 20 + 68);
  }

  #[test]
  fn a_lone_event_waits_for_the_linger_only() {
    let mut queue = Queue::default();
    let now = Instant::now();
    let linger = Duration::from_millis(5);
    queue.push(envelope("g", 10), now, None);
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
      queue.push(dedup_envelope("g", 1, &i.to_string()), now, None);
    }
    let (batches, _) = queue.take_ready(now, Duration::ZERO);
    let key = batches[0].0.clone();
    let group = queue.groups.get_mut(&key).unwrap();
    let failed: Vec<Queued> = group
      .in_flight
      .take()
      .unwrap()
      .into_iter()
      .filter(|q| q.envelope.dedup_id() != "0")
      .collect();
    group.requeue_front(failed);
    let order: Vec<String> = group
      .pending
      .iter()
      .map(|q| q.envelope.dedup_id().into_owned())
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
    for _ in 0..3 {
      queue.push(envelope("g", 100 * 1024), now, None);
    }
    let group = queue.groups.values_mut().next().unwrap();
    assert_eq!(group.take_pending().len(), 3);
    queue.push(envelope("g", 10), now, None);
    let (batches, next) = queue.take_ready(now, linger);
    assert!(
      batches.is_empty(),
      "one small event is not a full batch: it waits for the linger"
    );
    assert_eq!(next, Some(now + linger));
  }
}
