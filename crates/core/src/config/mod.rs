//! Logger options: from the `init()` / `new SnsLogger()` argument (serde derive), falling back
//! to the environment field by field.

mod df_config;
mod json_deserializer;
pub mod parse;

pub use df_config::{Agent, DfConfig};

use crate::error::{quote, ErrorCode, LoggerError, Result};
use crate::plan::TrackingPlan;
use crate::sink::{sns, SinkConfig};
use parse::{PathOrObject, WholeNumber};
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
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

impl Default for DeliveryConfig {
  fn default() -> Self {
    DeliveryConfig {
      linger: Duration::from_millis(5),
      max_queue_events: 100_000,
      max_queue_bytes: 64 << 20,
      retry_budget: Duration::from_secs(30),
      overflow: OverflowPolicy::Spool,
      spool_dir: None,
      durability: Durability::Memory,
      fsync: Fsync::None,
      max_spool_bytes: 4 << 30,
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
}

/// The options object, as JavaScript (or a JSON file) gives it. Absent fields fall back to
/// the environment, then to the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Options {
  site_url: Option<String>,
  #[serde(default, deserialize_with = "df_config_source")]
  df_config: Option<PathOrObject>,
  sink: Option<SinkConfig>,
  #[serde(default, deserialize_with = "plan_source")]
  plan_extension: Option<PathOrObject>,
  linger_ms: Option<WholeNumber<0, 60_000>>,
  max_queue_events: Option<WholeNumber<1, { 1 << 32 }>>,
  max_queue_bytes: Option<WholeNumber<{ 1 << 20 }, { 1 << 40 }>>,
  retry_budget_ms: Option<WholeNumber<0, { 24 * 3600 * 1000 }>>,
  on_overflow: Option<OverflowPolicy>,
  spool_dir: Option<String>,
  durability: Option<Durability>,
  fsync: Option<Fsync>,
  max_spool_bytes: Option<WholeNumber<{ 1 << 20 }, { 1 << 50 }>>,
}

fn df_config_source<'de, D: Deserializer<'de>>(
  d: D,
) -> std::result::Result<Option<PathOrObject>, D::Error> {
  PathOrObject::deserialize_as(d, "a path to df_config.json or its parsed object").map(Some)
}

fn plan_source<'de, D: Deserializer<'de>>(
  d: D,
) -> std::result::Result<Option<PathOrObject>, D::Error> {
  PathOrObject::deserialize_as(d, "a path to a plan file or its parsed object").map(Some)
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
    let options: Options = match options {
      None | Some(Json::Null) => Options::default(),
      Some(value @ Json::Object(_)) => parse::from_json(value, "", &[]).map_err(invalid)?,
      Some(_) => return Err(invalid("options must be an object".into())),
    };

    let site_url = match options.site_url {
      Some(site_url) => site_url,
      None => env("SNS_LOGGER_SITE_URL").ok_or_else(|| {
        invalid("siteUrl is required (or set SNS_LOGGER_SITE_URL): the Rocket.Chat site URL".into())
      })?,
    };
    sns::check_message_group_id(&site_url).map_err(|allowed| {
      invalid(format!(
        "siteUrl {} cannot be a MessageGroupId; allowed: {allowed}",
        quote(&site_url)
      ))
    })?;

    let df_config = match options.df_config {
      Some(PathOrObject::Path(path)) => DfConfig::from_file(&path)?,
      Some(PathOrObject::Object(object)) => DfConfig::from_json(&object)?,
      None => match env("SNS_LOGGER_DF_CONFIG") {
        Some(path) => DfConfig::from_file(&path)?,
        None => {
          return Err(LoggerError::new(
            ErrorCode::InvalidConfig,
            "dfConfig is required (or set SNS_LOGGER_DF_CONFIG): the path to df_config.json or its parsed object",
          ))
        }
      },
    };

    let sink = match (options.sink, env("SNS_LOGGER_SINK")) {
      (Some(sink), _) => sink,
      (None, Some(spec)) => SinkConfig::from_env(&spec).map_err(invalid)?,
      (None, None) => SinkConfig::default(),
    };

    let plan = TrackingPlan::built_in();
    let plan = match options.plan_extension {
      Some(PathOrObject::Path(path)) => extend_from_file(plan, &path)?,
      Some(PathOrObject::Object(object)) => {
        plan.with_extension(&object.to_string(), "planExtension")?
      }
      None => match env("SNS_LOGGER_PLAN_EXTENSION") {
        Some(path) => extend_from_file(plan, &path)?,
        None => plan,
      },
    };

    let defaults = DeliveryConfig::default();
    let delivery = DeliveryConfig {
      linger: options
        .linger_ms
        .map_or(defaults.linger, |ms| Duration::from_millis(ms.0)),
      max_queue_events: options
        .max_queue_events
        .map_or(defaults.max_queue_events, |n| n.0 as usize),
      max_queue_bytes: options
        .max_queue_bytes
        .map_or(defaults.max_queue_bytes, |n| n.0 as usize),
      retry_budget: options
        .retry_budget_ms
        .map_or(defaults.retry_budget, |ms| Duration::from_millis(ms.0)),
      overflow: options.on_overflow.unwrap_or(defaults.overflow),
      spool_dir: options
        .spool_dir
        .or_else(|| env("SNS_LOGGER_SPOOL_DIR"))
        .map(PathBuf::from)
        .or_else(|| {
          sink
            .spools_by_default()
            .then(|| PathBuf::from(DEFAULT_SPOOL_DIR))
        }),
      durability: options.durability.unwrap_or(defaults.durability),
      fsync: options.fsync.unwrap_or(defaults.fsync),
      max_spool_bytes: options
        .max_spool_bytes
        .map_or(defaults.max_spool_bytes, |n| n.0),
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
    })
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
        parse::from_json(value, "", &[]).map_err(|e| invalid(format!("close: {e}")))
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
    let dir = std::env::temp_dir().join(format!("sns-logger-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    std::fs::remove_dir_all(dir).unwrap();
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
