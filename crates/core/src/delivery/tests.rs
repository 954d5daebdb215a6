use super::intake::OVERFLOW_BUFFER_BYTES;
use super::*;
use crate::config::{DeliveryConfig, DfConfig, OverflowPolicy};
use crate::error::ErrorCode;
use crate::message::Envelope;
use crate::plan::{EventInput, PropertiesInput, TrackingPlan, Value};
use crate::sink::{
  sns, BatchResult, BoxFuture, Failure, FailureKind, MemorySink, SinkConfig, SinkLimits,
};
use crate::storage::Spool;
use serde_json::json;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub(super) fn config(linger_ms: u64) -> LoggerConfig {
  LoggerConfig {
    site_url: "https://chat.example.com".into(),
    df_config: DfConfig::from_json(&json!({
      "bot": {"agent_id": "agent-1", "sns_arn_topic": "arn:aws:sns:us-east-1:123456789012:events.fifo"}
    }))
    .unwrap(),
    sink: SinkConfig::Memory(Default::default()),
    plan: TrackingPlan::built_in(),
    delivery: DeliveryConfig { linger: Duration::from_millis(linger_ms), ..Default::default() },
    message_attributes: false,
  }
}

pub(super) fn window_opened(session: &str) -> EventInput {
  EventInput {
    room_id: Some(Value::String("room".into())),
    category: Some(Value::String("Window".into())),
    action: Some(Value::String("opened".into())),
    properties: Some(PropertiesInput::Object(vec![(
      "session_id".into(),
      Value::String(session.into()),
    )])),
    ..Default::default()
  }
}

pub(super) fn session_of(envelope: &Envelope) -> String {
  let message: serde_json::Value = serde_json::from_str(&envelope.message()).unwrap();
  message["properties"]["session_id"]
    .as_str()
    .unwrap()
    .to_string()
}

/// A sink that fails each scripted event (by session id) once, then records like the memory sink.
struct ScriptedSink {
  fail_once: Mutex<Vec<(String, FailureKind)>>,
  delivered: MemorySink,
  batch_sizes: Mutex<Vec<usize>>,
}

impl ScriptedSink {
  fn new(fail_once: &[(&str, FailureKind)]) -> Arc<ScriptedSink> {
    Arc::new(ScriptedSink {
      fail_once: Mutex::new(fail_once.iter().map(|(s, k)| (s.to_string(), *k)).collect()),
      delivered: MemorySink::default(),
      batch_sizes: Mutex::default(),
    })
  }
}

impl Sink for ScriptedSink {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    self.batch_sizes.lock().push(entries.len());
    let mut fail_once = self.fail_once.lock();
    let results = entries
      .iter()
      .map(|entry| {
        let session = session_of(entry);
        match fail_once.iter().position(|(s, _)| *s == session) {
          Some(i) => {
            let (_, kind) = fail_once.remove(i);
            Err(Failure {
              kind,
              code: format!("{kind:?}"),
              message: "scripted".into(),
            })
          }
          None => {
            self.delivered.record(std::slice::from_ref(entry));
            Ok(())
          }
        }
      })
      .collect();
    Box::pin(std::future::ready(results))
  }

  fn limits(&self) -> SinkLimits {
    sns::LIMITS
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_ten_in_log_order() {
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(50), sink.clone(), None, &Handle::current());
  for i in 0..25 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let tally = logger.flush().await;
  assert_eq!(
    tally,
    Tally {
      sent: 25,
      ..Default::default()
    }
  );
  let order: Vec<String> = sink.records().iter().map(|e| session_of(e)).collect();
  assert_eq!(order, (0..25).map(|i| i.to_string()).collect::<Vec<_>>());
  let stats = logger.stats();
  assert_eq!(
    (
      stats.accepted,
      stats.sent,
      stats.requests,
      stats.queue_events
    ),
    (25, 25, 3, 0)
  );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_never_waits_for_the_queue_lock_the_delivery_tasks_hold() {
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(0), sink.clone(), None, &Handle::current());
  // A delivery task holding the queue's mutex (preempted, say) for as long as it takes.
  let held = logger.shared.queue.lock();
  let (done, finished) = std::sync::mpsc::channel();
  let caller = logger.clone();
  std::thread::spawn(move || {
    for i in 0..500 {
      caller.log(window_opened(&i.to_string())).unwrap();
    }
    caller.stats();
    done.send(()).unwrap();
  });
  let logged = finished.recv_timeout(Duration::from_secs(30));
  drop(held);
  assert!(
    logged.is_ok(),
    "log() and stats() waited for the queue's mutex"
  );
  assert_eq!(logger.flush().await.sent, 500);
  let order: Vec<String> = sink.records().iter().map(|e| session_of(e)).collect();
  assert_eq!(order, (0..500).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_entries_are_never_overtaken() {
  let sink = ScriptedSink::new(&[("3", FailureKind::Retryable), ("7", FailureKind::Throttled)]);
  // The linger lets the first ten form one batch.
  let logger = Logger::start(config(50), sink.clone(), None, &Handle::current());
  for i in 0..20 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let tally = logger.flush().await;
  assert_eq!(tally.sent, 20);
  let order: Vec<String> = sink
    .delivered
    .records()
    .iter()
    .map(|e| session_of(e))
    .collect();
  let expected: Vec<String> = ["0", "1", "2", "4", "5", "6", "8", "9", "3", "7"]
    .iter()
    .map(|s| s.to_string())
    .chain((10..20).map(|i| i.to_string()))
    .collect();
  assert_eq!(
    order, expected,
    "3 and 7 go out before anything logged after them"
  );
  let dedup_ids: std::collections::HashSet<_> = sink
    .delivered
    .records()
    .iter()
    .map(|e| e.dedup_id().into_owned())
    .collect();
  assert_eq!(dedup_ids.len(), 20);
  assert_eq!(logger.stats().retried, 2);
  assert_eq!(logger.stats().last_error_code.as_deref(), Some("Throttled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_dead_lettered_not_retried() {
  let sink = ScriptedSink::new(&[("1", FailureKind::Permanent)]);
  let logger = Logger::start(config(50), sink.clone(), None, &Handle::current());
  for i in 0..3 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  assert_eq!(
    logger.flush().await,
    Tally {
      sent: 2,
      dead_lettered: 1,
      ..Default::default()
    }
  );
  assert_eq!(*sink.batch_sizes.lock(), vec![3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_refuses_new_events_and_reports() {
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(1000), sink.clone(), None, &Handle::current());
  logger.log(window_opened("a")).unwrap();
  let report = logger.close(Duration::from_secs(5)).await;
  assert_eq!(
    report,
    CloseReport {
      tally: Tally {
        sent: 1,
        ..Default::default()
      },
      timed_out: false,
      left_in_spool: 0
    }
  );
  assert_eq!(
    logger.log(window_opened("b")).unwrap_err().code,
    ErrorCode::Closed
  );
  assert_eq!(sink.records().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_never_waits_past_its_deadline() {
  /// Never answers.
  struct Stalled;
  impl Sink for Stalled {
    fn publish<'a>(&'a self, _: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
      Box::pin(std::future::pending())
    }
    fn limits(&self) -> SinkLimits {
      sns::LIMITS
    }
  }
  let logger = Logger::start(config(0), Arc::new(Stalled), None, &Handle::current());
  for i in 0..15 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let started = Instant::now();
  let report = logger.close(Duration::from_millis(200)).await;
  assert!(started.elapsed() < Duration::from_secs(5));
  assert!(report.timed_out);
  assert_eq!(report.tally.sent, 0);
  assert_eq!(
    report.tally.sent + report.tally.spooled + report.tally.dropped + report.tally.dead_lettered,
    15
  );
  assert_eq!(logger.stats().queue_events, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_for_events_logged_during_earlier_flushes_only_if_older() {
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(10_000), sink.clone(), None, &Handle::current());
  logger.log(window_opened("a")).unwrap();
  // With a 10 s linger, only the flush makes the event go now.
  let tally = tokio::time::timeout(Duration::from_secs(5), logger.flush())
    .await
    .expect("flush skips the linger");
  assert_eq!(tally.sent, 1);
  assert_eq!(logger.flush().await, Tally::default());
}

#[test]
fn rejected_events_leave_no_trace() {
  let runtime = tokio::runtime::Builder::new_current_thread()
    .enable_all()
    .build()
    .unwrap();
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(0), sink.clone(), None, runtime.handle());
  let mut bad = window_opened("a");
  bad.category = Some(Value::String("Nope".into()));
  assert_eq!(
    logger.log(bad).unwrap_err().code,
    ErrorCode::UnknownCategory
  );
  let stats = logger.stats();
  assert_eq!((stats.accepted, stats.queue_events), (0, 0));
}

/// A sink that is down (every request fails, retryable) until switched up.
#[derive(Default)]
pub(super) struct Switchable {
  pub(super) up: AtomicBool,
  pub(super) delivered: MemorySink,
}

impl Sink for Switchable {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    let result = if self.up.load(Relaxed) {
      self.delivered.record(entries);
      Ok(())
    } else {
      Err(Failure {
        kind: FailureKind::Retryable,
        code: "ConnectionError".into(),
        message: "down".into(),
      })
    };
    Box::pin(std::future::ready(vec![result; entries.len()]))
  }

  fn limits(&self) -> SinkLimits {
    sns::LIMITS
  }
}

pub(super) fn spool_config(
  dir: &std::path::Path,
  max_queue_events: usize,
  retry_budget_ms: u64,
) -> LoggerConfig {
  let mut config = config(0);
  config.delivery.max_queue_events = max_queue_events;
  config.delivery.retry_budget = Duration::from_millis(retry_budget_ms);
  config.delivery.spool_dir = Some(dir.to_path_buf());
  config
}

pub(super) fn sessions(sink: &MemorySink) -> Vec<String> {
  sink.records().iter().map(|e| session_of(e)).collect()
}

/// Waits until `sink` has `count` events, then checks they are sessions 0.., in that order.
pub(super) async fn delivered_in_order(sink: &MemorySink, count: usize) {
  wait_for("every event", || sink.records().len() >= count).await;
  assert_eq!(
    sessions(sink),
    (0..count).map(|i| i.to_string()).collect::<Vec<_>>()
  );
}

pub(super) async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
  let deadline = Instant::now() + Duration::from_secs(20);
  while !done() {
    assert!(Instant::now() < deadline, "timed out waiting for {what}");
    tokio::time::sleep(Duration::from_millis(20)).await;
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_goes_to_the_spool_and_is_replayed_in_order_once_sns_is_back() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir, 20, 500),
    sink.clone(),
    None,
    &Handle::current(),
  );
  for i in 0..200 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let tally = logger.flush().await;
  assert!(tally.spooled >= 180, "{tally:?}");
  assert!(logger.stats().queue_events <= 20);
  sink.up.store(true, Relaxed);
  wait_for("every event", || sink.delivered.records().len() >= 200).await;
  assert_eq!(
    sessions(&sink.delivered),
    (0..200).map(|i| i.to_string()).collect::<Vec<_>>()
  );
  let stats = logger.stats();
  assert!(stats.replayed >= 180, "{stats:?}");
  logger.close(Duration::from_secs(5)).await;
  assert_eq!(
    Spool::new(dir).count().unwrap(),
    0,
    "replayed events are removed from the spool"
  );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_during_an_outage_waits_for_the_spool_writer_instead_of_growing_memory() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir, 20, 60_000),
    sink,
    None,
    &Handle::current(),
  );
  let events = 6_000;
  // About 7 MiB of overflow, logged from a thread of its own as JavaScript would.
  let flood = logger.clone();
  let peak = tokio::task::spawn_blocking(move || {
    let mut peak = 0;
    for i in 0..events {
      flood.log(window_opened(&format!("{i:0>1000}"))).unwrap();
      peak = peak.max(flood.stats().queue_bytes);
    }
    peak
  })
  .await
  .unwrap();
  let one_event = 1_500; // memory_bytes of one of these events, rounded up
  let bound = 20 * one_event + 2 * (OVERFLOW_BUFFER_BYTES as u64 + one_event);
  assert!(peak <= bound, "peak {peak} bytes in memory, bound {bound}");
  wait_for("the overflow on disk", || {
    logger.stats().spooled >= events - 20
  })
  .await;
  let stats = logger.stats();
  assert_eq!(stats.spooled + stats.queue_events, events, "{stats:?}");
  logger.close(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_retry_budget_spools_and_a_new_logger_replays_after_close() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let down = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir, 1000, 300),
    down.clone(),
    None,
    &Handle::current(),
  );
  for i in 0..30 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let tally = logger.flush().await;
  assert_eq!(tally.spooled, 30, "{tally:?}");
  let report = logger.close(Duration::from_millis(500)).await;
  assert_eq!(report.tally.sent, 0);
  assert_eq!(Spool::new(dir).count().unwrap(), 30);

  let up = Arc::new(Switchable::default());
  up.up.store(true, Relaxed);
  let next = Logger::start(
    spool_config(dir, 1000, 300),
    up.clone(),
    None,
    &Handle::current(),
  );
  next.log(window_opened("new")).unwrap();
  wait_for("the replay", || up.delivered.records().len() >= 31).await;
  let mut expected: Vec<String> = (0..30).map(|i| i.to_string()).collect();
  expected.push("new".into());
  assert_eq!(
    sessions(&up.delivered),
    expected,
    "spooled events first, then the new one"
  );
  next.close(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_at_its_deadline_spools_what_is_left() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let down = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir, 1000, 60_000),
    down,
    None,
    &Handle::current(),
  );
  for i in 0..15 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let report = logger.close(Duration::from_millis(300)).await;
  assert!(report.timed_out);
  assert_eq!(
    report.tally,
    Tally {
      spooled: 15,
      ..Default::default()
    }
  );
  assert_eq!(Spool::new(dir).count().unwrap(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_count_each_event_once_even_when_it_is_replayed() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir, 20, 300),
    sink.clone(),
    None,
    &Handle::current(),
  );
  for i in 0..100 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let first = logger.flush().await;
  assert_eq!(
    first,
    Tally {
      spooled: 100,
      ..Default::default()
    }
  );
  sink.up.store(true, Relaxed);
  wait_for("the replay", || sink.delivered.records().len() >= 100).await;
  assert_eq!(
    logger.flush().await,
    Tally::default(),
    "replayed events were reported (as spooled) already"
  );
  let report = logger.close(Duration::from_secs(5)).await;
  assert_eq!(report.tally, Tally::default());
  assert_eq!(report.left_in_spool, 0);
  assert_eq!(logger.stats().accepted, 100);
}

/// Delivers like the memory sink, `delay` per batch.
pub(super) struct Slow {
  pub delay: Duration,
  pub delivered: MemorySink,
}

impl Sink for Slow {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    Box::pin(async move {
      tokio::time::sleep(self.delay).await;
      self.delivered.record(entries);
      vec![Ok(()); entries.len()]
    })
  }

  fn limits(&self) -> SinkLimits {
    sns::LIMITS
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_during_a_replay_leaves_only_unsent_events_in_the_spool() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let down = Arc::new(Switchable::default());
  let first = Logger::start(
    spool_config(dir, 1000, 60_000),
    down,
    None,
    &Handle::current(),
  );
  for i in 0..3000 {
    first.log(window_opened(&i.to_string())).unwrap();
  }
  first.close(Duration::ZERO).await;
  first.wait_for_close_writes(Duration::from_secs(30));
  assert_eq!(Spool::new(dir).count().unwrap(), 3000);

  let slow = Arc::new(Slow {
    delay: Duration::from_millis(5),
    delivered: MemorySink::default(),
  });
  let next = Logger::start(
    spool_config(dir, 1000, 60_000),
    slow.clone(),
    None,
    &Handle::current(),
  );
  wait_for("part of the replay", || {
    slow.delivered.records().len() >= 200
  })
  .await;
  let report = next.close(Duration::from_millis(200)).await;
  let sent = slow.delivered.records().len() as u64;
  assert!(sent < 3000, "the replay was still going: {sent}");
  let left = Spool::new(dir).count().unwrap();
  assert_eq!(left, 3000 - sent, "every acknowledged event left the spool");
  assert_eq!(report.left_in_spool, left);
  assert_eq!(report.tally, Tally::default(), "no event of this run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_resolves_soon_after_its_deadline_whatever_the_queue_holds() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let down = Arc::new(Switchable::default());
  let mut config = spool_config(dir, 1_000_000, 60_000);
  config.delivery.max_queue_bytes = 1 << 30;
  let logger = Logger::start(config, down, None, &Handle::current());
  let events = 200_000;
  for i in 0..events {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  let timeout = Duration::from_millis(200);
  let started = Instant::now();
  let report = logger.close(timeout).await;
  let elapsed = started.elapsed();
  // Writing them (7 s in a debug build, what made close() late) happens after it resolves.
  assert!(
    elapsed < timeout + Duration::from_secs(1),
    "close() took {elapsed:?} with {events} events queued"
  );
  assert!(report.timed_out);
  assert_eq!(report.tally.spooled, events);
  assert_eq!(report.left_in_spool, events);
  // Process exit waits for the write close() left running.
  logger.wait_for_close_writes(Duration::from_secs(60));
  assert_eq!(Spool::new(dir).count().unwrap(), events);
}

/// `n` prepared events of sessions `from..from + n`.
pub(super) fn prepared(logger: &Logger, from: usize, n: usize) -> Vec<Prepared> {
  (from..from + n)
    .map(|i| {
      let (event, ()) = logger
        .prepare(window_opened(&i.to_string()), None, |_, _| Ok(()))
        .unwrap();
      event
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_all_takes_a_batch_whole_or_refuses_it_whole_when_nothing_can_spool() {
  let sink = Arc::new(Switchable::default());
  let mut config = config(0);
  config.delivery.max_queue_events = 10;
  config.delivery.overflow = OverflowPolicy::Drop;
  let logger = Logger::start(config, sink.clone(), None, &Handle::current());
  assert!(logger.is_accepting());
  logger.enqueue_all(prepared(&logger, 0, 8)).unwrap();
  // 8 + 3 > 10: none of the three is taken, nothing is dropped.
  assert_eq!(
    logger.enqueue_all(prepared(&logger, 8, 3)),
    Err(Refused::Full)
  );
  let stats = logger.stats();
  assert_eq!(
    (stats.accepted, stats.dropped, stats.queue_events),
    (8, 0, 8)
  );
  logger.enqueue_all(prepared(&logger, 8, 2)).unwrap();
  assert!(!logger.is_accepting(), "full, and no spool");
  sink.up.store(true, Relaxed);
  wait_for("every event", || sink.delivered.records().len() >= 10).await;
  assert_eq!(
    sessions(&sink.delivered),
    (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
  );
  assert!(logger.is_accepting());
  let leftover = prepared(&logger, 10, 1);
  logger.close(Duration::from_secs(1)).await;
  assert_eq!(logger.enqueue_all(leftover), Err(Refused::Closed));
  assert!(!logger.is_accepting());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_all_hands_a_batch_to_the_spool_when_the_queue_is_full() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir, 5, 60_000),
    sink.clone(),
    None,
    &Handle::current(),
  );
  logger.enqueue_all(prepared(&logger, 0, 5)).unwrap();
  logger.enqueue_all(prepared(&logger, 5, 20)).unwrap();
  wait_for("the overflow on disk", || logger.stats().spooled >= 20).await;
  assert!(logger.is_accepting(), "the spool takes more");
  sink.up.store(true, Relaxed);
  wait_for("every event", || sink.delivered.records().len() >= 25).await;
  assert_eq!(
    sessions(&sink.delivered),
    (0..25).map(|i| i.to_string()).collect::<Vec<_>>()
  );
  logger.close(Duration::from_secs(5)).await;
}

#[test]
fn prepare_lets_a_front_door_refuse_a_valid_event_and_set_its_dedup_id() {
  let runtime = tokio::runtime::Runtime::new().unwrap();
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(0), sink.clone(), None, runtime.handle());
  let refused = logger.prepare(window_opened("a"), None, |_, event| {
    Err::<(), _>(crate::error::LoggerError::new(
      ErrorCode::NotAWidgetEvent,
      event.category,
    ))
  });
  assert_eq!(
    refused.err().map(|e| (e.code, e.message)),
    Some((ErrorCode::NotAWidgetEvent, "Window".into()))
  );
  let (event, seen) = logger
    .prepare(
      window_opened("b"),
      Some("client-id-1".into()),
      |_, event| Ok(event.action.to_string()),
    )
    .unwrap();
  assert_eq!(seen, "opened");
  logger.enqueue_all(vec![event]).unwrap();
  runtime.block_on(logger.flush());
  let records = sink.records();
  assert_eq!(records.len(), 1);
  assert_eq!(records[0].dedup_id(), "client-id-1");
}
