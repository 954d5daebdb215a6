//! The message for one event (its JSON, keys in the spec's order) and the envelope it
//! travels in through delivery: topic, message group and deduplication id.

use crate::plan::ValidEvent;
use crate::sink::sns;
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// No sink takes a larger message (SNS's limit is the largest): a longer input string is
/// measured, never copied, and refused.
pub const MAX_MESSAGE_BYTES: usize = sns::LIMITS.message_bytes;

/// One event, ready to publish. The dedup id is fixed here once, so retries and replays reuse
/// it; sinks decide what of the envelope a request carries (SNS: group and dedup id only for
/// FIFO topics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
  #[serde(rename = "TopicArn")]
  pub topic_arn: Arc<str>,
  #[serde(rename = "MessageGroupId")]
  pub group_id: Arc<str>,
  #[serde(rename = "MessageDeduplicationId")]
  pub dedup_id: String,
  #[serde(rename = "Message")]
  pub message: String,
}

impl Envelope {
  /// Heap and struct bytes this envelope holds (the topic and group strings are shared).
  pub fn memory_bytes(&self) -> usize {
    // Arc header, the struct, and the allocator's size classes for three allocations
    // (measured: 100,000 queued events hold about 540 bytes each).
    16 + std::mem::size_of::<Envelope>() + self.message.len() + self.dedup_id.len() + 64
  }
}

/// `MessageDeduplicationId`s: a random prefix per logger (a UUIDv7) and the event's sequence
/// number, zero-padded so that ids sort in logging order. Unique per event and fixed when the
/// event is logged, without a random draw per event.
pub struct DedupIds {
  prefix: String,
}

impl DedupIds {
  pub fn new() -> DedupIds {
    DedupIds {
      prefix: uuid::Uuid::now_v7().simple().to_string(),
    }
  }

  pub fn id(&self, seq: u64) -> String {
    // By hand: this runs on every logEvent, and `format!` costs several times more.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(self.prefix.len() + 17);
    id.push_str(&self.prefix);
    id.push('-');
    for shift in (0..16).rev() {
      id.push(HEX[(seq >> (shift * 4)) as usize & 0xf] as char);
    }
    id
  }
}

impl Default for DedupIds {
  fn default() -> Self {
    DedupIds::new()
  }
}

/// Appends `s` as a JSON string. Most strings need no escaping, and checking that first is
/// several times faster than serde_json's byte-by-byte escaper, which writes the others.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
  if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
  } else {
    serde_json::to_writer(&mut *out, s).expect("a string always serializes");
  }
}

/// The `Message` string, keys in the order of the spec. Written field by field: this runs on
/// the caller's thread for every event, and it is the largest part of the call.
pub fn build_message(dialogflow_agent_id: &str, event: &ValidEvent) -> String {
  let strings = [
    dialogflow_agent_id,
    &event.room_id,
    &event.tab_id,
    event.category,
    event.action,
  ];
  let properties_len: usize = event
    .properties
    .iter()
    .map(|(name, value)| name.len() + value.json_len_hint())
    .sum();
  let mut json =
    Vec::with_capacity(strings.iter().map(|s| s.len()).sum::<usize>() + properties_len + 192);
  let fields = [
    "{\"dialogflowAgentId\":",
    ",\"roomId\":",
    ",\"tabId\":",
    ",\"category\":",
    ",\"action\":",
  ];
  for (key, value) in fields.iter().zip(strings) {
    json.extend_from_slice(key.as_bytes());
    push_json_str(&mut json, value);
  }
  json.extend_from_slice(b",\"properties\":{");
  for (i, (name, value)) in event.properties.iter().enumerate() {
    if i > 0 {
      json.push(b',');
    }
    push_json_str(&mut json, name);
    json.push(b':');
    value.write_json(&mut json);
  }
  json.extend_from_slice(b"},\"eventType\":");
  push_json_str(&mut json, event.event_type.as_str());
  json.extend_from_slice(b",\"timestamp\":\"");
  json.extend_from_slice(
    event
      .timestamp
      .to_rfc3339_opts(SecondsFormat::Millis, true)
      .as_bytes(),
  );
  json.extend_from_slice(b"\"}");
  // Every piece above is UTF-8: string slices, ASCII literals and serde_json's output.
  String::from_utf8(json).expect("the message is UTF-8")
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::plan::{EventInput, PropertiesInput, TrackingPlan, Value};

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
  fn dedup_ids_are_unique_short_and_sort_in_logging_order() {
    let ids = DedupIds::new();
    let (a, b, c) = (ids.id(9), ids.id(10), ids.id(u64::MAX));
    assert!(a < b && b < c, "{a} {b} {c}");
    assert_ne!(DedupIds::new().id(9), a, "another logger gets other ids");
    assert!(c.len() <= 128);
    assert!(c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'));
  }
}
