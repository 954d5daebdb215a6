//! Property types. Each file holds one type: how the plan declares it, how it is described
//! in messages, how a value is checked, and how it is written into the message JSON. Adding
//! a type is a file here, one line in `property_types!` below, and one entry in
//! `PROPERTY_TYPES` of scripts/generate-plan.mjs (its TypeScript type and rule text; a test
//! checks that the rule text is [`PropertyType::describe`]'s).

mod enumeration;
mod number;
mod string;

pub use enumeration::{EnumType, EnumValue};
pub use number::NumberType;
pub use string::StringType;

use super::validate::Value;
use super::EventType;
use crate::wire::push_json_str;
use serde::Deserialize;

/// What one property type knows.
pub trait PropertyType {
  /// What a valid value is, completing "must be ...": `a finite number >= 0`.
  fn describe(&self) -> String;

  /// The value as the message holds it, or the value back when it is not allowed. An enum
  /// value may also decide the event's type.
  fn validate(&self, value: Value) -> Result<Checked, Value>;

  /// The message for a value that is not allowed; `shown` describes it.
  fn reject(&self, field: &str, shown: &str, _event: &str) -> String {
    format!("{field} must be {}, got {shown}", self.describe())
  }

  /// What is wrong with the plan's declaration, completing "property X ...".
  fn verify_declaration(&self) -> Result<(), String> {
    Ok(())
  }

  /// Takes an extension's declaration of the same property; what it may not change, completing
  /// "an extension may only add enum values, but ...".
  fn merge(&mut self, other: Self, property: &str) -> Result<(), String>
  where
    Self: Sized;
}

/// A checked value and, for enum values that say so, the event type it implies.
pub struct Checked {
  pub value: PropertyValue,
  pub event_type: Option<EventType>,
}

impl From<PropertyValue> for Checked {
  fn from(value: PropertyValue) -> Self {
    Checked {
      value,
      event_type: None,
    }
  }
}

/// A property value that passed the plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
  String(String),
  Number(f64),
}

impl PropertyValue {
  pub fn write_json(&self, out: &mut Vec<u8>) {
    match self {
      PropertyValue::String(s) => push_json_str(out, s),
      PropertyValue::Number(n) => number::write_json(*n, out),
    }
  }

  /// Bytes the value takes in the message, about: to size the buffer once.
  pub fn json_len_hint(&self) -> usize {
    match self {
      PropertyValue::String(s) => s.len() + 2,
      PropertyValue::Number(_) => 24,
    }
  }
}

macro_rules! property_types {
  ($($tag:literal => $variant:ident($type:ty),)*) => {
    /// What a property accepts, by its `type` in the plan.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(tag = "type")]
    pub enum PropertyKind {
      $(#[serde(rename = $tag)] $variant($type),)*
    }

    impl PropertyKind {
      pub fn as_type(&self) -> &dyn PropertyType {
        match self {
          $(PropertyKind::$variant(t) => t,)*
        }
      }

      /// Takes an extension's declaration; a different type is refused.
      pub fn merge(&mut self, other: PropertyKind, property: &str) -> Result<(), String> {
        match (self, other) {
          $((PropertyKind::$variant(mine), PropertyKind::$variant(theirs)) => mine.merge(theirs, property),)*
          #[allow(unreachable_patterns)]
          _ => Err(changes_type(property)),
        }
      }
    }
  };
}

// The property types. A new type is a file of its own plus one line here.
property_types! {
  "enum" => Enum(EnumType),
  "string" => String(StringType),
  "number" => Number(NumberType),
}

fn changes_type(property: &str) -> String {
  format!(
    "it changes the type of property {}",
    crate::error::quote(property)
  )
}
