//! Message attributes (`messageAttributes: true`): an event's `category`, `action` and
//! `eventType` as SNS `String` attributes beside its message, which subscription filter
//! policies read. SNS counts every part of an attribute (name, data type and value) towards
//! the message's size, and so does the logger ([`Envelope::wire_len`]).

use super::{ActionPart, Envelope, EventKind, Form};
use crate::error::quote;
use crate::plan::EventType;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::sync::Arc;

/// The data type of every attribute the logger sends.
pub const DATA_TYPE: &str = "String";

/// The attributes of one message: borrowed from its envelope, or read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttributes<'a> {
  pub category: Cow<'a, str>,
  pub action: Cow<'a, str>,
  pub event_type: Cow<'a, str>,
}

impl MessageAttributes<'_> {
  /// Each attribute's name and value.
  pub fn entries(&self) -> [(&'static str, &str); 3] {
    [
      ("category", &self.category),
      ("action", &self.action),
      ("eventType", &self.event_type),
    ]
  }

  /// The bytes SNS counts towards the message's size: each attribute's name, data type and
  /// value.
  pub fn size(&self) -> usize {
    self
      .entries()
      .iter()
      .map(|(name, value)| name.len() + DATA_TYPE.len() + value.len())
      .sum()
  }
}

impl Envelope {
  /// Its `MessageAttributes`: category, action and eventType, when its logger sends them.
  pub fn attributes(&self) -> Option<MessageAttributes<'_>> {
    let kind = self.kind().filter(|_| self.route.attributes)?;
    Some(MessageAttributes {
      category: Cow::Borrowed(&kind.action.category),
      action: Cow::Borrowed(&kind.action.action),
      event_type: Cow::Borrowed(kind.event_type.as_str()),
    })
  }

  /// What SNS counts of it against the message and batch size limits: the message and its
  /// attributes, in bytes.
  pub fn wire_len(&self) -> usize {
    self.message_len() + self.attributes().map_or(0, |a| a.size())
  }

  /// A [`whole`](Envelope::whole) envelope with the message attributes it was first sent
  /// with (read back from the spool or a dead letter). Refuses an `eventType` the plan does
  /// not have.
  pub fn whole_with_attributes(
    topic_arn: &str,
    group_id: &str,
    dedup_id: &str,
    message: &str,
    attributes: &MessageAttributes,
  ) -> Result<Envelope, String> {
    let event_type = EventType::named(&attributes.event_type).ok_or_else(|| {
      format!(
        "message attribute eventType {} is not an event type; allowed: \"session\" or \"customerAction\"",
        quote(&attributes.event_type)
      )
    })?;
    let names = ActionPart {
      middle: "".into(),
      category: (*attributes.category).into(),
      action: (*attributes.action).into(),
    };
    let kind = EventKind {
      action: Arc::new(names),
      event_type,
    };
    Ok(Envelope {
      form: Form::Whole { kind: Some(kind) },
      ..Envelope::whole(topic_arn, group_id, dedup_id, message)
    })
  }
}

/// SNS's own shape, as its API and the AWS CLI take it:
/// `{"category":{"DataType":"String","StringValue":"Escalation"},"action":…,"eventType":…}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Shape<'a> {
  #[serde(borrow)]
  category: AttributeValue<'a>,
  #[serde(borrow)]
  action: AttributeValue<'a>,
  #[serde(rename = "eventType", borrow)]
  event_type: AttributeValue<'a>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeValue<'a> {
  #[serde(rename = "DataType", borrow)]
  data_type: Cow<'a, str>,
  #[serde(rename = "StringValue", borrow)]
  string_value: Cow<'a, str>,
}

impl Serialize for MessageAttributes<'_> {
  fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    fn value(text: &str) -> AttributeValue<'_> {
      AttributeValue {
        data_type: Cow::Borrowed(DATA_TYPE),
        string_value: Cow::Borrowed(text),
      }
    }
    Shape {
      category: value(&self.category),
      action: value(&self.action),
      event_type: value(&self.event_type),
    }
    .serialize(serializer)
  }
}

impl<'de: 'a, 'a> Deserialize<'de> for MessageAttributes<'a> {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
    let shape = Shape::deserialize(deserializer)?;
    let string = |name: &str, value: AttributeValue<'a>| {
      if value.data_type != DATA_TYPE {
        return Err(D::Error::custom(format!(
          "message attribute {name} has DataType {}; allowed: \"{DATA_TYPE}\"",
          quote(&value.data_type)
        )));
      }
      Ok(value.string_value)
    };
    Ok(MessageAttributes {
      category: string("category", shape.category)?,
      action: string("action", shape.action)?,
      event_type: string("eventType", shape.event_type)?,
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::error::ErrorCode;
  use crate::message::{validate_message_size, ActionParts, Route, MAX_MESSAGE_BYTES};
  use crate::plan::{EventInput, PropertiesInput, TrackingPlan, Value};

  const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:events.fifo";

  /// An Escalation / successful event of `room_id`, logged by a logger with or without
  /// attributes.
  fn envelope(attributes: bool, room_id: &str) -> Envelope {
    let plan = TrackingPlan::built_in();
    let input = EventInput {
      room_id: Some(Value::String(room_id.into())),
      category: Some(Value::String("Escalation".into())),
      action: Some(Value::String("successful".into())),
      properties: Some(PropertiesInput::Object(vec![
        ("sf_chat_key".into(), Value::String("k".into())),
        ("queue_time".into(), Value::Number(1.0)),
      ])),
      timestamp: Some(Value::String("2022-09-26T17:50:47.225Z".into())),
      ..Default::default()
    };
    let actions = Arc::new(ActionParts::for_plan(&plan));
    let route = Route::new(
      TOPIC.into(),
      "site".into(),
      "agent",
      "p",
      actions,
      attributes,
    );
    Envelope::new(Arc::new(route), &plan.validate(input).unwrap(), None)
  }

  fn escalation() -> MessageAttributes<'static> {
    MessageAttributes {
      category: "Escalation".into(),
      action: "successful".into(),
      event_type: "session".into(),
    }
  }

  #[test]
  fn size_counts_each_name_data_type_and_value_in_utf8_bytes() {
    // category+String+Escalation, action+String+successful, eventType+String+session.
    assert_eq!(
      escalation().size(),
      (8 + 6 + 10) + (6 + 6 + 10) + (9 + 6 + 7)
    );
    let accented = MessageAttributes {
      category: "Évaluation".into(),
      ..escalation()
    };
    assert_eq!(accented.size(), escalation().size() + 1, "É is two bytes");
  }

  #[test]
  fn written_and_read_in_sns_shape() {
    let json = serde_json::to_string(&escalation()).unwrap();
    assert_eq!(
      json,
      r#"{"category":{"DataType":"String","StringValue":"Escalation"},"action":{"DataType":"String","StringValue":"successful"},"eventType":{"DataType":"String","StringValue":"session"}}"#
    );
    let read: MessageAttributes = serde_json::from_str(&json).unwrap();
    assert_eq!(read, escalation());
    let number = json.replacen(r#""DataType":"String""#, r#""DataType":"Number""#, 1);
    let error = serde_json::from_str::<MessageAttributes>(&number).unwrap_err();
    assert!(
      error
        .to_string()
        .contains(r#"message attribute category has DataType "Number"; allowed: "String""#),
      "{error}"
    );
    let missing = r#"{"category":{"DataType":"String","StringValue":"Escalation"}}"#;
    assert!(serde_json::from_str::<MessageAttributes>(missing).is_err());
  }

  #[test]
  fn an_envelope_carries_its_events_names_only_when_its_logger_sends_attributes() {
    let on = envelope(true, "r");
    assert_eq!(on.attributes(), Some(escalation()));
    assert_eq!(on.wire_len(), on.message_len() + escalation().size());
    let off = envelope(false, "r");
    assert_eq!(off.attributes(), None);
    assert_eq!(off.wire_len(), off.message_len());
    assert_eq!(
      on.message(),
      off.message(),
      "the message itself is the same"
    );
    let plain = Envelope::whole(TOPIC, "site", "d", "{}");
    assert_eq!((plain.attributes(), plain.wire_len()), (None, 2));
  }

  #[test]
  fn an_event_that_fits_only_without_its_attributes_is_too_large_with_them() {
    let fill = |attributes: bool, room: &str| envelope(attributes, room);
    let base = fill(false, "r").message_len() - 1;
    // The largest room id whose message fits alone: it fits, without attributes only.
    let room = "r".repeat(MAX_MESSAGE_BYTES - base);
    assert_eq!(fill(false, &room).wire_len(), MAX_MESSAGE_BYTES);
    assert!(validate_message_size(&fill(false, &room), MAX_MESSAGE_BYTES).is_ok());
    let error = validate_message_size(&fill(true, &room), MAX_MESSAGE_BYTES).unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge);
    let size = escalation().size();
    assert_eq!(
      error.message,
      format!(
        "the message and its attributes would be {} bytes ({size} of them its attributes: messageAttributes is on); SNS allows at most {MAX_MESSAGE_BYTES} bytes",
        MAX_MESSAGE_BYTES + size
      )
    );
    // With its attributes, the room id must be shorter by their size.
    let room = "r".repeat(MAX_MESSAGE_BYTES - base - size);
    assert_eq!(fill(true, &room).wire_len(), MAX_MESSAGE_BYTES);
    assert!(validate_message_size(&fill(true, &room), MAX_MESSAGE_BYTES).is_ok());
  }

  #[test]
  fn a_spooled_event_keeps_its_attributes_and_one_logged_without_them_reads_back_as_before() {
    let on = envelope(true, "r");
    let stored = serde_json::to_string(&on).unwrap();
    assert!(stored.ends_with(&format!(
      ",\"MessageAttributes\":{}}}",
      serde_json::to_string(&escalation()).unwrap()
    )));
    let read: Envelope = serde_json::from_str(&stored).unwrap();
    assert_eq!(read.attributes(), Some(escalation()));
    assert_eq!(read.message(), on.message());
    assert_eq!(read.wire_len(), on.wire_len());
    assert_eq!(read.dedup_id(), on.dedup_id());

    let off = envelope(false, "r");
    let stored = serde_json::to_string(&off).unwrap();
    assert!(!stored.contains("MessageAttributes"), "{stored}");
    let read: Envelope = serde_json::from_str(&stored).unwrap();
    assert_eq!((read.attributes(), read.message()), (None, off.message()));

    let bad = serde_json::to_string(&on)
      .unwrap()
      .replace(r#""StringValue":"session""#, r#""StringValue":"sometimes""#);
    let error = serde_json::from_str::<Envelope>(&bad).unwrap_err();
    assert!(
      error.to_string().contains(
        r#"message attribute eventType "sometimes" is not an event type; allowed: "session" or "customerAction""#
      ),
      "{error}"
    );
  }
}
