//! Where batches go. Each sink owns its options (parsed by serde), builds itself and declares
//! its limits; the registry at the bottom maps `sink.kind` and `SNS_LOGGER_SINK` to it.

mod file;
mod memory;
pub mod sns;

pub use file::{FileOptions, FileSink};
pub use memory::{MemoryOptions, MemorySink};
pub use sns::{SnsOptions, SnsSink};

use crate::error::{one_of, quote, Result};
use crate::message::Envelope;
use crate::options;
use serde::{de, Deserialize, Deserializer};
use serde_json::Value as Json;
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a failed entry is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
  /// Throttled: retry later and slow the whole topic down.
  Throttled,
  /// Server fault, timeout, connection error: retry with backoff.
  Retryable,
  /// The reply could not be read, or did not say what became of the entry: retry with
  /// backoff, and tell the host when a group's run of failures starts.
  Unconfirmed,
  /// The request itself is wrong (bad parameter, missing topic, no permission): never retried.
  Permanent,
}

/// Why one entry was not published. `code` is the service's error code (e.g. `Throttling`) or
/// one a sink names itself (`Timeout`, `ConnectionError`, `FileWriteError`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
  pub kind: FailureKind,
  pub code: String,
  pub message: String,
}

/// The outcome of each entry of a batch, in the batch's order.
pub type BatchResult = Vec<std::result::Result<(), Failure>>;

/// What one request of a sink may hold. The queue forms batches within them; `logEvent`
/// refuses a message over `message_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkLimits {
  pub batch_entries: usize,
  pub batch_bytes: usize,
  pub message_bytes: usize,
}

/// A destination for batches of one topic and one message group, within its [`SinkLimits`].
pub trait Sink: AsAny + Send + Sync + 'static {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult>;
  fn limits(&self) -> SinkLimits;
}

/// Lets a front door reach a sink's own state (the memory sink's records) through
/// `sink.as_any().downcast_ref::<MemorySink>()`.
pub trait AsAny {
  fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
  fn as_any(&self) -> &dyn Any {
    self
  }
}

/// A sink's options: `sink: { kind, ...options }` parsed by serde into the type, or
/// `SNS_LOGGER_SINK`.
pub trait SinkOptions {
  /// How `SNS_LOGGER_SINK` names this sink, for messages: `sns`, `file:PATH`.
  fn env_form() -> &'static str
  where
    Self: Sized;
  /// From `SNS_LOGGER_SINK`: `arg` is the text after `kind:`, if any.
  fn from_env(arg: Option<&str>) -> Option<Self>
  where
    Self: Sized;
  fn build(&self) -> Result<Arc<dyn Sink>>;
  /// Whether its events are spooled to the default directory when `spoolDir` is not set.
  fn spools_by_default(&self) -> bool {
    false
  }
}

macro_rules! registry {
  ($($kind:literal => $variant:ident($options:ty),)*) => {
    /// Which sink to build, and its options.
    #[derive(Debug, Clone, PartialEq)]
    pub enum SinkConfig {
      $($variant($options),)*
    }

    impl SinkConfig {
      const KINDS: &[&str] = &[$($kind),*];

      /// What `SNS_LOGGER_SINK` takes: `sns`, `file:PATH`, ...
      pub fn env_forms() -> Vec<&'static str> {
        vec![$(<$options>::env_form()),*]
      }

      /// Its `kind`.
      pub fn kind(&self) -> &'static str {
        match self {
          $(SinkConfig::$variant(_) => $kind,)*
        }
      }

      fn options(&self) -> &dyn SinkOptions {
        match self {
          $(SinkConfig::$variant(options) => options,)*
        }
      }

      /// The options of `kind` from the other fields of `sink`; `None` for an unknown kind.
      fn parse(kind: &str, fields: &Json) -> Option<std::result::Result<SinkConfig, String>> {
        match kind {
          $($kind => Some(options::from_json(fields, "sink", &["kind"]).map(SinkConfig::$variant)),)*
          _ => None,
        }
      }

      fn parse_env(kind: &str, arg: Option<&str>) -> Option<SinkConfig> {
        match kind {
          $($kind => <$options>::from_env(arg).map(SinkConfig::$variant),)*
          _ => None,
        }
      }
    }
  };
}

// The sinks. A new sink is a file of its own plus one line here.
registry! {
  "sns" => Sns(SnsOptions),
  "file" => File(FileOptions),
  "memory" => Memory(MemoryOptions),
}

/// The `sink` setting's default (sns).
impl Default for SinkConfig {
  fn default() -> Self {
    SinkConfig::DEFAULT
  }
}

impl SinkConfig {
  /// The `sink` setting's default (the settings table reads it from here).
  pub const DEFAULT: SinkConfig = SinkConfig::Sns(SnsOptions::DEFAULT);

  pub fn build(&self) -> Result<Arc<dyn Sink>> {
    self.options().build()
  }

  pub fn spools_by_default(&self) -> bool {
    self.options().spools_by_default()
  }

  /// `SNS_LOGGER_SINK`: `kind` or `kind:ARG` (`file:PATH`).
  pub fn from_env(spec: &str) -> std::result::Result<SinkConfig, String> {
    let (kind, arg) = match spec.split_once(':') {
      Some((kind, arg)) => (kind, Some(arg)),
      None => (spec, None),
    };
    SinkConfig::parse_env(kind, arg).ok_or_else(|| {
      format!(
        "SNS_LOGGER_SINK {} is unknown; allowed: {}",
        quote(spec),
        one_of(SinkConfig::env_forms())
      )
    })
  }
}

/// `{ kind, ...options }`: `kind` (default `"sns"`) picks the sink, whose options type parses
/// the other fields.
impl<'de> Deserialize<'de> for SinkConfig {
  fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
    let Json::Object(mut fields) = Json::deserialize(deserializer)? else {
      let examples: Vec<String> = SinkConfig::KINDS
        .iter()
        .map(|kind| format!("{{ kind: '{kind}' }}"))
        .collect();
      let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
      return Err(de::Error::custom(format!(
        "must be an object such as {}",
        one_of(examples).replace('"', "")
      )));
    };
    let kind = match fields.remove("kind") {
      None => "sns".to_string(),
      Some(Json::String(kind)) => kind,
      Some(_) => return Err(de::Error::custom("sink.kind must be a string")),
    };
    SinkConfig::parse(&kind, &Json::Object(fields))
      .unwrap_or_else(|| {
        Err(format!(
          "sink.kind {} is unknown; allowed: {}",
          quote(&kind),
          one_of(SinkConfig::KINDS.iter().copied())
        ))
      })
      .map_err(de::Error::custom)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn parse(value: Json) -> std::result::Result<SinkConfig, String> {
    options::from_json(&json!({ "sink": value }), "", &[]).map(|o: Wrapper| o.sink)
  }

  #[derive(Deserialize)]
  struct Wrapper {
    sink: SinkConfig,
  }

  #[test]
  fn kind_picks_the_sink_and_its_options_are_checked() {
    assert_eq!(parse(json!({})), Ok(SinkConfig::default()));
    assert_eq!(
      parse(json!({"kind": "memory"})),
      Ok(SinkConfig::Memory(MemoryOptions::default()))
    );
    assert_eq!(
      parse(json!({"kind": "kafka"})).unwrap_err(),
      "sink.kind \"kafka\" is unknown; allowed: \"sns\", \"file\" or \"memory\""
    );
    assert_eq!(
      parse(json!({"kind": "memory", "path": "/x"})).unwrap_err(),
      "unknown option \"sink.path\"; allowed: \"kind\""
    );
    assert_eq!(
      parse(json!("memory")).unwrap_err(),
      "sink must be an object such as { kind: 'sns' }, { kind: 'file' } or { kind: 'memory' }"
    );
    assert_eq!(
      parse(json!({"kind": "sns", "requestTimeoutMs": 0})).unwrap_err(),
      "sink.requestTimeoutMs 0 is out of range; allowed: a whole number from 1 to 600000"
    );
  }

  #[test]
  fn the_environment_names_a_sink_in_one_word() {
    assert_eq!(
      SinkConfig::from_env("memory"),
      Ok(SinkConfig::Memory(MemoryOptions::default()))
    );
    assert_eq!(
      SinkConfig::from_env("file:/tmp/e.jsonl"),
      Ok(SinkConfig::File(FileOptions {
        path: "/tmp/e.jsonl".into()
      }))
    );
    for bad in ["file:", "file", "sns:x", "kafka"] {
      let error = SinkConfig::from_env(bad).unwrap_err();
      assert!(
        error.ends_with("allowed: \"sns\", \"file:PATH\" or \"memory\""),
        "{error}"
      );
    }
  }
}
