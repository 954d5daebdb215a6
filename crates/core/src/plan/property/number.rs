use super::{changes_type, Checked, PropertyType, PropertyValue};
use crate::plan::validate::Value;
use serde::Deserialize;

/// `"type": "number"`: a finite number, at least `minimum` when the plan gives one (no
/// minimum: any finite number).
#[derive(Debug, Clone, Deserialize)]
pub struct NumberType {
  pub minimum: Option<f64>,
}

impl PropertyType for NumberType {
  fn describe(&self) -> String {
    match self.minimum {
      Some(min) => format!("a finite number >= {min}"),
      None => "a finite number".to_string(),
    }
  }

  fn check(&self, value: Value) -> Result<Checked, Value> {
    match value {
      Value::Number(n) if n.is_finite() && self.minimum.is_none_or(|min| n >= min) => {
        Ok(PropertyValue::Number(n).into())
      }
      other => Err(other),
    }
  }

  fn check_declaration(&self) -> Result<(), String> {
    match self.minimum {
      Some(min) if !min.is_finite() => Err("has a non-finite minimum".to_string()),
      _ => Ok(()),
    }
  }

  fn merge(&mut self, other: Self, property: &str) -> Result<(), String> {
    if self.minimum == other.minimum {
      Ok(())
    } else {
      Err(changes_type(property))
    }
  }
}

/// Whole numbers are written without a fraction (42, not 42.0) while exact as integers.
pub(super) fn write_json(n: f64, out: &mut Vec<u8>) {
  if n.fract() == 0.0 && n.abs() < 9.0e15 {
    serde_json::to_writer(out, &(n as i64)).expect("an integer serializes")
  } else {
    serde_json::to_writer(out, &n).expect("a finite number serializes")
  }
}
