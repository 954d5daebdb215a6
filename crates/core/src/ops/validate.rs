//! `sns-logger validate FILE`: a JSON-lines file of events checked against the plan, offline,
//! as `logEvent` would check each one (without df_config.json: any agent name is taken).

use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{build_message, check_message_size};
use crate::plan::{event_fields, EventInput, TrackingPlan};
use crate::sink::sns;
use serde::Serialize;
use std::io::BufRead;

/// Bad lines reported in full; the others are counted.
const MAX_REPORTED: usize = 1_000;
/// An agent id as long as Dialogflow's, to measure the message.
const AGENT_ID_STAND_IN: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineError {
  /// 1-based.
  pub line: u64,
  pub code: &'static str,
  pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateReport {
  /// Events read (blank lines are skipped).
  pub events: u64,
  pub valid: u64,
  pub invalid: u64,
  /// The first bad lines, in file order.
  pub errors: Vec<LineError>,
  /// More bad lines than `errors` holds.
  pub truncated: bool,
}

/// Checks one line; `Ok` when `logEvent` would take it.
fn check_line(plan: &TrackingPlan, line: &str) -> Result<()> {
  let mut fields = event_fields(line, "the line")?;
  let event = plan.validate(EventInput::take_from_json(&mut fields))?;
  check_message_size(
    build_message(AGENT_ID_STAND_IN, &event).len(),
    sns::LIMITS.message_bytes,
  )
}

/// Checks every line of `reader` against `plan`.
pub fn validate_lines(plan: &TrackingPlan, reader: impl BufRead) -> Result<ValidateReport> {
  let mut report = ValidateReport {
    events: 0,
    valid: 0,
    invalid: 0,
    errors: Vec::new(),
    truncated: false,
  };
  for (i, line) in reader.lines().enumerate() {
    let line = line.map_err(|e| {
      LoggerError::new(ErrorCode::Io, format!("line {} cannot be read: {e}", i + 1))
    })?;
    if line.trim().is_empty() {
      continue;
    }
    report.events += 1;
    match check_line(plan, &line) {
      Ok(()) => report.valid += 1,
      Err(error) => {
        report.invalid += 1;
        if report.errors.len() < MAX_REPORTED {
          report.errors.push(LineError {
            line: i as u64 + 1,
            code: error.code.as_str(),
            message: error.message,
          });
        } else {
          report.truncated = true;
        }
      }
    }
  }
  Ok(report)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn reports_each_bad_line_with_its_code() {
    let text = r#"{"roomId":"r","category":"Survey","action":"link_clicked"}

{"roomId":"r","category":"Nope","action":"x"}
not json
[1]
{"roomId":"r","category":"Survey","action":"link_clicked","timestamp":"yesterday"}
"#;
    let report = validate_lines(&TrackingPlan::built_in(), text.as_bytes()).unwrap();
    assert_eq!((report.events, report.valid, report.invalid), (5, 1, 4));
    let got: Vec<(u64, &str)> = report.errors.iter().map(|e| (e.line, e.code)).collect();
    assert_eq!(
      got,
      [
        (3, "ERR_UNKNOWN_CATEGORY"),
        (4, "ERR_INVALID_EVENT"),
        (5, "ERR_INVALID_EVENT"),
        (6, "ERR_INVALID_TIMESTAMP")
      ]
    );
  }
}
