//! The spool under damage and faults: damaged files, a full disk, a directory shared by
//! several loggers, and a task that panics.

use super::tests::{sessions, spool_config, wait_for, window_opened, Switchable};
use super::*;
use crate::sink::MemorySink;
use crate::storage::small_disk::mount_small_disk;
use crate::storage::Spool;
use std::sync::atomic::AtomicBool;

/// Notices a logger sent, as `code: message`.
fn recorder() -> (Observer, Arc<Mutex<Vec<String>>>) {
  let seen = Arc::new(Mutex::new(Vec::new()));
  let sink = seen.clone();
  let observer: Observer = Arc::new(move |notice: Notice| {
    if let Notice::Error { code, message, .. } = notice {
      sink.lock().push(format!("{code}: {message}"));
    }
  });
  (observer, seen)
}

/// A real spool file holding `events` events.
fn spool_bytes(events: u64) -> Vec<u8> {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let spool = Spool::new(dir);
  let envelope = crate::message::Envelope::whole(
    "arn:aws:sns:us-east-1:123456789012:events.fifo",
    "https://chat.example.com",
    "d",
    "{}",
  );
  for key in 0..events {
    spool.append([(key, &envelope)]).unwrap();
  }
  spool.release();
  std::fs::read(dir.join(Spool::FILE_NAME)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_spool_file_is_moved_aside_and_the_logger_keeps_working() {
  let good = spool_bytes(50);
  let mut flipped = good.clone();
  for byte in &mut flipped[4096..4096 + 512] {
    *byte ^= 0xff;
  }
  let damaged: Vec<(&str, Vec<u8>)> = vec![
    ("garbage", b"not a database at all".to_vec()),
    ("header only", good[..64].to_vec()),
    ("cut at 512", good[..512].to_vec()),
    ("cut at 4096", good[..4096].to_vec()),
    ("cut in half", good[..good.len() / 2].to_vec()),
    ("last byte missing", good[..good.len() - 1].to_vec()),
    ("bytes flipped", flipped),
  ];
  for (case, bytes) in damaged {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(Spool::FILE_NAME), bytes).unwrap();
    let sink = Arc::new(Switchable::default());
    sink.up.store(true, Relaxed);
    let (observer, notices) = recorder();
    let logger = Logger::start(
      spool_config(dir, 1000, 60_000),
      sink.clone(),
      Some(observer),
      &Handle::current(),
    );
    for i in 0..5 {
      logger.log(window_opened(&i.to_string())).unwrap();
    }
    assert_eq!(logger.flush().await.sent, 5, "{case}");
    logger.close(Duration::from_secs(5)).await;
    let delivered = sessions(&sink.delivered);
    assert!(
      delivered.ends_with(&["0", "1", "2", "3", "4"].map(String::from)),
      "{case}: {delivered:?}"
    );
    let notices = notices.lock().join("\n");
    let moved = std::fs::read_dir(dir)
      .unwrap()
      .filter_map(|e| e.ok()?.file_name().into_string().ok())
      .any(|name| name.contains(".corrupt-"));
    // A damage redb repairs on its own (flipped bytes in a page it never reads) is no damage.
    if moved {
      assert!(
        notices.contains("SpoolNotice") && notices.contains("moved to"),
        "{case}: {notices}"
      );
    }
    assert!(!notices.contains("InternalError"), "{case}: {notices}");
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_panics_is_reported_and_started_again() {
  let (observer, notices) = recorder();
  let sink = Arc::new(MemorySink::default());
  let logger = Logger::start(
    super::tests::config(0),
    sink,
    Some(observer),
    &Handle::current(),
  );
  static FIRST: AtomicBool = AtomicBool::new(true);
  let runs = Arc::new(AtomicU64::new(0));
  let counted = runs.clone();
  supervisor::supervise(logger.shared.clone(), "test task", move |_| {
    let counted = counted.clone();
    async move {
      counted.fetch_add(1, Relaxed);
      if FIRST.swap(false, Relaxed) {
        panic!("boom");
      }
    }
  })
  .await;
  assert_eq!(runs.load(Relaxed), 2, "started again after the panic");
  assert_eq!(
    *notices.lock(),
    ["InternalError: the test task stopped on a panic (boom); restarted"]
  );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loggers_share_a_spool_directory_and_a_later_one_adopts_what_is_left() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let down = Arc::new(Switchable::default());
  let first = Logger::start(
    spool_config(dir, 10, 200),
    down.clone(),
    None,
    &Handle::current(),
  );
  let second = Logger::start(
    spool_config(dir, 10, 200),
    down.clone(),
    None,
    &Handle::current(),
  );
  for i in 0..40 {
    first.log(window_opened(&format!("a{i}"))).unwrap();
    second.log(window_opened(&format!("b{i}"))).unwrap();
  }
  assert_eq!(first.flush().await.spooled, 40);
  assert_eq!(second.flush().await.spooled, 40);
  // The spool files (beside them: the directory's lock, storage::DirLock).
  let files = |dir: &std::path::Path| {
    let mut names: Vec<String> = std::fs::read_dir(dir)
      .unwrap()
      .filter_map(|e| e.ok()?.file_name().into_string().ok())
      .filter(|name| name != crate::storage::DirLock::FILE_NAME)
      .collect();
    names.sort();
    names
  };
  let ending = |end: &str| files(dir).iter().filter(|n| n.ends_with(end)).count();
  assert_eq!(
    (ending(".redb"), ending(".redb.reserve"), files(dir).len()),
    (2, 2, 4),
    "one file each, and its reserve: {:?}",
    files(dir)
  );
  first.close(Duration::ZERO).await;
  second.close(Duration::ZERO).await;

  let up = Arc::new(Switchable::default());
  up.up.store(true, Relaxed);
  let (observer, notices) = recorder();
  let next = Logger::start(
    spool_config(dir, 1000, 60_000),
    up.clone(),
    Some(observer),
    &Handle::current(),
  );
  wait_for("every spooled event", || up.delivered.records().len() >= 80).await;
  let report = next.close(Duration::from_secs(5)).await;
  let mut delivered = sessions(&up.delivered);
  assert_eq!(delivered.len(), 80, "each event once");
  let a: Vec<&String> = delivered.iter().filter(|s| s.starts_with('a')).collect();
  let expected: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
  assert_eq!(
    a,
    expected.iter().collect::<Vec<_>>(),
    "a logger's events keep their order"
  );
  delivered.sort();
  delivered.dedup();
  assert_eq!(delivered.len(), 80);
  assert_eq!(report.left_in_spool, 0);
  assert_eq!(
    files(dir),
    [Spool::FILE_NAME],
    "the adopted file is gone, and the reserves are given back at close"
  );
  assert!(
    notices
      .lock()
      .iter()
      .any(|n| n.contains("adopted 40 events")),
    "{:?}",
    notices.lock()
  );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_drops_only_while_it_is_full_and_names_the_cause() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let disk: usize = 8 << 20;
  let _disk = mount_small_disk(dir, disk as u64);
  let spool_dir = dir.join("spool");
  std::fs::create_dir_all(&spool_dir).unwrap();
  let filler = dir.join("filler");
  // Fills the disk but `room` bytes (tmpfs counts whole pages).
  let fill = |room: usize| {
    let _ = std::fs::remove_file(&filler);
    let used: u64 = std::fs::read_dir(&spool_dir)
      .unwrap()
      .filter_map(|e| e.ok()?.metadata().ok())
      .map(|m| m.len())
      .sum();
    let _ = std::fs::write(
      &filler,
      vec![0u8; disk.saturating_sub(used as usize + room)],
    );
  };
  let sink = Arc::new(Switchable::default());
  let (observer, notices) = recorder();
  let logger = Logger::start(
    spool_config(&spool_dir, 10, 60_000),
    sink.clone(),
    Some(observer),
    &Handle::current(),
  );
  let mut logged = 0;
  let mut log = |logger: &Logger, count: usize, tag: &str| {
    for i in 0..count {
      logger.log(window_opened(&format!("{tag}{i}"))).unwrap();
    }
    logged += count;
  };
  let spool_errors = |notices: &Arc<Mutex<Vec<String>>>| {
    notices
      .lock()
      .iter()
      .filter(|n| n.starts_with("SpoolError"))
      .count()
  };

  // Full from the start: the spool file cannot even be created.
  fill(0);
  log(&logger, 100, "full");
  wait_for("a failed spool write", || spool_errors(&notices) > 0).await;
  // Space returns: events go to disk.
  std::fs::remove_file(&filler).unwrap();
  log(&logger, 100, "room");
  wait_for("events on disk", || logger.stats().spooled >= 90).await;
  // Full again, with the file open: a write fails...
  let errors_before = spool_errors(&notices);
  fill(0);
  log(&logger, 2000, "again");
  wait_for("a failed write to the open file", || {
    spool_errors(&notices) > errors_before
  })
  .await;
  // ...and once space returns, writing works again without a restart.
  std::fs::remove_file(&filler).unwrap();
  let dropped = logger.stats().dropped;
  let spooled = logger.stats().spooled;
  log(&logger, 100, "later");
  wait_for("the later events on disk", || {
    logger.stats().spooled >= spooled + 100
  })
  .await;
  assert_eq!(
    logger.stats().dropped,
    dropped,
    "nothing dropped once space returned"
  );
  let seen = notices.lock().join("\n");
  assert!(
    seen.contains("No space left on device"),
    "the real cause: {seen}"
  );
  assert!(
    !seen.contains("moved to"),
    "a full disk is no damaged file: {seen}"
  );

  sink.up.store(true, Relaxed);
  wait_for("the later events delivered", || {
    sessions(&sink.delivered)
      .iter()
      .filter(|s| s.starts_with("later"))
      .count()
      == 100
  })
  .await;
  let report = logger.close(Duration::from_secs(10)).await;
  let stats = logger.stats();
  assert_eq!(stats.accepted, logged as u64);
  assert_eq!(
    sink.delivered.records().len() as u64 + stats.dropped,
    logged as u64,
    "every event delivered or counted dropped: {stats:?}"
  );
  assert_eq!(
    report.left_in_spool, 0,
    "what was sent from the spool left it"
  );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logger_that_never_spools_creates_no_spool_file() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let sink = Arc::new(Switchable::default());
  sink.up.store(true, Relaxed);
  let logger = Logger::start(
    spool_config(dir, 1000, 60_000),
    sink,
    None,
    &Handle::current(),
  );
  logger.log(window_opened("a")).unwrap();
  assert_eq!(logger.flush().await.sent, 1);
  let report = logger.close(Duration::from_secs(5)).await;
  assert_eq!(report.left_in_spool, 0);
  // Only the directory's lock, which every logger holds (storage::DirLock), and it is empty.
  let files: Vec<_> = std::fs::read_dir(dir)
    .map_or(Vec::new(), |d| d.filter_map(|e| e.ok()).collect())
    .iter()
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .collect();
  assert_eq!(files, [crate::storage::DirLock::FILE_NAME]);
  assert_eq!(
    std::fs::metadata(dir.join(crate::storage::DirLock::FILE_NAME))
      .unwrap()
      .len(),
    0
  );
}

/// Written ahead (`durability: disk`), a full disk refuses whole batches, and the spool counts
/// as writable again (readiness) only once a batch fits (`Spool::probe`, tested on its own in
/// the spool's `full_disk_tests`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_ahead_log_on_a_full_disk_refuses_until_a_batch_fits_again() {
  let dir = tempfile::tempdir().unwrap();
  let dir = dir.path();
  let disk: usize = 2 << 20;
  let _disk = mount_small_disk(dir, disk as u64);
  let spool_dir = dir.join("spool");
  let mut config = spool_config(&spool_dir, 10, 60_000);
  config.delivery.durability = crate::config::Durability::Disk;
  let sink = Arc::new(Switchable::default());
  let logger = Logger::start(config, sink.clone(), None, &Handle::current());
  let batch = |from: usize| -> Vec<Prepared> {
    (from..from + 25)
      .map(|i| {
        let session = format!("{i:0>400}");
        logger
          .prepare(window_opened(&session), None, |_, _| Ok(()))
          .unwrap()
          .0
      })
      .collect()
  };
  // SNS is down: batches fill the disk until one is refused.
  let mut accepted = 0;
  let refused = loop {
    match logger.accept(batch(accepted), AcceptUntil::Kept).await {
      Ok(()) => accepted += 25,
      Err(refused) => break refused,
    }
    assert!(accepted < 100_000, "a 2 MiB disk never filled");
  };
  assert_eq!(refused, Refused::SpoolFailing);
  // Nothing leaves the spool while SNS is down: over three of the writer's probes, the spool
  // stays failing, and a batch is still refused.
  for _ in 0..30 {
    assert_eq!(
      logger.refusal(),
      Some(Refused::SpoolFailing),
      "ready while a batch cannot be written"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
  }
  assert_eq!(
    logger.accept(batch(accepted), AcceptUntil::Kept).await,
    Err(Refused::SpoolFailing)
  );
  // SNS back: sent events leave the spool, the probe fits, and a batch is taken again.
  sink.up.store(true, Relaxed);
  wait_for("the spool to be writable again", || {
    logger.refusal().is_none()
  })
  .await;
  logger
    .accept(batch(accepted), AcceptUntil::Kept)
    .await
    .unwrap();
  accepted += 25;
  wait_for("every accepted event", || {
    sink.delivered.records().len() >= accepted
  })
  .await;
  let report = logger.close(Duration::from_secs(10)).await;
  assert_eq!(report.left_in_spool, 0);
  assert_eq!(
    sink.delivered.records().len(),
    accepted,
    "none lost, none twice"
  );
}
