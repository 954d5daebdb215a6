//! Delivery: accepts validated events on the caller's thread in O(1), batches them per
//! (topic, message group) on the shared runtime, retries in order, spools what cannot be sent
//! (queue full, retry budget spent, close deadline, process exit) and replays it oldest first.
//!
//! One file per job: [`intake`] (validate, build, enqueue or overflow), the [`dispatcher`]
//! (take ready batches, send them), [`completion`] (classify a batch's results, reschedule,
//! report), the [`spool_keeper`] (write overflow, replay, adopt), [`dead_letters`], [`close`],
//! and the [`supervisor`] that restarts a task that panicked; the [`queue`]
//! (one [`group`] per topic and message group) and the flush [`epochs`] are the state they
//! share.

mod close;
mod completion;
mod dispatcher;
mod epochs;
mod group;
mod handoff;
mod intake;
mod notice;
pub mod open_loggers;
mod queue;
mod spool_keeper;
mod supervisor;
mod ticket;
mod write_ahead;

pub use close::{CloseReport, CLOSE_WRITE_BEFORE_RESOLVING};
pub use epochs::{FlushRange, Outcome, Tally};
pub use intake::{AcceptUntil, Prepared, Refused};
pub use notice::{Notice, NoticeCode, Observer};

use crate::config::{Durability, Fsync, LoggerConfig};
use crate::error::{quote, ErrorCode, LoggerError, Result};
use crate::message::{ActionParts, DedupIds, Route};
use crate::plan::TrackingPlan;
use crate::runtime;
use crate::sink::{Sink, SinkLimits};
use crate::storage::{DeadLetterFile, DirLock, Spool};
use backon::ExponentialBuilder;
use handoff::HandOff;
use parking_lot::Mutex;
use queue::Queue;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use write_ahead::WriteAhead;

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

/// What the intake, the dispatcher, the completion and the spool keeper share.
struct Shared {
  config: LoggerConfig,
  sink: Arc<dyn Sink>,
  limits: SinkLimits,
  spool: Option<Spool>,
  dead_letters: Option<DeadLetterFile>,
  /// Held shared until close() has written everything, so that `dead-letters requeue` knows
  /// the directory is in use (storage::DirLock). None when the directory cannot be used yet
  /// (the spool then reports why when it first writes) or an operator's command holds it.
  dir_lock: Mutex<Option<DirLock>>,
  observer: Option<Observer>,
  /// How `log()` hands events to the delivery tasks without taking `queue`'s mutex.
  hand_off: Arc<HandOff>,
  queue: Mutex<Queue>,
  /// `durability: disk`: the spool is the write-ahead log, written by its own thread.
  write_ahead: Option<WriteAhead>,
  /// The last spool write failed: new events are refused, not dropped, until one succeeds.
  spool_failing: AtomicBool,
  /// The spool's size when a write was last refused for `maxSpoolBytes` (`u64::MAX`: none
  /// since the last write that succeeded): full until deletions bring it below that.
  spool_full_at: AtomicU64,
  /// What the events of each agent of df_config.json share, by the agent's index.
  routes: Vec<Arc<Route>>,
  /// Wakes the dispatcher.
  wake: Notify,
  /// Wakes the spool keeper.
  wake_spool: Notify,
  /// Wakes flushes after events settle.
  settled: Notify,
  /// Wakes one caller waiting for room in the queue after events left memory (see
  /// `Logger::enqueue_paced`).
  room: Notify,
  counters: Counters,
  last_error_code: Mutex<Option<String>>,
  /// Retry delays of a failing group, within the retry budget.
  backoff: ExponentialBuilder,
  /// The spool keeper's task, which close() lets finish its last round.
  keeper: Mutex<Option<JoinHandle<()>>>,
  close_writes: close::CloseWrites,
}

impl Shared {
  fn notify(&self, notice: Notice) {
    if let Notice::Error { code, .. } = &notice {
      *self.last_error_code.lock() = Some(code.to_string());
    }
    if let Some(observer) = &self.observer {
      observer(notice);
    }
  }

  /// Events settled (their memory is free): wakes the flushes, and a caller waiting for room.
  fn settled_some(&self) {
    self.settled.notify_waiters();
    self.room.notify_one();
  }

  /// Wakes the dispatcher unless it was woken and has not looked yet.
  fn wake_dispatcher(&self) {
    if self.hand_off.request_dispatch() {
      self.wake.notify_one();
    }
  }

  fn notify_error(&self, code: NoticeCode, message: String, events: u64) {
    self.notify(Notice::Error {
      code,
      message,
      events,
    });
  }
}

/// The longest close() (or process exit) waits for the write-ahead log's last commit.
const WRITE_AHEAD_CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Creates the spool directory and opens a spool file in it: an error naming the path and
/// the cause when it cannot be used.
pub fn validate_spool_dir(dir: &std::path::Path) -> Result<()> {
  let cannot = |why: String| {
    LoggerError::new(
      ErrorCode::InvalidOptions,
      format!(
        "spoolDir {} cannot be used: {why}",
        quote(&dir.display().to_string())
      ),
    )
  };
  if dir.exists() && !dir.is_dir() {
    return Err(cannot(
      "it is a file, not a directory; allowed: a directory (created when missing)".into(),
    ));
  }
  let spool = Spool::new(dir);
  let opened = spool.open_now();
  spool.release();
  opened.map_err(|error| cannot(error.to_string()))
}

/// A logger: validation, queue and delivery. Cheap to clone.
#[derive(Clone)]
pub struct Logger {
  shared: Arc<Shared>,
}

impl Logger {
  /// Builds the configured sink and starts delivering on the shared runtime. The logger is
  /// remembered until close(), so that process exit can spool what it holds.
  /// With `durability: disk`, a spool directory that cannot be used is an error here.
  pub fn open(config: LoggerConfig, observer: Option<Observer>) -> Result<Logger> {
    if config.delivery.durability == Durability::Disk {
      if let Some(dir) = &config.delivery.spool_dir {
        validate_spool_dir(dir)?;
      }
    }
    let sink = config.sink.build()?;
    let logger = Logger::start(config, sink, observer, runtime::handle());
    open_loggers::register(&logger);
    Ok(logger)
  }

  /// Starts a logger on `sink` whose background work runs on `runtime`. A spool left by an
  /// earlier run is replayed first.
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
    let spool_dir = config.delivery.spool_dir.as_deref();
    let delivery = &config.delivery;
    let spool = spool_dir.map(|dir| {
      Spool::for_logger(
        dir,
        delivery.fsync == Fsync::Commit,
        delivery.max_spool_bytes,
      )
    });
    let dead_letters = spool_dir.map(DeadLetterFile::new);
    let dir_lock = spool_dir.and_then(|dir| DirLock::share(dir).ok());
    let limits = sink.limits();
    let hand_off = Arc::new(HandOff::default());
    let mut queue = Queue::new(config.delivery.linger, limits, hand_off.clone());
    if let Some(spool) = spool.as_ref().filter(|s| s.exists()) {
      if let Ok(Some(last)) = spool.last_key() {
        queue.resume_from_spool();
        hand_off.seqs_after(last);
      }
    }
    let write_ahead =
      (delivery.durability == Durability::Disk && spool.is_some()).then(WriteAhead::default);
    let dedup_ids = DedupIds::new();
    let actions = Arc::new(ActionParts::for_plan(&config.plan));
    let routes = config
      .df_config
      .agents()
      .iter()
      .map(|agent| {
        let route = Route::new(
          agent.topic_arn.clone(),
          config.site_url.clone(),
          &agent.agent_id,
          dedup_ids.prefix(),
          actions.clone(),
          config.message_attributes,
        );
        Arc::new(route)
      })
      .collect();
    let shared = Arc::new(Shared {
      config,
      sink,
      limits,
      spool,
      dead_letters,
      dir_lock: Mutex::new(dir_lock),
      observer,
      hand_off,
      queue: Mutex::new(queue),
      write_ahead,
      spool_failing: AtomicBool::new(false),
      spool_full_at: AtomicU64::new(u64::MAX),
      routes,
      wake: Notify::new(),
      wake_spool: Notify::new(),
      settled: Notify::new(),
      room: Notify::new(),
      counters: Counters::default(),
      last_error_code: Mutex::new(None),
      backoff,
      keeper: Mutex::new(None),
      close_writes: close::CloseWrites::default(),
    });
    shared.report_spool_notices();
    runtime.spawn(supervisor::supervise(
      shared.clone(),
      "dispatcher",
      dispatcher::dispatch,
    ));
    if shared.spool.is_some() {
      let keeper = supervisor::supervise(shared.clone(), "spool keeper", spool_keeper::keep_spool);
      *shared.keeper.lock() = Some(runtime.spawn(keeper));
    }
    if shared.write_ahead.is_some() {
      let writer = shared.clone();
      let spawned = std::thread::Builder::new()
        .name("sns-logger-write-ahead".into())
        .spawn(move || write_ahead::run(writer));
      if let Err(error) = spawned {
        // Without its writer the log refuses everything (the callers see the spool failing).
        shared.spool_failing.store(true, Relaxed);
        shared.notify_error(
          NoticeCode::Internal,
          format!("the write-ahead thread could not start ({error}); events are refused"),
          0,
        );
      }
    }
    Logger { shared }
  }

  /// Bytes of events in this logger's spool file (0 without a spool, or before it opens).
  pub fn spool_bytes(&self) -> u64 {
    self.shared.spool.as_ref().map_or(0, |s| s.stored_bytes())
  }

  /// Whether every event goes through the spool first (`durability: disk`).
  pub fn writes_ahead(&self) -> bool {
    self.shared.write_ahead.is_some()
  }

  /// Resolves once every event handed to the write-ahead log so far is written (or refused);
  /// at once for a logger that does not write ahead. A flush of such a logger waits for this
  /// before it marks what it covers.
  pub async fn written_ahead(&self) {
    if let Some(write_ahead) = &self.shared.write_ahead {
      write_ahead.written().await;
    }
  }

  /// The tracking plan events are checked against (the built-in plan and its extension).
  pub fn plan(&self) -> &TrackingPlan {
    &self.shared.config.plan
  }

  /// The sink events go to.
  pub fn sink(&self) -> &dyn Sink {
    &*self.shared.sink
  }

  /// Resolves once every event logged before the call has settled; returns their outcomes
  /// (those not reported by an earlier flush).
  pub async fn flush(&self) -> Tally {
    self.written_ahead().await;
    let epoch = self.begin_flush();
    self.settled(epoch).await
  }

  /// The synchronous half of a flush: marks which events it waits for (those logged so far).
  pub fn begin_flush(&self) -> FlushRange {
    let shared = &self.shared;
    let epoch = shared.queue.lock().begin_flush();
    shared.wake_dispatcher();
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
      if let Some(tally) = shared.queue.lock().take_settled(epoch) {
        return tally;
      }
      settled.await;
    }
  }

  /// Refuses new events from now on; returns the flush epoch covering everything accepted.
  pub fn stop_accepting(&self) -> FlushRange {
    let shared = &self.shared;
    if let Some(write_ahead) = &shared.write_ahead {
      write_ahead.close(WRITE_AHEAD_CLOSE_WAIT);
    }
    shared.hand_off.close();
    shared.queue.lock().close();
    self.begin_flush()
  }

  /// Takes every event still in memory (queued, in flight, waiting for the spool) and spools
  /// it, synchronously, after any write close() left running. For process exit. Returns how
  /// many were spooled. Events in flight may still land; their dedup id makes the replay a
  /// duplicate SNS drops within its 5-minute window.
  pub fn spool_everything_now(&self) -> u64 {
    if let Some(write_ahead) = &self.shared.write_ahead {
      write_ahead.close(WRITE_AHEAD_CLOSE_WAIT);
    }
    self.wait_for_close_writes(close::EXIT_WAIT_FOR_WRITES);
    let left = self.take_everything();
    self.shared.spool_and_settle(left)
  }

  /// Blocks until the spool write a close() left running has finished (at most `at_most`):
  /// then everything close() reported as spooled is on disk and the spool file released.
  pub fn wait_for_close_writes(&self, at_most: Duration) {
    self.shared.close_writes.wait(at_most);
  }

  pub fn same_as(&self, other: &Logger) -> bool {
    Arc::ptr_eq(&self.shared, &other.shared)
  }

  pub fn is_closed(&self) -> bool {
    self.shared.hand_off.is_closed()
  }

  /// Counters and depths, read without the queue's mutex.
  pub fn stats(&self) -> Stats {
    let c = &self.shared.counters;
    let (queue_events, queue_bytes) = self.shared.hand_off.memory();
    let in_flight_batches = self.shared.hand_off.in_flight_batches().load(Relaxed);
    Stats {
      accepted: c.accepted.load(Relaxed),
      sent: c.sent.load(Relaxed),
      retried: c.retried.load(Relaxed),
      dead_lettered: c.dead_lettered.load(Relaxed),
      spooled: c.spooled.load(Relaxed) + self.shared.hand_off.spooled_ahead().load(Relaxed),
      replayed: c.replayed.load(Relaxed),
      dropped: c.dropped.load(Relaxed),
      queue_events: queue_events as u64,
      queue_bytes: queue_bytes as u64,
      in_flight_batches: in_flight_batches as u64,
      requests: c.requests.load(Relaxed),
      last_error_code: self.shared.last_error_code.lock().clone(),
    }
  }
}

#[cfg(test)]
mod pacing_tests;
#[cfg(test)]
mod storage_fault_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod write_ahead_tests;
