use super::private_file;
use crate::message::Envelope;
use crate::sink::sns;
use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `dead-letter.jsonl`: events SNS refused for good, one JSON object per line:
/// `{"deadLetteredAt","errorCode","errorMessage","request":{TopicArn, Subject, ...}}`.
pub struct DeadLetterFile {
  path: PathBuf,
  file: Mutex<Option<File>>,
}

impl DeadLetterFile {
  pub const FILE_NAME: &'static str = "dead-letter.jsonl";

  /// Nothing is created until the first dead letter.
  pub fn new(dir: &Path) -> DeadLetterFile {
    DeadLetterFile {
      path: dir.join(Self::FILE_NAME),
      file: Mutex::new(None),
    }
  }

  pub fn path(&self) -> &Path {
    &self.path
  }

  pub fn append(&self, entries: &[(&Envelope, &str, &str)]) -> io::Result<()> {
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut lines = String::new();
    for (envelope, code, message) in entries {
      lines.push_str(&format!(
        "{{\"deadLetteredAt\":\"{at}\",\"errorCode\":{},\"errorMessage\":{},\"request\":{}}}\n",
        serde_json::Value::from(*code),
        serde_json::Value::from(*message),
        sns::request_json(envelope)
      ));
    }
    let mut file = self.file.lock();
    if file.is_none() {
      let dir = self.path.parent().unwrap_or(Path::new("."));
      *file = Some(private_file(
        dir,
        Self::FILE_NAME,
        OpenOptions::new().create(true).append(true),
      )?);
    }
    file
      .as_mut()
      .expect("opened above")
      .write_all(lines.as_bytes())
  }
}
