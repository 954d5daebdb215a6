//! The spool keeper: writes overflow to disk, deletes replayed events once settled, and
//! replays the spool oldest first whenever the in-memory queue is empty.

use super::epochs::Outcome;
use super::queue::Queued;
use super::{NoticeCode, Shared};
use crate::storage::{Spool, SpoolError};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events read from the spool per replay step.
const REPLAY_CHUNK: usize = 5_000;
/// While events wait in the spool, the keeper also looks this often: replay waits for the
/// queue to empty.
const SPOOL_POLL: Duration = Duration::from_millis(200);
/// How often the keeper looks for spool files whose logger is gone (and at its start).
const ADOPT_EVERY: Duration = Duration::from_secs(30);

pub(super) async fn keep_spool(shared: Arc<Shared>) {
  let mut next_adoption = Instant::now();
  loop {
    let woken = shared.wake_spool.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    let work = shared.queue.lock().take_spool_work();
    let closed = work.closed;
    let adopt = !closed && Instant::now() >= next_adoption;
    if adopt {
      next_adoption = Instant::now() + ADOPT_EVERY;
    }
    let worker = shared.clone();
    // Storage is blocking I/O: keep it off the runtime's workers.
    let round = tokio::task::spawn_blocking(move || {
      worker.spool_and_settle(work.overflow);
      let spool = worker
        .spool
        .as_ref()
        .expect("the keeper runs only with a spool");
      worker.unspool(spool, work.to_unspool);
      if adopt {
        worker.adopt_orphans(spool);
      }
      work
        .replay_from
        .map(|cursor| replay(&worker, spool, cursor, work.left_in_spool_mark))
    })
    .await;
    let replayed = match round {
      Ok(replayed) => replayed,
      Err(error) => {
        shared.notify_error(
          NoticeCode::Internal,
          format!(
            "a spool round failed ({}); the next one retries",
            super::supervisor::why(error)
          ),
          0,
        );
        None
      }
    };
    if closed && !shared.queue.lock().has_overflow() {
      return;
    }
    shared.hand_off.spool_writer_caught_up();
    if replayed.is_some_and(|n| n > 0) {
      // Replayed events are queued: let the dispatcher send them.
      shared.wake_dispatcher();
    }
    // Written ahead, every sent event is deleted from the spool: look often.
    let poll = if shared.queue.lock().in_spool_mode() || shared.write_ahead.is_some() {
      SPOOL_POLL
    } else {
      next_adoption.saturating_duration_since(Instant::now())
    };
    tokio::select! {
      _ = woken => {}
      _ = tokio::time::sleep(poll) => {}
    }
  }
}

/// Loads the next chunk of the spool into the queue. Leaves spool mode when nothing is left
/// beyond what is already in memory. Returns how many events were loaded.
fn replay(shared: &Shared, spool: &Spool, cursor: Option<u64>, left_in_spool_mark: u64) -> u64 {
  let chunk = REPLAY_CHUNK.min(shared.config.delivery.max_queue_events.div_ceil(2));
  let read = match spool.read_after(cursor, chunk) {
    Ok(read) => read,
    Err(error) => {
      shared.notify_error(NoticeCode::SpoolError, error.to_string(), 0);
      return 0;
    }
  };
  if read.corrupt > 0 {
    shared.notify_error(
      NoticeCode::SpoolCorrupt,
      format!(
        "{} unreadable spool records were skipped and removed",
        read.corrupt
      ),
      read.corrupt,
    );
  }
  let loaded = shared
    .queue
    .lock()
    .load_replayed(read.events, left_in_spool_mark, Instant::now());
  shared.counters.replayed.fetch_add(loaded, Relaxed);
  loaded
}

impl Shared {
  /// Takes in the events of spool files whose logger is gone; they replay like this one's.
  fn adopt_orphans(&self, spool: &Spool) {
    match spool.adopt_orphans(|| self.hand_off.take_seqs(1)) {
      Ok(0) => {}
      Ok(_) => self.queue.lock().resume_from_spool(),
      Err(error) => self.notify_error(NoticeCode::SpoolError, error.to_string(), 0),
    }
    self.report_spool_notices();
  }

  /// Deletes replayed events that settled from the spool; keys whose deletion fails are kept
  /// for the next round, so a sent event is never replayed again.
  pub(super) fn unspool(&self, spool: &Spool, keys: Vec<u64>) {
    if keys.is_empty() {
      return;
    }
    // Written ahead, the writer deletes them with its commits (see `write_ahead`).
    let keys = match &self.write_ahead {
      Some(write_ahead) => match write_ahead.delete_later(keys) {
        Ok(()) => return,
        Err(keys) => keys,
      },
      None => keys,
    };
    if let Err(error) = spool.remove(&keys) {
      self.queue.lock().return_unspooled(keys);
      self.notify_error(NoticeCode::SpoolError, error.to_string(), 0);
    }
  }

  pub(super) fn report_spool_notices(&self) {
    let Some(spool) = &self.spool else { return };
    let notices = std::mem::take(&mut *spool.notices.lock());
    for message in notices {
      self.notify_error(NoticeCode::SpoolNotice, message, 0);
    }
  }

  /// Writes events to the spool and settles them: `Spooled`, or `Dropped` when the spool is
  /// missing or failing. Returns how many were spooled.
  pub(super) fn spool_and_settle(&self, entries: Vec<Queued>) -> u64 {
    if entries.is_empty() {
      return 0;
    }
    let (on_disk, to_write): (Vec<Queued>, Vec<Queued>) =
      entries.into_iter().partition(Queued::in_spool);
    let written = self.write(&to_write);
    let outcome = if written.is_ok() {
      Outcome::Spooled
    } else {
      Outcome::Dropped
    };
    self.settle_for_spool(&on_disk, &to_write, outcome);
    let written_count = if written.is_ok() { to_write.len() } else { 0 };
    let spooled = (on_disk.len() + written_count) as u64;
    self.counters.spooled.fetch_add(spooled, Relaxed);
    self.report_write(written, to_write.len() as u64, "");
    self.settled_some();
    spooled
  }

  /// Settles events leaving memory for the spool: those already on disk as spooled, the
  /// others as `outcome`.
  fn settle_for_spool(&self, on_disk: &[Queued], to_write: &[Queued], outcome: Outcome) {
    let mut queue = self.queue.lock();
    for queued in on_disk {
      queue.settle(queued, Outcome::Spooled);
    }
    for queued in to_write {
      queue.settle(queued, outcome);
    }
  }

  /// close() past its deadline: settles every event left as spooled (dropped without a
  /// spool) at once, so close() can resolve; returns those still to write, for
  /// [`Shared::write_handed`].
  pub(super) fn hand_to_spool(&self, entries: Vec<Queued>) -> Vec<Queued> {
    let (on_disk, to_write): (Vec<Queued>, Vec<Queued>) =
      entries.into_iter().partition(Queued::in_spool);
    let outcome = if self.spool.is_some() {
      Outcome::Spooled
    } else {
      Outcome::Dropped
    };
    self.settle_for_spool(&on_disk, &to_write, outcome);
    self.settled_some();
    if self.spool.is_none() {
      self.report_write(Err(SpoolError::NotConfigured), to_write.len() as u64, "");
      return Vec::new();
    }
    to_write
  }

  /// Writes what close() handed to the spool (already counted as spooled in its report).
  pub(super) fn write_handed(&self, to_write: Vec<Queued>) {
    let result = self.write(&to_write);
    let count = to_write.len() as u64;
    if result.is_ok() {
      self.counters.spooled.fetch_add(count, Relaxed);
    }
    self.report_write(
      result,
      count,
      " (close() had already reported them as spooled)",
    );
  }

  fn write(&self, events: &[Queued]) -> Result<(), SpoolError> {
    let written = match &self.spool {
      _ if events.is_empty() => Ok(()),
      Some(spool) => spool.append(events.iter().map(|q| (q.seq(), &*q.envelope))),
      None => Err(SpoolError::NotConfigured),
    };
    self.report_spool_notices();
    written
  }

  /// Records whether the spool could be written: a failure (but a full spool, which
  /// readiness sees from its size) marks it failing, so that new events are refused rather
  /// than dropped, until a write succeeds again. Says so when that changes.
  pub(super) fn spool_write_result(&self, error: Option<&SpoolError>) {
    match error {
      None => {
        self.spool_full_at.store(u64::MAX, Relaxed);
        if self.spool_failing.swap(false, Relaxed) {
          self.notify_error(
            NoticeCode::SpoolNotice,
            "the spool can be written again".into(),
            0,
          );
        }
      }
      Some(SpoolError::Full { .. }) => {
        let stored = self.spool.as_ref().map_or(0, |s| s.stored_bytes());
        self.spool_full_at.store(stored, Relaxed);
      }
      Some(SpoolError::NotConfigured) => {}
      Some(error) => {
        if !self.spool_failing.swap(true, Relaxed) {
          self.notify_error(
            NoticeCode::SpoolError,
            format!("{error}: the spool cannot be written; events are refused until it can"),
            0,
          );
        }
      }
    }
  }

  /// Whether the spool is at its cap: at `maxSpoolBytes`, or a write was refused for it and
  /// nothing was deleted since.
  pub(super) fn spool_is_full(&self) -> bool {
    let Some(spool) = &self.spool else {
      return false;
    };
    let stored = spool.stored_bytes();
    stored >= self.config.delivery.max_spool_bytes || stored >= self.spool_full_at.load(Relaxed)
  }

  /// Counts and reports `count` events a failed write dropped.
  fn report_write(&self, written: Result<(), SpoolError>, count: u64, note: &str) {
    if count > 0 {
      self.spool_write_result(written.as_ref().err());
    }
    if let Err(error) = written {
      if count > 0 {
        self.counters.dropped.fetch_add(count, Relaxed);
        self.notify_error(
          NoticeCode::SpoolError,
          format!("{error}: {count} events dropped{note}"),
          count,
        );
      }
    }
  }
}
