//! Delivery: accepts validated events on the caller's thread in O(1), batches them per
//! (topic, message group) on the logger's own tokio runtime, retries in order, spools what
//! cannot be sent (queue full, retry budget spent, close deadline, process exit) and replays
//! it oldest first.

mod queue;

pub use queue::{FlushRange, Outcome, Tally, MAX_BATCH_BYTES, MAX_BATCH_ENTRIES};

use crate::config::{LoggerConfig, OverflowPolicy};
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{build_message, DedupIds, Envelope};
use crate::plan::EventInput;
use crate::sink::{BatchResult, Failure, FailureKind, Sink};
use crate::storage::{DeadLetterFile, Spool};
use backon::{BackoffBuilder, ExponentialBuilder};
use queue::{GroupKey, Queue, Queued};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::sync::Notify;

/// Something the host may want to hear about, delivered to `onError` / `onDelivery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
  /// Events were dead-lettered, dropped, or storage failed. `code` is SNS's error code or one
  /// of ours (`SpoolError`, `QueueFull`, `SpoolNotice`).
  Error {
    code: String,
    message: String,
    events: u64,
  },
  /// A batch was acknowledged.
  Delivered {
    topic_arn: String,
    message_group_id: String,
    events: u64,
  },
}

pub type Observer = Arc<dyn Fn(Notice) + Send + Sync>;

/// Events read from the spool per replay step.
const REPLAY_CHUNK: usize = 5_000;
/// Overflow held in memory for the spool writer. Past it, `log()` waits for the writer:
/// only a flood faster than the disk, during an outage, ever does, and memory stays bounded.
const OVERFLOW_BUFFER_BYTES: usize = 2 << 20;
/// The longest `log()` waits for the spool writer; after that it stops waiting until the
/// writer catches up, so a stuck disk cannot hang the app.
const OVERFLOW_WAIT: Duration = Duration::from_secs(1);

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
  spool: Option<Spool>,
  dead_letters: Option<DeadLetterFile>,
  observer: Option<Observer>,
  queue: Mutex<Queue>,
  /// Acceptance order across runs (continues after the spool's last key).
  next_seq: AtomicU64,
  dedup_ids: DedupIds,
  /// Wakes the dispatcher.
  wake: Notify,
  /// Wakes the spool keeper.
  wake_spool: Notify,
  /// Signalled when the spool keeper takes the overflow (see OVERFLOW_BUFFER_BYTES).
  overflow_taken: Condvar,
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
  // A panic elsewhere must not stop analytics for good: the queue's invariants hold between
  // statements, so keep using it.
  mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
  fn notify(&self, notice: Notice) {
    if let Notice::Error { code, .. } = &notice {
      *lock(&self.last_error_code) = Some(code.clone());
    }
    if let Some(observer) = &self.observer {
      observer(notice);
    }
  }

  fn report_spool_notices(&self) {
    let Some(spool) = &self.spool else { return };
    let notices = std::mem::take(&mut *lock(&spool.notices));
    for message in notices {
      self.notify(Notice::Error {
        code: "SpoolNotice".into(),
        message,
        events: 0,
      });
    }
  }

  /// Writes events to the spool and settles them: `Spooled`, or `Dropped` when the spool is
  /// missing or failing. Returns how many were spooled.
  fn spool_and_settle(&self, entries: Vec<Queued>) -> u64 {
    if entries.is_empty() {
      return 0;
    }
    let (on_disk, to_write): (Vec<Queued>, Vec<Queued>) =
      entries.into_iter().partition(|q| q.in_spool);
    let written = match &self.spool {
      _ if to_write.is_empty() => Ok(()),
      Some(spool) => spool.append(to_write.iter().map(|q| (q.seq, &*q.envelope))),
      None => Err("no spool directory is configured".to_string()),
    };
    self.report_spool_notices();
    let mut queue = lock(&self.queue);
    for queued in &on_disk {
      queue.settle(queued, Outcome::Spooled);
    }
    let outcome = if written.is_ok() {
      Outcome::Spooled
    } else {
      Outcome::Dropped
    };
    for queued in &to_write {
      queue.settle(queued, outcome);
    }
    drop(queue);
    let spooled = on_disk.len() as u64
      + if written.is_ok() {
        to_write.len() as u64
      } else {
        0
      };
    self.counters.spooled.fetch_add(spooled, Relaxed);
    if let Err(message) = written {
      self
        .counters
        .dropped
        .fetch_add(to_write.len() as u64, Relaxed);
      self.notify(Notice::Error {
        code: "SpoolError".into(),
        message,
        events: to_write.len() as u64,
      });
    }
    self.settled.notify_waiters();
    spooled
  }
}

impl Logger {
  /// Starts a logger whose background work runs on `runtime`. A spool left by an earlier run
  /// is replayed first.
  pub fn start(
    config: LoggerConfig,
    sink: Arc<dyn Sink>,
    observer: Option<Observer>,
    runtime: &Handle,
  ) -> Logger {
    let backoff = ExponentialBuilder::default()
      .with_min_delay(Duration::from_millis(50))
      .with_max_delay(Duration::from_secs(5))
      .with_factor(2.0)
      .with_jitter()
      .with_total_delay(Some(config.delivery.retry_budget))
      .without_max_times();
    let spool = config.delivery.spool_dir.as_deref().map(Spool::new);
    let dead_letters = config
      .delivery
      .spool_dir
      .as_deref()
      .map(DeadLetterFile::new);
    let mut queue = Queue {
      linger: config.delivery.linger,
      ..Queue::default()
    };
    let mut next_seq = 0;
    if let Some(spool) = spool.as_ref().filter(|s| s.exists()) {
      if let Ok(Some(last)) = spool.last_key() {
        queue.spool_mode = true;
        next_seq = last + 1;
      }
    }
    let shared = Arc::new(Shared {
      config,
      sink,
      spool,
      dead_letters,
      observer,
      queue: Mutex::new(queue),
      next_seq: AtomicU64::new(next_seq),
      dedup_ids: DedupIds::new(),
      wake: Notify::new(),
      wake_spool: Notify::new(),
      overflow_taken: Condvar::new(),
      settled: Notify::new(),
      closed: AtomicBool::new(false),
      counters: Counters::default(),
      last_error_code: Mutex::new(None),
      backoff,
    });
    shared.report_spool_notices();
    runtime.spawn(dispatch(shared.clone()));
    if shared.spool.is_some() {
      runtime.spawn(keep_spool(shared.clone()));
    }
    Logger { shared }
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
    let seq = shared.next_seq.fetch_add(1, Relaxed);
    let envelope = Arc::new(Envelope {
      topic_arn: agent.topic_arn.clone(),
      group_id: config.site_url.clone(),
      dedup_id: shared.dedup_ids.id(seq),
      message,
    });
    let limits = &config.delivery;
    let mut queue = lock(&shared.queue);
    if queue.closed {
      return Err(closed_error());
    }
    let full = queue.events >= limits.max_queue_events
      || queue.bytes + envelope.batch_bytes() > limits.max_queue_bytes;
    let (wake, wake_spool) = if !(full || queue.spool_mode) {
      (queue.push(envelope, seq, false, Instant::now()), false)
    } else if shared.spool.is_some() && limits.overflow == OverflowPolicy::Spool {
      queue.push_overflow(envelope, seq, Instant::now());
      if queue.overflow_bytes > OVERFLOW_BUFFER_BYTES && !queue.overflow_stalled {
        shared.wake_spool.notify_one();
        let (guard, wait) = shared
          .overflow_taken
          .wait_timeout_while(queue, OVERFLOW_WAIT, |q| {
            q.overflow_bytes > OVERFLOW_BUFFER_BYTES
          })
          .unwrap_or_else(|e| e.into_inner());
        queue = guard;
        queue.overflow_stalled = wait.timed_out();
      }
      (false, true)
    } else {
      drop(queue);
      shared.counters.accepted.fetch_add(1, Relaxed);
      shared.counters.dropped.fetch_add(1, Relaxed);
      shared.notify(Notice::Error {
        code: "QueueFull".into(),
        message: format!(
          "the in-memory queue is full ({} events or {} bytes) and overflow goes to {}: the event was dropped",
          limits.max_queue_events,
          limits.max_queue_bytes,
          if shared.spool.is_some() { "drop" } else { "no spool" }
        ),
        events: 1,
      });
      return Ok(());
    };
    drop(queue);
    shared.counters.accepted.fetch_add(1, Relaxed);
    if wake {
      shared.wake.notify_one();
    }
    if wake_spool {
      shared.wake_spool.notify_one();
    }
    Ok(())
  }

  /// Resolves once every event logged before the call has settled; returns their outcomes
  /// (those not reported by an earlier flush).
  pub async fn flush(&self) -> Tally {
    let epoch = self.begin_flush();
    self.settled(epoch).await
  }

  /// The synchronous half of a flush: marks which events it waits for (those logged so far).
  pub fn begin_flush(&self) -> FlushRange {
    let shared = &self.shared;
    let epoch = {
      let mut queue = lock(&shared.queue);
      let range = queue.epochs.advance();
      queue.hurry_epoch = Some(queue.epochs.current() - 1);
      range
    };
    shared.wake.notify_one();
    shared.wake_spool.notify_one();
    epoch
  }

  /// Waits until every event of `epoch` and before has settled.
  pub async fn settled(&self, epoch: FlushRange) -> Tally {
    let shared = &self.shared;
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

  /// Refuses new events from now on; returns the flush epoch covering everything accepted.
  pub fn stop_accepting(&self) -> FlushRange {
    let shared = &self.shared;
    shared.closed.store(true, Relaxed);
    lock(&shared.queue).closed = true;
    self.begin_flush()
  }

  /// Stops accepting, flushes until `timeout`, then spools whatever is left.
  pub async fn close(&self, timeout: Duration) -> CloseReport {
    let epoch = self.stop_accepting();
    self.finish_close(epoch, timeout).await
  }

  /// The asynchronous half of close(), after [`Logger::stop_accepting`].
  pub async fn finish_close(&self, epoch: FlushRange, timeout: Duration) -> CloseReport {
    let shared = &self.shared;
    let report = match tokio::time::timeout(timeout, self.settled(epoch)).await {
      Ok(tally) => CloseReport {
        tally,
        timed_out: false,
      },
      Err(_) => {
        let logger = self.clone();
        // Storage is blocking I/O: keep it off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || logger.spool_everything_now()).await;
        let tally = self.settled(epoch).await;
        CloseReport {
          tally,
          timed_out: true,
        }
      }
    };
    if let Some(spool) = &shared.spool {
      spool.release();
    }
    report
  }

  /// Takes every event still in memory (queued, in flight, waiting for the spool) and spools
  /// it, synchronously. For close() at its deadline and for process exit. Returns how many
  /// were spooled. Events in flight may still land; their dedup id makes the replay a
  /// duplicate SNS drops within its 5-minute window.
  pub fn spool_everything_now(&self) -> u64 {
    let shared = &self.shared;
    shared.closed.store(true, Relaxed);
    let left = {
      let mut queue = lock(&shared.queue);
      queue.closed = true;
      queue.drain_all()
    };
    shared.overflow_taken.notify_all();
    let spooled = shared.spool_and_settle(left);
    shared.wake.notify_one();
    shared.wake_spool.notify_one();
    spooled
  }

  pub fn same_as(&self, other: &Logger) -> bool {
    Arc::ptr_eq(&self.shared, &other.shared)
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
      queue.dispatch_requested = false;
      let (batches, next) = queue.take_ready(Instant::now(), linger);
      queue.dispatcher_wakes_at = next;
      (batches, next)
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

/// The spool keeper: writes overflow to disk, deletes replayed events once settled, and
/// replays the spool oldest first whenever the in-memory queue is empty.
async fn keep_spool(shared: Arc<Shared>) {
  loop {
    let woken = shared.wake_spool.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let (overflow, to_unspool, replay_from, closed) = {
      let mut queue = lock(&shared.queue);
      let overflow = queue.take_overflow();
      let to_unspool = std::mem::take(&mut queue.to_unspool);
      let idle = queue.events == overflow.len() && queue.spool_mode && !queue.closed;
      (
        overflow,
        to_unspool,
        idle.then_some(queue.replay_cursor),
        queue.closed,
      )
    };
    shared.overflow_taken.notify_all();
    let worker = shared.clone();
    let replayed = tokio::task::spawn_blocking(move || {
      worker.spool_and_settle(overflow);
      let spool = worker
        .spool
        .as_ref()
        .expect("the keeper runs only with a spool");
      if !to_unspool.is_empty() {
        if let Err(message) = spool.remove(&to_unspool) {
          worker.notify(Notice::Error {
            code: "SpoolError".into(),
            message,
            events: 0,
          });
        }
      }
      replay_from.map(|cursor| replay(&worker, spool, cursor))
    })
    .await
    .ok()
    .flatten();
    if closed && lock(&shared.queue).overflow.is_empty() {
      return;
    }
    if replayed.is_some_and(|n| n > 0) {
      // Replayed events are queued: let the dispatcher send them.
      shared.wake.notify_one();
    }
    let spool_mode = lock(&shared.queue).spool_mode;
    if spool_mode {
      // Poll now and then too: replay waits for the queue to empty.
      tokio::select! {
        _ = woken => {}
        _ = tokio::time::sleep(Duration::from_millis(200)) => {}
      }
    } else {
      woken.await;
    }
  }
}

/// Loads the next chunk of the spool into the queue. Leaves spool mode when nothing is left
/// beyond what is already in memory. Returns how many events were loaded.
fn replay(shared: &Shared, spool: &Spool, cursor: Option<u64>) -> u64 {
  let chunk = REPLAY_CHUNK.min(shared.config.delivery.max_queue_events.div_ceil(2));
  let read = match spool.read_after(cursor, chunk) {
    Ok(read) => read,
    Err(message) => {
      shared.notify(Notice::Error {
        code: "SpoolError".into(),
        message,
        events: 0,
      });
      return 0;
    }
  };
  if read.corrupt > 0 {
    shared.notify(Notice::Error {
      code: "SpoolCorrupt".into(),
      message: format!(
        "{} unreadable spool records were skipped and removed",
        read.corrupt
      ),
      events: read.corrupt,
    });
  }
  let mut queue = lock(&shared.queue);
  let Some(last) = read.events.last().map(|(key, _)| *key) else {
    if queue.overflow.is_empty() {
      queue.spool_mode = false;
    }
    return 0;
  };
  let now = Instant::now();
  let mut loaded = 0;
  for (seq, envelope) in read.events {
    if !queue.replayed_in_memory.contains(&seq) {
      queue.push(Arc::new(envelope), seq, true, now);
      loaded += 1;
    }
  }
  queue.replay_cursor = Some(last);
  drop(queue);
  shared.counters.replayed.fetch_add(loaded, Relaxed);
  loaded
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

/// Applies a batch's results: settles what was sent, dead-letters what failed for good, puts
/// the rest back at the head of its group with backoff, or spools the group once the retry
/// budget is spent.
fn complete(shared: &Shared, key: GroupKey, mut results: BatchResult) {
  let mut queue = lock(&shared.queue);
  let Some(batch) = queue.groups.get_mut(&key).and_then(|g| g.in_flight.take()) else {
    return; // Already spooled by close() at its deadline or at exit.
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
  let mut dead: Vec<(Queued, Failure)> = Vec::new();
  let mut throttled = false;
  let mut last_failure = None;
  let mut sent = 0;
  for (queued, result) in batch.into_iter().zip(results) {
    match result {
      Ok(()) => {
        queue.settle(&queued, Outcome::Sent);
        sent += 1;
      }
      Err(failure) => {
        last_failure = Some(failure.clone());
        match failure.kind {
          FailureKind::Permanent => {
            queue.settle(&queued, Outcome::DeadLettered);
            dead.push((queued, failure));
          }
          FailureKind::Throttled => {
            throttled = true;
            retry.push(queued);
          }
          FailureKind::Retryable => retry.push(queued),
        }
      }
    }
  }

  let mut retried = retry.len() as u64;
  let mut exhausted = Vec::new();
  let group = queue
    .groups
    .get_mut(&key)
    .expect("group of an in-flight batch exists");
  if retry.is_empty() {
    group.backoff = None;
    group.retry_at = None;
  } else {
    match group
      .backoff
      .get_or_insert_with(|| shared.backoff.build())
      .next()
    {
      Some(delay) => {
        let at = Instant::now() + delay;
        group.retry_at = Some(at);
        group.requeue_front(retry);
        if throttled {
          queue.paused.insert(key.topic.clone(), at);
        }
      }
      None => {
        // Retry budget spent: this group's events wait on disk; replay probes SNS later.
        group.backoff = None;
        group.retry_at = None;
        retried = 0;
        exhausted = retry;
        exhausted.extend(group.take_pending());
      }
    }
  }
  let exhausted_count = exhausted.len() as u64;
  if !exhausted.is_empty() {
    if shared.spool.is_some() {
      queue.respool(exhausted);
    } else {
      // Without a spool there is nowhere else to keep them: keep retrying from the head.
      let group = queue.groups.get_mut(&key).expect("group exists");
      group.requeue_front(exhausted);
      group.retry_at = Some(Instant::now() + Duration::from_secs(5));
    }
  }
  queue.forget_if_idle(&key);
  let spool_mode = queue.spool_mode;
  drop(queue);

  let counters = &shared.counters;
  counters.sent.fetch_add(sent, Relaxed);
  counters.dead_lettered.fetch_add(dead.len() as u64, Relaxed);
  counters.retried.fetch_add(retried, Relaxed);
  if !dead.is_empty() {
    record_dead_letters(shared, &dead);
  }
  if let Some(failure) = last_failure {
    if dead.is_empty() {
      *lock(&shared.last_error_code) = Some(failure.code.clone());
    }
    if exhausted_count > 0 {
      shared.notify(Notice::Error {
        code: failure.code,
        message: format!(
          "retry budget spent ({}); events moved to the spool: {}",
          shared.config.delivery.retry_budget.as_millis(),
          failure.message
        ),
        events: exhausted_count,
      });
    }
  }
  if sent > 0 {
    shared.notify(Notice::Delivered {
      topic_arn: key.topic.to_string(),
      message_group_id: key.group.to_string(),
      events: sent,
    });
  }
  shared.settled.notify_waiters();
  shared.wake.notify_one();
  if spool_mode || exhausted_count > 0 {
    shared.wake_spool.notify_one();
  }
}

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
  shared.notify(Notice::Error {
    code: code.clone(),
    message,
    events: dead.len() as u64,
  });
}

#[cfg(test)]
mod tests;
