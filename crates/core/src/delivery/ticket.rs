//! A ticket: what a caller that waits for its events' outcomes holds (the relay's
//! `--ack published` answers once SNS has every event of a request).

use super::epochs::Outcome;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use tokio::sync::Notify;

/// Counts the events of one submission still unsettled, and whether any ended otherwise
/// than sent.
#[derive(Debug)]
pub struct Ticket {
  unsettled: AtomicUsize,
  all_sent: AtomicBool,
  done: Notify,
}

impl Ticket {
  pub fn new(events: usize) -> Ticket {
    Ticket {
      unsettled: AtomicUsize::new(events),
      all_sent: AtomicBool::new(true),
      done: Notify::new(),
    }
  }

  /// One event of the ticket settled.
  pub(super) fn settle(&self, outcome: Outcome) {
    if outcome != Outcome::Sent {
      self.all_sent.store(false, SeqCst);
    }
    if self.unsettled.fetch_sub(1, SeqCst) == 1 {
      // Stores a permit when nobody waits yet.
      self.done.notify_one();
    }
  }

  /// Resolves once every event settled: true when every one was sent.
  pub async fn all_sent(&self) -> bool {
    while self.unsettled.load(SeqCst) > 0 {
      self.done.notified().await;
    }
    self.all_sent.load(SeqCst)
  }
}
