//! Logger options: from the `init()` / `new SnsLogger()` argument, falling back to the
//! environment setting by setting (the rows of [`settings::LOGGER_SETTINGS`]).

mod df_config;
pub mod settings;

pub use df_config::{Agent, DfConfig};

use crate::error::{quote, ErrorCode, LoggerError, Result};
use crate::options::{self, PathOrObject, WholeNumber};
use crate::plan::TrackingPlan;
use crate::sink::{sns, SinkConfig};
use serde::Deserialize;
use serde_json::Value as Json;
use settings::*;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What happens to an event that does not fit in the in-memory queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverflowPolicy {
  /// Write it to the spool (the default; needs a spool directory).
  Spool,
  /// Drop it, counted in `dropped` and reported to `onError`.
  Drop,
}

/// Where an accepted event is kept until SNS has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
  /// In memory; the spool takes what memory cannot hold, what SNS refused for too long, and
  /// what is left at close or exit (the default for `init()`).
  Memory,
  /// Every event goes through the spool, the write-ahead log memory caches: written before it
  /// counts as accepted, deleted once SNS has it (the relay's `--ack spooled`).
  Disk,
}

/// Whether a spool write waits for stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
  /// Written to the file (the OS keeps it if the process dies); flushed by the OS later.
  None,
  /// Each commit is flushed to stable storage (survives power loss).
  Commit,
}

impl Choice for OverflowPolicy {}
impl Choice for Durability {}
impl Choice for Fsync {}

/// Queueing, batching, retry and durability knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
  /// How long a lone event may wait for batch mates before its send is attempted.
  pub linger: Duration,
  pub max_queue_events: usize,
  pub max_queue_bytes: usize,
  /// How long a group keeps retrying before its events go to the spool.
  pub retry_budget: Duration,
  pub overflow: OverflowPolicy,
  /// Where the spool and the dead-letter file live; `None`: no spool.
  pub spool_dir: Option<PathBuf>,
  pub durability: Durability,
  pub fsync: Fsync,
  /// Past this many bytes of events in the spool, more are refused (never a full disk).
  pub max_spool_bytes: u64,
}

/// The settings' defaults.
impl Default for DeliveryConfig {
  fn default() -> Self {
    DeliveryConfig {
      linger: Duration::from_millis(LINGER_MS.default_value().0),
      max_queue_events: MAX_QUEUE_EVENTS.default_value().0 as usize,
      max_queue_bytes: MAX_QUEUE_BYTES.default_value().0 as usize,
      retry_budget: Duration::from_millis(RETRY_BUDGET_MS.default_value().0),
      overflow: ON_OVERFLOW.default_value(),
      spool_dir: None,
      durability: DURABILITY.default_value(),
      fsync: FSYNC.default_value(),
      max_spool_bytes: MAX_SPOOL_BYTES.default_value().0,
    }
  }
}

#[derive(Debug, Clone)]
pub struct LoggerConfig {
  /// Becomes `MessageGroupId`.
  pub site_url: Arc<str>,
  pub df_config: DfConfig,
  pub sink: SinkConfig,
  pub plan: TrackingPlan,
  pub delivery: DeliveryConfig,
  /// Each message carries its category, action and eventType as message attributes.
  pub message_attributes: bool,
}

/// The spool directory of a sink that spools by default (sns) when neither `spoolDir` nor the
/// environment names one.
pub const DEFAULT_SPOOL_DIR: &str = ".sns-logger";

fn invalid(message: String) -> LoggerError {
  LoggerError::new(ErrorCode::InvalidOptions, message)
}

impl LoggerConfig {
  /// Builds the configuration from options (may be absent) and an environment lookup.
  pub fn resolve(
    options: Option<&Json>,
    env: &dyn Fn(&str) -> Option<String>,
  ) -> Result<LoggerConfig> {
    let given = Sources::new(options, env, "options must be an object")?;
    given.validate(LOGGER_SETTINGS)?;

    let site_url = given
      .get(&SITE_URL)?
      .ok_or_else(|| invalid(SITE_URL.required("the Rocket.Chat site URL")))?;
    sns::validate_message_group_id(&site_url).map_err(|allowed| {
      invalid(format!(
        "siteUrl {} cannot be a MessageGroupId; allowed: {allowed}",
        quote(&site_url)
      ))
    })?;

    let df_config = match given.get(&DF_CONFIG)? {
      Some(PathOrObject::Path(path)) => DfConfig::from_file(&path)?,
      Some(PathOrObject::Object(object)) => DfConfig::from_json(&object)?,
      None => {
        return Err(LoggerError::new(
          ErrorCode::InvalidConfig,
          DF_CONFIG.required("the path to df_config.json or its parsed object"),
        ))
      }
    };

    let sink = given.value(&SINK)?;
    let plan = tracking_plan(given.get(&PLAN_EXTENSION)?)?;

    let delivery = DeliveryConfig {
      linger: Duration::from_millis(given.value(&LINGER_MS)?.0),
      max_queue_events: given.value(&MAX_QUEUE_EVENTS)?.0 as usize,
      max_queue_bytes: given.value(&MAX_QUEUE_BYTES)?.0 as usize,
      retry_budget: Duration::from_millis(given.value(&RETRY_BUDGET_MS)?.0),
      overflow: given.value(&ON_OVERFLOW)?,
      spool_dir: given.get(&SPOOL_DIR)?.map(PathBuf::from).or_else(|| {
        sink
          .spools_by_default()
          .then(|| PathBuf::from(DEFAULT_SPOOL_DIR))
      }),
      durability: given.value(&DURABILITY)?,
      fsync: given.value(&FSYNC)?,
      max_spool_bytes: given.value(&MAX_SPOOL_BYTES)?.0,
    };
    if delivery.durability == Durability::Disk && delivery.spool_dir.is_none() {
      return Err(invalid(
        "durability \"disk\" needs a spool directory; allowed: set spoolDir (or SNS_LOGGER_SPOOL_DIR), or durability \"memory\"".into(),
      ));
    }

    Ok(LoggerConfig {
      site_url: site_url.into(),
      df_config,
      sink,
      plan,
      delivery,
      message_attributes: given.value(&MESSAGE_ATTRIBUTES)?,
    })
  }
}

/// The built-in plan, extended by `extension` (the `planExtension` setting) when given.
pub fn tracking_plan(extension: Option<PathOrObject>) -> Result<TrackingPlan> {
  let plan = TrackingPlan::built_in();
  match extension {
    None => Ok(plan),
    Some(PathOrObject::Path(path)) => extend_from_file(plan, &path),
    Some(PathOrObject::Object(object)) => {
      plan.with_extension(&object.to_string(), PLAN_EXTENSION.key)
    }
  }
}

/// `close({ timeoutMs })`: how long close() may take before it spools what is left.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CloseOptions {
  /// Default 5000; at most a day.
  timeout_ms: Option<WholeNumber<0, { 24 * 3600 * 1000 }>>,
}

impl CloseOptions {
  /// Absent or `null` options take the defaults.
  pub fn from_json(options: Option<&Json>) -> Result<CloseOptions> {
    match options {
      None | Some(Json::Null) => Ok(CloseOptions::default()),
      Some(value @ Json::Object(_)) => {
        options::from_json(value, "", &[]).map_err(|e| invalid(format!("close: {e}")))
      }
      Some(_) => Err(invalid(
        "close options must be an object such as { timeoutMs: 5000 }".into(),
      )),
    }
  }

  pub fn timeout(&self) -> Duration {
    Duration::from_millis(self.timeout_ms.map_or(5_000, |ms| ms.0))
  }
}

fn extend_from_file(plan: TrackingPlan, path: &str) -> Result<TrackingPlan> {
  let text = read_config_file(path).map_err(|why| {
    LoggerError::new(
      ErrorCode::InvalidPlan,
      format!("planExtension: cannot read {}: {why}", quote(path)),
    )
  })?;
  plan.with_extension(&text, path)
}

/// The largest df_config.json or plan file read: thousands of bots fit in far less.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 << 20;

/// Reads a configuration file: a regular file (a FIFO would block, a device never end) of at
/// most [`MAX_CONFIG_FILE_BYTES`]. The error says why, without the content.
pub fn read_config_file(path: &str) -> std::result::Result<String, String> {
  use std::io::Read;
  let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
  if !metadata.is_file() {
    let kind = if metadata.is_dir() {
      "a directory"
    } else {
      "a device, FIFO or socket"
    };
    return Err(format!("it is not a regular file ({kind})"));
  }
  let too_big = || format!("it is larger than the {MAX_CONFIG_FILE_BYTES} bytes allowed at most");
  if metadata.len() > MAX_CONFIG_FILE_BYTES {
    return Err(too_big());
  }
  let mut text = String::new();
  std::fs::File::open(path)
    .and_then(|file| {
      file
        .take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_string(&mut text)
    })
    .map_err(|e| e.to_string())?;
  if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
    return Err(too_big());
  }
  Ok(text)
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn no_env(_: &str) -> Option<String> {
    None
  }

  fn agents() -> Json {
    json!({"bot": {"agent_id": "a1", "sns_arn_topic": "arn:aws:sns:us-east-1:123456789012:events.fifo"}})
  }

  #[test]
  fn options_win_and_environment_fills_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let path = dir.join("df_config.json");
    std::fs::write(&path, agents().to_string()).unwrap();
    let path_str = path.to_str().unwrap().to_string();
    let env = move |name: &str| match name {
      "SNS_LOGGER_SITE_URL" => Some("https://env.example.com".to_string()),
      "SNS_LOGGER_DF_CONFIG" => Some(path_str.clone()),
      "SNS_LOGGER_SINK" => Some("memory".to_string()),
      _ => None,
    };
    let from_env = LoggerConfig::resolve(None, &env).unwrap();
    assert_eq!(&*from_env.site_url, "https://env.example.com");
    assert_eq!(from_env.sink, SinkConfig::Memory(Default::default()));
    assert_eq!(from_env.df_config.agents()[0].agent_id, "a1");

    let options = json!({"siteUrl": "https://chat.example.com", "sink": {"kind": "file", "path": "/tmp/x.jsonl"}});
    let mixed = LoggerConfig::resolve(Some(&options), &env).unwrap();
    assert_eq!(&*mixed.site_url, "https://chat.example.com");
    assert_eq!(
      mixed.sink,
      SinkConfig::File(crate::sink::FileOptions {
        path: "/tmp/x.jsonl".into()
      })
    );
  }

  #[test]
  fn bad_options_are_named() {
    let cases = [
      (
        json!({"siteUrl": "x", "dfConfig": agents(), "siteURL": "typo"}),
        "siteURL",
      ),
      (json!({"dfConfig": agents()}), "siteUrl is required"),
      (
        json!({"siteUrl": "has space", "dfConfig": agents()}),
        "siteUrl \"has space\"",
      ),
      (
        json!({"siteUrl": "x".repeat(129), "dfConfig": agents()}),
        "128",
      ),
      (
        json!({"siteUrl": "x", "dfConfig": agents(), "sink": {"kind": "kafka"}}),
        "sink.kind \"kafka\"",
      ),
      (
        json!({"siteUrl": "x", "dfConfig": agents(), "sink": {"kind": "file"}}),
        "sink.path is required",
      ),
      (
        json!({"siteUrl": "x", "dfConfig": agents(), "lingerMs": -1}),
        "lingerMs -1",
      ),
      (
        json!({"siteUrl": "x", "dfConfig": agents(), "maxQueueEvents": "many"}),
        "maxQueueEvents must be",
      ),
    ];
    for (options, expected) in cases {
      let err = LoggerConfig::resolve(Some(&options), &no_env).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidOptions, "{options}");
      assert!(
        err.message.contains(expected),
        "{} does not contain {expected}",
        err.message
      );
    }
    let err = LoggerConfig::resolve(Some(&json!({"siteUrl": "x"})), &no_env).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
  }

  #[test]
  fn plan_extension_is_validated_at_init() {
    let options = json!({"siteUrl": "x", "dfConfig": agents(), "planExtension": {"categories": [{"category": "Bot",
      "actions": [{"action": "greeted", "eventType": "session"}]}]}});
    let config = LoggerConfig::resolve(Some(&options), &no_env).unwrap();
    assert!(config.plan.category("Bot").is_some());
    let bad = json!({"siteUrl": "x", "dfConfig": agents(), "planExtension": {"categories": 5}});
    assert_eq!(
      LoggerConfig::resolve(Some(&bad), &no_env).unwrap_err().code,
      ErrorCode::InvalidPlan
    );
  }
}
