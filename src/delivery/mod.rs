//! Delivery: accepts validated events on the caller's thread in O(1), batches them per
//! (topic, message group) on the logger's own tokio runtime, retries in order, and reports.

mod queue;

pub use queue::{Outcome, Tally, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES};

use crate::config::LoggerConfig;
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{build_message, new_dedup_id, Envelope};
use crate::plan::EventInput;
use crate::sink::{BatchResult, Failure, FailureKind, Sink};
use backon::{BackoffBuilder, ExponentialBuilder};
use queue::{GroupKey, Queue, Queued};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::Notify;

/// Counters for `stats()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
  pub accepted: u64,
  pub sent: u64,
  pub retried: u64,
  pub dead_lettered: u64,
  pub spooled: u64,
  pub replayed: u64,
  pub dropped: u64,
  pub queue_events: u64,
  pub queue_bytes: u64,
  pub in_flight_batches: u64,
  pub requests: u64,
  pub last_error_code: Option<String>,
}

#[derive(Default)]
struct Counters {
  accepted: AtomicU64,
  sent: AtomicU64,
  retried: AtomicU64,
  dead_lettered: AtomicU64,
  spooled: AtomicU64,
  replayed: AtomicU64,
  dropped: AtomicU64,
  requests: AtomicU64,
}

/// What `close()` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloseReport {
  pub tally: Tally,
  /// The deadline passed before every event was settled.
  pub timed_out: bool,
}

struct Shared {
  config: LoggerConfig,
  sink: Arc<dyn Sink>,
  queue: Mutex<Queue>,
  /// Wakes the dispatcher.
  wake: Notify,
  /// Wakes flushes after events settle.
  settled: Notify,
  closed: AtomicBool,
  counters: Counters,
  last_error_code: Mutex<Option<String>>,
  backoff: ExponentialBuilder,
}

/// A logger: validation, queue and delivery. Cheap to clone.
#[derive(Clone)]
pub struct Logger {
  shared: Arc<Shared>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
  // A panic while holding the lock cannot leave the queue half-updated in a way that matters
  // more than losing analytics entirely, so keep going.
  mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Logger {
  /// Starts a logger whose background work runs on `runtime`.
  pub fn start(config: LoggerConfig, sink: Arc<dyn Sink>, runtime: &Handle) -> Logger {
    let backoff = ExponentialBuilder::default()
      .with_min_delay(Duration::from_millis(50))
      .with_max_delay(Duration::from_secs(10))
      .with_factor(2.0)
      .with_jitter()
      .without_max_times();
    let shared = Arc::new(Shared {
      config,
      sink,
      queue: Mutex::new(Queue::default()),
      wake: Notify::new(),
      settled: Notify::new(),
      closed: AtomicBool::new(false),
      counters: Counters::default(),
      last_error_code: Mutex::new(None),
      backoff,
    });
    runtime.spawn(dispatch(shared.clone()));
    Logger { shared }
  }

  pub fn config(&self) -> &LoggerConfig {
    &self.shared.config
  }

  /// Validates, builds the request and enqueues it. A rejected event leaves no trace.
  pub fn log(&self, input: EventInput) -> Result<()> {
    let shared = &self.shared;
    if shared.closed.load(Relaxed) {
      return Err(closed_error());
    }
    let config = &shared.config;
    let event = config.plan.validate(input)?;
    let agent = config.df_config.resolve(event.agent.as_deref())?;
    let message = build_message(&agent.agent_id, &event)?;
    let envelope = Arc::new(Envelope {
      topic_arn: agent.topic_arn.clone(),
      group_id: config.site_url.clone(),
      dedup_id: new_dedup_id(),
      message,
    });
    let wake = {
      let mut queue = lock(&shared.queue);
      if queue.closed {
        return Err(closed_error());
      }
      queue.push(envelope, Instant::now())
    };
    shared.counters.accepted.fetch_add(1, Relaxed);
    if wake {
      shared.wake.notify_one();
    }
    Ok(())
  }

  /// Resolves once every event logged before the call has settled; returns their outcomes
  /// (those not reported by an earlier flush).
  pub async fn flush(&self) -> Tally {
    let shared = &self.shared;
    let epoch = {
      let mut queue = lock(&shared.queue);
      let epoch = queue.epochs.advance();
      queue.hurry_epoch = Some(epoch);
      epoch
    };
    shared.wake.notify_one();
    loop {
      let settled = shared.settled.notified();
      tokio::pin!(settled);
      settled.as_mut().enable();
      if let Some(tally) = lock(&shared.queue).epochs.take_if_settled(epoch) {
        return tally;
      }
      settled.await;
    }
  }

  /// Stops accepting, flushes until `timeout`, then settles whatever is left.
  pub async fn close(&self, timeout: Duration) -> CloseReport {
    let shared = &self.shared;
    shared.closed.store(true, Relaxed);
    lock(&shared.queue).closed = true;
    match tokio::time::timeout(timeout, self.flush()).await {
      Ok(tally) => CloseReport {
        tally,
        timed_out: false,
      },
      Err(_) => {
        self.abandon_all();
        let tally = self.flush().await;
        CloseReport {
          tally,
          timed_out: true,
        }
      }
    }
  }

  /// Takes every event still held out of the queue and settles it.
  fn abandon_all(&self) {
    let shared = &self.shared;
    let mut queue = lock(&shared.queue);
    let left = queue.drain_all();
    for queued in &left {
      queue.settle(queued, Outcome::Dropped);
    }
    shared
      .counters
      .dropped
      .fetch_add(left.len() as u64, Relaxed);
    drop(queue);
    shared.settled.notify_waiters();
    shared.wake.notify_one();
  }

  pub fn is_closed(&self) -> bool {
    self.shared.closed.load(Relaxed)
  }

  pub fn stats(&self) -> Stats {
    let c = &self.shared.counters;
    let (queue_events, queue_bytes, in_flight_batches) = {
      let queue = lock(&self.shared.queue);
      (
        queue.events as u64,
        queue.bytes as u64,
        queue.in_flight_batches as u64,
      )
    };
    Stats {
      accepted: c.accepted.load(Relaxed),
      sent: c.sent.load(Relaxed),
      retried: c.retried.load(Relaxed),
      dead_lettered: c.dead_lettered.load(Relaxed),
      spooled: c.spooled.load(Relaxed),
      replayed: c.replayed.load(Relaxed),
      dropped: c.dropped.load(Relaxed),
      queue_events,
      queue_bytes,
      in_flight_batches,
      requests: c.requests.load(Relaxed),
      last_error_code: lock(&self.shared.last_error_code).clone(),
    }
  }
}

fn closed_error() -> LoggerError {
  LoggerError::new(
    ErrorCode::Closed,
    "the logger is closed: logEvent is refused after close()",
  )
}

/// The dispatcher: sends every group whose head is ready, sleeps until the next one is.
async fn dispatch(shared: Arc<Shared>) {
  let linger = shared.config.delivery.linger;
  loop {
    let woken = shared.wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let (batches, next) = {
      let mut queue = lock(&shared.queue);
      if queue.closed && queue.groups.is_empty() {
        return;
      }
      queue.take_ready(Instant::now(), linger)
    };
    for (key, envelopes) in batches {
      tokio::spawn(send(shared.clone(), key, envelopes));
    }
    match next {
      Some(at) => {
        tokio::select! {
          _ = woken => {}
          _ = tokio::time::sleep_until(at.into()) => {}
        }
      }
      None => woken.await,
    }
  }
}

async fn send(shared: Arc<Shared>, key: GroupKey, envelopes: Vec<Arc<Envelope>>) {
  shared.counters.requests.fetch_add(1, Relaxed);
  let count = envelopes.len();
  let sink = shared.sink.clone();
  // A panicking sink must not wedge the group: its batch counts as a retryable failure.
  let results = tokio::spawn(async move { sink.publish(&envelopes).await })
    .await
    .unwrap_or_else(|_| {
      vec![
        Err(Failure {
          kind: FailureKind::Retryable,
          code: "InternalError".into(),
          message: "sink panicked".into()
        });
        count
      ]
    });
  complete(&shared, key, results);
}

/// Applies a batch's results: settles what was sent or failed for good, puts the rest back
/// at the head of its group with backoff.
fn complete(shared: &Shared, key: GroupKey, mut results: BatchResult) {
  let mut queue = lock(&shared.queue);
  let Some(batch) = queue.groups.get_mut(&key).and_then(|g| g.in_flight.take()) else {
    return; // Already settled by close() at its deadline.
  };
  queue.in_flight_batches -= 1;
  results.resize_with(batch.len(), || {
    Err(Failure {
      kind: FailureKind::Retryable,
      code: "InternalError".into(),
      message: "missing result".into(),
    })
  });

  let mut retry: Vec<Queued> = Vec::new();
  let mut throttled = false;
  let mut last_error = None;
  let (mut sent, mut dead) = (0, 0);
  for (queued, result) in batch.into_iter().zip(results) {
    match result {
      Ok(()) => {
        queue.settle(&queued, Outcome::Sent);
        sent += 1;
      }
      Err(failure) => {
        match failure.kind {
          FailureKind::Permanent => {
            queue.settle(&queued, Outcome::DeadLettered);
            dead += 1;
          }
          FailureKind::Throttled => {
            throttled = true;
            retry.push(queued);
          }
          FailureKind::Retryable => retry.push(queued),
        }
        last_error = Some(failure.code);
      }
    }
  }

  let retried = retry.len() as u64;
  let group = queue
    .groups
    .get_mut(&key)
    .expect("group of an in-flight batch exists");
  if retry.is_empty() {
    group.backoff = None;
    group.retry_at = None;
  } else {
    let delay = group
      .backoff
      .get_or_insert_with(|| shared.backoff.build())
      .next()
      .unwrap_or(Duration::from_secs(10));
    let at = Instant::now() + delay;
    group.retry_at = Some(at);
    group.requeue_front(retry);
    if throttled {
      queue.paused.insert(key.topic.clone(), at);
    }
  }
  queue.forget_if_idle(&key);
  drop(queue);

  let counters = &shared.counters;
  counters.sent.fetch_add(sent, Relaxed);
  counters.dead_lettered.fetch_add(dead, Relaxed);
  counters.retried.fetch_add(retried, Relaxed);
  if let Some(code) = last_error {
    *lock(&shared.last_error_code) = Some(code);
  }
  shared.settled.notify_waiters();
  shared.wake.notify_one();
}

#[cfg(test)]
mod tests;
