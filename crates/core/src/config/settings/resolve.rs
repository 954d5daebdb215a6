//! The resolver: where a setting's value comes from ([`Sources`]), the option, else the
//! environment variable, else the default, and the check of a whole options object.

use super::row::{AnySetting, Setting};
use super::values::Value;
use crate::error::{one_of, quote, ErrorCode, LoggerError, Result};
use serde_json::{Map, Value as Json};

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
  /// value its setting does not take: every option is validated before any is used.
  pub fn validate(&self, list: &[&dyn AnySetting]) -> Result<()> {
    for (key, value) in self.options.into_iter().flatten() {
      let Some(setting) = list.iter().find(|s| s.key() == key) else {
        return Err(invalid(format!(
          "unknown option {}; allowed: {}",
          quote(key),
          one_of(list.iter().map(|s| s.key()))
        )));
      };
      setting.validate(value).map_err(invalid)?;
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
