use super::*;
use crate::config::{DeliveryConfig, DfConfig, SinkConfig};
use crate::plan::{PropertiesInput, TrackingPlan, Value};
use crate::sink::{BoxFuture, MemorySink};
use serde_json::json;

fn config(linger_ms: u64) -> LoggerConfig {
  LoggerConfig {
    site_url: "https://chat.example.com".into(),
    df_config: DfConfig::from_json(&json!({
      "bot": {"agent_id": "agent-1", "sns_arn_topic": "arn:aws:sns:us-east-1:123456789012:events.fifo"}
    }))
    .unwrap(),
    sink: SinkConfig::Memory,
    plan: TrackingPlan::built_in(),
    delivery: DeliveryConfig { linger: Duration::from_millis(linger_ms), ..Default::default() },
  }
}

fn window_opened(session: &str) -> EventInput {
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

fn session_of(envelope: &Envelope) -> String {
  let message: serde_json::Value = serde_json::from_str(&envelope.message).unwrap();
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
    lock(&self.batch_sizes).push(entries.len());
    let mut fail_once = lock(&self.fail_once);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_ten_in_log_order() {
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(50), sink.clone(), &Handle::current());
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
async fn retried_entries_are_never_overtaken() {
  let sink = ScriptedSink::new(&[("3", FailureKind::Retryable), ("7", FailureKind::Throttled)]);
  // The linger lets the first ten form one batch.
  let logger = Logger::start(config(50), sink.clone(), &Handle::current());
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
    .map(|e| e.dedup_id.clone())
    .collect();
  assert_eq!(dedup_ids.len(), 20);
  assert_eq!(logger.stats().retried, 2);
  assert_eq!(logger.stats().last_error_code.as_deref(), Some("Throttled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_dead_lettered_not_retried() {
  let sink = ScriptedSink::new(&[("1", FailureKind::Permanent)]);
  let logger = Logger::start(config(50), sink.clone(), &Handle::current());
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
  assert_eq!(*lock(&sink.batch_sizes), vec![3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_refuses_new_events_and_reports() {
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(config(1000), sink.clone(), &Handle::current());
  logger.log(window_opened("a")).unwrap();
  let report = logger.close(Duration::from_secs(5)).await;
  assert_eq!(
    report,
    CloseReport {
      tally: Tally {
        sent: 1,
        ..Default::default()
      },
      timed_out: false
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
  }
  let logger = Logger::start(config(0), Arc::new(Stalled), &Handle::current());
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
  let logger = Logger::start(config(10_000), sink.clone(), &Handle::current());
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
  let logger = Logger::start(config(0), sink.clone(), runtime.handle());
  let mut bad = window_opened("a");
  bad.category = Some(Value::String("Nope".into()));
  assert_eq!(
    logger.log(bad).unwrap_err().code,
    ErrorCode::UnknownCategory
  );
  let stats = logger.stats();
  assert_eq!((stats.accepted, stats.queue_events), (0, 0));
}
