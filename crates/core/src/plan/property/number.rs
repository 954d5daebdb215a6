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

  fn validate(&self, value: Value) -> Result<Checked, Value> {
    match value {
      Value::Number(n) if n.is_finite() && self.minimum.is_none_or(|min| n >= min) => {
        Ok(PropertyValue::Number(n).into())
      }
      other => Err(other),
    }
  }

  fn verify_declaration(&self) -> Result<(), String> {
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

/// Whole numbers are written without a fraction (42, not 42.0), every digit of them: a
/// finite double that is whole is an exact integer, which JavaScript reads back unchanged.
pub(super) fn write_json(n: f64, out: &mut Vec<u8>) {
  const I64_BOUND: f64 = 9_223_372_036_854_775_808.0; // 2^63, exact as an f64
  if n.fract() != 0.0 {
    serde_json::to_writer(out, &n).expect("a finite number serializes")
  } else if n.abs() < I64_BOUND {
    serde_json::to_writer(out, &(n as i64)).expect("an integer serializes")
  } else {
    use std::io::Write;
    write!(out, "{n:.0}").expect("writing to a Vec cannot fail")
  }
}

#[cfg(test)]
mod tests {
  use super::write_json;

  fn written(n: f64) -> String {
    let mut out = Vec::new();
    write_json(n, &mut out);
    String::from_utf8(out).unwrap()
  }

  #[test]
  fn whole_numbers_have_no_fraction_at_any_size() {
    assert_eq!(written(42.0), "42");
    assert_eq!(written(-0.0), "0");
    assert_eq!(written(9e15), "9000000000000000");
    assert_eq!(written(2f64.powi(53) + 2.0), "9007199254740994");
    assert_eq!(written(1.5), "1.5");
    for n in [1e19, 1e20, 1.7976931348623157e308] {
      let text = written(n);
      assert!(!text.contains('.'), "{text}");
      assert_eq!(text.parse::<f64>().unwrap(), n, "{text}");
    }
  }
}
