//! A request body as events: `{"batch": [event, ...]}`, with the event count and each event's
//! size checked while parsing, so an oversized batch is refused before it is read whole.

use crate::answer::{Refusal, RelayErrorCode};
use crate::event_json::EventFields;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use sns_logger_core::error::quote;
use sns_logger_core::plan::{event_fields, json_value, Value};
use sns_logger_core::{ErrorCode, EventInput, LoggerError};
use std::cell::RefCell;
use std::fmt;

/// What one route takes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
  pub body_bytes: usize,
  pub events: usize,
  pub event_bytes: usize,
}

/// `/v1/batch`: what Segment's HTTP API takes.
pub const APP_LIMITS: Limits = Limits {
  body_bytes: 512 << 10,
  events: 500,
  event_bytes: 32 << 10,
};

/// `/v1/w`: within what `navigator.sendBeacon` may send.
pub const WIDGET_LIMITS: Limits = Limits {
  body_bytes: 64 << 10,
  events: 50,
  event_bytes: 8 << 10,
};

const SHAPE: &str = r#"the body must be {"batch": [event, ...]}"#;

/// The events of a body, each still as its JSON text.
pub fn parse(body: &[u8], limits: Limits) -> Result<Vec<&RawValue>, Refusal> {
  let over_limit = RefCell::new(None);
  let mut deserializer = serde_json::Deserializer::from_slice(body);
  let parsed = BodySeed(EventsSeed {
    limits,
    over_limit: &over_limit,
  })
  .deserialize(&mut deserializer)
  .and_then(|events| deserializer.end().map(|()| events));
  parsed.map_err(|error| {
    if let Some(refusal) = over_limit.take() {
      return refusal;
    }
    match error.classify() {
      serde_json::error::Category::Data => {
        Refusal::new(RelayErrorCode::BadBatch, format!("{SHAPE}: {error}"))
      }
      _ => Refusal::new(
        RelayErrorCode::BadJson,
        format!("the body is not valid JSON: {error}"),
      ),
    }
  })
}

/// The body: `{"batch": [...]}`, its array read by the [`EventsSeed`] it holds.
struct BodySeed<'l>(EventsSeed<'l>);

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
  type Value = Vec<&'de RawValue>;
  fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
    d.deserialize_map(self)
  }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
  type Value = Vec<&'de RawValue>;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str(r#"an object {"batch": [event, ...]}"#)
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
    let mut batch = None;
    while let Some(key) = map.next_key::<&str>()? {
      if key != "batch" {
        return Err(de::Error::custom(format!(
          "unknown field {}; the body has only \"batch\"",
          quote(key)
        )));
      }
      if batch.is_some() {
        return Err(de::Error::custom("\"batch\" appears twice"));
      }
      batch = Some(map.next_value_seed(self.0)?);
    }
    batch.ok_or_else(|| de::Error::custom("\"batch\" is missing"))
  }
}

/// The events of `"batch"`, within `limits`; the limit they went past is left in `over_limit`.
#[derive(Clone, Copy)]
struct EventsSeed<'l> {
  limits: Limits,
  over_limit: &'l RefCell<Option<Refusal>>,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_> {
  type Value = Vec<&'de RawValue>;
  fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
    d.deserialize_seq(self)
  }
}

impl<'de> Visitor<'de> for EventsSeed<'_> {
  type Value = Vec<&'de RawValue>;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("\"batch\" to be an array of events")
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
    let Limits {
      events: max_events,
      event_bytes,
      ..
    } = self.limits;
    let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(max_events));
    while let Some(event) = seq.next_element::<&RawValue>()? {
      let refusal = if events.len() == max_events {
        Some(format!(
          "the batch has more than {max_events} events, the most this route takes at once"
        ))
      } else if event.get().len() > event_bytes {
        Some(format!(
          "event {} is {} bytes of JSON; this route takes at most {event_bytes} per event",
          events.len(),
          event.get().len()
        ))
      } else {
        None
      };
      if let Some(message) = refusal {
        *self.over_limit.borrow_mut() = Some(Refusal::new(RelayErrorCode::TooLarge, message));
        return Err(de::Error::custom("over a limit"));
      }
      events.push(event);
    }
    Ok(events)
  }
}

/// One event of a batch: what `logEvent` would be given, and the client's `messageId`.
pub struct WireEvent {
  pub input: EventInput,
  pub message_id: Option<String>,
}

/// Reads one event as the core's input; refuses what `logEvent` would refuse before the plan
/// looks at it, with the same codes.
pub fn read_event(raw: &RawValue) -> Result<WireEvent, LoggerError> {
  let Some(EventFields { input, message_id }) = EventFields::read(raw.get()) else {
    // Not an object: refused as logEvent refuses it.
    let mut fields = event_fields(raw.get(), "the event")?;
    return Ok(WireEvent {
      input: EventInput::take_from_json(&mut fields),
      message_id: message_id_of(fields.remove("messageId").map(json_value))?,
    });
  };
  Ok(WireEvent {
    input,
    message_id: message_id_of(message_id)?,
  })
}

/// The client's `messageId`, when it is one.
fn message_id_of(given: Option<Value>) -> Result<Option<String>, LoggerError> {
  match given {
    None => Ok(None),
    Some(Value::String(id)) if is_message_id(&id) => Ok(Some(id)),
    Some(other) => {
      let shown = match &other {
        Value::String(s) => quote(s),
        Value::Number(_) | Value::EpochMillis(_) | Value::TooLong(_) => "a number".to_string(),
        Value::Other(what) => what.to_string(),
      };
      Err(LoggerError::new(
        ErrorCode::InvalidEvent,
        format!("messageId {shown} is not allowed; allowed: 1 to 64 characters from A-Z, a-z, 0-9, \"_\" and \"-\""),
      ))
    }
  }
}

fn is_message_id(id: &str) -> bool {
  (1..=64).contains(&id.len())
    && id
      .bytes()
      .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
  use super::*;
  use sns_logger_core::plan::{PropertiesInput, Value};

  fn refusal(body: &str, limits: Limits) -> Refusal {
    parse(body.as_bytes(), limits).unwrap_err()
  }

  #[test]
  fn takes_the_events_of_a_batch_as_their_json_text() {
    let events = parse(br#"{"batch": [{"a": 1}, 2, "x"]}"#, APP_LIMITS).unwrap();
    let texts: Vec<&str> = events.iter().map(|e| e.get()).collect();
    assert_eq!(texts, [r#"{"a": 1}"#, "2", r#""x""#]);
  }

  #[test]
  fn tells_bad_json_from_a_bad_shape() {
    assert_eq!(refusal("{", APP_LIMITS).code, RelayErrorCode::BadJson);
    assert_eq!(
      refusal(r#"{"batch": []} x"#, APP_LIMITS).code,
      RelayErrorCode::BadJson
    );
    for shape in [
      r#"[1]"#,
      r#"{}"#,
      r#"{"batch": {}}"#,
      r#"{"batch": [], "other": 1}"#,
    ] {
      let r = refusal(shape, APP_LIMITS);
      assert_eq!(r.code, RelayErrorCode::BadBatch, "{shape}");
      assert!(r.message.starts_with(SHAPE), "{}", r.message);
    }
  }

  #[test]
  fn stops_at_the_first_event_over_a_limit() {
    let limits = Limits {
      body_bytes: 1 << 20,
      events: 2,
      event_bytes: 10,
    };
    // The rest of the body is not even valid JSON: parsing stopped before it.
    let r = refusal(r#"{"batch": [1, 2, 3, oops"#, limits);
    assert_eq!(r.code, RelayErrorCode::TooLarge);
    assert!(r.message.contains("more than 2 events"), "{}", r.message);
    let r = refusal(r#"{"batch": [1, "0123456789"]}"#, limits);
    assert_eq!(r.code, RelayErrorCode::TooLarge);
    assert_eq!(
      r.message,
      "event 1 is 12 bytes of JSON; this route takes at most 10 per event"
    );
  }

  #[test]
  fn reads_an_event_as_logevent_would_be_given_it() {
    let raw = parse(
      br#"{"batch": [{"roomId": "r", "category": "Survey", "action": "link_clicked", "tabId": 5, "properties": {"n": 1.5, "b": true}, "messageId": "m-1", "extra": 1}]}"#,
      APP_LIMITS,
    )
    .unwrap();
    let event = read_event(raw[0]).unwrap();
    assert_eq!(event.message_id.as_deref(), Some("m-1"));
    assert_eq!(event.input.room_id, Some(Value::String("r".into())));
    assert_eq!(event.input.tab_id, Some(Value::Number(5.0)));
    assert_eq!(
      event.input.properties,
      Some(PropertiesInput::Object(vec![
        ("n".into(), Value::Number(1.5)),
        ("b".into(), Value::Other("a boolean"))
      ]))
    );
  }

  #[test]
  fn refuses_an_event_that_is_not_an_object_or_a_bad_message_id() {
    let raw = parse(
      br#"{"batch": [[], {"messageId": "a b"}, {"messageId": ""}]}"#,
      APP_LIMITS,
    )
    .unwrap();
    let errors: Vec<LoggerError> = raw.iter().map(|r| read_event(r).err().unwrap()).collect();
    assert!(errors.iter().all(|e| e.code == ErrorCode::InvalidEvent));
    assert!(errors[0].message.ends_with("got an array"));
    assert!(errors[1]
      .message
      .starts_with("messageId \"a b\" is not allowed"));
    assert!(errors[2]
      .message
      .starts_with("messageId \"\" is not allowed"));
    let long = format!(r#"{{"messageId": "{}"}}"#, "a".repeat(65));
    let raw: Box<RawValue> = serde_json::from_str(&long).unwrap();
    assert!(read_event(&raw).is_err());
  }
}
