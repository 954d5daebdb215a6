//! Checks one event against the tracking plan. Input values arrive already read out of their
//! front door (JavaScript values in the binding, JSON in the relay) as plain Rust values.

use super::property::PropertyValue;
use super::{ActionId, ActionSpec, CategorySpec, EventType, TrackingPlan};
use crate::error::{one_of, quote, ErrorCode, LoggerError, Result};
use crate::wire::MAX_MESSAGE_BYTES;
use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// An input value as far as validation cares.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
  String(String),
  Number(f64),
  /// A point in time, as milliseconds since the Unix epoch (NaN when the front door's time
  /// value was invalid, such as JavaScript's `Invalid Date`).
  EpochMillis(f64),
  /// A string too long to be part of any message; only its UTF-8 length was read.
  TooLong(usize),
  /// Anything else, described for error messages: "null", "an array", "a boolean", ...
  Other(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub enum PropertiesInput {
  Object(Vec<(String, Value)>),
  Other(&'static str),
}

/// The fields of a `LogEvent`; `None` means absent or `undefined`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventInput {
  pub agent: Option<Value>,
  pub room_id: Option<Value>,
  pub tab_id: Option<Value>,
  pub category: Option<Value>,
  pub action: Option<Value>,
  /// The event's place in the plan, when the front door looked `category` and `action` up
  /// itself (`index.js`, to spare two string reads per call): then those two are not read.
  pub action_id: Option<ActionId>,
  pub properties: Option<PropertiesInput>,
  pub timestamp: Option<Value>,
}

/// An event that passed the plan; properties are in plan order.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent<'p> {
  pub agent: Option<String>,
  pub room_id: String,
  pub tab_id: String,
  pub category: &'p str,
  pub action: &'p str,
  /// Where `category` / `action` sits in the plan.
  pub action_id: ActionId,
  pub properties: Vec<(&'p str, PropertyValue)>,
  pub event_type: EventType,
  pub timestamp: DateTime<Utc>,
}

fn describe(value: &Value) -> String {
  match value {
    Value::String(s) => quote(s),
    Value::Number(n) => format!("number {n}"),
    Value::EpochMillis(_) => "a Date".to_string(),
    Value::TooLong(len) => format!("a string of {len} bytes"),
    Value::Other(what) => (*what).to_string(),
  }
}

fn error(code: ErrorCode, message: String) -> LoggerError {
  LoggerError::new(code, message)
}

fn too_large(field: &str, len: usize) -> LoggerError {
  error(
    ErrorCode::MessageTooLarge,
    format!("{field} is a string of {len} bytes; a whole message may be at most {MAX_MESSAGE_BYTES} bytes"),
  )
}

/// A required non-empty string field.
fn required_string(field: &str, value: Option<Value>, code: ErrorCode) -> Result<String> {
  match value {
    Some(Value::String(s)) if !s.is_empty() => Ok(s),
    Some(Value::TooLong(len)) => Err(too_large(field, len)),
    None => Err(error(
      code,
      format!("{field} is required: a non-empty string"),
    )),
    Some(other) => Err(error(
      code,
      format!(
        "{field} must be a non-empty string, got {}",
        describe(&other)
      ),
    )),
  }
}

impl TrackingPlan {
  /// Validates an event; on success nothing is left to check but the agent and the size.
  pub fn validate(&self, input: EventInput) -> Result<ValidEvent<'_>> {
    let room_id = required_string("roomId", input.room_id, ErrorCode::InvalidEvent)?;
    let tab_id = match input.tab_id {
      None => String::new(),
      Some(Value::String(s)) => s,
      Some(Value::TooLong(len)) => return Err(too_large("tabId", len)),
      Some(other) => {
        return Err(error(
          ErrorCode::InvalidEvent,
          format!(
            "tabId must be a string (only widget events have one), got {}",
            describe(&other)
          ),
        ))
      }
    };
    let agent = input
      .agent
      .map(|a| required_string("agent", Some(a), ErrorCode::UnknownAgent))
      .transpose()?;

    let (action_id, category, action) = match input.action_id {
      Some(id) => {
        let (category, action) = self.action_by_id(id).ok_or_else(|| {
          error(
            ErrorCode::UnknownAction,
            format!(
              "action index {} is not in this logger's tracking plan",
              id.to_index()
            ),
          )
        })?;
        (id, category, action)
      }
      None => self.named_action(input.category, input.action)?,
    };
    // Error texts only: built when needed, not on every event.
    let event_name = || format!("{} / {}", quote(&category.category), quote(&action.action));

    let mut given = match input.properties {
      None => Vec::new(),
      Some(PropertiesInput::Object(entries)) => entries,
      Some(PropertiesInput::Other(what)) => {
        return Err(error(
          ErrorCode::InvalidProperty,
          format!("properties must be an object, got {what}"),
        ))
      }
    };
    if let Some((unknown, _)) = given
      .iter()
      .find(|(name, _)| !action.properties.iter().any(|p| &p.property == name))
    {
      let allowed = if action.properties.is_empty() {
        "it takes no properties".to_string()
      } else {
        format!(
          "allowed: {}",
          one_of(action.properties.iter().map(|p| p.property.as_str()))
        )
      };
      return Err(error(
        ErrorCode::InvalidProperty,
        format!(
          "properties.{} is not a property of {}; {allowed}",
          unknown.escape_debug(),
          event_name()
        ),
      ));
    }

    let mut event_type = action.event_type;
    let mut properties = Vec::with_capacity(action.properties.len());
    for spec in &action.properties {
      let field = || format!("properties.{}", spec.property);
      let position = given.iter().position(|(name, _)| name == &spec.property);
      let kind = spec.kind.as_type();
      let Some((_, value)) = position.map(|i| given.swap_remove(i)) else {
        return Err(error(
          ErrorCode::InvalidProperty,
          format!(
            "{} is required for {}: {}",
            field(),
            event_name(),
            kind.describe()
          ),
        ));
      };
      if let Value::TooLong(len) = value {
        return Err(too_large(&field(), len));
      }
      let checked = kind.validate(value).map_err(|value| {
        error(
          ErrorCode::InvalidProperty,
          kind.reject(&field(), &describe(&value), &event_name()),
        )
      })?;
      event_type = checked.event_type.unwrap_or(event_type);
      let checked = checked.value;
      properties.push((spec.property.as_str(), checked));
    }

    Ok(ValidEvent {
      agent,
      room_id,
      tab_id,
      category: &category.category,
      action: &action.action,
      action_id,
      properties,
      event_type,
      timestamp: timestamp(input.timestamp)?,
    })
  }

  /// The action named by `category` and `action`, or the error that names what is wrong.
  fn named_action(
    &self,
    category: Option<Value>,
    action: Option<Value>,
  ) -> Result<(ActionId, &CategorySpec, &ActionSpec)> {
    let category_name = required_string("category", category, ErrorCode::UnknownCategory)?;
    let (category_index, category) = self.category_at(&category_name).ok_or_else(|| {
      error(
        ErrorCode::UnknownCategory,
        format!(
          "category {} is not in the tracking plan; allowed: {}",
          quote(&category_name),
          one_of(self.category_names())
        ),
      )
    })?;
    let action_name = required_string("action", action, ErrorCode::UnknownAction)?;
    let (action_index, action) = category.action_at(&action_name).ok_or_else(|| {
      error(
        ErrorCode::UnknownAction,
        format!(
          "action {} is not an action of category {}; allowed: {}",
          quote(&action_name),
          quote(&category.category),
          one_of(category.action_names())
        ),
      )
    })?;
    let id = ActionId {
      category: category_index,
      action: action_index,
    };
    Ok((id, category, action))
  }
}

fn timestamp(value: Option<Value>) -> Result<DateTime<Utc>> {
  let invalid = |what: String| {
    error(
      ErrorCode::InvalidTimestamp,
      format!("timestamp {what}; allowed: a valid Date or an ISO 8601 string with a time zone, e.g. \"2022-09-26T17:50:47.225Z\", from year 0000 to 9999"),
    )
  };
  let time = match value {
    None => return Ok(Utc::now()),
    Some(Value::EpochMillis(ms)) if ms.is_finite() => DateTime::from_timestamp_millis(ms as i64)
      .ok_or_else(|| invalid(format!("{ms} ms is out of range")))?,
    Some(Value::EpochMillis(_)) => return Err(invalid("is an Invalid Date".into())),
    Some(Value::String(s)) => DateTime::parse_from_rfc3339(&s)
      .map(|t| t.with_timezone(&Utc))
      .map_err(|_| invalid(format!("{} is not an ISO 8601 date-time", quote(&s))))?,
    Some(other) => {
      return Err(invalid(format!(
        "must be a Date or a string, got {}",
        describe(&other)
      )))
    }
  };
  // The message must read back: JavaScript's Date.parse takes four-digit years only, and no
  // leap second (chrono keeps one as a nanosecond count past 999,999,999).
  if !(0..=9999).contains(&time.year()) {
    return Err(invalid(format!(
      "{} is outside the years 0000 to 9999",
      time.to_rfc3339_opts(SecondsFormat::Millis, true)
    )));
  }
  if time.nanosecond() >= 1_000_000_000 {
    return Err(invalid(
      "is a leap second (:60), which JavaScript's Date cannot read".into(),
    ));
  }
  Ok(time)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn s(v: &str) -> Option<Value> {
    Some(Value::String(v.to_string()))
  }

  fn event(category: &str, action: &str, properties: &[(&str, Value)]) -> EventInput {
    EventInput {
      room_id: s("room-1"),
      category: s(category),
      action: s(action),
      properties: Some(PropertiesInput::Object(
        properties
          .iter()
          .map(|(k, v)| (k.to_string(), v.clone()))
          .collect(),
      )),
      ..Default::default()
    }
  }

  fn rejection(input: EventInput) -> LoggerError {
    TrackingPlan::built_in().validate(input).unwrap_err()
  }

  #[test]
  fn accepts_a_valid_event_and_derives_event_type() {
    let plan = TrackingPlan::built_in();
    let mut input = event(
      "Chat Session",
      "closed",
      &[("close_method", Value::String("chat window".into()))],
    );
    input.timestamp = s("2022-09-26T19:50:47.225+02:00");
    let valid = plan.validate(input).unwrap();
    assert_eq!(valid.event_type, EventType::CustomerAction);
    assert_eq!(
      valid.timestamp.to_rfc3339(),
      "2022-09-26T17:50:47.225+00:00"
    );
    assert_eq!(valid.tab_id, "");

    let agent_closed = plan.validate(event(
      "Chat Session",
      "closed",
      &[("close_method", Value::String("agent".into()))],
    ));
    assert_eq!(agent_closed.unwrap().event_type, EventType::Session);
  }

  #[test]
  fn an_action_named_by_its_index_validates_as_by_its_names() {
    let plan = TrackingPlan::built_in();
    let timestamp = s("2022-09-26T17:50:47.225Z");
    let mut seen = 0usize;
    for (category, action, id) in plan.action_ids() {
      assert_eq!(ActionId::from_index(id.to_index()), id);
      // Properties that fail: the error, too, must not depend on how the action was named.
      let by_names = EventInput {
        timestamp: timestamp.clone(),
        ..event(category, action, &[("not_in_the_plan", Value::Number(1.0))])
      };
      let by_index = EventInput {
        category: None,
        action: None,
        action_id: Some(id),
        ..by_names.clone()
      };
      assert_eq!(
        plan.validate(by_index).unwrap_err().message,
        plan.validate(by_names).unwrap_err().message
      );
      let by_names = EventInput {
        properties: None,
        ..event(category, action, &[])
      };
      let by_index = EventInput {
        category: None,
        action: None,
        action_id: Some(id),
        ..by_names.clone()
      };
      match (plan.validate(by_names), plan.validate(by_index)) {
        (Ok(a), Ok(b)) => {
          assert_eq!((a.category, a.action, a.action_id), (category, action, id));
          assert_eq!((b.category, b.action, b.action_id), (category, action, id));
        }
        (Err(a), Err(b)) => assert_eq!(a.message, b.message),
        (a, b) => panic!("{category} / {action}: by names {a:?}, by index {b:?}"),
      }
      seen += 1;
    }
    assert_eq!(
      seen,
      plan
        .categories
        .iter()
        .map(|c| c.actions.len())
        .sum::<usize>()
    );

    let beyond = ActionId {
      category: plan.categories.len(),
      action: 0,
    };
    let error = rejection(EventInput {
      action_id: Some(beyond),
      ..event("", "", &[])
    });
    assert_eq!(error.code, ErrorCode::UnknownAction);
    assert!(error
      .message
      .contains("is not in this logger's tracking plan"));
  }

  #[test]
  fn a_plan_too_large_for_an_action_index_is_refused() {
    let categories: Vec<String> = (0..=0xffff)
      .map(|i| format!(r#"{{"category":"c{i}","actions":[]}}"#))
      .collect();
    let json = format!(r#"{{"categories":[{}]}}"#, categories.join(","));
    let error = TrackingPlan::parse(&json, "huge.json").unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidPlan);
    assert!(
      error.message.contains("at most 65535 categories"),
      "{}",
      error.message
    );
  }

  #[test]
  fn properties_come_out_in_plan_order() {
    let plan = TrackingPlan::built_in();
    let valid = plan
      .validate(event(
        "Escalation",
        "successful",
        &[
          ("sf_chat_key", Value::String("k".into())),
          ("queue_time", Value::Number(3.5)),
        ],
      ))
      .unwrap();
    assert_eq!(
      valid.properties,
      vec![
        ("queue_time", PropertyValue::Number(3.5)),
        ("sf_chat_key", PropertyValue::String("k".into()))
      ]
    );
  }

  #[test]
  fn unknown_category_and_action_name_what_is_allowed() {
    let err = rejection(event("Chat", "closed", &[]));
    assert_eq!(err.code, ErrorCode::UnknownCategory);
    assert!(
      err.message.contains("\"Chat\"") && err.message.contains("\"Chat Session\""),
      "{}",
      err.message
    );

    let err = rejection(event("Escalation", "closed", &[]));
    assert_eq!(err.code, ErrorCode::UnknownAction);
    assert!(
      err
        .message
        .contains("\"attempted\", \"failed\" or \"successful\""),
      "{}",
      err.message
    );
  }

  #[test]
  fn property_errors_name_field_value_and_allowed_values() {
    let err = rejection(event(
      "Escalation",
      "failed",
      &[("failure_reason", Value::String("no agent available".into()))],
    ));
    assert_eq!(err.code, ErrorCode::InvalidProperty);
    assert!(
      err.message.contains("properties.failure_reason"),
      "{}",
      err.message
    );
    assert!(
      err.message.contains("\"no agent available\""),
      "{}",
      err.message
    );
    assert!(
      err.message.contains("\"no agents available\""),
      "{}",
      err.message
    );

    let err = rejection(event("Escalation", "failed", &[]));
    assert!(
      err
        .message
        .contains("properties.failure_reason is required"),
      "{}",
      err.message
    );

    let err = rejection(event(
      "Survey",
      "link_clicked",
      &[("url", Value::String("x".into()))],
    ));
    assert!(
      err.message.contains("properties.url") && err.message.contains("takes no properties"),
      "{}",
      err.message
    );

    for bad in [
      Value::Number(-1.0),
      Value::Number(f64::NAN),
      Value::String("3".into()),
      Value::Other("null"),
    ] {
      let err = rejection(event(
        "Escalation",
        "successful",
        &[
          ("queue_time", bad.clone()),
          ("sf_chat_key", Value::String("k".into())),
        ],
      ));
      assert_eq!(err.code, ErrorCode::InvalidProperty, "{bad:?}");
      assert!(
        err
          .message
          .contains("properties.queue_time must be a finite number >= 0"),
        "{}",
        err.message
      );
    }
    let err = rejection(event(
      "Escalation",
      "successful",
      &[
        ("queue_time", Value::Number(1.0)),
        ("sf_chat_key", Value::String(String::new())),
      ],
    ));
    assert!(
      err
        .message
        .contains("properties.sf_chat_key must be a non-empty string"),
      "{}",
      err.message
    );
  }

  #[test]
  fn wrong_types_are_rejected_not_panicked_on() {
    let mut input = event("Survey", "link_clicked", &[]);
    input.room_id = Some(Value::Number(5.0));
    assert_eq!(
      rejection(input).message,
      "roomId must be a non-empty string, got number 5"
    );

    let mut input = event("Survey", "link_clicked", &[]);
    input.room_id = None;
    assert_eq!(rejection(input).code, ErrorCode::InvalidEvent);

    let mut input = event("Survey", "link_clicked", &[]);
    input.properties = Some(PropertiesInput::Other("an array"));
    assert_eq!(
      rejection(input).message,
      "properties must be an object, got an array"
    );

    let mut input = event("Survey", "link_clicked", &[]);
    input.category = Some(Value::Other("null"));
    assert_eq!(rejection(input).code, ErrorCode::UnknownCategory);

    let mut input = event("Survey", "link_clicked", &[]);
    input.tab_id = Some(Value::TooLong(10_000_000));
    assert_eq!(rejection(input).code, ErrorCode::MessageTooLarge);
  }

  #[test]
  fn timestamps() {
    let plan = TrackingPlan::built_in();
    let mut input = event("Survey", "link_clicked", &[]);
    input.timestamp = Some(Value::EpochMillis(1_664_214_647_225.0));
    assert_eq!(
      plan.validate(input).unwrap().timestamp.timestamp_millis(),
      1_664_214_647_225
    );

    for bad in [
      Value::EpochMillis(f64::NAN),
      Value::String("yesterday".into()),
      Value::String("2022-09-26".into()),
      Value::Number(1.0),
      Value::String("2016-12-31T23:59:60.000Z".into()),
      Value::EpochMillis(-62_198_755_200_000.0 - 1.0),
      Value::EpochMillis(253_402_300_800_000.0),
      Value::EpochMillis(8.64e15),
    ] {
      let mut input = event("Survey", "link_clicked", &[]);
      input.timestamp = Some(bad.clone());
      let err = rejection(input);
      assert_eq!(err.code, ErrorCode::InvalidTimestamp, "{bad:?}");
      assert!(err.message.starts_with("timestamp"), "{}", err.message);
    }
  }
}
