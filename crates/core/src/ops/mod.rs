//! The operator's commands (`sns-logger check`, `spool`, `dead-letters`, `validate`, `tail`): what
//! they find and do, as plain reports; the command line formats them (tables, `--json`).
//!
//! Nothing here prints: reports carry agent names, agent ids, topic ARNs, counts, times and
//! error codes, and messages read back from files are redacted again. df_config.json's other
//! values and AWS keys never enter a report.

mod check;
mod dead_letters;
mod send;
mod spool;
mod tail;
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
pub use tail::{DeleteReport, QueueMessage, QueueReader, MAX_WAIT_SECONDS};
pub use validate::{validate_lines, LineError, ValidateReport};

use serde::Serialize;

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
      message: crate::sink::sns::redact(&failure.message),
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
  /// `spool_dir` (a flag) wins over the `spoolDir` setting (`options.spoolDir`, then
  /// `SNS_LOGGER_SPOOL_DIR`), then the default directory. The sink: the `sink` setting.
  pub fn resolve(
    options: Option<&serde_json::Value>,
    env: &dyn Fn(&str) -> Option<String>,
    spool_dir: Option<&str>,
  ) -> crate::Result<StorageSettings> {
    use crate::config::settings::{Sources, SINK, SPOOL_DIR};
    let given = Sources::new(options, env, "options must be an object")?;
    let sink = given.value(&SINK)?;
    let from_settings = given.get(&SPOOL_DIR)?;
    let spool_dir = spool_dir
      .map(str::to_string)
      .or(from_settings)
      .unwrap_or_else(|| crate::config::DEFAULT_SPOOL_DIR.to_string());
    // A directory that does not exist holds nothing; anything else in its place is a mistake
    // to name, not an empty spool.
    if std::fs::metadata(&spool_dir).is_ok_and(|m| !m.is_dir()) {
      return Err(crate::LoggerError::new(
        crate::ErrorCode::InvalidOptions,
        format!(
          "spool directory {} is not a directory",
          crate::error::quote(&spool_dir)
        ),
      ));
    }
    Ok(StorageSettings {
      spool_dir: spool_dir.into(),
      sink,
    })
  }
}

/// The plan `validate` checks against: the built-in one, extended by `extension` (a flag),
/// else by the `planExtension` setting (`options.planExtension`, a path or an object, then
/// `SNS_LOGGER_PLAN_EXTENSION`).
pub fn plan_for(
  options: Option<&serde_json::Value>,
  env: &dyn Fn(&str) -> Option<String>,
  extension: Option<&str>,
) -> crate::Result<crate::plan::TrackingPlan> {
  use crate::config::settings::{Sources, PLAN_EXTENSION};
  use crate::options::PathOrObject;
  let extension = match extension {
    Some(path) => Some(PathOrObject::Path(path.to_string())),
    None => Sources::new(options, env, "options must be an object")?.get(&PLAN_EXTENSION)?,
  };
  crate::config::tracking_plan(extension)
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
impl Report for DeleteReport {}
impl Report for Vec<QueueMessage> {}
