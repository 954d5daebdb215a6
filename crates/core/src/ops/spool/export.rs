//! `sns-logger spool export`: every spooled event as a JSON line, the request SNS would get.

use super::{open_all, readable_chunks, ReadingProblems};
use crate::error::{ErrorCode, LoggerError, Result};
use crate::ops::Problem;
use crate::sink::sns;
use serde::Serialize;
use std::path::Path;

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
    let mut reading = ReadingProblems::default();
    for records in readable_chunks(handle, &mut reading.cut_short) {
      let mut lines = String::new();
      for (_, envelope) in records {
        match envelope {
          Some(envelope) => {
            lines.push_str(&sns::request_json(&envelope));
            lines.push('\n');
            report.events += 1;
          }
          None => reading.unreadable += 1,
        }
      }
      emit(&lines)
        .map_err(|e| LoggerError::new(ErrorCode::Io, format!("writing the export failed: {e}")))?;
    }
    let (problems, unreadable) = (&mut report.problems, &mut report.unreadable_records);
    reading.report(&handle.name, problems, unreadable);
  }
  Ok(report)
}
