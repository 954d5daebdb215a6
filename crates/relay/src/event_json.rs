//! One event object of a batch read straight into what `logEvent` is given: the fields, values
//! and duplicate keys come out as reading it into a JSON object and taking the fields out
//! (`EventInput::take_from_json`) does, without building that object first (a map and a
//! string for every key, then a copy of each value: the most of the relay's own work per
//! event).

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use sns_logger_core::plan::{PropertiesInput, Value};
use sns_logger_core::EventInput;
use std::collections::HashMap;
use std::fmt;

/// Up to this many entries, a key given twice is found by looking through them.
const SEARCHED_IN_PLACE: usize = 16;

/// An event's fields as `logEvent` would be given them, and its `messageId` as sent.
pub struct EventFields {
  pub input: EventInput,
  pub message_id: Option<Value>,
}

impl EventFields {
  /// `None` when `text` is not a JSON object (the caller names what it is).
  pub fn read(text: &str) -> Option<EventFields> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let fields = deserializer.deserialize_map(EventVisitor).ok()?;
    deserializer.end().ok()?;
    Some(fields)
  }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
  type Value = EventFields;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("an event object")
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventFields, A::Error> {
    let mut input = EventInput::default();
    let mut message_id = None;
    // A key given twice: the last value counts, as in a JSON object read whole.
    while let Some(key) = map.next_key::<Key>()? {
      let field = match key.0.as_str() {
        "agent" => &mut input.agent,
        "roomId" => &mut input.room_id,
        "tabId" => &mut input.tab_id,
        "category" => &mut input.category,
        "action" => &mut input.action,
        "timestamp" => &mut input.timestamp,
        "messageId" => &mut message_id,
        "properties" => {
          input.properties = Some(map.next_value::<Properties>()?.0);
          continue;
        }
        _ => {
          map.next_value::<IgnoredAny>()?;
          continue;
        }
      };
      *field = Some(map.next_value::<Scalar>()?.0);
    }
    Ok(EventFields { input, message_id })
  }
}

/// A key (unescaped).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
    String::deserialize(d).map(Key)
  }
}

/// A value as the plan reads it: a string, a number, or what else it is, described.
struct Scalar(Value);

impl<'de> Deserialize<'de> for Scalar {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    Ok(Scalar(match d.deserialize_any(AnyVisitor)? {
      Any::Scalar(value) => value,
      Any::Object(_) => Value::Other("an object"),
    }))
  }
}

/// `properties`: its entries, or what else it is, described.
struct Properties(PropertiesInput);

impl<'de> Deserialize<'de> for Properties {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Properties, D::Error> {
    Ok(Properties(match d.deserialize_any(AnyVisitor)? {
      Any::Object(entries) => PropertiesInput::Object(entries),
      Any::Scalar(Value::String(_)) => PropertiesInput::Other("a string"),
      Any::Scalar(Value::Other(what)) => PropertiesInput::Other(what),
      Any::Scalar(_) => PropertiesInput::Other("a number"),
    }))
  }
}

/// Any JSON value: an object as its entries (read as scalars), anything else as a scalar.
enum Any {
  Scalar(Value),
  Object(Vec<(String, Value)>),
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
  type Value = Any;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a JSON value")
  }

  fn visit_str<E: de::Error>(self, text: &str) -> Result<Any, E> {
    Ok(Any::Scalar(Value::String(text.to_owned())))
  }
  fn visit_string<E: de::Error>(self, text: String) -> Result<Any, E> {
    Ok(Any::Scalar(Value::String(text)))
  }
  fn visit_u64<E: de::Error>(self, n: u64) -> Result<Any, E> {
    Ok(Any::Scalar(Value::Number(n as f64)))
  }
  fn visit_i64<E: de::Error>(self, n: i64) -> Result<Any, E> {
    Ok(Any::Scalar(Value::Number(n as f64)))
  }
  fn visit_f64<E: de::Error>(self, n: f64) -> Result<Any, E> {
    Ok(Any::Scalar(Value::Number(n)))
  }
  fn visit_bool<E: de::Error>(self, _: bool) -> Result<Any, E> {
    Ok(Any::Scalar(Value::Other("a boolean")))
  }
  fn visit_unit<E: de::Error>(self) -> Result<Any, E> {
    Ok(Any::Scalar(Value::Other("null")))
  }
  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Any, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(Any::Scalar(Value::Other("an array")))
  }

  /// Entries in order; a key given twice keeps its first place and its last value, as in a
  /// JSON object read whole.
  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
    let mut entries: Vec<(String, Value)> = Vec::new();
    // Past a few entries, where each key is, so that a large object costs no quadratic search.
    let mut places: Option<HashMap<String, usize>> = None;
    while let Some(Key(key)) = map.next_key()? {
      let value = map.next_value::<Scalar>()?.0;
      let seen = match &places {
        Some(places) => places.get(&key).copied(),
        None => entries.iter().position(|(name, _)| *name == key),
      };
      if let Some(at) = seen {
        entries[at].1 = value;
        continue;
      }
      if let Some(places) = &mut places {
        places.insert(key.clone(), entries.len());
      }
      entries.push((key, value));
      if places.is_none() && entries.len() == SEARCHED_IN_PLACE {
        let indexed = entries.iter().enumerate();
        places = Some(indexed.map(|(at, (name, _))| (name.clone(), at)).collect());
      }
    }
    Ok(Any::Object(entries))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use sns_logger_core::plan::{event_fields, json_value};

  /// What reading the event into a JSON object and taking its fields out gives.
  fn through_an_object(text: &str) -> (EventInput, Option<Value>) {
    let mut fields = event_fields(text, "the event").unwrap();
    let input = EventInput::take_from_json(&mut fields);
    (input, fields.remove("messageId").map(json_value))
  }

  #[test]
  fn reads_what_a_json_object_read_whole_gives() {
    let events = [
      r#"{"roomId": "r", "category": "Survey", "action": "link_clicked", "tabId": 5, "properties": {"n": 1.5, "b": true}, "messageId": "m-1", "extra": 1}"#,
      r#"{}"#,
      r#"{"roomId": null, "tabId": [1, {"a": 2}], "category": {"x": [1]}, "action": false, "agent": "a\"\u00e9\n", "timestamp": -0}"#,
      r#"{"properties": {"a": 1, "b": 2, "a": "again", "c": {"d": 1}, "e": [1], "f": null}}"#,
      r#"{"properties": [1, 2], "messageId": 7}"#,
      r#"{"properties": "text", "messageId": {"id": "x"}}"#,
      r#"{"properties": 12, "roomId": "first", "roomId": "second"}"#,
      r#"{"properties": {"a": 1}, "properties": null}"#,
      r#"{"ro\u006fmId": "escaped key", "tabId": 18446744073709551615, "action": 1e300}"#,
      r#"{"tabId": -9223372036854775808, "timestamp": 1.7e12, "category": ""}"#,
    ];
    let many: String = (0..40)
      .map(|i| format!(r#""k{}": {i}"#, i % 25))
      .collect::<Vec<_>>()
      .join(", ");
    let many = format!(r#"{{"properties": {{{many}}}}}"#);
    for text in events.iter().copied().chain([many.as_str()]) {
      let Some(fields) = EventFields::read(text) else {
        panic!("{text} was not read")
      };
      let (input, message_id) = through_an_object(text);
      assert_eq!(fields.input, input, "{text}");
      assert_eq!(fields.message_id, message_id, "{text}");
    }
  }

  #[test]
  fn what_is_not_an_object_is_left_to_the_caller() {
    for text in ["[]", "1", "\"x\"", "null", "true"] {
      assert!(EventFields::read(text).is_none(), "{text}");
    }
  }
}
