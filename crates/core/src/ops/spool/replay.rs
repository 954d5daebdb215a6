//! `sns-logger spool replay`: the spooled events sent now, each removed from the spool once
//! SNS has it, those refused for good moved to the dead-letter file.

use super::{open_all, readable_chunks, ReadingProblems};
use crate::error::Result;
use crate::message::Envelope;
use crate::ops::send::{send_in_order, GroupOutcome, Outcome, Tally};
use crate::ops::{codes, Problem};
use crate::sink::Sink;
use crate::storage::DeadLetterFile;
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

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
    let mut reading = ReadingProblems::default();
    for records in readable_chunks(handle, &mut reading.cut_short) {
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
          None => reading.unreadable += 1,
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
    let (problems, unreadable) = (&mut report.problems, &mut report.unreadable_records);
    reading.report(&handle.name, problems, unreadable);
  }
  progress(total, total);
  report.groups = tally.into_groups();
  Ok(report)
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::ops::spool::spool_status;
  use crate::ops::spool::tests::envelope;
  use crate::sink::MemorySink;
  use crate::storage::Spool;

  #[test]
  fn replay_sends_and_empties_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let spool = Spool::new(dir);
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
      .block_on(replay_spool(dir, sink.clone(), &mut |d, t| last = (d, t)))
      .unwrap();
    assert_eq!((report.sent, report.left, report.events), (2, 0, 2));
    assert_eq!(last, (2, 2));
    assert_eq!(spool_status(dir).events, 0);
  }
}
