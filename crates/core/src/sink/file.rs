use super::{sns, BatchResult, BoxFuture, Failure, FailureKind, Sink, SinkLimits, SinkOptions};
use crate::error::{quote, ErrorCode, LoggerError, Result};
use crate::message::Envelope;
use parking_lot::Mutex;
use serde::Deserialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `sink: { kind: 'file', path }`, or `SNS_LOGGER_SINK=file:PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOptions {
  pub path: PathBuf,
}

impl SinkOptions for FileOptions {
  fn env_form() -> &'static str {
    "file:PATH"
  }

  fn from_env(arg: Option<&str>) -> Option<Self> {
    let path = arg.filter(|p| !p.is_empty())?;
    Some(FileOptions { path: path.into() })
  }

  fn build(&self) -> Result<Arc<dyn Sink>> {
    let invalid =
      |why: String| LoggerError::new(ErrorCode::InvalidOptions, format!("sink.path {why}"));
    if self.path.as_os_str().is_empty() {
      return Err(invalid("is required for the file sink".into()));
    }
    let sink = FileSink::open(&self.path).map_err(|e| {
      invalid(format!(
        "{}: cannot open for appending: {e}",
        quote(&self.path.to_string_lossy())
      ))
    })?;
    Ok(Arc::new(sink))
  }
}

/// Appends one JSON object per request and line, with SNS's parameter names:
/// `{"TopicArn","Subject","MessageGroupId","MessageDeduplicationId","Message"}`.
pub struct FileSink {
  file: Mutex<File>,
}

impl FileSink {
  pub fn open(path: &Path) -> std::io::Result<FileSink> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
      std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(FileSink {
      file: Mutex::new(file),
    })
  }
}

impl Sink for FileSink {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    let mut lines = String::new();
    for entry in entries {
      lines.push_str(&sns::request_json(entry));
      lines.push('\n');
    }
    let outcome = self
      .file
      .lock()
      .write_all(lines.as_bytes())
      .map_err(|e| Failure {
        kind: FailureKind::Retryable,
        code: "FileWriteError".into(),
        message: e.to_string(),
      });
    Box::pin(std::future::ready(vec![outcome; entries.len()]))
  }

  /// The lines are SNS requests: the same limits, so a file run behaves like a real one.
  fn limits(&self) -> SinkLimits {
    sns::LIMITS
  }
}
