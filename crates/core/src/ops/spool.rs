//! `sns-logger spool status | export | replay`.

use super::send::{send_in_order, Outcome};
use super::{age_ms, codes, ErrorInfo, Problem};
use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::Envelope;
use crate::sink::{sns, Sink};
use crate::storage::{
  spool_dir_files, DeadLetterFile, OpenFailure, SpoolFileEntry, SpoolFileHandle,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Records read per step.
const CHUNK: usize = 5_000;

/// One file of the spool directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileStatus {
  pub name: String,
  pub bytes: u64,
  /// `ok`, `in-use` (a running logger holds it), `corrupt`, `moved-aside` (a logger moved it
  /// aside as damaged; never read) or `unreadable` (permissions, ...).
  pub state: &'static str,
  /// Records it holds (`None` when it could not be read).
  pub events: Option<u64>,
  /// Records that cannot be decoded.
  pub unreadable_records: u64,
}

/// The events of one (topic, message group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStatus {
  pub topic_arn: String,
  pub message_group_id: String,
  pub events: u64,
  /// Message bytes.
  pub bytes: u64,
  /// The oldest and newest event's `timestamp`.
  pub oldest: Option<String>,
  pub newest: Option<String>,
  pub oldest_age_ms: Option<i64>,
  pub newest_age_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpoolStatus {
  pub spool_dir: String,
  /// Events in the files that could be read.
  pub events: u64,
  pub files: Vec<FileStatus>,
  pub groups: Vec<GroupStatus>,
  pub problems: Vec<Problem>,
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

/// The event's `timestamp`, read from its message.
fn event_time(message: &str) -> Option<String> {
  #[derive(Deserialize)]
  struct Time {
    timestamp: String,
  }
  serde_json::from_str::<Time>(message)
    .ok()
    .map(|t| t.timestamp)
}

/// What the spool directory holds, per file and per (topic, group). Reads only; a file a
/// running logger holds is listed as in use.
pub fn spool_status(dir: &Path) -> SpoolStatus {
  let now = chrono::Utc::now();
  let mut status = SpoolStatus {
    spool_dir: dir.display().to_string(),
    events: 0,
    files: Vec::new(),
    groups: Vec::new(),
    problems: Vec::new(),
  };
  let mut groups: BTreeMap<(String, String), GroupStatus> = BTreeMap::new();
  for SpoolFileEntry {
    name,
    bytes,
    moved_aside,
  } in spool_dir_files(dir)
  {
    let mut file = FileStatus {
      name: name.clone(),
      bytes,
      state: "ok",
      events: None,
      unreadable_records: 0,
    };
    if moved_aside {
      file.state = "moved-aside";
      status.files.push(file);
      continue;
    }
    let handle = match SpoolFileHandle::open(dir, &name) {
      Ok(handle) => handle,
      Err(failure) => {
        match failure {
          OpenFailure::Locked => file.state = "in-use",
          OpenFailure::Damaged(why) => {
            file.state = "corrupt";
            status.problems.push(corrupt_problem(&name, &why));
          }
          OpenFailure::Failed(error) => {
            file.state = "unreadable";
            status.problems.push(io_problem(&name, &error));
          }
        }
        status.files.push(file);
        continue;
      }
    };
    let mut events = 0;
    for records in handle.chunks(CHUNK) {
      let records = match records {
        Ok(records) => records,
        Err(error) => {
          file.state = "corrupt";
          status
            .problems
            .push(corrupt_problem(&name, &error.to_string()));
          break;
        }
      };
      for (_, envelope) in records {
        let Some(envelope) = envelope else {
          file.unreadable_records += 1;
          continue;
        };
        events += 1;
        let key = (
          envelope.topic_arn().to_string(),
          envelope.group_id().to_string(),
        );
        let group = groups.entry(key.clone()).or_insert_with(|| GroupStatus {
          topic_arn: key.0,
          message_group_id: key.1,
          events: 0,
          bytes: 0,
          oldest: None,
          newest: None,
          oldest_age_ms: None,
          newest_age_ms: None,
        });
        group.events += 1;
        group.bytes += envelope.message_len() as u64;
        if let Some(at) = event_time(&envelope.message()) {
          let older = |a: &str, b: &str| age_ms(a, now) > age_ms(b, now);
          if group.oldest.as_deref().is_none_or(|o| older(&at, o)) {
            group.oldest = Some(at.clone());
          }
          if group.newest.as_deref().is_none_or(|n| older(n, &at)) {
            group.newest = Some(at);
          }
        }
      }
    }
    if file.unreadable_records > 0 {
      status
        .problems
        .push(unreadable_records_problem(&name, file.unreadable_records));
    }
    if file.state == "ok" {
      file.events = Some(events + file.unreadable_records);
    }
    status.events += events;
    status.files.push(file);
  }
  status.groups = groups
    .into_values()
    .map(|mut g| {
      g.oldest_age_ms = g.oldest.as_deref().and_then(|at| age_ms(at, now));
      g.newest_age_ms = g.newest.as_deref().and_then(|at| age_ms(at, now));
      g
    })
    .collect();
  status
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
  pub spool_dir: String,
  pub events: u64,
  /// Records that could not be decoded (not exported, kept in the spool).
  pub unreadable_records: u64,
  pub files: Vec<String>,
  pub problems: Vec<Problem>,
}

/// Writes every spooled event as a JSON line (the request SNS would get, as the file sink and
/// the dead-letter file write it) through `emit`, a chunk of lines at a time. Reads only.
pub fn export_spool(
  dir: &Path,
  emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> Result<ExportReport> {
  let mut report = ExportReport {
    spool_dir: dir.display().to_string(),
    events: 0,
    unreadable_records: 0,
    files: Vec::new(),
    problems: Vec::new(),
  };
  let handles = open_all(dir, &mut report.problems)?;
  for handle in &handles {
    report.files.push(handle.name.clone());
    let mut unreadable = 0;
    for records in handle.chunks(CHUNK) {
      let records = match records {
        Ok(records) => records,
        Err(error) => {
          report
            .problems
            .push(corrupt_problem(&handle.name, &error.to_string()));
          break;
        }
      };
      let mut lines = String::new();
      for (_, envelope) in records {
        match envelope {
          Some(envelope) => {
            lines.push_str(&sns::request_json(&envelope));
            lines.push('\n');
            report.events += 1;
          }
          None => unreadable += 1,
        }
      }
      emit(&lines)
        .map_err(|e| LoggerError::new(ErrorCode::Io, format!("writing the export failed: {e}")))?;
    }
    if unreadable > 0 {
      report
        .problems
        .push(unreadable_records_problem(&handle.name, unreadable));
    }
    report.unreadable_records += unreadable;
  }
  Ok(report)
}

/// The outcome of one (topic, group) in a replay or requeue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupOutcome {
  pub topic_arn: String,
  pub message_group_id: String,
  pub sent: u64,
  /// Refused by SNS for good: moved to the dead-letter file (replay) or kept (requeue).
  pub refused: u64,
  /// Not sent (still failing, or after a failure in its group): kept.
  pub left: u64,
  /// The last failure.
  pub error: Option<ErrorInfo>,
}

/// Tallies outcomes per group.
#[derive(Default)]
pub(super) struct Tally {
  groups: BTreeMap<(String, String), GroupOutcome>,
}

impl Tally {
  pub fn add(&mut self, envelope: &Envelope, outcome: &Outcome) {
    let key = (
      envelope.topic_arn().to_string(),
      envelope.group_id().to_string(),
    );
    let group = self
      .groups
      .entry(key.clone())
      .or_insert_with(|| GroupOutcome {
        topic_arn: key.0,
        message_group_id: key.1,
        sent: 0,
        refused: 0,
        left: 0,
        error: None,
      });
    match outcome {
      Outcome::Sent => group.sent += 1,
      Outcome::Refused(failure) => {
        group.refused += 1;
        group.error = Some(failure.into());
      }
      Outcome::Left(failure) => {
        group.left += 1;
        if let Some(failure) = failure {
          group.error = Some(failure.into());
        }
      }
    }
  }

  pub fn into_groups(self) -> Vec<GroupOutcome> {
    self.groups.into_values().collect()
  }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
  pub spool_dir: String,
  /// Events the spool held (decodable).
  pub events: u64,
  pub sent: u64,
  /// Refused by SNS for good, moved to the dead-letter file.
  pub dead_lettered: u64,
  /// Still in the spool.
  pub left: u64,
  pub unreadable_records: u64,
  pub groups: Vec<GroupOutcome>,
  pub problems: Vec<Problem>,
}

/// Sends the spooled events now through `sink` (oldest first per group, their own dedup ids),
/// removing each from the spool once SNS has it; those SNS refuses for good go to the
/// dead-letter file, as the logger does. Refuses while a running logger holds a spool file.
/// `progress(done, total)`.
pub async fn replay_spool(
  dir: &Path,
  sink: Arc<dyn Sink>,
  progress: &mut dyn FnMut(u64, u64),
) -> Result<ReplayReport> {
  let mut report = ReplayReport {
    spool_dir: dir.display().to_string(),
    events: 0,
    sent: 0,
    dead_lettered: 0,
    left: 0,
    unreadable_records: 0,
    groups: Vec::new(),
    problems: Vec::new(),
  };
  let handles = open_all(dir, &mut report.problems)?;
  let total: u64 = handles.iter().filter_map(|h| h.count().ok()).sum();
  let dead_letters = DeadLetterFile::new(dir);
  let mut tally = Tally::default();
  let mut stopped: HashSet<(Arc<str>, Arc<str>)> = HashSet::new();
  let mut done_before = 0;
  progress(0, total);
  for handle in &handles {
    let mut unreadable = 0;
    for records in handle.chunks(CHUNK) {
      let records = match records {
        Ok(records) => records,
        Err(error) => {
          report
            .problems
            .push(corrupt_problem(&handle.name, &error.to_string()));
          break;
        }
      };
      let mut keys = Vec::new();
      let mut envelopes = Vec::new();
      for (key, envelope) in records {
        match envelope {
          Some(envelope) => {
            report.events += 1;
            let group = (envelope.topic_arn().clone(), envelope.group_id().clone());
            if stopped.contains(&group) {
              tally.add(&envelope, &Outcome::Left(None));
              report.left += 1;
              continue;
            }
            keys.push(key);
            envelopes.push(Arc::new(envelope));
          }
          None => unreadable += 1,
        }
      }
      let base = done_before;
      let outcomes = send_in_order(sink.clone(), envelopes.clone(), &mut |done| {
        progress(base + done, total)
      })
      .await;
      let mut delivered = Vec::new();
      let mut refused = Vec::new();
      for ((key, envelope), outcome) in keys.iter().zip(&envelopes).zip(&outcomes) {
        match outcome {
          Outcome::Sent => {
            delivered.push(*key);
            report.sent += 1;
          }
          Outcome::Refused(failure) => refused.push((*key, envelope, failure)),
          Outcome::Left(_) => {
            stopped.insert((envelope.topic_arn().clone(), envelope.group_id().clone()));
            report.left += 1;
          }
        }
        tally.add(envelope, outcome);
      }
      if !refused.is_empty() {
        let entries: Vec<(&Envelope, &str, &str)> = refused
          .iter()
          .map(|(_, e, f)| (&***e, f.code.as_str(), f.message.as_str()))
          .collect();
        match dead_letters.append(&entries) {
          Ok(()) => {
            delivered.extend(refused.iter().map(|(k, _, _)| *k));
            report.dead_lettered += refused.len() as u64;
          }
          Err(error) => {
            report.left += refused.len() as u64;
            report.problems.push(
              Problem::new(
                codes::IO,
                format!(
                  "{} event(s) SNS refused for good could not be written to {} ({error}); they stay in the spool",
                  refused.len(),
                  DeadLetterFile::FILE_NAME
                ),
              )
              .about(DeadLetterFile::FILE_NAME),
            );
          }
        }
      }
      if let Err(error) = handle.remove(&delivered) {
        report.problems.push(
          Problem::new(
            codes::SPOOL_CORRUPT,
            format!(
              "{} delivered event(s) could not be removed from {} ({error}); a later replay sends them again with their dedup ids",
              delivered.len(),
              handle.name
            ),
          )
          .about(&handle.name),
        );
      }
      done_before += outcomes.len() as u64;
    }
    if unreadable > 0 {
      report
        .problems
        .push(unreadable_records_problem(&handle.name, unreadable));
    }
    report.unreadable_records += unreadable;
  }
  progress(total, total);
  report.groups = tally.into_groups();
  Ok(report)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::sink::MemorySink;
  use crate::storage::Spool;

  fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sns-logger-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
  }

  fn envelope(group: &str, n: u64, at: &str) -> Envelope {
    Envelope::whole(
      "arn:aws:sns:us-east-1:1:t.fifo",
      group,
      &format!("d{n}"),
      &format!("{{\"n\":{n},\"timestamp\":\"{at}\"}}"),
    )
  }

  #[test]
  fn status_counts_per_group_and_export_writes_requests() {
    let dir = temp_dir("status");
    assert_eq!(spool_status(&dir).events, 0);
    let spool = Spool::new(&dir);
    spool
      .append([
        (1, &envelope("a", 1, "2026-01-01T00:00:02.000Z")),
        (2, &envelope("a", 2, "2026-01-01T00:00:01.000Z")),
        (3, &envelope("b", 3, "2026-01-01T00:00:03.000Z")),
      ])
      .unwrap();
    let busy = spool_status(&dir);
    assert_eq!(busy.files[0].state, "in-use");
    assert_eq!(
      export_spool(&dir, &mut |_| Ok(())).unwrap_err().code,
      ErrorCode::SpoolBusy
    );
    spool.release();
    let status = spool_status(&dir);
    assert_eq!(status.events, 3);
    assert_eq!(status.groups.len(), 2);
    let a = &status.groups[0];
    assert_eq!((a.events, a.message_group_id.as_str()), (2, "a"));
    assert_eq!(a.oldest.as_deref(), Some("2026-01-01T00:00:01.000Z"));
    assert_eq!(a.newest.as_deref(), Some("2026-01-01T00:00:02.000Z"));
    let mut out = String::new();
    let report = export_spool(&dir, &mut |s| {
      out.push_str(s);
      Ok(())
    })
    .unwrap();
    assert_eq!(report.events, 3);
    assert_eq!(out.lines().count(), 3);
    assert!(out.starts_with("{\"TopicArn\":\"arn:aws:sns:us-east-1:1:t.fifo\",\"Subject\":\"RC\",\"MessageGroupId\":\"a\",\"MessageDeduplicationId\":\"d1\""));
    std::fs::remove_dir_all(dir).unwrap();
  }

  #[test]
  fn replay_sends_and_empties_the_spool() {
    let dir = temp_dir("replay");
    let spool = Spool::new(&dir);
    spool
      .append([
        (1, &envelope("a", 1, "2026-01-01T00:00:00.000Z")),
        (2, &envelope("a", 2, "2026-01-01T00:00:00.000Z")),
      ])
      .unwrap();
    spool.release();
    let sink = Arc::new(MemorySink::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
      .enable_all()
      .build()
      .unwrap();
    let mut last = (0, 0);
    let report = runtime
      .block_on(replay_spool(&dir, sink.clone(), &mut |d, t| last = (d, t)))
      .unwrap();
    assert_eq!((report.sent, report.left, report.events), (2, 0, 2));
    assert_eq!(last, (2, 2));
    assert_eq!(spool_status(&dir).events, 0);
    std::fs::remove_dir_all(dir).unwrap();
  }
}
