//! An event given as JSON (the relay's requests, `sns-logger validate`'s lines) read into the
//! validator's input: strings and numbers as they are, anything else described for messages.

use super::validate::{EventInput, PropertiesInput, Value};
use crate::error::{ErrorCode, LoggerError, Result};
use serde_json::{Map, Value as Json};

/// Parses one event's JSON text into its fields; refuses what is not JSON or not an object, as
/// `logEvent` refuses what is not an event object. `what` names the text in errors ("the
/// event", "the line").
pub fn event_fields(text: &str, what: &str) -> Result<Map<String, Json>> {
  let json: Json = serde_json::from_str(text).map_err(|e| {
    LoggerError::new(
      ErrorCode::InvalidEvent,
      format!("{what} is not valid JSON: {}", why_not_json(text, &e)),
    )
  })?;
  match json {
    Json::Object(fields) => Ok(fields),
    other => Err(LoggerError::new(
      ErrorCode::InvalidEvent,
      format!(
        "an event must be an object {{ roomId, category, action, properties? }}, got {}",
        describe_json(&other)
      ),
    )),
  }
}

/// serde_json's reason, except for a lone surrogate escape, which it reports as "unexpected end
/// of hex escape" (or, for a second half alone, "lone leading surrogate"): named as it is.
fn why_not_json(text: &str, error: &serde_json::Error) -> String {
  match lone_surrogate(text) {
    Some(at) if at <= offset_of(text, error.line(), error.column()) => {
      let before = &text[..at];
      let line = before.matches('\n').count() + 1;
      let column = at - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
      format!(
        "the escape {} at line {line} column {column} is a lone surrogate: half of a UTF-16 pair \
         without its other half (\\ud800-\\udbff must be followed by \\udc00-\\udfff), which is \
         not a character",
        &text[at..at + 6]
      )
    }
    _ => error.to_string(),
  }
}

/// The byte offset of the first `\uXXXX` escape, in a string of the JSON `text`, that is a
/// surrogate without its other half.
fn lone_surrogate(text: &str) -> Option<usize> {
  let bytes = text.as_bytes();
  let unit_at = |at: usize| -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    if !escape.starts_with(b"\\u") {
      return None;
    }
    u16::from_str_radix(std::str::from_utf8(&escape[2..]).ok()?, 16).ok()
  };
  let mut in_string = false;
  let mut at = 0;
  while at < bytes.len() {
    match bytes[at] {
      b'"' => in_string = !in_string,
      b'\\' if in_string => match unit_at(at) {
        Some(0xD800..=0xDBFF) => match unit_at(at + 6) {
          Some(0xDC00..=0xDFFF) => at += 11,
          _ => return Some(at),
        },
        Some(0xDC00..=0xDFFF) => return Some(at),
        Some(_) => at += 5,
        None => at += 1, // a one-character escape; what follows it is skipped
      },
      _ => {}
    }
    at += 1;
  }
  None
}

/// The byte offset of serde_json's 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
  let start: usize = text
    .split_inclusive('\n')
    .take(line.saturating_sub(1))
    .map(str::len)
    .sum();
  start + column.saturating_sub(1)
}

impl EventInput {
  /// Takes the event's fields out of a JSON object (other fields stay in `fields`).
  pub fn take_from_json(fields: &mut Map<String, Json>) -> EventInput {
    let mut take = |name: &str| fields.remove(name).map(json_value);
    EventInput {
      agent: take("agent"),
      room_id: take("roomId"),
      tab_id: take("tabId"),
      category: take("category"),
      action: take("action"),
      action_id: None,
      timestamp: take("timestamp"),
      properties: fields
        .remove("properties")
        .map(|properties| match properties {
          Json::Object(entries) => PropertiesInput::Object(
            entries
              .into_iter()
              .map(|(k, v)| (k, json_value(v)))
              .collect(),
          ),
          other => PropertiesInput::Other(describe_json(&other)),
        }),
    }
  }
}

/// A JSON value as the plan reads it: a string, a number, or what else it is, described.
pub fn json_value(json: Json) -> Value {
  match json {
    Json::String(s) => Value::String(s),
    Json::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
    other => Value::Other(describe_json(&other)),
  }
}

/// A JSON value named as the binding names JavaScript values in its messages.
pub fn describe_json(json: &Json) -> &'static str {
  match json {
    Json::Null => "null",
    Json::Bool(_) => "a boolean",
    Json::Number(_) => "a number",
    Json::String(_) => "a string",
    Json::Array(_) => "an array",
    Json::Object(_) => "an object",
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn message(text: &str) -> String {
    event_fields(text, "the line").unwrap_err().message
  }

  #[test]
  fn a_lone_surrogate_is_named_where_it_is() {
    assert!(message(r#"{"a": "x\ud800"}"#).starts_with(
      r"the line is not valid JSON: the escape \ud800 at line 1 column 9 is a lone surrogate"
    ));
    assert!(message("{\n \"a\": \"\\\"\\udc00\"}")
      .starts_with(r"the line is not valid JSON: the escape \udc00 at line 2 column 10 is"));
    assert!(message(r#"{"a": "\ud800\u0041"}"#).contains(r"the escape \ud800 at line 1 column 8"));
    // A pair is a character; an earlier error is reported as it is.
    assert!(event_fields(r#"{"a": "\ud83d\ude00\\ud800"}"#, "x").is_ok());
    let earlier = r#"{"a": 1,, "b": "\ud800"}"#;
    let serde_says = serde_json::from_str::<Json>(earlier).unwrap_err();
    assert_eq!(
      message(earlier),
      format!("the line is not valid JSON: {serde_says}")
    );
  }
}
