//! Logger options: from the `init()` / `new SnsLogger()` argument, falling back to the
//! environment field by field.

mod df_config;

pub use df_config::{Agent, DfConfig};

use crate::error::{one_of, quote, ErrorCode, LoggerError, Result};
use crate::plan::TrackingPlan;
use crate::sink::SnsTimeouts;
use serde_json::{Map, Value as Json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
  Sns {
    region: Option<String>,
    endpoint: Option<String>,
    timeouts: SnsTimeouts,
  },
  File {
    path: PathBuf,
  },
  Memory,
}

/// What happens to an event that does not fit in the in-memory queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowPolicy {
  /// Write it to the spool (the default; needs a spool directory).
  Spool,
  /// Drop it, counted in `dropped` and reported to `onError`.
  Drop,
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

const OPTION_NAMES: [&str; 10] = [
  "siteUrl",
  "dfConfig",
  "sink",
  "planExtension",
  "lingerMs",
  "maxQueueEvents",
  "maxQueueBytes",
  "retryBudgetMs",
  "onOverflow",
  "spoolDir",
];

/// The spool directory of the sns sink when neither `spoolDir` nor the environment names one.
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
    let empty = Map::new();
    let options = match options {
      None | Some(Json::Null) => &empty,
      Some(Json::Object(map)) => map,
      Some(_) => return Err(invalid("options must be an object".into())),
    };
    if let Some(unknown) = options.keys().find(|k| !OPTION_NAMES.contains(&k.as_str())) {
      return Err(invalid(format!(
        "unknown option {}; allowed: {}",
        quote(unknown),
        one_of(OPTION_NAMES)
      )));
    }

    let site_url = match options.get("siteUrl") {
      Some(value) => string_option("siteUrl", value)?,
      None => env("SNS_LOGGER_SITE_URL").ok_or_else(|| {
        invalid("siteUrl is required (or set SNS_LOGGER_SITE_URL): the Rocket.Chat site URL".into())
      })?,
    };
    check_site_url(&site_url)?;

    let df_config = match options.get("dfConfig") {
      Some(Json::String(path)) => DfConfig::from_file(path)?,
      Some(object @ Json::Object(_)) => DfConfig::from_json(object)?,
      Some(_) => return Err(invalid("dfConfig must be a path to df_config.json or its parsed object".into())),
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

    let sink = match options.get("sink") {
      Some(value) => sink_option(value)?,
      None => match env("SNS_LOGGER_SINK") {
        Some(spec) => sink_from_env(&spec)?,
        None => SinkConfig::Sns {
          region: None,
          endpoint: None,
          timeouts: SnsTimeouts::default(),
        },
      },
    };

    let plan = TrackingPlan::built_in();
    let plan = match options.get("planExtension") {
      Some(Json::String(path)) => extend_from_file(plan, path)?,
      Some(object @ Json::Object(_)) => {
        plan.with_extension(&object.to_string(), "planExtension")?
      }
      Some(_) => {
        return Err(invalid(
          "planExtension must be a path to a plan file or its parsed object".into(),
        ))
      }
      None => match env("SNS_LOGGER_PLAN_EXTENSION") {
        Some(path) => extend_from_file(plan, &path)?,
        None => plan,
      },
    };

    let defaults = DeliveryConfig::default();
    let delivery = DeliveryConfig {
      linger: Duration::from_millis(integer_option(
        options,
        "lingerMs",
        0,
        60_000,
        defaults.linger.as_millis() as u64,
      )?),
      max_queue_events: integer_option(
        options,
        "maxQueueEvents",
        1,
        1 << 32,
        defaults.max_queue_events as u64,
      )? as usize,
      max_queue_bytes: integer_option(
        options,
        "maxQueueBytes",
        1 << 20,
        1 << 40,
        defaults.max_queue_bytes as u64,
      )? as usize,
      retry_budget: Duration::from_millis(integer_option(
        options,
        "retryBudgetMs",
        0,
        24 * 3600 * 1000,
        defaults.retry_budget.as_millis() as u64,
      )?),
      overflow: match options.get("onOverflow") {
        None => OverflowPolicy::Spool,
        Some(Json::String(s)) if s == "spool" => OverflowPolicy::Spool,
        Some(Json::String(s)) if s == "drop" => OverflowPolicy::Drop,
        Some(_) => return Err(invalid("onOverflow must be \"spool\" or \"drop\"".into())),
      },
      // Only the sns sink spools by default; the others when asked.
      spool_dir: match options.get("spoolDir") {
        Some(value) => Some(string_option("spoolDir", value)?.into()),
        None => env("SNS_LOGGER_SPOOL_DIR").map(PathBuf::from).or_else(|| {
          matches!(sink, SinkConfig::Sns { .. }).then(|| PathBuf::from(DEFAULT_SPOOL_DIR))
        }),
      },
    };

    Ok(LoggerConfig {
      site_url: site_url.into(),
      df_config,
      sink,
      plan,
      delivery,
    })
  }
}

fn string_option(name: &str, value: &Json) -> Result<String> {
  match value {
    Json::String(s) => Ok(s.clone()),
    _ => Err(invalid(format!("{name} must be a string"))),
  }
}

fn integer_option(
  options: &Map<String, Json>,
  name: &str,
  min: u64,
  max: u64,
  default: u64,
) -> Result<u64> {
  match options.get(name) {
    None => Ok(default),
    Some(Json::Number(n)) => match n.as_u64() {
      Some(v) if (min..=max).contains(&v) => Ok(v),
      _ => Err(invalid(format!(
        "{name} {n} is out of range; allowed: a whole number from {min} to {max}"
      ))),
    },
    Some(_) => Err(invalid(format!(
      "{name} must be a whole number from {min} to {max}"
    ))),
  }
}

/// `MessageGroupId` rules: 1-128 characters, letters, digits and punctuation.
fn check_site_url(site_url: &str) -> Result<()> {
  if site_url.is_empty() || site_url.len() > 128 || !site_url.chars().all(|c| c.is_ascii_graphic())
  {
    return Err(invalid(format!(
      "siteUrl {} cannot be a MessageGroupId; allowed: 1 to 128 ASCII letters, digits and punctuation, no spaces",
      quote(site_url)
    )));
  }
  Ok(())
}

fn extend_from_file(plan: TrackingPlan, path: &str) -> Result<TrackingPlan> {
  let text = std::fs::read_to_string(path).map_err(|e| {
    LoggerError::new(
      ErrorCode::InvalidPlan,
      format!("planExtension: cannot read {}: {e}", quote(path)),
    )
  })?;
  plan.with_extension(&text, path)
}

fn sink_option(value: &Json) -> Result<SinkConfig> {
  let Json::Object(sink) = value else {
    return Err(invalid("sink must be an object such as { kind: 'sns' }, { kind: 'file', path } or { kind: 'memory' }".into()));
  };
  let field = |name: &str| {
    sink
      .get(name)
      .map(|v| string_option(&format!("sink.{name}"), v))
      .transpose()
  };
  let allow = |names: &[&str]| match sink.keys().find(|k| !names.contains(&k.as_str())) {
    Some(unknown) => Err(invalid(format!(
      "unknown option sink.{unknown}; allowed: {}",
      one_of(names.iter().copied())
    ))),
    None => Ok(()),
  };
  match field("kind")?.as_deref() {
    Some("sns") | None => {
      allow(&[
        "kind",
        "region",
        "endpoint",
        "connectTimeoutMs",
        "requestTimeoutMs",
      ])?;
      let defaults = SnsTimeouts::default();
      let timeout = |name: &str, default: Duration| {
        integer_option(sink, name, 1, 600_000, default.as_millis() as u64)
          .map(Duration::from_millis)
      };
      Ok(SinkConfig::Sns {
        region: field("region")?,
        endpoint: field("endpoint")?,
        timeouts: SnsTimeouts {
          connect: timeout("connectTimeoutMs", defaults.connect)?,
          operation: timeout("requestTimeoutMs", defaults.operation)?,
        },
      })
    }
    Some("file") => {
      allow(&["kind", "path"])?;
      let path = field("path")?.filter(|p| !p.is_empty());
      let path = path.ok_or_else(|| invalid("sink.path is required for the file sink".into()))?;
      Ok(SinkConfig::File { path: path.into() })
    }
    Some("memory") => {
      allow(&["kind"])?;
      Ok(SinkConfig::Memory)
    }
    Some(other) => Err(invalid(format!(
      "sink.kind {} is unknown; allowed: \"sns\", \"file\" or \"memory\"",
      quote(other)
    ))),
  }
}

fn sink_from_env(spec: &str) -> Result<SinkConfig> {
  match spec {
    "sns" => Ok(SinkConfig::Sns {
      region: None,
      endpoint: None,
      timeouts: SnsTimeouts::default(),
    }),
    "memory" => Ok(SinkConfig::Memory),
    _ => match spec.strip_prefix("file:") {
      Some(path) if !path.is_empty() => Ok(SinkConfig::File { path: path.into() }),
      _ => Err(invalid(format!(
        "SNS_LOGGER_SINK {} is unknown; allowed: \"sns\", \"file:PATH\" or \"memory\"",
        quote(spec)
      ))),
    },
  }
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
    assert_eq!(from_env.sink, SinkConfig::Memory);
    assert_eq!(from_env.df_config.agents()[0].agent_id, "a1");

    let options = json!({"siteUrl": "https://chat.example.com", "sink": {"kind": "file", "path": "/tmp/x.jsonl"}});
    let mixed = LoggerConfig::resolve(Some(&options), &env).unwrap();
    assert_eq!(&*mixed.site_url, "https://chat.example.com");
    assert_eq!(
      mixed.sink,
      SinkConfig::File {
        path: "/tmp/x.jsonl".into()
      }
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
