//! A batch's results: classify each entry, reschedule what failed (backoff, or the spool once
//! the retry budget is spent), and report (counters, dead letters, notices, wake-ups).

use super::epochs::Outcome;
use super::queue::{GroupKey, Queue, Queued};
use super::{Notice, NoticeCode, Shared};
use crate::message::Envelope;
use crate::sink::{BatchResult, Failure, FailureKind};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A batch's entries sorted by what happens to them next.
#[derive(Default)]
struct Classified {
  sent: Vec<Queued>,
  dead: Vec<(Queued, Failure)>,
  retry: Vec<Queued>,
  throttled: bool,
  /// Entries whose fate the reply did not tell (see `FailureKind::Unconfirmed`).
  unconfirmed: u64,
  last_failure: Option<Failure>,
}

/// What rescheduling did with the entries to retry.
struct Rescheduled {
  /// This failure starts the group's run of failures (it was not backing off).
  first_failure: bool,
  /// Put back for another attempt.
  retried: u64,
  /// Retry budget spent: moved to the spool (or, without one, back to the queue's head).
  exhausted: u64,
}

/// Without a spool, a group whose retry budget is spent tries again after this long.
const RETRY_WITHOUT_SPOOL: Duration = Duration::from_secs(5);

/// Applies a batch's results to the queue, then reports them.
pub(super) fn complete(shared: &Shared, key: GroupKey, results: BatchResult) {
  let mut queue = shared.queue.lock();
  let Some(batch) = queue.finish_in_flight(&key) else {
    return; // Already spooled by close() at its deadline or at exit.
  };
  let mut classified = classify(batch, results);
  for queued in &classified.sent {
    queue.settle(queued, Outcome::Sent);
  }
  for (queued, _) in &classified.dead {
    queue.settle(queued, Outcome::DeadLettered);
  }
  let retry = std::mem::take(&mut classified.retry);
  let rescheduled = reschedule(shared, &mut queue, &key, retry, classified.throttled);
  queue.forget_if_idle(&key);
  let spool_mode = queue.in_spool_mode();
  drop(queue);

  report(shared, &key, &classified, &rescheduled);
  shared.settled_some();
  shared.wake_dispatcher();
  if spool_mode || rescheduled.exhausted > 0 {
    shared.wake_spool.notify_one();
  }
}

/// Pairs each entry with its result; a missing result counts as a retryable failure.
fn classify(batch: Vec<Queued>, mut results: BatchResult) -> Classified {
  results.resize_with(batch.len(), || {
    Err(Failure {
      kind: FailureKind::Retryable,
      code: "InternalError".into(),
      message: "missing result".into(),
    })
  });
  let mut classified = Classified::default();
  for (queued, result) in batch.into_iter().zip(results) {
    let failure = match result {
      Ok(()) => {
        classified.sent.push(queued);
        continue;
      }
      Err(failure) => failure,
    };
    classified.last_failure = Some(failure.clone());
    match failure.kind {
      FailureKind::Permanent => classified.dead.push((queued, failure)),
      FailureKind::Throttled => {
        classified.throttled = true;
        classified.retry.push(queued);
      }
      FailureKind::Retryable => classified.retry.push(queued),
      FailureKind::Unconfirmed => {
        classified.unconfirmed += 1;
        classified.retry.push(queued);
      }
    }
  }
  classified
}

/// Puts failed entries back at the head of their group after a backoff (pausing the topic
/// when throttled), or, once the retry budget is spent, moves the group's events to the
/// spool, where replay probes the service later.
fn reschedule(
  shared: &Shared,
  queue: &mut Queue,
  key: &GroupKey,
  retry: Vec<Queued>,
  throttled: bool,
) -> Rescheduled {
  let first_failure = !queue.is_backing_off(key);
  if retry.is_empty() {
    queue.reset_backoff(key);
    return Rescheduled {
      first_failure: false,
      retried: 0,
      exhausted: 0,
    };
  }
  if let Some(delay) = queue.next_retry_delay(key, &shared.backoff) {
    let at = Instant::now() + delay;
    let retried = retry.len() as u64;
    queue.retry_at(key, retry, at);
    if throttled {
      queue.pause_topic(key.topic.clone(), at);
    }
    return Rescheduled {
      first_failure,
      retried,
      exhausted: 0,
    };
  }
  let mut exhausted = retry;
  exhausted.extend(queue.take_pending(key));
  let count = exhausted.len() as u64;
  if shared.spool.is_some() {
    queue.respool(exhausted);
  } else {
    // Without a spool there is nowhere else to keep them: keep retrying from the head.
    queue.retry_at(key, exhausted, Instant::now() + RETRY_WITHOUT_SPOOL);
  }
  Rescheduled {
    first_failure,
    retried: 0,
    exhausted: count,
  }
}

/// Counts the outcomes, writes dead letters, and tells the host.
fn report(shared: &Shared, key: &GroupKey, classified: &Classified, rescheduled: &Rescheduled) {
  let counters = &shared.counters;
  let sent = classified.sent.len() as u64;
  counters.sent.fetch_add(sent, Relaxed);
  counters
    .dead_lettered
    .fetch_add(classified.dead.len() as u64, Relaxed);
  counters.retried.fetch_add(rescheduled.retried, Relaxed);
  if !classified.dead.is_empty() {
    record_dead_letters(shared, &classified.dead);
  }
  if let Some(failure) = &classified.last_failure {
    if classified.dead.is_empty() {
      *shared.last_error_code.lock() = Some(failure.code.clone());
    }
    if classified.unconfirmed > 0 && rescheduled.first_failure {
      shared.notify_error(
        NoticeCode::Sink(failure.code.clone()),
        format!("{}; the events are kept and retried", failure.message),
        classified.unconfirmed,
      );
    }
    if rescheduled.exhausted > 0 {
      shared.notify_error(
        NoticeCode::Sink(failure.code.clone()),
        format!(
          "retry budget spent ({}); events moved to the spool: {}",
          shared.config.delivery.retry_budget.as_millis(),
          failure.message
        ),
        rescheduled.exhausted,
      );
    }
  }
  if sent > 0 {
    shared.notify(Notice::Delivered {
      topic_arn: key.topic.to_string(),
      message_group_id: key.group.to_string(),
      events: sent,
    });
  }
}

/// Events a sink refused for good go to `dead-letter.jsonl` and to `onError`.
fn record_dead_letters(shared: &Shared, dead: &[(Queued, Failure)]) {
  let entries: Vec<(&Envelope, &str, &str)> = dead
    .iter()
    .map(|(q, f)| (&*q.envelope, f.code.as_str(), f.message.as_str()))
    .collect();
  let written = match &shared.dead_letters {
    Some(file) => file
      .append(&entries)
      .map(|()| format!(" (written to {})", file.path().display())),
    None => Ok(" (no spool directory: not written anywhere)".to_string()),
  };
  let (code, message) = (&dead[0].1.code, &dead[0].1.message);
  let message = match written {
    Ok(where_) => format!(
      "SNS refused {} event(s) for good: {code}: {message}{where_}",
      dead.len()
    ),
    Err(e) => format!(
      "SNS refused {} event(s) for good: {code}: {message}; the dead-letter file failed: {e}",
      dead.len()
    ),
  };
  shared.notify_error(NoticeCode::Sink(code.clone()), message, dead.len() as u64);
}
