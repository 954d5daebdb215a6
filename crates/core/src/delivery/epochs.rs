//! Flush bookkeeping: which events a flush waits for, and how they ended.

use std::collections::VecDeque;

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

#[cfg(test)]
mod tests {
  use super::*;

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
