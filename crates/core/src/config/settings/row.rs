//! A setting's row ([`Setting`]: key, environment variable, flag, default, doc) and how a row
//! of any type is checked and described as data ([`AnySetting`], [`describe`]).

use super::values::Value;
use serde_json::{json, Value as Json};

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
  /// input: read such a setting with [`Sources::get`](super::Sources::get)).
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

/// A setting of any type: what checking an options object and the docs need.
pub trait AnySetting {
  fn key(&self) -> &'static str;
  /// Checks an option's value.
  fn validate(&self, value: &Json) -> std::result::Result<(), String>;
  /// The row as data: key, env, flag, value (the flag's value name), type, allowed, ts,
  /// default, hasDefault and doc.
  fn describe(&self) -> Json;
}

impl<T: Value> AnySetting for Setting<T> {
  fn key(&self) -> &'static str {
    self.key
  }

  fn validate(&self, value: &Json) -> std::result::Result<(), String> {
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
