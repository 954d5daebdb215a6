//! The message for one event (its JSON, keys in the spec's order) and the envelope it
//! travels in through delivery: topic, message group, deduplication id and, when the logger
//! sends them, message attributes. This file writes the message; what a logger's messages
//! share is [`route`]'s, its dedup ids [`dedup`]'s, the attributes [`attributes`]', the
//! stored form [`stored`]'s.

mod attributes;
mod dedup;
mod route;
mod stored;

pub use attributes::{MessageAttributes, DATA_TYPE as ATTRIBUTE_DATA_TYPE};
pub use dedup::DedupIds;
pub use route::{ActionPart, ActionParts, Route};

use crate::error::{ErrorCode, LoggerError};
use crate::plan::{EventType, ValidEvent};
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::borrow::Cow;
use std::sync::Arc;

use crate::wire::push_json_str;
pub use crate::wire::MAX_MESSAGE_BYTES;

/// One event, ready to publish, kept small while it waits: what it shares with other events
/// (its [`Route`], its action's [`ActionPart`]) is shared, and what is its own (the dedup id
/// when given, room, tab and properties JSON) is one string. The message is written out when a
/// sink needs it. The dedup id and the message attributes are fixed here once, so retries and
/// replays send the same; sinks decide what of the envelope a request carries (SNS: group and
/// dedup id only for FIFO topics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
  route: Arc<Route>,
  /// The dedup id (when given), then the rest of the message as `form` says.
  text: Box<str>,
  seq: u64,
  /// Length of a given dedup id at the start of `text`; 0: the logger's own, from `seq`.
  given_dedup_len: u16,
  form: Form,
}

/// What kind of event an envelope holds: its action (category and action, and its part of
/// the message) and its `eventType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKind {
  action: Arc<ActionPart>,
  event_type: EventType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
  /// Built from a validated event: after the dedup id, `text` holds `,"roomId":…,"tabId":…`
  /// and, from `split`, the properties' entries; the message is written around them.
  Parts {
    kind: EventKind,
    split: u32,
    timestamp_ms: i64,
  },
  /// Read back (the spool, a dead letter): after the dedup id, `text` is the whole message.
  /// Its kind is known only when it was stored with its message attributes.
  Whole { kind: Option<EventKind> },
}

/// `"2022-09-26T17:50:47.225Z"`: years 0000 to 9999 only (validation sees to it).
const TIMESTAMP_LEN: usize = 24;
const TAIL_KEY: &str = "},\"eventType\":\"";
const TIMESTAMP_KEY: &str = "\",\"timestamp\":\"";

impl Envelope {
  /// The envelope of a validated event. `dedup_id`: a front door's own id (the relay derives
  /// it from the client's message id); `None`: the logger's, from the sequence number given
  /// by [`Envelope::with_seq`].
  pub fn new(route: Arc<Route>, event: &ValidEvent, dedup_id: Option<&str>) -> Envelope {
    let dedup_id = dedup_id.unwrap_or("");
    let properties_len: usize = event
      .properties
      .iter()
      .map(|(name, value)| name.len() + value.json_len_hint() + 4)
      .sum();
    let mut text = Vec::with_capacity(
      dedup_id.len() + event.room_id.len() + event.tab_id.len() + 24 + properties_len,
    );
    text.extend_from_slice(dedup_id.as_bytes());
    text.extend_from_slice(b",\"roomId\":");
    push_json_str(&mut text, &event.room_id);
    text.extend_from_slice(b",\"tabId\":");
    push_json_str(&mut text, &event.tab_id);
    let split = text.len() - dedup_id.len();
    for (i, (name, value)) in event.properties.iter().enumerate() {
      if i > 0 {
        text.push(b',');
      }
      push_json_str(&mut text, name);
      text.push(b':');
      value.write_json(&mut text);
    }
    let kind = EventKind {
      action: route.actions.of(event),
      event_type: event.event_type,
    };
    Envelope {
      route,
      text: utf8(text).into_boxed_str(),
      seq: 0,
      given_dedup_len: dedup_id.len() as u16,
      form: Form::Parts {
        kind,
        split: split as u32,
        timestamp_ms: event.timestamp.timestamp_millis(),
      },
    }
  }

  /// The event's acceptance order: its key in the spool, and what the logger's own dedup id
  /// is made of.
  pub fn seq(&self) -> u64 {
    self.seq
  }

  /// Sets [`Envelope::seq`].
  pub fn with_seq(mut self, seq: u64) -> Envelope {
    self.seq = seq;
    self
  }

  /// An envelope whose message is already written (read back from the spool, or a test's),
  /// without message attributes ([`Envelope::whole_with_attributes`]: with).
  pub fn whole(topic_arn: &str, group_id: &str, dedup_id: &str, message: &str) -> Envelope {
    Envelope {
      route: Arc::new(Route::whole(topic_arn, group_id)),
      text: format!("{dedup_id}{message}").into_boxed_str(),
      seq: 0,
      given_dedup_len: dedup_id.len() as u16,
      form: Form::Whole { kind: None },
    }
  }

  pub fn topic_arn(&self) -> &Arc<str> {
    &self.route.topic_arn
  }

  pub fn group_id(&self) -> &Arc<str> {
    &self.route.group_id
  }

  /// Its category, action and `eventType`; `None` for a message read back without them.
  pub fn kind(&self) -> Option<&EventKind> {
    match &self.form {
      Form::Parts { kind, .. } => Some(kind),
      Form::Whole { kind } => kind.as_ref(),
    }
  }

  /// The `MessageDeduplicationId`.
  pub fn dedup_id(&self) -> Cow<'_, str> {
    match self.given_dedup_len {
      0 => Cow::Owned(DedupIds::id_of(&self.route.dedup_prefix, self.seq)),
      len => Cow::Borrowed(&self.text[..len as usize]),
    }
  }

  /// The `Message` string, keys in the order of the spec.
  pub fn message(&self) -> String {
    let own = &self.text[self.given_dedup_len as usize..];
    let Form::Parts {
      kind,
      split,
      timestamp_ms,
    } = &self.form
    else {
      return own.to_string();
    };
    let (room_and_tab, properties) = own.split_at(*split as usize);
    let mut message = String::with_capacity(self.message_len());
    for part in [
      &*self.route.head,
      room_and_tab,
      &kind.action.middle,
      properties,
      TAIL_KEY,
      kind.event_type.as_str(),
      TIMESTAMP_KEY,
    ] {
      message.push_str(part);
    }
    write_timestamp(&mut message, *timestamp_ms);
    message.push_str("\"}");
    message
  }

  /// The length of [`Envelope::message`] in bytes, without writing it.
  pub fn message_len(&self) -> usize {
    let own = self.text.len() - self.given_dedup_len as usize;
    match &self.form {
      Form::Parts { kind, .. } => {
        self.route.head.len()
          + own
          + kind.action.middle.len()
          + TAIL_KEY.len()
          + kind.event_type.as_str().len()
          + TIMESTAMP_KEY.len()
          + TIMESTAMP_LEN
          + 2
      }
      Form::Whole { .. } => own,
    }
  }

  /// Heap and struct bytes this envelope holds (route and the action's part are shared): the
  /// `Arc`'s allocation and the text's, each rounded up as the allocator's size classes do
  /// (by about an eighth).
  pub fn memory_bytes(&self) -> usize {
    let rounded = |bytes: usize| bytes + bytes / 8;
    rounded(16 + std::mem::size_of::<Envelope>()) + rounded(self.text.len())
  }
}

/// Appends a time as RFC 3339 in UTC with milliseconds, as JavaScript's `toISOString()`.
fn write_timestamp(out: &mut String, millis: i64) {
  let time = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or_default();
  let date = time.date_naive();
  let fields = [
    (date.year() as u32, 4, '-'),
    (date.month(), 2, '-'),
    (date.day(), 2, 'T'),
    (time.hour(), 2, ':'),
    (time.minute(), 2, ':'),
    (time.second(), 2, '.'),
    (time.timestamp_subsec_millis(), 3, 'Z'),
  ];
  for (value, digits, separator) in fields {
    for shift in (0..digits).rev() {
      let digit = value / 10u32.pow(shift) % 10;
      out.push(char::from(b'0' + digit as u8));
    }
    out.push(separator);
  }
}

/// Refuses an envelope whose message and attributes pass a sink's `max_bytes`
/// (`ERR_MESSAGE_TOO_LARGE`).
pub fn validate_message_size(envelope: &Envelope, max_bytes: usize) -> Result<(), LoggerError> {
  let bytes = envelope.wire_len();
  if bytes <= max_bytes {
    return Ok(());
  }
  let message = match envelope.attributes() {
    None => format!("the message would be {bytes} bytes; SNS allows at most {max_bytes} bytes"),
    Some(attributes) => format!(
      "the message and its attributes would be {bytes} bytes ({} of them its attributes: messageAttributes is on); SNS allows at most {max_bytes} bytes",
      attributes.size()
    ),
  };
  Err(LoggerError::new(ErrorCode::MessageTooLarge, message))
}

/// Every piece written is UTF-8: string slices, ASCII literals and serde_json's output.
fn utf8(bytes: Vec<u8>) -> String {
  String::from_utf8(bytes).expect("the message is UTF-8")
}

/// The envelope of an event outside a logger (no topic, group or attributes), to measure or
/// write its message.
pub fn unrouted_envelope(dialogflow_agent_id: &str, event: &ValidEvent) -> Envelope {
  let route = Route::new(
    "".into(),
    "".into(),
    dialogflow_agent_id,
    "",
    Default::default(),
    false,
  );
  Envelope::new(Arc::new(route), event, None)
}

/// The `Message` string of an event, keys in the order of the spec.
pub fn build_message(dialogflow_agent_id: &str, event: &ValidEvent) -> String {
  unrouted_envelope(dialogflow_agent_id, event).message()
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::plan::{EventInput, PropertiesInput, TrackingPlan, Value};
  use route::action_part;

  fn valid(
    plan: &TrackingPlan,
    category: &str,
    action: &str,
    properties: Vec<(&str, Value)>,
  ) -> String {
    let input = EventInput {
      room_id: Some(Value::String("be61e543dfe6:wqbFXoeX2kdSZhSyi".into())),
      category: Some(Value::String(category.into())),
      action: Some(Value::String(action.into())),
      properties: Some(PropertiesInput::Object(
        properties.into_iter().map(|(k, v)| (k.into(), v)).collect(),
      )),
      timestamp: Some(Value::String("2022-09-26T17:50:47.225Z".into())),
      ..Default::default()
    };
    build_message(
      "b5983b72-cac6-4f85-b9d0-be61e543dfe6",
      &plan.validate(input).unwrap(),
    )
  }

  #[test]
  fn message_has_the_keys_of_the_spec_in_order() {
    let plan = TrackingPlan::built_in();
    assert_eq!(
      valid(
        &plan,
        "Escalation",
        "successful",
        vec![
          ("sf_chat_key", Value::String("5733b9d3-a8b0".into())),
          ("queue_time", Value::Number(42.0)),
        ]
      ),
      r#"{"dialogflowAgentId":"b5983b72-cac6-4f85-b9d0-be61e543dfe6","roomId":"be61e543dfe6:wqbFXoeX2kdSZhSyi","tabId":"","category":"Escalation","action":"successful","properties":{"queue_time":42,"sf_chat_key":"5733b9d3-a8b0"},"eventType":"session","timestamp":"2022-09-26T17:50:47.225Z"}"#
    );
    assert!(valid(
      &plan,
      "Escalation",
      "successful",
      vec![
        ("sf_chat_key", Value::String("k".into())),
        ("queue_time", Value::Number(1.5)),
      ]
    )
    .contains(r#""queue_time":1.5"#));
    assert!(valid(&plan, "Survey", "link_clicked", vec![])
      .contains(r#""properties":{},"eventType":"customerAction""#));
  }

  #[test]
  fn message_is_byte_for_byte_what_serde_json_writes_even_with_escapes() {
    let plan = TrackingPlan::built_in();
    let room = "room \"quoted\" back\\slash\nnew\u{1}ctl é 😀 </script>";
    let key = "k\"ey\u{7f}\t";
    let input = EventInput {
      room_id: Some(Value::String(room.into())),
      tab_id: Some(Value::String("tab\r".into())),
      category: Some(Value::String("Escalation".into())),
      action: Some(Value::String("successful".into())),
      properties: Some(PropertiesInput::Object(vec![
        ("sf_chat_key".into(), Value::String(key.into())),
        ("queue_time".into(), Value::Number(0.1)),
      ])),
      timestamp: Some(Value::String("2022-09-26T17:50:47.225Z".into())),
      ..Default::default()
    };
    let message = build_message("agent\\id", &plan.validate(input).unwrap());
    let expected = serde_json::to_string(&serde_json::json!({
      "dialogflowAgentId": "agent\\id",
      "roomId": room,
      "tabId": "tab\r",
      "category": "Escalation",
      "action": "successful",
      "properties": { "queue_time": 0.1, "sf_chat_key": key },
      "eventType": "session",
      "timestamp": "2022-09-26T17:50:47.225Z",
    }))
    .unwrap();
    assert_eq!(message, expected);
  }

  #[test]
  fn a_loggers_cached_action_parts_write_the_same_message_for_every_action() {
    let plan = TrackingPlan::built_in();
    let actions = Arc::new(ActionParts::for_plan(&plan));
    let route = Arc::new(Route::new(
      "".into(),
      "".into(),
      "agent",
      "",
      actions.clone(),
      true,
    ));
    let mut checked = 0;
    for (c, category) in plan.categories.iter().enumerate() {
      for (a, action) in category.actions.iter().enumerate() {
        assert_eq!(
          actions.0[c][a],
          action_part(&category.category, &action.action)
        );
        let input = EventInput {
          room_id: Some(Value::String("room".into())),
          category: Some(Value::String(category.category.clone())),
          action: Some(Value::String(action.action.clone())),
          timestamp: Some(Value::String("2022-09-26T17:50:47.225Z".into())),
          ..Default::default()
        };
        // Actions that require properties are left out: the parts do not depend on them.
        let Ok(event) = plan.validate(input) else {
          continue;
        };
        let envelope = Envelope::new(route.clone(), &event, None);
        let attributes = envelope.attributes().expect("the route sends attributes");
        assert_eq!(
          (&*attributes.category, &*attributes.action),
          (category.category.as_str(), action.action.as_str())
        );
        let cached = envelope.message();
        assert_eq!(cached, build_message("agent", &event));
        assert!(cached.contains(&format!(r#""action":{}"#, serde_json::json!(action.action))));
        checked += 1;
      }
    }
    assert!(checked >= 5, "only {checked} actions checked");
  }

  #[test]
  fn dedup_ids_are_unique_short_and_sort_in_logging_order() {
    let ids = DedupIds::new();
    let (a, b, c) = (ids.id(9), ids.id(10), ids.id(u64::MAX));
    assert!(a < b && b < c, "{a} {b} {c}");
    assert_ne!(DedupIds::new().id(9), a, "another logger gets other ids");
    assert!(c.len() <= 128);
    assert!(c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'));
  }
}
