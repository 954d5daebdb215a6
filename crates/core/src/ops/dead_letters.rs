//! `sns-logger dead-letters [requeue]`: the dead-letter file listed by error code and topic,
//! and its events sent again once the cause is fixed.

use super::send::{send_in_order, GroupOutcome, Outcome, Tally};
use super::{codes, Problem};
use crate::error::{ErrorCode, LoggerError, Result};
use crate::sink::sns::redact;
use crate::sink::Sink;
use crate::storage::{
  spool_dir_files, DeadLetterFile, DeadLetterLine, DirLock, DirLockError, OpenFailure,
  SpoolFileHandle,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

/// A line of `dead-letter.jsonl` (storage's own type: written and read the same way).
type Line<'a> = DeadLetterLine<'a>;

/// Which dead letters a command acts on (`--code`, `--topic`); empty matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
  pub error_code: Option<String>,
  pub topic_arn: Option<String>,
}

impl DeadLetterFilter {
  fn matches(&self, line: &Line) -> bool {
    self
      .error_code
      .as_ref()
      .is_none_or(|c| *c == line.error_code)
      && self
        .topic_arn
        .as_ref()
        .is_none_or(|t| *t == line.request.topic_arn)
  }
}

/// The dead letters of one error code and topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterGroup {
  pub error_code: String,
  pub topic_arn: String,
  pub entries: u64,
  pub first: String,
  pub last: String,
  /// The latest error message (secrets redacted).
  pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterList {
  pub file: String,
  /// Entries matching the filter.
  pub entries: u64,
  /// Lines that are not dead letters (kept as they are).
  pub unreadable_lines: u64,
  pub groups: Vec<DeadLetterGroup>,
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
  match std::fs::read(path) {
    Ok(bytes) => Ok(Some(bytes)),
    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
    Err(e) => Err(LoggerError::new(
      ErrorCode::Io,
      format!("cannot read {}: {e}", path.display()),
    )),
  }
}

/// Splits the file into lines (without their newline), each parsed when it is a dead letter.
fn parse(bytes: &[u8]) -> Vec<(&[u8], Option<Line<'_>>)> {
  bytes
    .split(|&b| b == b'\n')
    .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
    .map(|line| {
      let read = serde_json::from_slice::<Line>(line).ok();
      // A request that names an event type the plan does not have cannot be sent again.
      (line, read.filter(|l| l.request.envelope().is_ok()))
    })
    .collect()
}

/// The dead letters of `dir`, per error code and topic.
pub fn list_dead_letters(dir: &Path, filter: &DeadLetterFilter) -> Result<DeadLetterList> {
  let path = dir.join(DeadLetterFile::FILE_NAME);
  let mut list = DeadLetterList {
    file: path.display().to_string(),
    entries: 0,
    unreadable_lines: 0,
    groups: Vec::new(),
  };
  let Some(bytes) = read_file(&path)? else {
    return Ok(list);
  };
  let mut groups: BTreeMap<(String, String), DeadLetterGroup> = BTreeMap::new();
  for (_, line) in parse(&bytes) {
    let Some(line) = line else {
      list.unreadable_lines += 1;
      continue;
    };
    if !filter.matches(&line) {
      continue;
    }
    list.entries += 1;
    let key = (
      line.error_code.to_string(),
      line.request.topic_arn.to_string(),
    );
    let group = groups.entry(key).or_insert_with(|| DeadLetterGroup {
      error_code: redact(&line.error_code),
      topic_arn: line.request.topic_arn.to_string(),
      entries: 0,
      first: line.dead_lettered_at.to_string(),
      last: line.dead_lettered_at.to_string(),
      message: String::new(),
    });
    group.entries += 1;
    if *line.dead_lettered_at < *group.first {
      group.first = line.dead_lettered_at.to_string();
    }
    if *line.dead_lettered_at >= *group.last {
      group.last = line.dead_lettered_at.to_string();
      group.message = redact(&line.error_message);
    }
    if group.message.is_empty() {
      group.message = redact(&line.error_message);
    }
  }
  list.groups = groups.into_values().collect();
  Ok(list)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequeueReport {
  pub file: String,
  /// Dead letters matching the filter.
  pub entries: u64,
  /// Delivered, and removed from the file.
  pub sent: u64,
  /// Not delivered (refused again, or still failing): kept in the file.
  pub left: u64,
  pub unreadable_lines: u64,
  pub groups: Vec<GroupOutcome>,
  pub problems: Vec<Problem>,
}

/// Refuses while a running logger holds `dir` (its lock, or a spool file): it may be writing
/// dead letters. Returns the lock and the spool files' handles, held (so no logger starts
/// writing there or takes them) until dropped.
fn claim_dir(dir: &Path) -> Result<(Option<DirLock>, Vec<SpoolFileHandle>)> {
  let busy = |holding: &str| {
    LoggerError::new(
      ErrorCode::SpoolBusy,
      format!(
        "a running logger or relay uses {} ({holding}) and may be writing dead letters; stop it first, then run this again",
        dir.display()
      ),
    )
  };
  if !dir.is_dir() {
    return Ok((None, Vec::new()));
  }
  // Every logger holds the directory while it runs, spooled or not.
  let lock = match DirLock::claim(dir) {
    Ok(lock) => lock,
    Err(DirLockError::Busy) => return Err(busy("it holds the directory's lock")),
    Err(DirLockError::Io(error)) => {
      return Err(LoggerError::new(
        ErrorCode::Io,
        format!("cannot lock {}: {error}", dir.display()),
      ))
    }
  };
  let mut held = Vec::new();
  for entry in spool_dir_files(dir).into_iter().filter(|e| !e.moved_aside) {
    match SpoolFileHandle::open(dir, &entry.name) {
      Ok(handle) => held.push(handle),
      Err(OpenFailure::Locked) => return Err(busy(&format!("it holds {}", entry.name))),
      // A damaged spool file does not stop a requeue.
      Err(_) => {}
    }
  }
  Ok((Some(lock), held))
}

/// Sends the matching dead letters again through `sink` (their own dedup ids, in file order
/// per group) and removes from the file exactly those delivered. `progress(done, total)`.
pub async fn requeue_dead_letters(
  dir: &Path,
  sink: Arc<dyn Sink>,
  filter: &DeadLetterFilter,
  progress: &mut dyn FnMut(u64, u64),
) -> Result<RequeueReport> {
  let path = dir.join(DeadLetterFile::FILE_NAME);
  let mut report = RequeueReport {
    file: path.display().to_string(),
    entries: 0,
    sent: 0,
    left: 0,
    unreadable_lines: 0,
    groups: Vec::new(),
    problems: Vec::new(),
  };
  let _held = claim_dir(dir)?;
  let Some(original) = read_file(&path)? else {
    return Ok(report);
  };
  let lines = parse(&original);
  let mut chosen = Vec::new();
  let mut envelopes = Vec::new();
  for (i, (_, line)) in lines.iter().enumerate() {
    match line {
      None => report.unreadable_lines += 1,
      Some(line) if filter.matches(line) => {
        chosen.push(i);
        let envelope = line.request.envelope();
        envelopes.push(Arc::new(envelope.expect("parse kept sendable lines only")));
      }
      Some(_) => {}
    }
  }
  report.entries = chosen.len() as u64;
  let total = report.entries;
  progress(0, total);
  let outcomes = send_in_order(sink, envelopes.clone(), &mut |done| progress(done, total)).await;
  let mut tally = Tally::default();
  let mut delivered = vec![false; lines.len()];
  for ((&i, envelope), outcome) in chosen.iter().zip(&envelopes).zip(&outcomes) {
    tally.add(envelope, outcome);
    if *outcome == Outcome::Sent {
      delivered[i] = true;
      report.sent += 1;
    } else {
      report.left += 1;
    }
  }
  report.groups = tally.into_groups();
  if report.sent > 0 {
    if let Err(problem) = rewrite(&path, &original, &lines, &delivered) {
      report.problems.push(problem);
    }
  }
  Ok(report)
}

/// Rewrites the file without the delivered lines, keeping anything appended since it was
/// read; atomically (a new file renamed over it).
fn rewrite(
  path: &Path,
  original: &[u8],
  lines: &[(&[u8], Option<Line>)],
  delivered: &[bool],
) -> std::result::Result<(), Problem> {
  let problem = |why: String| {
    Problem::new(
      codes::IO,
      format!("the delivered dead letters could not be removed from {} ({why}); a later requeue sends them again with their dedup ids", path.display()),
    )
    .about(DeadLetterFile::FILE_NAME)
  };
  let now = std::fs::read(path).map_err(|e| problem(e.to_string()))?;
  if !now.starts_with(original) {
    return Err(problem("it changed while the events were sent".into()));
  }
  let mut kept = Vec::with_capacity(original.len());
  for ((line, _), &gone) in lines.iter().zip(delivered) {
    if !gone {
      kept.extend_from_slice(line);
      kept.push(b'\n');
    }
  }
  kept.extend_from_slice(&now[original.len()..]);
  if kept.is_empty() {
    return std::fs::remove_file(path).map_err(|e| problem(e.to_string()));
  }
  let temp = path.with_extension(format!("jsonl.requeue-{}", std::process::id()));
  let written = std::fs::OpenOptions::new()
    .write(true)
    .create(true)
    .truncate(true)
    .mode(0o600)
    .open(&temp)
    .and_then(|mut file| {
      file.write_all(&kept)?;
      file.sync_all()
    })
    .and_then(|()| std::fs::rename(&temp, path));
  written.map_err(|e| {
    let _ = std::fs::remove_file(&temp);
    problem(e.to_string())
  })
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::message::Envelope;
  use crate::sink::{BatchResult, BoxFuture, Failure, FailureKind, SinkLimits};

  /// Delivers every message but those containing "still-broken".
  struct Partly;

  impl Sink for Partly {
    fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
      let answers = entries
        .iter()
        .map(|e| {
          if e.message().contains("still-broken") {
            Err(Failure {
              kind: FailureKind::Permanent,
              code: "NotFound".into(),
              message: "Topic does not exist".into(),
            })
          } else {
            Ok(())
          }
        })
        .collect();
      Box::pin(async move { answers })
    }
    fn limits(&self) -> SinkLimits {
      crate::sink::sns::LIMITS
    }
  }

  #[test]
  fn lists_by_code_and_topic_and_requeue_removes_only_what_was_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let file = DeadLetterFile::new(dir);
    let envelope =
      |topic: &str, message: &str| Envelope::whole(topic, "g", &format!("d-{message}"), message);
    let (a, b) = (
      "arn:aws:sns:us-east-1:1:a.fifo",
      "arn:aws:sns:us-east-1:1:b.fifo",
    );
    let secret = "wJalrXUtnFEMI0K7MDENG0bPxRfiCYEXAMPLEKEY1234";
    let message = format!("denied for {secret}");
    file
      .append(&[
        (&envelope(a, "one"), "NotFound", "Topic does not exist"),
        (
          &envelope(a, "still-broken"),
          "NotFound",
          "Topic does not exist",
        ),
        (&envelope(b, "two"), "AuthorizationError", &message),
      ])
      .unwrap();
    std::fs::OpenOptions::new()
      .append(true)
      .open(file.path())
      .unwrap()
      .write_all(b"not a dead letter\n")
      .unwrap();
    let list = list_dead_letters(dir, &DeadLetterFilter::default()).unwrap();
    assert_eq!((list.entries, list.unreadable_lines), (3, 1));
    assert_eq!(list.groups.len(), 2);
    assert_eq!(list.groups[0].error_code, "AuthorizationError");
    assert!(!list.groups[0].message.contains(secret));
    let only_a = DeadLetterFilter {
      topic_arn: Some(a.into()),
      ..Default::default()
    };
    assert_eq!(list_dead_letters(dir, &only_a).unwrap().entries, 2);

    let runtime = tokio::runtime::Builder::new_current_thread()
      .enable_all()
      .build()
      .unwrap();
    let report = runtime
      .block_on(requeue_dead_letters(
        dir,
        Arc::new(Partly),
        &only_a,
        &mut |_, _| {},
      ))
      .unwrap();
    assert_eq!((report.entries, report.sent, report.left), (2, 1, 1));
    let text = std::fs::read_to_string(file.path()).unwrap();
    assert!(!text.contains("\"one\""), "{text}");
    assert!(
      text.contains("still-broken")
        && text.contains("\"two\"")
        && text.contains("not a dead letter")
    );
  }
}
