use super::{BatchResult, BoxFuture, Failure, FailureKind, Sink};
use crate::message::Envelope;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Appends one JSON object per request and line:
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
      lines.push_str(&entry.request_json());
      lines.push('\n');
    }
    let written = self
      .file
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .write_all(lines.as_bytes());
    let outcome = match written {
      Ok(()) => Ok(()),
      Err(e) => Err(Failure {
        kind: FailureKind::Retryable,
        code: "FileWriteError".into(),
        message: e.to_string(),
      }),
    };
    Box::pin(std::future::ready(vec![outcome; entries.len()]))
  }
}
