//! Each setting once: its option key, environment variable, `serve` flag, type and range,
//! default and doc line, in one row ([`Setting`]). `init()` (`LoggerConfig`), `serve()`
//! (`RelayConfig`) and the operator's commands read every setting through [`Sources`]: the
//! option, else the environment variable, else the default. `sns-logger serve` takes its flags
//! from the rows, and its usage text, the README's option tables and the options of index.d.ts
//! are written from them ([`describe`], the addon's `settings()`; cli/settings.js and
//! scripts/generate-settings-docs.mjs).
//!
//! A new setting is one row in a [`settings!`](crate::settings) list, plus the code that uses
//! its value (then `npm run generate:settings`).

use super::parse::{self, PathOrObject, WholeNumber};
use super::{Durability, Fsync, OverflowPolicy};
use crate::error::{one_of, quote, ErrorCode, LoggerError, Result};
use crate::sink::{SinkConfig, SnsOptions};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value as Json};
use std::net::IpAddr;

crate::settings! {
  /// `init()`'s options, in the order messages list them.
  pub const LOGGER_SETTINGS = [
    SITE_URL: String = Setting {
      key: "siteUrl",
      env: Some("SNS_LOGGER_SITE_URL"),
      default: Fallback::Otherwise("required"),
      doc: "the Rocket.Chat site URL; becomes MessageGroupId (1-128 printable ASCII characters)",
      ..Setting::BLANK
    };
    DF_CONFIG: PathOrObject = Setting {
      key: "dfConfig",
      env: Some("SNS_LOGGER_DF_CONFIG"),
      default: Fallback::Otherwise("required"),
      doc: "the agents and their SNS topics: the path to df_config.json, or its parsed object; the environment variable is a path",
      takes: Some("a path to df_config.json or its parsed object"),
      ts: Some("string | DfConfig"),
      ..Setting::BLANK
    };
    SINK: SinkConfig = Setting {
      key: "sink",
      env: Some("SNS_LOGGER_SINK"),
      default: Fallback::Value(SinkConfig::Sns(SnsOptions::DEFAULT)),
      doc: "where events go: { kind: 'sns', region?, endpoint? }, { kind: 'file', path } or { kind: 'memory' }; the environment variable is sns, file:PATH or memory",
      ts: Some("SinkOptions"),
      ..Setting::BLANK
    };
    PLAN_EXTENSION: PathOrObject = Setting {
      key: "planExtension",
      env: Some("SNS_LOGGER_PLAN_EXTENSION"),
      doc: "extra events or enum values: a plan file shaped like plan/tracking-plan.json, its path or its object; the environment variable is a path",
      takes: Some("a path to a plan file or its parsed object"),
      ts: Some("string | object"),
      ..Setting::BLANK
    };
    LINGER_MS: WholeNumber<0, 60_000> = Setting {
      key: "lingerMs",
      default: Fallback::Value(WholeNumber(5)),
      doc: "how long an event may wait for batch mates before it is sent",
      ..Setting::BLANK
    };
    MAX_QUEUE_EVENTS: WholeNumber<1, { 1 << 32 }> = Setting {
      key: "maxQueueEvents",
      default: Fallback::Value(WholeNumber(100_000)),
      doc: "events held in memory before new ones overflow",
      ..Setting::BLANK
    };
    MAX_QUEUE_BYTES: WholeNumber<{ 1 << 20 }, { 1 << 40 }> = Setting {
      key: "maxQueueBytes",
      default: Fallback::Value(WholeNumber(64 << 20)),
      doc: "bytes of events held in memory before new ones overflow",
      ..Setting::BLANK
    };
    RETRY_BUDGET_MS: WholeNumber<0, { 24 * 3600 * 1000 }> = Setting {
      key: "retryBudgetMs",
      default: Fallback::Value(WholeNumber(30_000)),
      doc: "how long a message group keeps retrying before its events go to the spool",
      ..Setting::BLANK
    };
    ON_OVERFLOW: OverflowPolicy = Setting {
      key: "onOverflow",
      default: Fallback::Value(OverflowPolicy::Spool),
      doc: "what happens to events that do not fit in memory: spool, or drop (counted, reported to onError)",
      ..Setting::BLANK
    };
    SPOOL_DIR: String = Setting {
      key: "spoolDir",
      env: Some("SNS_LOGGER_SPOOL_DIR"),
      default: Fallback::Otherwise(".sns-logger for the sns sink, none for the others"),
      doc: "where the spool and the dead-letter file live (files 0600)",
      ..Setting::BLANK
    };
    DURABILITY: Durability = Setting {
      key: "durability",
      default: Fallback::Value(Durability::Memory),
      doc: "where an accepted event is kept until SNS has it: memory (the spool takes what memory cannot hold and what is left at close or exit), or disk (a background thread writes every event to the spool, the write-ahead log, before it counts as accepted, and deletes it once SNS has it: a crash loses nothing logged before the last write; logEvent stays synchronous, flush() waits for the writes; needs a spool directory)",
      ..Setting::BLANK
    };
    FSYNC: Fsync = Setting {
      key: "fsync",
      default: Fallback::Value(Fsync::None),
      doc: "whether a spool write waits for stable storage: none, it reaches the file (safe from a crash of the process); commit, it is also flushed to stable storage (safe from power loss), slower",
      ..Setting::BLANK
    };
    MAX_SPOOL_BYTES: WholeNumber<{ 1 << 20 }, { 1 << 50 }> = Setting {
      key: "maxSpoolBytes",
      flag: Some("--max-spool-bytes N"),
      default: Fallback::Value(WholeNumber(4 << 30)),
      doc: "the most bytes of events the spool holds; past it new events are refused (counted drops with onError in process, 503 at the relay)",
      ..Setting::BLANK
    };
  ];
}

/// One setting of `init()` or `serve()`. Rows are written as
/// `Setting { key: "port", ..Setting::BLANK }`, naming only what they have.
pub struct Setting<T: 'static> {
  /// The option key (camelCase); messages name the setting by it.
  pub key: &'static str,
  /// The environment variable read when the option is not given.
  pub env: Option<&'static str>,
  /// The `sns-logger serve` flag and the name of its value (`"--port N"`); a switch has none.
  pub flag: Option<&'static str>,
  /// What applies when neither the option nor the environment variable gives it.
  pub default: Fallback<T>,
  /// What it is for, in a line (the usage text, the README and index.d.ts say it).
  pub doc: &'static str,
  /// What a value is, where its type does not say it: completes "must be ...".
  pub takes: Option<&'static str>,
  /// Its TypeScript type, where its type does not decide it (`string | DfConfig`).
  pub ts: Option<&'static str>,
}

/// A setting's default.
pub enum Fallback<T> {
  Value(T),
  /// No value (required, none, or decided from other settings): what it means, as the docs
  /// say it.
  Otherwise(&'static str),
}

impl<T: 'static> Setting<T> {
  /// The fields a row does not name.
  pub const BLANK: Setting<T> = Setting {
    key: "",
    env: None,
    flag: None,
    default: Fallback::Otherwise("none"),
    doc: "",
    takes: None,
    ts: None,
  };

  /// The default value. Panics for a setting without one (a mistake in the code, not in the
  /// input: read such a setting with [`Sources::get`]).
  pub fn default_value(&self) -> T
  where
    T: Clone,
  {
    match &self.default {
      Fallback::Value(value) => value.clone(),
      Fallback::Otherwise(_) => panic!("the setting {} has no default value", self.key),
    }
  }

  /// "siteUrl is required (or set SNS_LOGGER_SITE_URL): {what}".
  pub fn required(&self, what: &str) -> String {
    match self.env {
      Some(var) => format!("{} is required (or set {var}): {what}", self.key),
      None => format!("{} is required: {what}", self.key),
    }
  }
}

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

/// A setting of any type: what checking an options object and the docs need.
pub trait AnySetting {
  fn key(&self) -> &'static str;
  /// Checks an option's value.
  fn check(&self, value: &Json) -> std::result::Result<(), String>;
  /// The row as data: key, env, flag, value (the flag's value name), type, allowed, ts,
  /// default, hasDefault and doc.
  fn describe(&self) -> Json;
}

impl<T: Value> AnySetting for Setting<T> {
  fn key(&self) -> &'static str {
    self.key
  }

  fn check(&self, value: &Json) -> std::result::Result<(), String> {
    if value.is_null() && T::NULL_IS_ABSENT {
      return Ok(());
    }
    T::from_option(value, self).map(drop)
  }

  fn describe(&self) -> Json {
    let (flag, value) = match self.flag.map(|flag| flag.split_once(' ')) {
      None => (None, None),
      Some(None) => (self.flag, None),
      Some(Some((flag, value))) => (Some(flag), Some(value)),
    };
    let default = match &self.default {
      Fallback::Value(value) => value.show(self),
      Fallback::Otherwise(text) => text.to_string(),
    };
    let mut row = json!({
      "key": self.key,
      "env": self.env,
      "flag": flag,
      "value": value,
      "default": default,
      "hasDefault": matches!(self.default, Fallback::Value(_)),
      "doc": self.doc,
    });
    if let (Json::Object(row), Json::Object(kind)) = (&mut row, T::kind(self)) {
      row.extend(kind);
      if let Some(ts) = self.ts {
        row.insert("ts".into(), ts.into());
      }
    }
    row
  }
}

/// The rows of `list` as data, each with its `scope` (`"logger"`, `"relay"`).
pub fn describe(scope: &str, list: &[&dyn AnySetting]) -> Vec<Json> {
  list
    .iter()
    .map(|setting| {
      let mut row = setting.describe();
      if let Json::Object(fields) = &mut row {
        fields.insert("scope".into(), scope.into());
      }
      row
    })
    .collect()
}

/// Defines settings and the list of them: `settings! { pub const LIST = [NAME: Type = row;
/// ...]; }` makes a `pub const NAME: Setting<Type>` of each row and `LIST`, every row in order
/// (the order `unknown option` messages and the docs list them in).
#[macro_export]
macro_rules! settings {
  (
    $(#[$list_meta:meta])*
    $vis:vis const $list:ident = [
      $($(#[$meta:meta])* $name:ident: $ty:ty = $row:expr;)*
    ];
  ) => {
    $($(#[$meta])* $vis const $name: $crate::config::settings::Setting<$ty> = $row;)*
    $(#[$list_meta])*
    $vis const $list: &[&dyn $crate::config::settings::AnySetting] = &[$(&$name),*];
  };
}

fn invalid(message: String) -> LoggerError {
  LoggerError::new(ErrorCode::InvalidOptions, message)
}

/// Where settings come from: an options object (or none) and the environment.
pub struct Sources<'a> {
  options: Option<&'a Map<String, Json>>,
  env: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Sources<'a> {
  /// `options` is an object, `null` or absent; anything else is refused with `not_object`.
  pub fn new(
    options: Option<&'a Json>,
    env: &'a dyn Fn(&str) -> Option<String>,
    not_object: &str,
  ) -> Result<Sources<'a>> {
    let options = match options {
      None | Some(Json::Null) => None,
      Some(Json::Object(object)) => Some(object),
      Some(_) => return Err(invalid(not_object.to_string())),
    };
    Ok(Sources { options, env })
  }

  /// Refuses the first option, in the object's order, that no setting of `list` has or whose
  /// value its setting does not take: every option is checked before any is used.
  pub fn check(&self, list: &[&dyn AnySetting]) -> Result<()> {
    for (key, value) in self.options.into_iter().flatten() {
      let Some(setting) = list.iter().find(|s| s.key() == key) else {
        return Err(invalid(format!(
          "unknown option {}; allowed: {}",
          quote(key),
          one_of(list.iter().map(|s| s.key()))
        )));
      };
      setting.check(value).map_err(invalid)?;
    }
    Ok(())
  }

  /// The option, else the environment variable; `None` when neither gives it.
  pub fn get<T: Value>(&self, setting: &Setting<T>) -> Result<Option<T>> {
    let given = self
      .options
      .and_then(|options| options.get(setting.key))
      .filter(|value| !(value.is_null() && T::NULL_IS_ABSENT));
    if let Some(value) = given {
      return T::from_option(value, setting).map(Some).map_err(invalid);
    }
    match setting.env.and_then(|var| Some((var, (self.env)(var)?))) {
      Some((var, text)) => T::from_env(&text, var, setting).map(Some).map_err(invalid),
      None => Ok(None),
    }
  }

  /// The option, else the environment variable, else the default (the setting must have
  /// one).
  pub fn value<T: Value + Clone>(&self, setting: &Setting<T>) -> Result<T> {
    Ok(match self.get(setting)? {
      Some(value) => value,
      None => setting.default_value(),
    })
  }
}

// ---- the types settings have -------------------------------------------------------------

fn not_allowed(var: &str, text: &str, allowed: &str) -> String {
  format!("{var} {} is not allowed; allowed: {allowed}", quote(text))
}

impl Value for String {
  fn from_option(value: &Json, setting: &Setting<Self>) -> std::result::Result<Self, String> {
    parse::from_json(value, setting.key, &[])
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
    parse::from_json(value, setting.key, &[])
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
    parse::from_json(value, setting.key, &[])
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
    parse::from_json(value, setting.key, &[])
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
    let text: String = parse::from_json(value, setting.key, &[])?;
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
    parse::path_or_object(
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
    parse::from_json(value, setting.key, &[])
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
    parse::from_json(value, setting.key, &[])
  }

  fn from_env(text: &str, var: &str, _: &Setting<Self>) -> std::result::Result<Self, String> {
    let text = text.trim();
    parse::from_json(&Json::String(text.to_string()), var, &[])
      .map_err(|_| not_allowed(var, text, &one_of(parse::variants::<T>().iter().copied())))
  }

  fn kind(_: &Setting<Self>) -> Json {
    let names = parse::variants::<T>();
    let ts: Vec<String> = names.iter().map(|name| format!("'{name}'")).collect();
    json!({
      "type": "choice",
      "choices": names,
      "allowed": one_of(names.iter().copied()),
      "ts": ts.join(" | "),
    })
  }

  fn show(&self, _: &Setting<Self>) -> String {
    let named = |name: &&str| parse::from_json::<T>(&Json::String(name.to_string()), "", &[]);
    parse::variants::<T>()
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

#[cfg(test)]
mod tests {
  use super::*;

  crate::settings! {
    const LIST = [
      COUNT: WholeNumber<1, 10> = Setting {
        key: "count",
        env: Some("COUNT"),
        default: Fallback::Value(WholeNumber(3)),
        ..Setting::BLANK
      };
      POLICY: OverflowPolicy = Setting { key: "policy", env: Some("POLICY"), ..Setting::BLANK };
      SYNC: Fsync = Setting {
        key: "sync",
        default: Fallback::Value(Fsync::Commit),
        ..Setting::BLANK
      };
      SOURCE: PathOrObject = Setting { key: "source", takes: Some("a path to x"), ..Setting::BLANK };
    ];
  }

  fn env(name: &str) -> Option<String> {
    match name {
      "COUNT" => Some(" 7 ".into()),
      "POLICY" => Some("keep".into()),
      _ => None,
    }
  }

  fn sources(options: &Json) -> Sources<'_> {
    Sources::new(Some(options), &env, "not an object").unwrap()
  }

  #[test]
  fn option_then_environment_then_default() {
    let given = json!({ "count": 2 });
    assert_eq!(sources(&given).value(&COUNT).unwrap(), WholeNumber(2));
    let none = json!({ "count": null });
    assert_eq!(sources(&none).value(&COUNT).unwrap(), WholeNumber(7));
    assert_eq!(
      sources(&none).get(&POLICY).unwrap_err().message,
      r#"POLICY "keep" is not allowed; allowed: "spool" or "drop""#
    );
    assert_eq!(sources(&none).value(&SYNC).unwrap(), Fsync::Commit);
    assert_eq!(sources(&none).get(&SOURCE).unwrap(), None);
  }

  #[test]
  fn options_are_checked_in_their_order() {
    let check = |options: Json| sources(&options).check(LIST).unwrap_err().message;
    assert_eq!(
      check(json!({ "count": 11, "bogus": 1 })),
      "count 11 is out of range; allowed: a whole number from 1 to 10"
    );
    assert_eq!(
      check(json!({ "bogus": 1, "count": 11 })),
      r#"unknown option "bogus"; allowed: "count", "policy", "sync" or "source""#
    );
    assert_eq!(
      check(json!({ "source": null })),
      "source must be a path to x, got null"
    );
    assert!(sources(&json!({ "count": null, "policy": "drop" }))
      .check(LIST)
      .is_ok());
  }

  #[test]
  fn rows_describe_themselves() {
    let rows = describe("test", LIST);
    assert_eq!(rows[0]["allowed"], "a whole number from 1 to 10");
    assert_eq!(rows[0]["default"], "3");
    assert_eq!(rows[1]["ts"], "'spool' | 'drop'");
    assert_eq!(rows[2]["default"], "commit");
    assert_eq!(rows[3]["hasDefault"], false);
    assert_eq!(rows[3]["scope"], "test");
  }
}
