//! close(): waits for what is in flight until the deadline, hands what is left to the spool,
//! lets the spool keeper finish and releases the spool.

use super::epochs::{FlushRange, Tally};
use super::queue::Queued;
use super::Logger;
use parking_lot::{Condvar, Mutex};
use std::time::Duration;

/// What `close()` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CloseReport {
  /// This logger's events not reported by an earlier flush.
  pub tally: Tally,
  /// The deadline passed before every event was settled.
  pub timed_out: bool,
  /// Events the spool holds once closed, of this run and earlier ones: what the next start
  /// replays.
  pub left_in_spool: u64,
}

/// Past its deadline, close() writes this many leftover events to the spool before it
/// resolves (measured: 15 ms in a release build, 0.3 s in a debug one); a larger remainder is
/// written after it resolves, so that the time past the deadline does not grow with the queue.
pub const CLOSE_WRITE_BEFORE_RESOLVING: usize = 2_000;

/// The longest process exit waits for a spool write close() left running.
pub(super) const EXIT_WAIT_FOR_WRITES: Duration = Duration::from_secs(30);

/// Spool writes close() left running when it resolved; process exit waits for them.
#[derive(Default)]
pub(super) struct CloseWrites {
  running: Mutex<usize>,
  done: Condvar,
}

impl CloseWrites {
  pub(super) fn begin(&self) {
    *self.running.lock() += 1;
  }

  pub(super) fn end(&self) {
    *self.running.lock() -= 1;
    self.done.notify_all();
  }

  pub(super) fn wait(&self, at_most: Duration) {
    let mut running = self.running.lock();
    let _ = self.done.wait_while_for(&mut running, |n| *n > 0, at_most);
  }
}

impl Logger {
  /// Stops accepting, flushes until `timeout`, then spools whatever is left.
  pub async fn close(&self, timeout: Duration) -> CloseReport {
    let epoch = self.stop_accepting();
    self.finish_close(epoch, timeout).await
  }

  /// The asynchronous half of close(), after [`Logger::stop_accepting`]: waits until the
  /// deadline for this logger's events to settle and for batches of replayed ones to come
  /// back, then hands whatever is left to the spool, lets the spool keeper finish (writing
  /// overflow, deleting what replay sent), and releases the spool.
  ///
  /// Past the deadline, what is left is counted as spooled at once; up to
  /// [`CLOSE_WRITE_BEFORE_RESOLVING`] events are written before close() resolves, more are
  /// written after it (process exit waits for that write), so that it resolves soon after its
  /// deadline whatever the queue holds.
  pub async fn finish_close(&self, epoch: FlushRange, timeout: Duration) -> CloseReport {
    let shared = &self.shared;
    let deadline = tokio::time::Instant::now() + timeout;
    let settled = tokio::time::timeout_at(deadline, self.settled(epoch)).await;
    if settled.is_ok() {
      // Only replayed events can be left: they stay in the spool, and the batches of them in
      // flight may come back by the deadline.
      let replayed = shared.queue.lock().take_all_pending();
      shared.spool_and_settle(replayed);
    }
    let quiet = settled.is_ok()
      && tokio::time::timeout_at(deadline, self.no_batch_in_flight())
        .await
        .is_ok();
    // Whatever is still in memory: settled now, written to the spool after this resolves.
    let to_write = shared.hand_to_spool(self.take_everything());
    let tally = match settled {
      Ok(tally) => tally,
      Err(_) => self.settled(epoch).await,
    };
    shared.close_writes.begin();
    let unspool = shared.queue.lock().take_unspooled();
    let in_spool_now = match &shared.spool {
      Some(_) => {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
          shared.spool.as_ref().map_or(0, |s| s.count().unwrap_or(0))
        })
        .await
        .unwrap_or(0)
      }
      None => 0,
    };
    let left_in_spool = (in_spool_now + to_write.len() as u64).saturating_sub(unspool.len() as u64);
    if to_write.len() <= CLOSE_WRITE_BEFORE_RESOLVING {
      self.clone().finish_writing(to_write, unspool).await;
    } else {
      tokio::spawn(self.clone().finish_writing(to_write, unspool));
    }
    CloseReport {
      tally,
      timed_out: !quiet,
      left_in_spool,
    }
  }

  /// After close() resolved: writes what it handed to the spool, lets the keeper finish,
  /// deletes what replay sent, and releases the spool.
  async fn finish_writing(self, to_write: Vec<Queued>, unspool: Vec<u64>) {
    let shared = self.shared.clone();
    let keeper = shared.keeper.lock().take();
    if let Some(keeper) = keeper {
      shared.wake_spool.notify_one();
      let _ = keeper.await;
    }
    let writer = shared.clone();
    let _ = tokio::task::spawn_blocking(move || {
      writer.write_handed(to_write);
      if let Some(spool) = &writer.spool {
        writer.unspool(spool, unspool);
        writer.unspool(spool, writer.queue.lock().take_unspooled());
        spool.release();
      }
      // Nothing more is written to the directory.
      writer.dir_lock.lock().take();
    })
    .await;
    super::open_loggers::forget(&self);
    shared.close_writes.end();
  }

  /// Closes the queue and takes every event still in memory (queued, in flight, waiting for
  /// the spool).
  pub(super) fn take_everything(&self) -> Vec<Queued> {
    let shared = &self.shared;
    shared.hand_off.close();
    let left = {
      let mut queue = shared.queue.lock();
      queue.close();
      queue.drain_all()
    };
    shared.hand_off.spool_writer_caught_up();
    shared.wake.notify_one();
    shared.wake_spool.notify_one();
    left
  }

  /// Resolves once no batch is in flight.
  async fn no_batch_in_flight(&self) {
    let shared = &self.shared;
    loop {
      let settled = shared.settled.notified();
      tokio::pin!(settled);
      settled.as_mut().enable();
      if shared.queue.lock().depth().in_flight_batches == 0 {
        return;
      }
      settled.await;
    }
  }
}
