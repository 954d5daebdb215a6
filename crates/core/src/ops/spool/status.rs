//! `sns-logger spool status`: what the spool directory holds, per file and per (topic,
//! message group), read without taking anything a running logger holds.

use super::{corrupt_problem, io_problem, unreadable_records_problem, CHUNK};
use crate::ops::{age_ms, Problem};
use crate::storage::{spool_dir_files, OpenFailure, SpoolFileEntry, SpoolFileHandle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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
