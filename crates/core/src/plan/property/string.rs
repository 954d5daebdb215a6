use super::{Checked, PropertyType, PropertyValue};
use crate::plan::validate::Value;
use serde::Deserialize;

/// `"type": "string"`: a non-empty string.
#[derive(Debug, Clone, Deserialize)]
pub struct StringType {}

impl PropertyType for StringType {
  fn describe(&self) -> String {
    "a non-empty string".to_string()
  }

  fn validate(&self, value: Value) -> Result<Checked, Value> {
    match value {
      Value::String(s) if !s.is_empty() => Ok(PropertyValue::String(s).into()),
      other => Err(other),
    }
  }

  fn merge(&mut self, _other: Self, _property: &str) -> Result<(), String> {
    Ok(())
  }
}
