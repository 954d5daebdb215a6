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
      format!("{what} is not valid JSON: {e}"),
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

fn json_value(json: Json) -> Value {
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
