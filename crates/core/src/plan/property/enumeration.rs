use super::{Checked, PropertyType, PropertyValue};
use crate::error::{one_of, quote};
use crate::plan::validate::Value;
use crate::plan::EventType;
use serde::Deserialize;

/// `"type": "enum"`: one of a fixed list of strings.
#[derive(Debug, Clone, Deserialize)]
pub struct EnumType {
  pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnumValue {
  pub value: String,
  /// Overrides the action's event type for events carrying this value.
  #[serde(rename = "eventType")]
  pub event_type: Option<EventType>,
  /// Who sends events carrying this value, when the action does not say.
  #[serde(default)]
  pub sources: Vec<String>,
}

impl EnumType {
  fn allowed(&self) -> String {
    one_of(self.values.iter().map(|v| v.value.as_str()))
  }
}

impl PropertyType for EnumType {
  fn describe(&self) -> String {
    format!("one of {}", self.allowed())
  }

  fn validate(&self, value: Value) -> Result<Checked, Value> {
    let matched = match &value {
      Value::String(s) => self.values.iter().find(|v| &v.value == s),
      _ => None,
    };
    match matched {
      Some(allowed) => Ok(Checked {
        value: PropertyValue::String(allowed.value.clone()),
        event_type: allowed.event_type,
      }),
      None => Err(value),
    }
  }

  fn reject(&self, field: &str, shown: &str, event: &str) -> String {
    format!(
      "{field} {shown} is not allowed for {event}; allowed: {}",
      self.allowed()
    )
  }

  fn verify_declaration(&self) -> Result<(), String> {
    if self.values.is_empty() {
      return Err("has no values".to_string());
    }
    for (i, value) in self.values.iter().enumerate() {
      if self.values[..i]
        .iter()
        .any(|other| other.value == value.value)
      {
        return Err(format!("lists {} twice", quote(&value.value)));
      }
    }
    Ok(())
  }

  /// New values are added; a value already there keeps its event type.
  fn merge(&mut self, other: Self, _property: &str) -> Result<(), String> {
    for new_value in other.values {
      match self.values.iter().find(|v| v.value == new_value.value) {
        Some(existing) if existing.event_type != new_value.event_type => {
          return Err(format!(
            "it changes the eventType of {}",
            quote(&new_value.value)
          ));
        }
        Some(_) => {}
        None => self.values.push(new_value),
      }
    }
    Ok(())
  }
}
