//! Options are parsed by serde derive (`deny_unknown_fields`); this turns serde's errors into
//! messages that name the field, the value and what is allowed, and holds the small value
//! types the options share.

use crate::error::{one_of, quote};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value as Json;
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
  serde_path_to_error::deserialize(value).map_err(|error| {
    let path: Vec<String> = error.path().iter().map(|s| s.to_string()).collect();
    let field = std::iter::once(base)
      .chain(path.iter().map(String::as_str))
      .filter(|s| !s.is_empty())
      .collect::<Vec<_>>()
      .join(".");
    explain(&field, &error.inner().to_string(), implicit)
  })
}

/// Rewrites one of serde's messages (`serde::de::Error`'s default texts) for `field`.
fn explain(field: &str, message: &str, implicit: &[&str]) -> String {
  let join = |parent: &str, name: &str| {
    if parent.is_empty() {
      name.to_string()
    } else {
      format!("{parent}.{name}")
    }
  };
  if let Some((name, expected)) = split_named(message, "unknown field `") {
    let mut allowed = backticked(&expected);
    allowed.extend(implicit.iter().map(|s| s.to_string()));
    // The path of an unknown field ends with the field itself.
    let unknown = if field.ends_with(&name) {
      field.to_string()
    } else {
      join(field, &name)
    };
    return format!(
      "unknown option {}; allowed: {}",
      quote(&unknown),
      one_of(allowed.iter().map(String::as_str))
    );
  }
  if let Some((value, expected)) = split_named(message, "unknown variant `") {
    return format!(
      "{field} {} is unknown; allowed: {}",
      quote(&value),
      one_of(backticked(&expected).iter().map(String::as_str))
    );
  }
  if let Some(name) = message
    .strip_prefix("missing field `")
    .and_then(|rest| rest.strip_suffix('`'))
  {
    return format!("{} is required", join(field, name));
  }
  for prefix in ["invalid type: ", "invalid value: "] {
    if let Some((got, expected)) = message
      .strip_prefix(prefix)
      .and_then(|rest| rest.rsplit_once(", expected "))
    {
      return format!("{field} must be {expected}, got {}", shorten(got));
    }
  }
  // Our own messages name their field already (nested options, parsed by a sink), or follow it.
  if message.starts_with(field) || message.starts_with("unknown option ") {
    message.to_string()
  } else {
    format!("{field} {message}")
  }
}

/// `"unknown field `x`, expected ..."` with `prefix` = `"unknown field `"`: `("x", "expected ...")`.
fn split_named(message: &str, prefix: &str) -> Option<(String, String)> {
  let rest = message.strip_prefix(prefix)?;
  let (name, tail) = rest
    .rsplit_once("`, expected ")
    .or_else(|| rest.rsplit_once("`, there are no "))?;
  Some((name.to_string(), tail.to_string()))
}

/// The names serde lists between backticks.
fn backticked(text: &str) -> Vec<String> {
  text
    .split('`')
    .skip(1)
    .step_by(2)
    .map(str::to_string)
    .collect()
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

  #[test]
  fn whole_numbers_beyond_32_bits_and_as_doubles() {
    let big: WholeNumber<0, { 1 << 40 }> = serde_json::from_value(json!(4294967296.0)).unwrap();
    assert_eq!(big.0, 1 << 32);
  }
}
