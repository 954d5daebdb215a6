//! The message for one event (its JSON, keys in the spec's order) and the envelope it
//! travels in through delivery: topic, message group, deduplication id and, when the logger
//! sends them, message attributes ([`attributes`]).

mod attributes;

pub use attributes::{MessageAttributes, DATA_TYPE as ATTRIBUTE_DATA_TYPE};

use crate::error::{ErrorCode, LoggerError};
use crate::hex;
use crate::plan::{EventType, TrackingPlan, ValidEvent};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

use crate::wire::push_json_str;
pub use crate::wire::MAX_MESSAGE_BYTES;

/// What every message of one agent shares, once per agent and logger: the topic, the site's
/// message group, the message's first key, the logger's prefix of dedup ids, the parts its
/// plan's actions share and whether its messages carry attributes.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
  pub topic_arn: Arc<str>,
  pub group_id: Arc<str>,
  /// `{"dialogflowAgentId":"<agent_id>"`; empty for a message read back whole.
  head: Box<str>,
  dedup_prefix: Box<str>,
  actions: Arc<ActionParts>,
  /// Its messages carry [`MessageAttributes`] (`messageAttributes`).
  attributes: bool,
}

impl Route {
  /// `dedup_prefix`: the logger's ([`DedupIds::prefix`]); `actions`: those of the plan that
  /// validates the events; `attributes`: its messages carry message attributes.
  pub fn new(
    topic_arn: Arc<str>,
    group_id: Arc<str>,
    agent_id: &str,
    dedup_prefix: &str,
    actions: Arc<ActionParts>,
    attributes: bool,
  ) -> Route {
    let mut head = b"{\"dialogflowAgentId\":".to_vec();
    push_json_str(&mut head, agent_id);
    Route {
      topic_arn,
      group_id,
      head: utf8(head).into(),
      dedup_prefix: dedup_prefix.into(),
      actions,
      attributes,
    }
  }

  /// The route of a message read back whole.
  fn whole(topic_arn: &str, group_id: &str, attributes: bool) -> Route {
    Route {
      topic_arn: topic_arn.into(),
      group_id: group_id.into(),
      head: "".into(),
      dedup_prefix: "".into(),
      actions: Default::default(),
      attributes,
    }
  }
}

/// What the events of one action share, so that a waiting event holds no copy of it: its part
/// of the message and, for message attributes, its category and action.
#[derive(Debug, PartialEq, Eq)]
pub struct ActionPart {
  /// `,"category":"…","action":"…","properties":{`, between the tab id and the properties;
  /// empty for a message read back whole.
  middle: Box<str>,
  category: Box<str>,
  action: Box<str>,
}

/// The [`ActionPart`] of each action of a plan, written once per logger.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ActionParts(Vec<Vec<Arc<ActionPart>>>);

impl ActionParts {
  pub fn for_plan(plan: &TrackingPlan) -> ActionParts {
    let parts = plan.categories.iter().map(|category| {
      let actions = category.actions.iter();
      actions
        .map(|action| action_part(&category.category, &action.action))
        .collect()
    });
    ActionParts(parts.collect())
  }

  /// `event`'s part; written anew for an action not in the table (an empty table's).
  fn of(&self, event: &ValidEvent) -> Arc<ActionPart> {
    let id = event.action_id;
    let cached = self
      .0
      .get(id.category)
      .and_then(|actions| actions.get(id.action));
    cached
      .cloned()
      .unwrap_or_else(|| action_part(event.category, event.action))
  }
}

fn action_part(category: &str, action: &str) -> Arc<ActionPart> {
  let mut json = b",\"category\":".to_vec();
  push_json_str(&mut json, category);
  json.extend_from_slice(b",\"action\":");
  push_json_str(&mut json, action);
  json.extend_from_slice(b",\"properties\":{");
  Arc::new(ActionPart {
    middle: utf8(json).into(),
    category: category.into(),
    action: action.into(),
  })
}

/// One event, ready to publish, kept small while it waits: what it shares with other events
/// (its [`Route`], its action's [`ActionPart`]) is shared, and what is its own (the dedup id
/// when given, room, tab and properties JSON) is one string. The message is written out when a
/// sink needs it. The dedup id and the message attributes are fixed here once, so retries and
/// replays send the same; sinks decide what of the envelope a request carries (SNS: group and
/// dedup id only for FIFO topics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
  route: Arc<Route>,
  /// What the events of its action share: its part of the message, its category and action.
  /// Read back whole: only the category and action of its attributes, when it has them.
  action: Option<Arc<ActionPart>>,
  /// The dedup id (when given), then `,"roomId":…,"tabId":…`, then the properties' entries
  /// (from `split`).
  text: Box<str>,
  seq: u64,
  timestamp_ms: i64,
  split: u32,
  /// Length of a given dedup id at the start of `text`; 0: the logger's own, from `seq`.
  given_dedup_len: u16,
  event_type: EventType,
  /// `text` holds the whole message after the dedup id (read back from the spool or a dead
  /// letter).
  whole: bool,
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
    Envelope {
      action: Some(route.actions.of(event)),
      route,
      text: utf8(text).into_boxed_str(),
      seq: 0,
      timestamp_ms: event.timestamp.timestamp_millis(),
      split: split as u32,
      given_dedup_len: dedup_id.len() as u16,
      event_type: event.event_type,
      whole: false,
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
      route: Arc::new(Route::whole(topic_arn, group_id, false)),
      action: None,
      text: format!("{dedup_id}{message}").into_boxed_str(),
      seq: 0,
      timestamp_ms: 0,
      split: 0,
      given_dedup_len: dedup_id.len() as u16,
      event_type: EventType::Session,
      whole: true,
    }
  }

  pub fn topic_arn(&self) -> &Arc<str> {
    &self.route.topic_arn
  }

  pub fn group_id(&self) -> &Arc<str> {
    &self.route.group_id
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
    let (false, Some(action)) = (self.whole, &self.action) else {
      return own.to_string();
    };
    let (room_and_tab, properties) = own.split_at(self.split as usize);
    let mut message = String::with_capacity(self.message_len());
    for part in [
      &*self.route.head,
      room_and_tab,
      &action.middle,
      properties,
      TAIL_KEY,
      self.event_type.as_str(),
      TIMESTAMP_KEY,
    ] {
      message.push_str(part);
    }
    write_timestamp(&mut message, self.timestamp_ms);
    message.push_str("\"}");
    message
  }

  /// The length of [`Envelope::message`] in bytes, without writing it.
  pub fn message_len(&self) -> usize {
    let own = self.text.len() - self.given_dedup_len as usize;
    match (self.whole, &self.action) {
      (false, Some(action)) => {
        self.route.head.len()
          + own
          + action.middle.len()
          + TAIL_KEY.len()
          + self.event_type.as_str().len()
          + TIMESTAMP_KEY.len()
          + TIMESTAMP_LEN
          + 2
      }
      _ => own,
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

/// How an envelope is stored (spool) and shown (`records()`): the request's own names.
#[derive(Serialize, Deserialize)]
struct StoredEnvelope<'a> {
  #[serde(rename = "TopicArn", borrow)]
  topic_arn: Cow<'a, str>,
  #[serde(rename = "MessageGroupId", borrow)]
  group_id: Cow<'a, str>,
  #[serde(rename = "MessageDeduplicationId", borrow)]
  dedup_id: Cow<'a, str>,
  #[serde(rename = "Message", borrow)]
  message: Cow<'a, str>,
  #[serde(
    rename = "MessageAttributes",
    borrow,
    default,
    skip_serializing_if = "Option::is_none"
  )]
  attributes: Option<MessageAttributes<'a>>,
}

impl Serialize for Envelope {
  fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    StoredEnvelope {
      topic_arn: Cow::Borrowed(self.topic_arn()),
      group_id: Cow::Borrowed(self.group_id()),
      dedup_id: self.dedup_id(),
      message: Cow::Owned(self.message()),
      attributes: self.attributes(),
    }
    .serialize(serializer)
  }
}

impl<'de> Deserialize<'de> for Envelope {
  fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Envelope, D::Error> {
    let stored = StoredEnvelope::deserialize(deserializer)?;
    if stored.dedup_id.len() > u16::MAX as usize {
      return Err(serde::de::Error::custom(
        "MessageDeduplicationId is too long",
      ));
    }
    let (topic, group) = (&stored.topic_arn, &stored.group_id);
    match &stored.attributes {
      None => Ok(Envelope::whole(
        topic,
        group,
        &stored.dedup_id,
        &stored.message,
      )),
      Some(attributes) => {
        Envelope::whole_with_attributes(topic, group, &stored.dedup_id, &stored.message, attributes)
          .map_err(serde::de::Error::custom)
      }
    }
  }
}

/// `MessageDeduplicationId`s: a random prefix per logger (a UUIDv7) and the event's sequence
/// number, zero-padded so that ids sort in logging order. Unique per event and fixed when the
/// event is logged, without a random draw per event; written out only when a request needs it.
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
    DedupIds::id_of(&self.prefix, seq)
  }

  pub fn prefix(&self) -> &str {
    &self.prefix
  }

  fn id_of(prefix: &str, seq: u64) -> String {
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    id.push('-');
    hex::push_u64(&mut id, seq);
    id
  }
}

impl Default for DedupIds {
  fn default() -> Self {
    DedupIds::new()
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
