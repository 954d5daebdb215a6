//! `sns-logger spool status | export | replay`: what a spool directory holds, written out as
//! JSON lines, or sent now. This module holds what the three share: opening the files and
//! naming the problems found in them.

mod export;
mod replay;
mod status;

pub use export::{export_spool, ExportReport};
pub use replay::{replay_spool, ReplayReport};
pub use status::{spool_status, FileStatus, GroupStatus, SpoolStatus};

use super::{codes, Problem};
use crate::error::{ErrorCode, LoggerError, Result};
use crate::storage::{spool_dir_files, OpenFailure, SpoolFileHandle, SpoolRecord};
use std::path::Path;

/// Records read per step.
const CHUNK: usize = 5_000;

/// What went wrong reading one file: the chunk that ended the reading, the records that could
/// not be decoded (counted by the reader).
#[derive(Default)]
struct ReadingProblems {
  cut_short: Option<Problem>,
  unreadable: u64,
}

impl ReadingProblems {
  /// Adds them to a report: its problems, and its count of unreadable records.
  fn report(self, file: &str, problems: &mut Vec<Problem>, unreadable_records: &mut u64) {
    problems.extend(self.cut_short);
    if self.unreadable > 0 {
      problems.push(unreadable_records_problem(file, self.unreadable));
    }
    *unreadable_records += self.unreadable;
  }
}

/// A file's records, a chunk at a time, oldest first, until one cannot be read: that one
/// ends the reading and is described in `cut_short`.
fn readable_chunks<'a>(
  handle: &'a SpoolFileHandle,
  cut_short: &'a mut Option<Problem>,
) -> impl Iterator<Item = Vec<SpoolRecord>> + 'a {
  handle
    .chunks(CHUNK)
    .map_while(move |records| match records {
      Ok(records) => Some(records),
      Err(error) => {
        *cut_short = Some(corrupt_problem(&handle.name, &error.to_string()));
        None
      }
    })
}

fn corrupt_problem(name: &str, why: &str) -> Problem {
  Problem::new(
    codes::SPOOL_CORRUPT,
    format!(
      "{name} cannot be read as a spool file ({why}); it is left as it is: the next logger started on this directory moves it aside and starts a new file. Keep it for inspection, or delete it"
    ),
  )
  .about(name)
}

fn unreadable_records_problem(name: &str, count: u64) -> Problem {
  Problem::new(
    codes::SPOOL_CORRUPT,
    format!("{count} record(s) of {name} cannot be decoded; they are skipped and kept"),
  )
  .about(name)
}

fn io_problem(name: &str, error: &dyn std::fmt::Display) -> Problem {
  Problem::new(codes::IO, format!("{name} cannot be opened: {error}")).about(name)
}

/// Opens every spool file of `dir` for export or replay: refuses (`ERR_SPOOL_BUSY`) when a
/// running logger holds one; a damaged or unreadable file becomes a problem and is skipped.
fn open_all(dir: &Path, problems: &mut Vec<Problem>) -> Result<Vec<SpoolFileHandle>> {
  let mut handles = Vec::new();
  for entry in spool_dir_files(dir).into_iter().filter(|e| !e.moved_aside) {
    match SpoolFileHandle::open(dir, &entry.name) {
      Ok(handle) => handles.push(handle),
      Err(OpenFailure::Locked) => {
        return Err(LoggerError::new(
          ErrorCode::SpoolBusy,
          format!(
            "{} in {} is held by a running logger or relay, which replays it itself; stop it first (or let it send), then run this again",
            entry.name,
            dir.display()
          ),
        ))
      }
      Err(OpenFailure::Damaged(why)) => problems.push(corrupt_problem(&entry.name, &why)),
      Err(OpenFailure::Failed(error)) => problems.push(io_problem(&entry.name, &error)),
    }
  }
  Ok(handles)
}

#[cfg(test)]
mod tests {
  //! Also the helpers of the other spool commands' tests.
  use super::*;
  use crate::message::Envelope;
  use crate::storage::Spool;

  pub fn envelope(group: &str, n: u64, at: &str) -> Envelope {
    Envelope::whole(
      "arn:aws:sns:us-east-1:1:t.fifo",
      group,
      &format!("d{n}"),
      &format!("{{\"n\":{n},\"timestamp\":\"{at}\"}}"),
    )
  }

  #[test]
  fn status_counts_per_group_and_export_writes_requests() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    assert_eq!(spool_status(dir).events, 0);
    let spool = Spool::new(dir);
    spool
      .append([
        (1, &envelope("a", 1, "2026-01-01T00:00:02.000Z")),
        (2, &envelope("a", 2, "2026-01-01T00:00:01.000Z")),
        (3, &envelope("b", 3, "2026-01-01T00:00:03.000Z")),
      ])
      .unwrap();
    let busy = spool_status(dir);
    assert_eq!(busy.files[0].state, "in-use");
    assert_eq!(
      export_spool(dir, &mut |_| Ok(())).unwrap_err().code,
      ErrorCode::SpoolBusy
    );
    spool.release();
    let status = spool_status(dir);
    assert_eq!(status.events, 3);
    assert_eq!(status.groups.len(), 2);
    let a = &status.groups[0];
    assert_eq!((a.events, a.message_group_id.as_str()), (2, "a"));
    assert_eq!(a.oldest.as_deref(), Some("2026-01-01T00:00:01.000Z"));
    assert_eq!(a.newest.as_deref(), Some("2026-01-01T00:00:02.000Z"));
    let mut out = String::new();
    let report = export_spool(dir, &mut |s| {
      out.push_str(s);
      Ok(())
    })
    .unwrap();
    assert_eq!(report.events, 3);
    assert_eq!(out.lines().count(), 3);
    assert!(out.starts_with("{\"TopicArn\":\"arn:aws:sns:us-east-1:1:t.fifo\",\"Subject\":\"RC\",\"MessageGroupId\":\"a\",\"MessageDeduplicationId\":\"d1\""));
  }
}
