//! The operator's commands (`sns-logger check`, `spool`, `dead-letters`, `validate`): what
//! they find and do, as plain reports; the command line formats them (tables, `--json`).
//!
//! Nothing here prints: reports carry agent names, agent ids, topic ARNs, counts, times and
//! error codes, and messages read back from files are redacted again. df_config.json's other
//! values and AWS keys never enter a report.

mod check;
mod dead_letters;
mod send;
mod spool;
mod validate;

pub use check::{check, AgentCheck, CheckReport};
pub use dead_letters::{
  list_dead_letters, requeue_dead_letters, DeadLetterFilter, DeadLetterGroup, DeadLetterList,
  RequeueReport,
};
pub use send::{send_in_order, Outcome};
pub use spool::{
  export_spool, replay_spool, spool_status, ExportReport, FileStatus, GroupStatus, ReplayReport,
  SpoolStatus,
};
pub use validate::{validate_lines, LineError, ValidateReport};

use serde::{Deserialize, Serialize};

/// Something an operator has to fix, with a stable code (docs/operations.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
  pub code: &'static str,
  pub message: String,
  /// The file it is about, when it is about one.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub file: Option<String>,
}

impl Problem {
  pub fn new(code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
      code,
      message: message.into(),
      file: None,
    }
  }

  pub fn about(mut self, file: &str) -> Problem {
    self.file = Some(file.to_string());
    self
  }
}

/// A failure's code and message, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
  pub code: String,
  pub message: String,
}

impl From<&crate::sink::Failure> for ErrorInfo {
  fn from(failure: &crate::sink::Failure) -> Self {
    ErrorInfo {
      code: failure.code.clone(),
      message: crate::sink::sns::check::redact(&failure.message),
    }
  }
}

/// Problem codes of the operator's commands.
pub mod codes {
  /// A spool file is held by a running logger or relay.
  pub const SPOOL_BUSY: &str = "ERR_SPOOL_BUSY";
  /// A spool file (or records in it) cannot be read.
  pub const SPOOL_CORRUPT: &str = "ERR_SPOOL_CORRUPT";
  /// A file could not be read or written.
  pub const IO: &str = "ERR_IO";
  /// No AWS credentials were found.
  pub const CREDENTIALS: &str = "ERR_CREDENTIALS";
  /// No AWS region is configured.
  pub const NO_REGION: &str = "ERR_NO_REGION";
  /// An agent's topic does not exist.
  pub const TOPIC_NOT_FOUND: &str = "ERR_TOPIC_NOT_FOUND";
  /// An agent's topic is a standard topic, not FIFO.
  pub const TOPIC_NOT_FIFO: &str = "ERR_TOPIC_NOT_FIFO";
  /// An agent's topic is in another region than the client's.
  pub const TOPIC_REGION: &str = "ERR_TOPIC_REGION";
  /// SNS refused to describe a topic to these credentials.
  pub const TOPIC_ACCESS: &str = "ERR_TOPIC_ACCESS";
  /// SNS could not be asked about a topic (unreachable, timeout, ...).
  pub const TOPIC_UNCHECKED: &str = "ERR_TOPIC_UNCHECKED";
}

/// Milliseconds from an RFC 3339 time to now (negative for a time in the future).
fn age_ms(at: &str, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
  let at = chrono::DateTime::parse_from_rfc3339(at).ok()?;
  Some((now - at.with_timezone(&chrono::Utc)).num_milliseconds())
}

/// What the spool and dead-letter commands read from the options and the environment: the
/// spool directory and the sink, as `init()` would resolve them, and nothing else (these
/// commands need neither siteUrl nor df_config.json).
#[derive(Debug, Clone, PartialEq)]
pub struct StorageSettings {
  pub spool_dir: std::path::PathBuf,
  pub sink: crate::sink::SinkConfig,
}

impl StorageSettings {
  /// `spool_dir` (a flag) wins over `options.spoolDir`, then `SNS_LOGGER_SPOOL_DIR`, then
  /// the default directory. The sink: `options.sink`, then `SNS_LOGGER_SINK`, then sns.
  pub fn resolve(
    options: Option<&serde_json::Value>,
    env: &dyn Fn(&str) -> Option<String>,
    spool_dir: Option<&str>,
  ) -> crate::Result<StorageSettings> {
    use crate::error::{ErrorCode, LoggerError};
    use crate::sink::SinkConfig;
    let invalid = |message: String| LoggerError::new(ErrorCode::InvalidOptions, message);
    let field = |name: &str| options.and_then(|o| o.get(name)).filter(|v| !v.is_null());
    let sink = match (field("sink"), env("SNS_LOGGER_SINK")) {
      (Some(sink), _) => {
        SinkConfig::deserialize(sink).map_err(|e| invalid(format!("sink: {e}")))?
      }
      (None, Some(spec)) => SinkConfig::from_env(&spec).map_err(invalid)?,
      (None, None) => SinkConfig::default(),
    };
    let from_options = match field("spoolDir") {
      None => None,
      Some(serde_json::Value::String(dir)) => Some(dir.clone()),
      Some(_) => return Err(invalid("spoolDir must be a string: a directory".into())),
    };
    let spool_dir = spool_dir
      .map(str::to_string)
      .or(from_options)
      .or_else(|| env("SNS_LOGGER_SPOOL_DIR"))
      .unwrap_or_else(|| crate::config::DEFAULT_SPOOL_DIR.to_string());
    // A directory that does not exist holds nothing; anything else in its place is a mistake
    // to name, not an empty spool.
    if std::fs::metadata(&spool_dir).is_ok_and(|m| !m.is_dir()) {
      return Err(invalid(format!(
        "spool directory {} is not a directory",
        crate::error::quote(&spool_dir)
      )));
    }
    Ok(StorageSettings {
      spool_dir: spool_dir.into(),
      sink,
    })
  }
}

/// The plan `validate` checks against: the built-in one, extended by `extension` (a flag),
/// else `options.planExtension` (a path or an object), else `SNS_LOGGER_PLAN_EXTENSION`.
pub fn plan_for(
  options: Option<&serde_json::Value>,
  env: &dyn Fn(&str) -> Option<String>,
  extension: Option<&str>,
) -> crate::Result<crate::plan::TrackingPlan> {
  use crate::error::{quote, ErrorCode, LoggerError};
  let plan = crate::plan::TrackingPlan::built_in();
  let from_file = |plan: crate::plan::TrackingPlan, path: &str| {
    let text = crate::config::read_config_file(path).map_err(|why| {
      LoggerError::new(
        ErrorCode::InvalidPlan,
        format!("planExtension: cannot read {}: {why}", quote(path)),
      )
    })?;
    plan.with_extension(&text, path)
  };
  if let Some(path) = extension {
    return from_file(plan, path);
  }
  match options.and_then(|o| o.get("planExtension")) {
    Some(serde_json::Value::String(path)) => from_file(plan, path),
    Some(object @ serde_json::Value::Object(_)) => {
      plan.with_extension(&object.to_string(), "planExtension")
    }
    Some(serde_json::Value::Null) | None => match env("SNS_LOGGER_PLAN_EXTENSION") {
      Some(path) => from_file(plan, &path),
      None => Ok(plan),
    },
    Some(_) => Err(LoggerError::new(
      ErrorCode::InvalidOptions,
      "planExtension must be a path to a plan file or its parsed object",
    )),
  }
}

/// A report as a JSON object (for front doors without serde of their own). Reports are plain
/// strings, numbers and lists, so this never fails.
pub fn report_json<T: Report>(report: &T) -> serde_json::Value {
  serde_json::to_value(report).unwrap_or(serde_json::Value::Null)
}

/// The reports of the operator's commands.
pub trait Report: Serialize {}
impl Report for CheckReport {}
impl Report for SpoolStatus {}
impl Report for ExportReport {}
impl Report for ReplayReport {}
impl Report for DeadLetterList {}
impl Report for RequeueReport {}
impl Report for ValidateReport {}
