//! `sns-logger validate FILE`: a JSON-lines file of events checked against the plan, offline,
//! as `logEvent` would check each one (without df_config.json: any agent name is taken).

use crate::error::{ErrorCode, LoggerError, Result};
use crate::message::{unrouted_envelope, validate_message_size};
use crate::plan::{event_fields, EventInput, TrackingPlan};
use crate::sink::sns;
use serde::Serialize;
use std::io::BufRead;

/// Bad lines reported in full; the others are counted.
const MAX_REPORTED: usize = 1_000;
/// Longer lines are reported and skipped without being held: no event that long makes a
/// message SNS takes (escapes in the line aside, four times the message limit is plenty).
const MAX_LINE_BYTES: usize = 4 * sns::LIMITS.message_bytes;
/// One line this long is no JSON-lines file (`/dev/zero`, a binary): the run stops.
const GIVE_UP_LINE_BYTES: u64 = 1 << 30;
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
fn validate_line(plan: &TrackingPlan, line: &str) -> Result<()> {
  let mut fields = event_fields(line, "the line")?;
  let event = plan.validate(EventInput::take_from_json(&mut fields))?;
  validate_message_size(
    &unrouted_envelope(AGENT_ID_STAND_IN, &event),
    sns::LIMITS.message_bytes,
  )
}

/// One line of the file, as read with bounded memory.
enum Line {
  Text(String),
  NotUtf8 { offset: usize },
  TooLong { bytes: u64 },
}

/// The next line of `reader` (without its `\n` or `\r\n`), holding at most
/// [`MAX_LINE_BYTES`] of it; `None` at the end.
fn next_line(reader: &mut impl BufRead, held: &mut Vec<u8>, number: u64) -> Result<Option<Line>> {
  let unreadable = |e: std::io::Error| {
    LoggerError::new(ErrorCode::Io, format!("line {number} cannot be read: {e}"))
  };
  held.clear();
  let mut bytes: u64 = 0;
  let mut ended = false;
  loop {
    let available = reader.fill_buf().map_err(unreadable)?;
    if available.is_empty() {
      break;
    }
    let (part, used) = match available.iter().position(|&b| b == b'\n') {
      Some(at) => (&available[..at], at + 1),
      None => (available, available.len()),
    };
    bytes += part.len() as u64;
    if bytes <= MAX_LINE_BYTES as u64 {
      held.extend_from_slice(part);
    }
    ended = used > part.len();
    reader.consume(used);
    if ended {
      break;
    }
    if bytes > GIVE_UP_LINE_BYTES {
      return Err(LoggerError::new(
        ErrorCode::InvalidOptions,
        format!("line {number} runs past {GIVE_UP_LINE_BYTES} bytes without a newline: this is no JSON-lines file"),
      ));
    }
  }
  if bytes == 0 && !ended {
    return Ok(None);
  }
  if bytes > MAX_LINE_BYTES as u64 {
    return Ok(Some(Line::TooLong { bytes }));
  }
  if held.last() == Some(&b'\r') {
    held.pop();
  }
  Ok(Some(match std::str::from_utf8(held) {
    Ok(text) => Line::Text(text.to_string()),
    Err(error) => Line::NotUtf8 {
      offset: error.valid_up_to(),
    },
  }))
}

/// Checks every line of `reader` against `plan`, holding one line at a time (at most
/// [`MAX_LINE_BYTES`] of it).
pub fn validate_lines(plan: &TrackingPlan, mut reader: impl BufRead) -> Result<ValidateReport> {
  let mut report = ValidateReport {
    events: 0,
    valid: 0,
    invalid: 0,
    errors: Vec::new(),
    truncated: false,
  };
  let mut held = Vec::new();
  let mut number = 0;
  loop {
    number += 1;
    let outcome = match next_line(&mut reader, &mut held, number)? {
      None => break,
      Some(Line::Text(line)) if line.trim().is_empty() => continue,
      Some(Line::Text(line)) => validate_line(plan, &line),
      Some(Line::NotUtf8 { offset }) => Err(LoggerError::new(
        ErrorCode::InvalidEvent,
        format!("the line is not UTF-8 (from byte {offset})"),
      )),
      Some(Line::TooLong { bytes }) => Err(LoggerError::new(
        ErrorCode::MessageTooLarge,
        format!("the line is {bytes} bytes; no event over {MAX_LINE_BYTES} bytes fits a message, so it is skipped unread"),
      )),
    };
    report.events += 1;
    match outcome {
      Ok(()) => report.valid += 1,
      Err(error) => {
        report.invalid += 1;
        if report.errors.len() < MAX_REPORTED {
          report.errors.push(LineError {
            line: number,
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

  #[test]
  fn a_line_that_is_not_utf8_or_too_long_is_reported_and_the_rest_checked() {
    let good = br#"{"roomId":"r","category":"Survey","action":"link_clicked"}"#;
    let mut text = Vec::new();
    text.extend_from_slice(good);
    text.extend_from_slice(b"\n{\"roomId\":\"\xff\xfe\"}\r\n");
    text.extend(std::iter::repeat_n(b' ', MAX_LINE_BYTES + 1));
    text.extend_from_slice(b"\n");
    text.extend_from_slice(good);
    text.extend_from_slice(b"\r\n");
    text.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES * 3));
    let report = validate_lines(&TrackingPlan::built_in(), text.as_slice()).unwrap();
    assert_eq!((report.events, report.valid, report.invalid), (5, 2, 3));
    let got: Vec<(u64, &str, &str)> = report
      .errors
      .iter()
      .map(|e| (e.line, e.code, e.message.as_str()))
      .collect();
    let too_long = |bytes: usize| {
      format!("the line is {bytes} bytes; no event over {MAX_LINE_BYTES} bytes fits a message, so it is skipped unread")
    };
    assert_eq!(
      got,
      [
        (
          2,
          "ERR_INVALID_EVENT",
          "the line is not UTF-8 (from byte 11)"
        ),
        (
          3,
          "ERR_MESSAGE_TOO_LARGE",
          too_long(MAX_LINE_BYTES + 1).as_str()
        ),
        (
          5,
          "ERR_MESSAGE_TOO_LARGE",
          too_long(MAX_LINE_BYTES * 3).as_str()
        ),
      ]
    );
  }
}
