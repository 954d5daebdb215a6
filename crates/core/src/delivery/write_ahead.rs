//! The write-ahead log (`durability: disk`): every accepted event is in the spool before it
//! counts as accepted, and the queue in memory is a cache of it.
//!
//! Callers submit their events; one writer thread takes every submission waiting and writes
//! them in one commit (group commit), numbering them in that order, then hands them to the
//! queue (cached in memory within its caps, else left in the spool for replay) and answers
//! each caller. A failed write refuses the whole round (nothing of it counts as accepted) and
//! marks the spool as failing until a write succeeds again; while failing and idle, the writer
//! tries a write every [`PROBE_EVERY`] so that readiness comes back on its own.
//!
//! The writer is also the only one to delete sent events from the file (a slice per commit,
//! [`DELETE_SLICE`]): a deletion in a transaction of its own would hold redb's one write
//! transaction for milliseconds and make the waiting requests wait with it.

use super::handoff::{Handed, HandedTo};
use super::queue::Queued;
use super::{NoticeCode, Refused, Shared};
use crate::message::Envelope;
use crate::storage::SpoolError;
use parking_lot::{Condvar, Mutex};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// While the spool is failing and nobody submits, the writer tries a write this often.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// The most sent events a commit deletes: small, so that no commit takes long, and more
/// than a commit adds at any rate the relay takes (commits follow each other closely).
const DELETE_SLICE: usize = 512;

/// The answer a submitter waits for.
pub type Receipt = oneshot::Receiver<Result<(), Refused>>;

struct Submission {
  events: Vec<Envelope>,
  bytes: usize,
  reply: Option<oneshot::Sender<Result<(), Refused>>>,
}

#[derive(Default)]
struct Waiting {
  submissions: Vec<Submission>,
  /// Spool keys of events SNS acknowledged: to delete.
  deletes: Vec<u64>,
  closed: bool,
}

/// What one commit does.
struct Round {
  submissions: Vec<Submission>,
  deletes: Vec<u64>,
}

/// What the callers and the writer thread share.
#[derive(Default)]
pub(super) struct WriteAhead {
  waiting: Mutex<Waiting>,
  /// Wakes the writer.
  submitted_cv: Condvar,
  /// Wakes callers waiting for the backlog to shrink or for the writer to finish.
  written_cv: Condvar,
  /// Wakes flushes waiting for the writer (see [`WriteAhead::written`]).
  written_notify: Notify,
  /// Submissions made, and submissions answered (written or refused).
  submitted: AtomicU64,
  answered: AtomicU64,
  /// Bytes of events submitted and not yet written.
  backlog_bytes: AtomicUsize,
  /// A caller waited for room in vain: callers stop waiting until the writer answers a
  /// round, so a stuck disk costs `logEvent` one wait, not one per call.
  stalled: AtomicBool,
  /// The writer thread has exited.
  finished: AtomicBool,
}

impl WriteAhead {
  /// Queues events for the writer. `reply`: whether the caller waits for the answer.
  pub(super) fn submit(
    &self,
    events: Vec<Envelope>,
    reply: bool,
  ) -> Result<Option<Receipt>, Refused> {
    let bytes = events.iter().map(Queued::bytes_of).sum();
    let (sender, receipt) = if reply {
      let (sender, receipt) = oneshot::channel();
      (Some(sender), Some(receipt))
    } else {
      (None, None)
    };
    let mut waiting = self.waiting.lock();
    if waiting.closed {
      return Err(Refused::Closed);
    }
    self.backlog_bytes.fetch_add(bytes, Relaxed);
    self.submitted.fetch_add(1, SeqCst);
    waiting.submissions.push(Submission {
      events,
      bytes,
      reply: sender,
    });
    drop(waiting);
    self.submitted_cv.notify_one();
    Ok(receipt)
  }

  pub(super) fn backlog_bytes(&self) -> usize {
    self.backlog_bytes.load(Relaxed)
  }

  /// Waits (at most `at_most`) until the backlog is under `limit` bytes; false if it is not.
  /// After one wait in vain, false at once until the writer answers a round.
  pub(super) fn wait_for_room(&self, limit: usize, at_most: Duration) -> bool {
    if self.stalled.load(Relaxed) {
      return false;
    }
    let mut waiting = self.waiting.lock();
    let timed_out = self
      .written_cv
      .wait_while_for(
        &mut waiting,
        |_| self.backlog_bytes() > limit && !self.finished.load(SeqCst),
        at_most,
      )
      .timed_out();
    if timed_out {
      self.stalled.store(true, Relaxed);
    }
    !timed_out
  }

  /// Resolves once every submission made before the call is answered.
  pub(super) async fn written(&self) {
    let target = self.submitted.load(SeqCst);
    loop {
      let notified = self.written_notify.notified();
      tokio::pin!(notified);
      notified.as_mut().enable();
      if self.answered.load(SeqCst) >= target || self.finished.load(SeqCst) {
        return;
      }
      notified.await;
    }
  }

  /// Refuses submissions from now on; waits (at most `at_most`) for the writer to answer
  /// those already made.
  pub(super) fn close(&self, at_most: Duration) {
    let mut waiting = self.waiting.lock();
    waiting.closed = true;
    self.submitted_cv.notify_one();
    let _ = self
      .written_cv
      .wait_while_for(&mut waiting, |_| !self.finished.load(SeqCst), at_most);
  }

  /// Hands the writer keys to delete; gives them back once it has stopped.
  pub(super) fn delete_later(&self, keys: Vec<u64>) -> Result<(), Vec<u64>> {
    let mut waiting = self.waiting.lock();
    if self.finished.load(SeqCst) {
      return Err(keys);
    }
    waiting.deletes.extend(keys);
    drop(waiting);
    self.submitted_cv.notify_one();
    Ok(())
  }

  /// Takes every submission waiting and a slice of the deletions, sleeping until there is
  /// something (or `probe_after` passes: then an empty round). Once closed, the last rounds
  /// delete what is left; then `None`.
  fn take(&self, probe_after: Option<Duration>) -> Option<Round> {
    let mut waiting = self.waiting.lock();
    loop {
      let deletes = if waiting.closed {
        std::mem::take(&mut waiting.deletes)
      } else {
        let slice = waiting.deletes.len().min(DELETE_SLICE);
        waiting.deletes.drain(..slice).collect()
      };
      if !waiting.submissions.is_empty() || !deletes.is_empty() {
        return Some(Round {
          submissions: std::mem::take(&mut waiting.submissions),
          deletes,
        });
      }
      if waiting.closed {
        return None;
      }
      match probe_after {
        Some(after) => {
          if self.submitted_cv.wait_for(&mut waiting, after).timed_out() {
            return Some(Round {
              submissions: Vec::new(),
              deletes: Vec::new(),
            });
          }
        }
        None => self.submitted_cv.wait(&mut waiting),
      }
    }
  }

  fn answered(&self, submissions: u64, bytes: usize) {
    self.backlog_bytes.fetch_sub(bytes, Relaxed);
    self.stalled.store(false, Relaxed);
    self.answered.fetch_add(submissions, SeqCst);
    // Taken so a caller between its check and its sleep cannot miss the notification.
    drop(self.waiting.lock());
    self.written_cv.notify_all();
    self.written_notify.notify_waiters();
  }

  /// Keys whose deletion failed: tried again with the next commit.
  fn delete_again(&self, keys: Vec<u64>) {
    self.waiting.lock().deletes.extend(keys);
  }

  fn finish(&self) {
    self.finished.store(true, SeqCst);
    drop(self.waiting.lock());
    self.written_cv.notify_all();
    self.written_notify.notify_waiters();
  }
}

/// The writer thread: group commits until the logger closes.
pub(super) fn run(shared: Arc<Shared>) {
  let write_ahead = shared
    .write_ahead
    .as_ref()
    .expect("the writer runs only with a write-ahead log");
  loop {
    let probe_after = shared.spool_failing.load(Relaxed).then_some(PROBE_EVERY);
    let Some(round) = write_ahead.take(probe_after) else {
      break;
    };
    let count = round.submissions.len() as u64;
    let bytes = round.submissions.iter().map(|s| s.bytes).sum();
    let outcome = catch_unwind(AssertUnwindSafe(|| shared.write_round(round)));
    if outcome.is_err() {
      // The round's senders were dropped: their callers see a refusal.
      shared.notify_error(
        NoticeCode::Internal,
        "a write-ahead round failed unexpectedly; its events were refused".into(),
        0,
      );
    }
    write_ahead.answered(count, bytes);
  }
  write_ahead.finish();
}

impl Shared {
  /// Writes one round of submissions (and deletes a slice of sent events) in one commit,
  /// then queues and answers them.
  fn write_round(
    &self,
    Round {
      submissions,
      deletes,
    }: Round,
  ) {
    let spool = self.spool.as_ref().expect("a write-ahead log has a spool");
    let write_ahead = self
      .write_ahead
      .as_ref()
      .expect("rounds are written only with a write-ahead log");
    let round = submissions;
    if round.is_empty() && deletes.is_empty() {
      // A probe while failing: when it passes the relay is ready again, and a round like
      // the one refused fits.
      let probed = spool.probe();
      self.spool_write_result(probed.as_ref().err());
      return;
    }
    let events: usize = round.iter().map(|s| s.events.len()).sum();
    let first = self.hand_off.take_seqs(events as u64);
    let mut round = round;
    let mut seq = first;
    for submission in &mut round {
      for envelope in std::mem::take(&mut submission.events) {
        submission.events.push(envelope.with_seq(seq));
        seq += 1;
      }
    }
    // After a full disk, events are refused unwritten until a probe finds room: the room
    // given back then is for deleting the events SNS takes, which is what makes room.
    let unwritten = !round.is_empty() && spool.waits_for_room();
    let written = if unwritten {
      Err(SpoolError::disk_full())
    } else {
      spool.commit(
        round
          .iter()
          .flat_map(|s| s.events.iter().map(|e| (e.seq(), e))),
        &deletes,
      )
    };
    self.report_spool_notices();
    if let Err(error) = &written {
      // The deletions did not happen: with the next commit (alone, if these events were
      // refused before the write: deleting is what makes room).
      let refused_before_writing = unwritten || matches!(error, SpoolError::Full { .. });
      let deleted = if refused_before_writing && !deletes.is_empty() {
        spool.remove(&deletes).is_ok()
      } else {
        deletes.is_empty()
      };
      if !deleted {
        write_ahead.delete_again(deletes);
      }
    }
    if round.is_empty() {
      return;
    }
    if let Err(error) = written {
      let refused = match error {
        SpoolError::Full { .. } => Refused::Full,
        _ => Refused::SpoolFailing,
      };
      self.spool_write_result(Some(&error));
      let mut dropped = 0;
      for submission in round {
        match submission.reply {
          Some(reply) => {
            let _ = reply.send(Err(refused));
          }
          None => dropped += submission.events.len() as u64,
        }
      }
      if dropped > 0 {
        // Logged in process, where there is nobody to refuse: counted and reported.
        self.counters.accepted.fetch_add(dropped, Relaxed);
        self.counters.dropped.fetch_add(dropped, Relaxed);
        self.notify_error(
          NoticeCode::SpoolError,
          format!("{error}: {dropped} events dropped"),
          dropped,
        );
      }
      return;
    }
    self.spool_write_result(None);
    let limits = &self.config.delivery;
    let at = Instant::now();
    // Pushed after close() closed the hand-off, they stay in the spool for the next run.
    let entered = self.hand_off.enter();
    let mut wake = false;
    for submission in round {
      let count = submission.events.len();
      if let Some(_entered) = &entered {
        let cached = self.hand_off.reserve(
          count,
          submission.bytes,
          limits.max_queue_events,
          limits.max_queue_bytes,
        );
        for envelope in submission.events {
          let handed = Handed {
            envelope,
            route: HandedTo::WrittenAhead { cached },
            at,
            ticket: None,
          };
          wake |= self.hand_off.push(handed, limits.linger);
        }
      }
      self.counters.accepted.fetch_add(count as u64, Relaxed);
      if let Some(reply) = submission.reply {
        let _ = reply.send(Ok(()));
      }
    }
    drop(entered);
    if wake {
      self.wake.notify_one();
    }
  }
}
