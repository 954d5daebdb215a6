//! Sending stored envelopes again (spool replay, dead-letter requeue): through the configured
//! sink, with each envelope's own dedup id, oldest first and one batch at a time per (topic,
//! message group), the groups side by side.
//!
//! A batch that fails for a reason worth a retry (throttling, timeouts, server errors) is
//! retried a few times; when it still fails, the rest of its group is left where it is, so
//! that the group's order holds. An entry refused for good does not stop its group. The
//! outcomes are tallied per group for the report.

use super::ErrorInfo;
use crate::message::Envelope;
use crate::sink::{Failure, FailureKind, Sink};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Groups sent at once.
const GROUPS_AT_ONCE: usize = 16;
/// Waits before the retries of a batch that failed for a passing reason.
const RETRY_DELAYS_MS: [u64; 3] = [200, 1_000, 3_000];
/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What became of one envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
  Sent,
  /// Refused for good (a permanent failure).
  Refused(Failure),
  /// Not sent: its batch kept failing, or an earlier batch of its group did (`None`).
  Left(Option<Failure>),
}

/// The (topic, message group) of an envelope.
pub type GroupKey = (Arc<str>, Arc<str>);

/// Sends `items` (in their order per group) and returns each one's outcome, in the order of
/// `items`. `progress(done)` is called on the calling task as envelopes settle.
pub async fn send_in_order(
  sink: Arc<dyn Sink>,
  items: Vec<Arc<Envelope>>,
  progress: &mut dyn FnMut(u64),
) -> Vec<Outcome> {
  let mut groups: Vec<(GroupKey, Vec<usize>)> = Vec::new();
  let mut index: HashMap<GroupKey, usize> = HashMap::new();
  for (i, envelope) in items.iter().enumerate() {
    let key = (envelope.topic_arn().clone(), envelope.group_id().clone());
    let slot = *index.entry(key.clone()).or_insert_with(|| {
      groups.push((key, Vec::new()));
      groups.len() - 1
    });
    groups[slot].1.push(i);
  }
  let items = Arc::new(items);
  let done = Arc::new(AtomicU64::new(0));
  let mut outcomes = vec![Outcome::Left(None); items.len()];
  let mut pending = groups.into_iter();
  let mut running = JoinSet::new();
  let mut spawn_next = |running: &mut JoinSet<Vec<(usize, Outcome)>>| {
    if let Some((_, members)) = pending.next() {
      let (sink, items, done) = (sink.clone(), items.clone(), done.clone());
      running.spawn(async move { send_group(&*sink, &items, members, &done).await });
    }
  };
  for _ in 0..GROUPS_AT_ONCE {
    spawn_next(&mut running);
  }
  let mut ticker = tokio::time::interval(PROGRESS_EVERY);
  loop {
    tokio::select! {
      joined = running.join_next() => {
        let Some(joined) = joined else { break };
        // A group's task that panicked leaves its envelopes where they were.
        if let Ok(results) = joined {
          for (i, outcome) in results {
            outcomes[i] = outcome;
          }
        }
        spawn_next(&mut running);
        progress(done.load(Relaxed));
      }
      _ = ticker.tick() => progress(done.load(Relaxed)),
    }
  }
  progress(done.load(Relaxed));
  outcomes
}

async fn send_group(
  sink: &dyn Sink,
  items: &[Arc<Envelope>],
  members: Vec<usize>,
  done: &AtomicU64,
) -> Vec<(usize, Outcome)> {
  let limits = sink.limits();
  let mut results = Vec::with_capacity(members.len());
  let mut rest = &members[..];
  while !rest.is_empty() {
    // The next batch: as many as fit in the sink's limits (at least one).
    let mut take = 0;
    let mut bytes = 0;
    while take < rest.len() && take < limits.batch_entries {
      let size = items[rest[take]].wire_len();
      if take > 0 && bytes + size > limits.batch_bytes {
        break;
      }
      bytes += size;
      take += 1;
    }
    let (batch, after) = rest.split_at(take);
    rest = after;
    let mut waiting: Vec<usize> = batch.to_vec();
    let mut attempt = 0;
    loop {
      let entries: Vec<Arc<Envelope>> = waiting.iter().map(|&i| items[i].clone()).collect();
      let answers = sink.publish(&entries).await;
      let mut again = Vec::new();
      let mut last_failure = None;
      for (&i, answer) in waiting.iter().zip(answers) {
        match answer {
          Ok(()) => {
            done.fetch_add(1, Relaxed);
            results.push((i, Outcome::Sent));
          }
          Err(failure) if failure.kind == FailureKind::Permanent => {
            done.fetch_add(1, Relaxed);
            results.push((i, Outcome::Refused(failure)));
          }
          Err(failure) => {
            last_failure = Some(failure);
            again.push(i);
          }
        }
      }
      if again.is_empty() {
        break;
      }
      if attempt == RETRY_DELAYS_MS.len() {
        // Still failing: leave it, and the rest of the group after it.
        let failure = last_failure.expect("a failure made it wait");
        for i in again {
          results.push((i, Outcome::Left(Some(failure.clone()))));
        }
        for &i in rest {
          results.push((i, Outcome::Left(None)));
        }
        return results;
      }
      tokio::time::sleep(Duration::from_millis(RETRY_DELAYS_MS[attempt])).await;
      attempt += 1;
      waiting = again;
    }
  }
  results
}

/// The outcome of one (topic, group) in a replay or requeue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOutcome {
  pub topic_arn: String,
  pub message_group_id: String,
  pub sent: u64,
  /// Refused by SNS for good: moved to the dead-letter file (replay) or kept (requeue).
  pub refused: u64,
  /// Not sent (still failing, or after a failure in its group): kept.
  pub left: u64,
  /// The last failure.
  pub error: Option<ErrorInfo>,
}

/// Tallies outcomes per group.
#[derive(Default)]
pub(super) struct Tally {
  groups: BTreeMap<(String, String), GroupOutcome>,
}

impl Tally {
  pub fn add(&mut self, envelope: &Envelope, outcome: &Outcome) {
    let key = (
      envelope.topic_arn().to_string(),
      envelope.group_id().to_string(),
    );
    let group = self
      .groups
      .entry(key.clone())
      .or_insert_with(|| GroupOutcome {
        topic_arn: key.0,
        message_group_id: key.1,
        sent: 0,
        refused: 0,
        left: 0,
        error: None,
      });
    match outcome {
      Outcome::Sent => group.sent += 1,
      Outcome::Refused(failure) => {
        group.refused += 1;
        group.error = Some(failure.into());
      }
      Outcome::Left(failure) => {
        group.left += 1;
        if let Some(failure) = failure {
          group.error = Some(failure.into());
        }
      }
    }
  }

  pub fn into_groups(self) -> Vec<GroupOutcome> {
    self.groups.into_values().collect()
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::sink::{BatchResult, BoxFuture, SinkLimits};
  use parking_lot::Mutex;

  /// Refuses dedup ids starting with "bad", fails those starting with "down", records batches.
  struct Scripted {
    batches: Mutex<Vec<Vec<String>>>,
  }

  impl Sink for Scripted {
    fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
      self
        .batches
        .lock()
        .push(entries.iter().map(|e| e.dedup_id().into_owned()).collect());
      let answers = entries
        .iter()
        .map(|e| {
          let kind = if e.dedup_id().starts_with("bad") {
            FailureKind::Permanent
          } else if e.dedup_id().starts_with("down") {
            FailureKind::Retryable
          } else {
            return Ok(());
          };
          Err(Failure {
            kind,
            code: "X".into(),
            message: "no".into(),
          })
        })
        .collect();
      Box::pin(async move { answers })
    }

    fn limits(&self) -> SinkLimits {
      SinkLimits {
        batch_entries: 2,
        batch_bytes: 1000,
        message_bytes: 1000,
      }
    }
  }

  fn envelope(group: &str, dedup: &str) -> Arc<Envelope> {
    Arc::new(Envelope::whole(
      "arn:aws:sns:us-east-1:1:t.fifo",
      group,
      dedup,
      "{}",
    ))
  }

  #[tokio::test(start_paused = true)]
  async fn a_batch_holds_what_fits_in_its_bytes_with_the_attributes_counted() {
    let sink = Arc::new(Scripted {
      batches: Mutex::default(),
    });
    let attributes = crate::message::MessageAttributes {
      category: "C".into(),
      action: "a".into(),
      event_type: "session".into(),
    };
    // 460 bytes of message each: two fit in 1000 bytes, not with 50 bytes of attributes each.
    let message = "x".repeat(460);
    let topic = "arn:aws:sns:us-east-1:1:t.fifo";
    let with = |dedup: &str| {
      Arc::new(Envelope::whole_with_attributes(topic, "g", dedup, &message, &attributes).unwrap())
    };
    let items = vec![
      Arc::new(Envelope::whole(topic, "g", "plain-1", &message)),
      Arc::new(Envelope::whole(topic, "g", "plain-2", &message)),
      with("attrs-1"),
      with("attrs-2"),
    ];
    assert_eq!(items[2].wire_len(), 460 + 50);
    let outcomes = send_in_order(sink.clone(), items, &mut |_| {}).await;
    assert!(outcomes.iter().all(|o| *o == Outcome::Sent));
    assert_eq!(
      *sink.batches.lock(),
      [vec!["plain-1", "plain-2"], vec!["attrs-1"], vec!["attrs-2"]]
    );
  }

  #[tokio::test(start_paused = true)]
  async fn keeps_order_per_group_and_stops_a_group_at_a_lasting_failure() {
    let sink = Arc::new(Scripted {
      batches: Mutex::default(),
    });
    let items = vec![
      envelope("a", "a1"),
      envelope("b", "b1"),
      envelope("a", "bad-a2"),
      envelope("b", "down-b2"),
      envelope("a", "a3"),
      envelope("b", "b3"),
    ];
    let mut seen = 0;
    let outcomes = send_in_order(sink.clone(), items, &mut |n| seen = n).await;
    assert_eq!(outcomes[0], Outcome::Sent);
    assert!(matches!(outcomes[2], Outcome::Refused(_)));
    assert_eq!(outcomes[4], Outcome::Sent);
    assert_eq!(outcomes[1], Outcome::Sent);
    assert!(matches!(outcomes[3], Outcome::Left(Some(_))));
    assert_eq!(outcomes[5], Outcome::Left(None));
    assert_eq!(seen, 4);
    let batches = sink.batches.lock();
    assert!(batches.contains(&vec!["a1".to_string(), "bad-a2".to_string()]));
    // b's second batch was retried, b3 never sent.
    assert_eq!(
      batches
        .iter()
        .filter(|b| b.contains(&"down-b2".to_string()))
        .count(),
      1 + RETRY_DELAYS_MS.len()
    );
    assert!(!batches.iter().any(|b| b.contains(&"b3".to_string())));
  }
}
