//! The write-ahead log (`durability: disk`) and the order of events taken by concurrent
//! callers. Crashes are tested where they happen, on a relay killed with SIGKILL
//! (`__test__/relay-durability.test.mjs`).

use super::tests::{
  config, delivered_in_order, prepared, sessions, spool_config, wait_for, window_opened, Switchable,
};
use super::*;
use crate::config::Durability;
use crate::sink::MemorySink;

fn write_ahead_config(dir: &std::path::Path, max_queue_events: usize) -> LoggerConfig {
  let mut config = spool_config(dir, max_queue_events, 60_000);
  config.delivery.durability = Durability::Disk;
  config
}

fn in_spool(logger: &Logger) -> u64 {
  logger.shared.spool.as_ref().unwrap().count().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_batch_is_in_the_spool_before_the_answer_and_leaves_it_once_sent() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  // Memory caches 5 events: the rest wait in the spool only, and are replayed in order.
  let logger = Logger::start(
    write_ahead_config(dir, 5),
    sink.clone(),
    None,
    &Handle::current(),
  );
  assert!(logger.writes_ahead());
  let mut accepted = 0;
  for batch in 0..6 {
    logger
      .accept(prepared(&logger, batch * 10, 10), AcceptUntil::Kept)
      .await
      .unwrap();
    accepted += 10;
    assert_eq!(
      in_spool(&logger),
      accepted,
      "every accepted event is on disk when accept() answers"
    );
  }
  assert_eq!(logger.stats().accepted, 60);
  assert!(logger.stats().queue_events <= 5, "{:?}", logger.stats());
  sink.up.store(true, Relaxed);
  wait_for("every event", || sink.delivered.records().len() >= 60).await;
  assert_eq!(
    sessions(&sink.delivered),
    (0..60).map(|i| i.to_string()).collect::<Vec<_>>()
  );
  wait_for("the spool to empty", || in_spool(&logger) == 0).await;
  let report = logger.close(Duration::from_secs(5)).await;
  assert_eq!(report.left_in_spool, 0);
  assert_eq!(sink.delivered.records().len(), 60, "none sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_events_are_written_ahead_and_flush_waits_for_the_writes() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  let mut config = write_ahead_config(dir, 100_000);
  config.delivery.retry_budget = Duration::from_millis(200);
  let logger = Logger::start(config, sink.clone(), None, &Handle::current());
  for i in 0..50 {
    logger.log(window_opened(&i.to_string())).unwrap();
  }
  // SNS is down: the retry budget runs out, and every event is reported spooled (it was all
  // along); none is lost, none dropped.
  let tally = logger.flush().await;
  assert_eq!(
    (tally.spooled, tally.dropped, tally.sent),
    (50, 0, 0),
    "{tally:?}"
  );
  assert_eq!(in_spool(&logger), 50);
  sink.up.store(true, Relaxed);
  delivered_in_order(&sink.delivered, 50).await;
  logger.close(Duration::from_secs(5)).await;
  assert_eq!(Spool::new(dir).count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_spool_bytes_batches_are_refused_whole_until_the_spool_drains() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  let mut config = write_ahead_config(dir, 100_000);
  config.delivery.max_spool_bytes = 20_000;
  let logger = Logger::start(config, sink.clone(), None, &Handle::current());
  let mut accepted = 0;
  let refused = loop {
    match logger
      .accept(prepared(&logger, accepted, 10), AcceptUntil::Kept)
      .await
    {
      Ok(()) => accepted += 10,
      Err(refused) => break refused,
    }
    assert!(accepted < 1_000, "the cap never refused");
  };
  assert_eq!(refused, Refused::Full);
  assert_eq!(logger.refusal(), Some(Refused::Full));
  assert!(logger.shared.spool.as_ref().unwrap().stored_bytes() <= 20_000);
  assert_eq!(logger.stats().accepted, accepted as u64);
  sink.up.store(true, Relaxed);
  wait_for("every accepted event", || {
    sink.delivered.records().len() >= accepted
  })
  .await;
  wait_for("room in the spool", || logger.refusal().is_none()).await;
  logger
    .accept(prepared(&logger, accepted, 10), AcceptUntil::Kept)
    .await
    .unwrap();
  logger.close(Duration::from_secs(5)).await;
  assert_eq!(
    sessions(&sink.delivered),
    (0..accepted + 10)
      .map(|i| i.to_string())
      .collect::<Vec<_>>()
  );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_answers_once_the_sink_has_every_event_or_refuses_after_its_patience() {
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(config(0), sink.clone(), None, &Handle::current());
  let patient = AcceptUntil::Published(Duration::from_millis(300));
  assert_eq!(
    logger.accept(prepared(&logger, 0, 3), patient).await,
    Err(Refused::Unconfirmed),
    "SNS is down"
  );
  sink.up.store(true, Relaxed);
  logger
    .accept(
      prepared(&logger, 3, 3),
      AcceptUntil::Published(Duration::from_secs(20)),
    )
    .await
    .unwrap();
  // The refused batch was still sent, before the later one (a client's retry would carry the
  // same dedup ids).
  assert_eq!(sessions(&sink.delivered), ["0", "1", "2", "3", "4", "5"]);
  logger.close(Duration::from_secs(1)).await;
}

/// Concurrent callers get their numbers (which become the logger's dedup ids) in the order
/// their events join the queue, so a group's events leave in the order of their dedup ids,
/// through overflow and replay too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_leave_in_the_order_of_their_numbers() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(
    spool_config(dir, 50, 60_000),
    sink.clone(),
    None,
    &Handle::current(),
  );
  let threads: Vec<_> = (0..4)
    .map(|t| {
      let logger = logger.clone();
      std::thread::spawn(move || {
        for b in 0..50 {
          let mut batch = prepared(&logger, t * 10_000 + b * 10, 10);
          while let Err(Refused::Full) = logger.enqueue_all(std::mem::take(&mut batch)) {
            std::thread::sleep(Duration::from_millis(1));
            batch = prepared(&logger, t * 10_000 + b * 10, 10);
          }
        }
      })
    })
    .collect();
  for thread in threads {
    thread.join().unwrap();
  }
  logger.flush().await;
  wait_for("every event", || sink.records().len() >= 2_000).await;
  let seqs: Vec<u64> = sink.records().iter().map(|e| e.seq()).collect();
  let out_of_order = seqs.windows(2).filter(|w| w[1] <= w[0]).count();
  assert_eq!(
    out_of_order, 0,
    "events left out of the order of their numbers"
  );
  logger.close(Duration::from_secs(5)).await;
}
