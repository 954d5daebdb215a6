//! The hand-off from the callers of `log()` to the delivery tasks, without a lock: a
//! lock-free queue the callers push to and whoever holds the queue's mutex drains (see
//! `Queue::absorb`), the memory it all holds (atomics the callers reserve from), and the
//! dispatcher's schedule, so a caller wakes it only when it would not look in time.
//!
//! `log()` never waits on a lock the delivery tasks hold. The one wait left is deliberate:
//! past the caps, during an outage, a flood faster than the disk waits up to a second for
//! the spool writer (`wait_for_spool_writer`).

use super::ticket::Ticket;
use crate::message::Envelope;
use crossbeam_queue::SegQueue;
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A caller wakes the dispatcher after this many events wait in the hand-off, even when the
/// dispatcher will look on its own soon: a burst should not wait a whole linger in memory.
const WAKE_EVERY: usize = 64;
/// `dispatcher_wakes_at` when the dispatcher sleeps until it is woken.
const ASLEEP: u64 = u64::MAX;

/// An accepted event on its way to the queue.
pub struct Handed {
  /// Without its sequence number unless `Route::WrittenAhead`: the queue numbers events as it
  /// takes them in, so their order is the order they were handed over.
  pub envelope: Envelope,
  pub route: HandedTo,
  pub at: Instant,
  pub ticket: Option<Arc<Ticket>>,
}

/// Where a handed-over event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandedTo {
  /// Its group (or the overflow, while events wait in the spool).
  Queue,
  /// Past the caps: for the spool, not the queue.
  Overflow,
  /// Already in the spool, written ahead (`durability: disk`): into memory when `cached`
  /// (its memory was reserved) and nothing waits in the spool before it, else left there for
  /// replay.
  WrittenAhead { cached: bool },
}

/// Shared by the callers of `log()` and the delivery tasks; see the module's doc.
pub struct HandOff {
  events: SegQueue<Handed>,
  /// The next sequence number: acceptance order across runs (continues after the spool's
  /// last key).
  next_seq: AtomicU64,
  /// Events pushed and not yet absorbed. Raised before the push, so a reader never sees fewer
  /// than the queue holds.
  pending: AtomicUsize,
  /// What every accepted, unsettled event holds in memory: in the hand-off, queued, in
  /// flight or waiting for the spool writer.
  memory_events: AtomicUsize,
  memory_bytes: AtomicUsize,
  /// Bytes of events for the spool not yet taken by its writer (counted in memory too).
  overflow_bytes: AtomicUsize,
  in_flight_batches: AtomicUsize,
  /// Events written ahead whose delivery moved to the spool (left there, or their retry
  /// budget spent): `stats().spooled` counts them with the events written there.
  spooled_ahead: AtomicU64,
  closed: AtomicBool,
  /// Callers between their check of `closed` and their push (see [`HandOff::close`]).
  entering: AtomicUsize,
  /// The dispatcher was woken and has not looked yet.
  dispatch_requested: AtomicBool,
  /// When the dispatcher looks again on its own: nanoseconds after `base`, or [`ASLEEP`].
  dispatcher_wakes_at: AtomicU64,
  base: Instant,
  /// Callers waiting for the spool writer to take the overflow.
  spool_writer: (Mutex<()>, Condvar),
  /// The spool writer missed a deadline: callers stop waiting for it until it catches up.
  spool_writer_stalled: AtomicBool,
  /// A caller waited for room in the queue in vain (delivery is stuck): callers stop waiting
  /// for room until a reservation succeeds again.
  room_stalled: AtomicBool,
}

/// A caller inside [`HandOff::enter`]: close() waits for it to push.
pub struct Entered<'a>(&'a HandOff);

impl Drop for Entered<'_> {
  fn drop(&mut self) {
    self.0.entering.fetch_sub(1, SeqCst);
  }
}

impl Default for HandOff {
  fn default() -> Self {
    HandOff {
      events: SegQueue::new(),
      next_seq: AtomicU64::new(0),
      pending: AtomicUsize::new(0),
      memory_events: AtomicUsize::new(0),
      memory_bytes: AtomicUsize::new(0),
      overflow_bytes: AtomicUsize::new(0),
      in_flight_batches: AtomicUsize::new(0),
      spooled_ahead: AtomicU64::new(0),
      closed: AtomicBool::new(false),
      entering: AtomicUsize::new(0),
      dispatch_requested: AtomicBool::new(false),
      dispatcher_wakes_at: AtomicU64::new(ASLEEP),
      base: Instant::now(),
      spool_writer: (Mutex::new(()), Condvar::new()),
      spool_writer_stalled: AtomicBool::new(false),
      room_stalled: AtomicBool::new(false),
    }
  }
}

impl HandOff {
  /// Takes `count` consecutive sequence numbers; returns the first.
  pub fn take_seqs(&self, count: u64) -> u64 {
    self.next_seq.fetch_add(count, Relaxed)
  }

  /// Numbers continue after `seq` (the spool's last key at start).
  pub fn seqs_after(&self, seq: u64) {
    self.next_seq.fetch_max(seq + 1, Relaxed);
  }

  /// Admits a caller unless close() has begun; close() waits until it has pushed.
  pub fn enter(&self) -> Option<Entered<'_>> {
    self.entering.fetch_add(1, SeqCst);
    let entered = Entered(self);
    (!self.closed.load(SeqCst)).then_some(entered)
  }

  /// Refuses callers from now on, and returns once every admitted one has pushed, so that
  /// what the queue absorbs next is everything ever accepted.
  pub fn close(&self) {
    self.closed.store(true, SeqCst);
    while self.entering.load(SeqCst) > 0 {
      std::thread::yield_now();
    }
  }

  pub fn is_closed(&self) -> bool {
    self.closed.load(Relaxed)
  }

  /// Reserves memory for `events` events of `bytes` within the caps; false when they do not
  /// fit (nothing reserved then).
  pub fn reserve(&self, events: usize, bytes: usize, max_events: usize, max_bytes: usize) -> bool {
    let before_events = self.memory_events.fetch_add(events, Relaxed);
    let before_bytes = self.memory_bytes.fetch_add(bytes, Relaxed);
    if before_events + events <= max_events && before_bytes + bytes <= max_bytes {
      if self.room_stalled.load(Relaxed) {
        self.room_stalled.store(false, Relaxed);
      }
      return true;
    }
    self.release(events, bytes);
    false
  }

  /// Whether a caller waited for room in vain since the last reservation that succeeded.
  pub fn room_stalled(&self) -> bool {
    self.room_stalled.load(Relaxed)
  }

  pub fn mark_room_stalled(&self) {
    self.room_stalled.store(true, Relaxed);
  }

  /// Counts events in memory outside the caps (replayed from the spool).
  pub fn add(&self, events: usize, bytes: usize) {
    self.memory_events.fetch_add(events, Relaxed);
    self.memory_bytes.fetch_add(bytes, Relaxed);
  }

  /// Reserves memory for events past the caps, for the spool: within `limit` bytes of
  /// overflow unless `always`. False when they do not fit (nothing reserved then).
  pub fn reserve_overflow(&self, events: usize, bytes: usize, limit: usize, always: bool) -> bool {
    let before = self.overflow_bytes.fetch_add(bytes, Relaxed);
    if !always && before + bytes > limit {
      self.overflow_bytes.fetch_sub(bytes, Relaxed);
      return false;
    }
    self.add(events, bytes);
    true
  }

  /// Events already in memory now wait for the spool writer (`+`), or it took them (`-`).
  pub fn overflow_grew(&self, bytes: usize) {
    self.overflow_bytes.fetch_add(bytes, Relaxed);
  }

  pub fn overflow_taken(&self, bytes: usize) {
    self.overflow_bytes.fetch_sub(bytes, Relaxed);
  }

  pub fn overflow_bytes(&self) -> usize {
    self.overflow_bytes.load(Relaxed)
  }

  /// Events left memory (settled).
  pub fn release(&self, events: usize, bytes: usize) {
    self.memory_events.fetch_sub(events, Relaxed);
    self.memory_bytes.fetch_sub(bytes, Relaxed);
  }

  pub fn memory(&self) -> (usize, usize) {
    (
      self.memory_events.load(Relaxed),
      self.memory_bytes.load(Relaxed),
    )
  }

  pub fn spooled_ahead(&self) -> &AtomicU64 {
    &self.spooled_ahead
  }

  pub fn in_flight_batches(&self) -> &AtomicUsize {
    &self.in_flight_batches
  }

  /// Hands an event over. Returns true when the caller should wake the dispatcher: it
  /// sleeps past the event's linger, or a burst is waiting.
  pub fn push(&self, handed: Handed, linger: Duration) -> bool {
    let due = self.nanos(handed.at + linger);
    let for_dispatcher = matches!(
      handed.route,
      HandedTo::Queue | HandedTo::WrittenAhead { cached: true }
    );
    let pending = self.pending.fetch_add(1, SeqCst) + 1;
    self.events.push(handed);
    if !for_dispatcher || self.dispatch_requested.load(SeqCst) {
      return false;
    }
    let late = self.dispatcher_wakes_at.load(SeqCst) > due;
    (late || pending >= WAKE_EVERY) && !self.dispatch_requested.swap(true, SeqCst)
  }

  /// Takes the next event handed over, oldest first.
  pub fn pop(&self) -> Option<Handed> {
    let handed = self.events.pop()?;
    self.pending.fetch_sub(1, SeqCst);
    Some(handed)
  }

  /// Whether events were handed over since the last [`HandOff::pop`] emptied it (or are
  /// being pushed right now).
  pub fn has_pending(&self) -> bool {
    self.pending.load(SeqCst) > 0
  }

  /// The dispatcher is about to look: callers may wake it again after this.
  pub fn dispatcher_looking(&self) {
    self.dispatch_requested.store(false, SeqCst);
  }

  /// The dispatcher will look again by `at` (`None`: only when woken).
  pub fn dispatcher_sleeps_until(&self, at: Option<Instant>) {
    let at = at.map_or(ASLEEP, |at| self.nanos(at));
    self.dispatcher_wakes_at.store(at, SeqCst);
  }

  /// Marks the dispatcher as woken; false when it already was.
  pub fn request_dispatch(&self) -> bool {
    !self.dispatch_requested.swap(true, SeqCst)
  }

  fn nanos(&self, at: Instant) -> u64 {
    at.saturating_duration_since(self.base).as_nanos() as u64
  }

  /// The overflow is past its allowance: waits (at most `at_most`) until the spool writer has
  /// taken it back under `limit`. After one missed deadline it stops waiting until the
  /// writer catches up, so a stuck disk cannot hang the app.
  pub fn wait_for_spool_writer(&self, limit: usize, at_most: Duration) {
    if self.spool_writer_stalled.load(Relaxed) {
      return;
    }
    let (lock, written) = &self.spool_writer;
    let mut guard = lock.lock();
    let wait = written.wait_while_for(
      &mut guard,
      |_| self.overflow_bytes.load(Relaxed) > limit,
      at_most,
    );
    if wait.timed_out() {
      self.spool_writer_stalled.store(true, Relaxed);
    }
  }

  /// The spool writer took the overflow and settled it: wakes callers waiting for room.
  pub fn spool_writer_caught_up(&self) {
    self.spool_writer_stalled.store(false, Relaxed);
    let (lock, written) = &self.spool_writer;
    // Taken so a caller between its check and its sleep cannot miss the notification.
    drop(lock.lock());
    written.notify_all();
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn handed(seq: u64, at: Instant) -> Handed {
    let envelope = Envelope::whole("arn:aws:sns:us-east-1:1:t.fifo", "g", "d", "{}");
    Handed {
      envelope: envelope.with_seq(seq),
      route: HandedTo::Queue,
      at,
      ticket: None,
    }
  }

  #[test]
  fn the_dispatcher_is_woken_only_when_it_would_not_look_in_time() {
    let hand_off = HandOff::default();
    let now = Instant::now();
    let linger = Duration::from_millis(5);
    assert!(
      hand_off.push(handed(0, now), linger),
      "a sleeping dispatcher is woken"
    );
    assert!(
      !hand_off.push(handed(1, now), linger),
      "already woken: no second wake-up"
    );
    // It looks, takes both, and will look again when the linger ends.
    hand_off.dispatcher_looking();
    while hand_off.pop().is_some() {}
    hand_off.dispatcher_sleeps_until(Some(now + linger));
    assert!(!hand_off.has_pending());
    for seq in 2..2 + WAKE_EVERY as u64 {
      let woke = hand_off.push(handed(seq, now + Duration::from_millis(1)), linger);
      assert_eq!(
        woke,
        seq == 1 + WAKE_EVERY as u64,
        "due after the dispatcher's own look: no wake-up until a burst has gathered"
      );
    }
    assert!(hand_off.has_pending());
  }

  #[test]
  fn reservations_stay_within_the_caps() {
    let hand_off = HandOff::default();
    assert!(hand_off.reserve(2, 100, 3, 1000));
    assert!(!hand_off.reserve(2, 100, 3, 1000), "5 events > 3");
    assert!(!hand_off.reserve(1, 901, 3, 1000), "1001 bytes > 1000");
    assert_eq!(hand_off.memory(), (2, 100), "a refusal reserves nothing");
    hand_off.release(2, 100);
    assert!(hand_off.reserve(3, 1000, 3, 1000));
  }

  #[test]
  fn close_waits_for_callers_inside_and_refuses_new_ones() {
    let hand_off = Arc::new(HandOff::default());
    let inside = hand_off.enter().expect("open");
    let closer = {
      let hand_off = hand_off.clone();
      std::thread::spawn(move || hand_off.close())
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(!closer.is_finished(), "a caller is still inside");
    drop(inside);
    closer.join().unwrap();
    assert!(hand_off.enter().is_none());
  }
}
