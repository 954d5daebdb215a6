//! The types a setting can have ([`Value`]): how each reads an option's JSON and an
//! environment variable's text, and how the docs describe it and show its default.

use super::row::Setting;
use crate::error::{one_of, quote};
use crate::options::{self, PathOrObject, WholeNumber};
use crate::sink::SinkConfig;
use serde::de::DeserializeOwned;
use serde_json::{json, Value as Json};
use std::net::IpAddr;

/// A type a setting can have: how an option's JSON and an environment variable's text become
/// one, and how the docs describe it.
pub trait Value: Sized + 'static {
  /// Whether `null` in the options counts as not given (else it is refused as a wrong type).
  const NULL_IS_ABSENT: bool = true;
  /// From the option's value; the message names the option.
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String>;
  /// From the environment variable `var`'s text; the message names the variable.
  fn from_env(text: &str, var: &str, setting: &Setting<Self>) -> std::result::Result<Self, String>;
  /// The type as the docs see it: `{"type": "whole", "min": 0, "max": 10, "allowed": ...,
  /// "ts": "number"}` (`ts`, the TypeScript type, where the type alone decides it).
  fn kind(setting: &Setting<Self>) -> Json;
  /// A default value as the docs show it.
  fn show(&self, setting: &Setting<Self>) -> String;
}

fn not_allowed(var: &str, text: &str, allowed: &str) -> String {
  format!("{var} {} is not allowed; allowed: {allowed}", quote(text))
}

impl Value for String {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, _: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    Ok(text.to_string())
  }

  fn kind(_: &Setting<Self>) -> Json {
    json!({ "type": "text", "ts": "string" })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    self.clone()
  }
}

impl<const MIN: u64, const MAX: u64> Value for WholeNumber<MIN, MAX> {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, var: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    match text.trim().parse::<u64>() {
      Ok(n) if (MIN..=MAX).contains(&n) => Ok(WholeNumber(n)),
      _ => Err(not_allowed(var, text, &Self::allowed())),
    }
  }

  fn kind(setting: &Setting<Self>) -> Json {
    json!({
      "type": "whole",
      "min": MIN,
      "max": MAX,
      "allowed": Self::allowed(),
      "range": format!("{} to {}", shown_number(setting.key, MIN), shown_number(setting.key, MAX)),
      "ts": "number",
    })
  }

  fn show(&self, setting: &Setting<Self>) -> String {
    shown_number(setting.key, self.0)
  }
}

/// A number as the docs show it: byte counts (keys ending in `Bytes`) in the largest binary
/// unit they are a whole number of, from MiB.
fn shown_number(key: &str, n: u64) -> String {
  const UNITS: [(&str, u32); 4] = [("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20)];
  let unit = UNITS
    .iter()
    .find(|(_, shift)| key.ends_with("Bytes") && n >= 1 << shift && n.is_multiple_of(1 << shift));
  match unit {
    Some((name, shift)) => format!("{} {name}", n >> shift),
    None => n.to_string(),
  }
}

impl Value for bool {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, var: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    match text.trim() {
      "" | "0" | "false" => Ok(false),
      "1" | "true" => Ok(true),
      other => Err(not_allowed(var, other, r#""true", "1", "false" or "0""#)),
    }
  }

  fn kind(_: &Setting<Self>) -> Json {
    json!({ "type": "switch", "ts": "boolean" })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    self.to_string()
  }
}

/// A list; in the environment, separated by commas or spaces.
impl Value for Vec<String> {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, _: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    Ok(
      text
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect(),
    )
  }

  fn kind(_: &Setting<Self>) -> Json {
    json!({ "type": "list", "ts": "string[]" })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    self.join(", ")
  }
}

const ADDRESS: &str = "an IPv4 or IPv6 address such as 127.0.0.1, ::1 or 0.0.0.0";

/// An IP address: from the environment too, the message names the option.
impl Value for IpAddr {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    let text: String = options::from_json(value, setting.key, &[])?;
    Self::from_env(&text, "", setting)
  }

  fn from_env(text: &str, _: &str, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    text.trim().parse().map_err(|_| {
      format!(
        "{} {} is not an IP address; allowed: {ADDRESS}",
        setting.key,
        quote(text)
      )
    })
  }

  fn kind(_: &Setting<Self>) -> Json {
    json!({ "type": "address", "allowed": ADDRESS, "ts": "string" })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    self.to_string()
  }
}

/// A path, or the parsed object (the environment gives a path); `null` is refused.
impl Value for PathOrObject {
  const NULL_IS_ABSENT: bool = false;

  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::path_or_object(
      value,
      setting.key,
      setting.takes.unwrap_or("a path or an object"),
    )
  }

  fn from_env(text: &str, _: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    Ok(PathOrObject::Path(text.to_string()))
  }

  fn kind(setting: &Setting<Self>) -> Json {
    json!({ "type": "path-or-object", "allowed": setting.takes })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    match self {
      PathOrObject::Path(path) => path.clone(),
      PathOrObject::Object(object) => object.to_string(),
    }
  }
}

impl Value for SinkConfig {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, _: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    SinkConfig::from_env(text)
  }

  fn kind(_: &Setting<Self>) -> Json {
    json!({ "type": "sink", "allowed": SinkConfig::env_forms() })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    self.kind().to_string()
  }
}

/// Options passed on whole (the relay's `logger`, read as `init()` reads its options).
impl Value for Json {
  fn from_option(value: &Json, _: &Setting<Self>) -> std::result::Result<Self, String> {
    Ok(value.clone())
  }

  fn from_env(text: &str, _: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    Ok(Json::String(text.to_string()))
  }

  fn kind(_: &Setting<Self>) -> Json {
    json!({ "type": "object" })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    self.to_string()
  }
}

/// One of a few names: an enum of unit variants that serde reads by name.
pub trait Choice: DeserializeOwned + PartialEq + 'static {}

impl<T: Choice> Value for T {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    options::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, var: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    let text = text.trim();
    options::from_json(&Json::String(text.to_string()), var, &[])
      .map_err(|_| not_allowed(var, text, &one_of(options::variants::<T>().iter().copied())))
  }

  fn kind(_: &Setting<Self>) -> Json {
    let names = options::variants::<T>();
    let ts: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
    json!({
      "type": "choice",
      "choices": names,
      "allowed": one_of(names.iter().copied()),
      "ts": ts.join(" | "),
    })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    let named = |name: &&str| options::from_json::<T>(&Json::String(name.to_string()), "", &[]);
    options::variants::<T>()
      .iter()
      .find(|name| named(name).is_ok_and(|value| value == *self))
      .map_or_else(String::new, |name| name.to_string())
  }
}

impl<const MIN: u64, const MAX: u64> WholeNumber<MIN, MAX> {
  fn allowed() -> String {
    format!("a whole number from {MIN} to {MAX}")
  }
}
