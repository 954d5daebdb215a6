//! Options are parsed by serde derive (`deny_unknown_fields`); this turns what serde found
//! wrong into messages that name the field, the value and what is allowed, and holds the small
//! value types the options share.

mod json_deserializer;

use crate::error::{one_of, quote};
use json_deserializer::JsonDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, Expected, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;
use serde_path_to_error::Segment;
use std::fmt;

/// Longest piece of a rejected value echoed back in a message.
const MAX_ECHO_CHARS: usize = 100;

/// Deserializes `value` as `T`. On error, a message whose field names start at `base`
/// (`"sink"` makes `path` read `sink.path`); `implicit` fields are valid beside `T`'s own
/// (a tag read before `T`, such as `kind`).
pub fn from_json<T: DeserializeOwned>(
  value: &Json,
  base: &str,
  implicit: &[&str],
) -> Result<T, String> {
  serde_path_to_error::deserialize(JsonDeserializer::<OptionsError>::new(value)).map_err(|error| {
    let path: Vec<String> = error.path().iter().map(|s| s.to_string()).collect();
    let field = std::iter::once(base)
      .chain(path.iter().map(String::as_str))
      .filter(|s| !s.is_empty())
      .collect::<Vec<_>>()
      .join(".");
    let last_key = match error.path().iter().next_back() {
      Some(Segment::Map { key }) => Some(key.clone()),
      _ => None,
    };
    explain(&field, last_key.as_deref(), error.into_inner(), implicit)
  })
}

/// A path or an object (`expecting` completes "must be ..."), the message naming `field`.
pub fn path_or_object(
  value: &Json,
  field: &str,
  expecting: &'static str,
) -> Result<PathOrObject, String> {
  PathOrObject::deserialize_as(JsonDeserializer::<OptionsError>::new(value), expecting)
    .map_err(|error| explain(field, None, error, &[]))
}

/// The names of an enum's unit variants, as serde reads them (from the error for a name that
/// is none of them).
pub fn variants<T: DeserializeOwned>() -> &'static [&'static str] {
  match T::deserialize(JsonDeserializer::<OptionsError>::new(&Json::String(
    String::new(),
  ))) {
    Err(OptionsError::UnknownVariant { allowed, .. }) => allowed,
    _ => &[],
  }
}

/// What serde found wrong, as data: serde's own messages are prose, and reading them back
/// would break silently when their wording changes.
#[derive(Debug)]
enum OptionsError {
  UnknownField {
    name: String,
    allowed: &'static [&'static str],
  },
  UnknownVariant {
    value: String,
    allowed: &'static [&'static str],
  },
  MissingField(&'static str),
  /// A value of the wrong type, or of the right type but not allowed.
  Mismatch {
    got: String,
    expected: String,
  },
  /// Our own messages (a type's range check, a nested option's whole message), and the rest
  /// serde reports as text (a wrong length, a duplicate field).
  Custom(String),
}

impl de::Error for OptionsError {
  fn custom<T: fmt::Display>(message: T) -> Self {
    OptionsError::Custom(message.to_string())
  }

  fn invalid_type(got: Unexpected, expected: &dyn Expected) -> Self {
    OptionsError::Mismatch {
      got: shown(got),
      expected: expected.to_string(),
    }
  }

  fn invalid_value(got: Unexpected, expected: &dyn Expected) -> Self {
    Self::invalid_type(got, expected)
  }

  fn unknown_variant(value: &str, allowed: &'static [&'static str]) -> Self {
    OptionsError::UnknownVariant {
      value: value.to_string(),
      allowed,
    }
  }

  fn unknown_field(name: &str, allowed: &'static [&'static str]) -> Self {
    OptionsError::UnknownField {
      name: name.to_string(),
      allowed,
    }
  }

  fn missing_field(name: &'static str) -> Self {
    OptionsError::MissingField(name)
  }
}

impl std::error::Error for OptionsError {}

/// For serde's `Error` bound only: messages are written by [`explain`].
impl fmt::Display for OptionsError {
  fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
    match self {
      OptionsError::UnknownField { name, .. } => write!(f, "unknown field {}", quote(name)),
      OptionsError::UnknownVariant { value, .. } => write!(f, "unknown variant {}", quote(value)),
      OptionsError::MissingField(name) => write!(f, "missing field {}", quote(name)),
      OptionsError::Mismatch { got, expected } => write!(f, "expected {expected}, got {got}"),
      OptionsError::Custom(message) => f.write_str(message),
    }
  }
}

/// A value given in place of another, in JSON's words: null, and a number as JSON writes it;
/// serde's words for the rest (an integer, a string or a boolean with its value, a sequence, a
/// map), as serde_json says them.
fn shown(got: Unexpected) -> String {
  match got {
    Unexpected::Unit => "null".to_string(),
    Unexpected::Float(value) => match serde_json::Number::from_f64(value) {
      Some(number) => format!("floating point `{number}`"),
      None => got.to_string(),
    },
    other => other.to_string(),
  }
}

/// The message for `error` at `field`; `last_key` is the last key of its path.
fn explain(field: &str, last_key: Option<&str>, error: OptionsError, implicit: &[&str]) -> String {
  let join = |parent: &str, name: &str| {
    if parent.is_empty() {
      name.to_string()
    } else {
      format!("{parent}.{name}")
    }
  };
  match error {
    OptionsError::UnknownField { name, allowed } => {
      // The path of an unknown field ends with the field itself.
      let unknown = if last_key == Some(name.as_str()) {
        field.to_string()
      } else {
        join(field, &name)
      };
      format!(
        "unknown option {}; allowed: {}",
        quote(&unknown),
        one_of(allowed.iter().chain(implicit).copied())
      )
    }
    OptionsError::UnknownVariant { value, allowed } => format!(
      "{field} {} is unknown; allowed: {}",
      quote(&value),
      one_of(allowed.iter().copied())
    ),
    OptionsError::MissingField(name) => format!("{} is required", join(field, name)),
    OptionsError::Mismatch { got, expected } => {
      format!("{field} must be {expected}, got {}", shorten(&got))
    }
    // Our own messages name their field already (nested options, parsed by a sink), or follow it.
    OptionsError::Custom(message) => {
      if message.starts_with(field) || message.starts_with("unknown option ") {
        message
      } else {
        format!("{field} {message}")
      }
    }
  }
}

fn shorten(text: &str) -> String {
  match text.char_indices().nth(MAX_ECHO_CHARS) {
    Some((cut, _)) => format!("{}…", &text[..cut]),
    None => text.to_string(),
  }
}

/// A whole number from `MIN` to `MAX`. Accepts any JSON number that is one (JavaScript has
/// only doubles, so `2 ** 32` may arrive as `4294967296.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeNumber<const MIN: u64, const MAX: u64>(pub u64);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for WholeNumber<MIN, MAX> {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
    struct Whole<const MIN: u64, const MAX: u64>;
    impl<const MIN: u64, const MAX: u64> Whole<MIN, MAX> {
      fn check<E: de::Error>(shown: impl fmt::Display, value: Option<u64>) -> Result<u64, E> {
        match value {
          Some(v) if (MIN..=MAX).contains(&v) => Ok(v),
          _ => Err(E::custom(format!(
            "{shown} is out of range; allowed: a whole number from {MIN} to {MAX}"
          ))),
        }
      }
    }
    impl<const MIN: u64, const MAX: u64> Visitor<'_> for Whole<MIN, MAX> {
      type Value = u64;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number from {MIN} to {MAX}")
      }
      fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Self::check(v, Some(v))
      }
      fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        Self::check(v, u64::try_from(v).ok())
      }
      fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        let whole = (v.fract() == 0.0 && v >= 0.0 && v < u64::MAX as f64).then_some(v as u64);
        Self::check(v, whole)
      }
    }
    deserializer
      .deserialize_any(Whole::<MIN, MAX>)
      .map(WholeNumber)
  }
}

/// A value given either as a path to a JSON file or as the parsed JSON object itself.
#[derive(Debug, Clone, PartialEq)]
pub enum PathOrObject {
  Path(String),
  Object(Json),
}

impl PathOrObject {
  /// Deserializes a path or an object; `expecting` completes "must be ...".
  pub fn deserialize_as<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
  ) -> Result<Self, D::Error> {
    struct PathOrObjectVisitor(&'static str);
    impl<'de> Visitor<'de> for PathOrObjectVisitor {
      type Value = PathOrObject;
      fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
      }
      fn visit_str<E: de::Error>(self, v: &str) -> Result<PathOrObject, E> {
        Ok(PathOrObject::Path(v.to_string()))
      }
      fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<PathOrObject, A::Error> {
        let object = serde_json::Map::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(PathOrObject::Object(Json::Object(object)))
      }
    }
    deserializer.deserialize_any(PathOrObjectVisitor(expecting))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  #[derive(Debug, Deserialize)]
  #[serde(deny_unknown_fields, rename_all = "camelCase")]
  #[allow(dead_code)]
  struct Sample {
    name: Option<String>,
    count: Option<WholeNumber<1, 10>>,
    nested: Option<Nested>,
  }

  #[derive(Debug, Deserialize)]
  #[serde(deny_unknown_fields)]
  #[allow(dead_code)]
  struct Nested {
    path: String,
  }

  fn error(value: Json) -> String {
    from_json::<Sample>(&value, "", &[]).unwrap_err()
  }

  #[test]
  fn messages_name_the_field_the_value_and_what_is_allowed() {
    assert_eq!(
      error(json!({"nmae": "x"})),
      "unknown option \"nmae\"; allowed: \"name\", \"count\" or \"nested\""
    );
    assert_eq!(
      error(json!({"nested": {"path": "p", "x": 1}})),
      "unknown option \"nested.x\"; allowed: \"path\""
    );
    assert_eq!(error(json!({"nested": {}})), "nested.path is required");
    assert_eq!(
      error(json!({"a.b": 1})),
      "unknown option \"a.b\"; allowed: \"name\", \"count\" or \"nested\""
    );
    assert_eq!(
      error(json!({"name": 5})),
      "name must be a string, got integer `5`"
    );
    assert_eq!(
      error(json!({"count": 11})),
      "count 11 is out of range; allowed: a whole number from 1 to 10"
    );
    assert_eq!(
      error(json!({"count": -1})),
      "count -1 is out of range; allowed: a whole number from 1 to 10"
    );
    assert_eq!(
      error(json!({"count": 2.5})),
      "count 2.5 is out of range; allowed: a whole number from 1 to 10"
    );
    assert_eq!(
      error(json!({"count": "many"})),
      "count must be a whole number from 1 to 10, got string \"many\""
    );
    assert_eq!(
      error(json!({"name": ["x"]})),
      "name must be a string, got sequence"
    );
  }

  #[derive(Debug, Deserialize)]
  #[serde(deny_unknown_fields, rename_all = "lowercase")]
  #[allow(dead_code)]
  enum Policy {
    Spool,
    Drop,
  }

  #[derive(Debug, Deserialize)]
  #[serde(deny_unknown_fields)]
  #[allow(dead_code)]
  struct WithChoice {
    policy: Option<Policy>,
    ratio: Option<f64>,
    nested: Option<Nested>,
  }

  #[test]
  fn choices_nulls_and_floats_are_named_as_json_names_them() {
    let error = |value: Json| from_json::<WithChoice>(&value, "base", &["kind"]).unwrap_err();
    assert_eq!(
      error(json!({"policy": "keep"})),
      "base.policy \"keep\" is unknown; allowed: \"spool\" or \"drop\""
    );
    assert_eq!(
      error(json!({"policy": 2.5})),
      "base.policy must be string or map, got floating point `2.5`"
    );
    assert_eq!(
      error(json!({"policy": {"spool": null, "drop": null}})),
      "base.policy must be map with a single key, got map"
    );
    assert_eq!(
      error(json!({"ratio": "x"})),
      "base.ratio must be f64, got string \"x\""
    );
    assert_eq!(
      error(json!({"nested": null, "policy": {"spool": 0.5}})),
      "base.policy.spool must be unit, got floating point `0.5`"
    );
    assert_eq!(
      error(json!({"nested": {"path": null}})),
      "base.nested.path must be a string, got null"
    );
    assert_eq!(
      error(json!({"extra": 1})),
      "unknown option \"base.extra\"; allowed: \"policy\", \"ratio\", \"nested\" or \"kind\""
    );
    let long = "x".repeat(MAX_ECHO_CHARS + 1);
    assert_eq!(
      error(json!({ "ratio": long })),
      format!(
        "base.ratio must be f64, got string \"{}…",
        &long[..MAX_ECHO_CHARS - 8]
      )
    );
  }

  #[test]
  fn whole_numbers_beyond_32_bits_and_as_doubles() {
    let big: WholeNumber<0, { 1 << 40 }> = serde_json::from_value(json!(4294967296.0)).unwrap();
    assert_eq!(big.0, 1 << 32);
  }
}
