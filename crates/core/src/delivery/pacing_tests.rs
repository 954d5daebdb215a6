//! `accept` on a full queue (memory durability, as the relay's `--ack queued`): it waits for
//! delivery to free room rather than sending the batch through the spool, and only as long
//! as `ROOM_WAIT` while delivery is stuck.

use super::intake::ROOM_WAIT;
use super::tests::{delivered_in_order, prepared, spool_config, wait_for, Slow, Switchable};
use super::*;
use crate::sink::MemorySink;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_paces_accept_by_delivery_instead_of_spooling() {
  let dir = tempfile::tempdir().unwrap();
  let sink = Arc::new(Slow {
    delay: Duration::from_millis(40),
    delivered: MemorySink::default(),
  });
  let logger = Logger::start(
    spool_config(dir.path(), 20, 60_000),
    sink.clone(),
    None,
    &Handle::current(),
  );
  // Each batch is 10 events; the queue holds 20, so most batches find it full and wait for
  // the one in flight (one group: one batch at a time, 40 ms each).
  let mut waited = Duration::ZERO;
  for batch in 0..8 {
    let started = Instant::now();
    logger
      .accept(prepared(&logger, batch * 10, 10), AcceptUntil::Kept)
      .await
      .unwrap();
    waited = waited.max(started.elapsed());
  }
  delivered_in_order(&sink.delivered, 80).await;
  let stats = logger.stats();
  assert_eq!(
    (stats.accepted, stats.spooled, stats.replayed),
    (80, 0, 0),
    "every batch waited for room in memory; none went through the spool"
  );
  assert!(
    waited >= Duration::from_millis(20),
    "the queue was full at least once: {waited:?}"
  );
  logger.close(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_delivery_is_stuck_accept_spills_to_the_spool_after_one_bounded_wait() {
  let dir = tempfile::tempdir().unwrap();
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(
    spool_config(dir.path(), 10, 60_000),
    sink.clone(),
    None,
    &Handle::current(),
  );
  logger.enqueue_all(prepared(&logger, 0, 10)).unwrap();
  // SNS is down and the queue is full: the first batch waits its bound, then is spooled.
  let started = Instant::now();
  logger
    .accept(prepared(&logger, 10, 10), AcceptUntil::Kept)
    .await
    .unwrap();
  let first = started.elapsed();
  assert!(
    first >= ROOM_WAIT,
    "it waited for room before spilling: {first:?}"
  );
  // The next ones do not wait again while no room was found since.
  let started = Instant::now();
  for batch in 2..5 {
    logger
      .accept(prepared(&logger, batch * 10, 10), AcceptUntil::Kept)
      .await
      .unwrap();
  }
  let next = started.elapsed();
  assert!(next < ROOM_WAIT, "later batches spill at once: {next:?}");
  wait_for("the overflow on disk", || logger.stats().spooled >= 40).await;
  sink.up.store(true, Relaxed);
  delivered_in_order(&sink.delivered, 50).await;
  logger.close(Duration::from_secs(5)).await;
}
