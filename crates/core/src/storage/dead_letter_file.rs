use super::private_file;
use crate::message::Envelope;
use crate::sink::sns::SnsRequest;
use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A line of `dead-letter.jsonl`, as the logger writes it and the operator's commands read it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterLine<'a> {
  #[serde(borrow)]
  pub dead_lettered_at: Cow<'a, str>,
  #[serde(borrow)]
  pub error_code: Cow<'a, str>,
  #[serde(borrow, default)]
  pub error_message: Cow<'a, str>,
  #[serde(borrow)]
  pub request: SnsRequest<'a>,
}

/// `dead-letter.jsonl`: events SNS refused for good, one [`DeadLetterLine`] per line.
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
      let line = DeadLetterLine {
        dead_lettered_at: Cow::Borrowed(&at),
        error_code: Cow::Borrowed(code),
        error_message: Cow::Borrowed(message),
        request: SnsRequest::of(envelope),
      };
      lines.push_str(&serde_json::to_string(&line).expect("a line of strings always serializes"));
      lines.push('\n');
    }
    let mut file = self.file.lock();
    // Moved or removed by someone else (by hand, log rotation): write where the path says now.
    if file
      .as_ref()
      .is_some_and(|open| !still_at(open, &self.path))
    {
      *file = None;
    }
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

/// Whether `path` still names the file `open` writes to.
fn still_at(open: &File, path: &Path) -> bool {
  match (open.metadata(), std::fs::metadata(path)) {
    (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
    _ => false,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_dead_letter_file_moved_away_is_written_anew_where_the_path_says() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let file = DeadLetterFile::new(dir);
    let envelope = Envelope::whole("arn:aws:sns:us-east-1:1:t.fifo", "g", "d-1", "{}");
    file.append(&[(&envelope, "NotFound", "first")]).unwrap();
    std::fs::rename(file.path(), dir.join("moved.jsonl")).unwrap();
    file.append(&[(&envelope, "NotFound", "second")]).unwrap();
    let now = std::fs::read_to_string(file.path()).unwrap();
    assert_eq!(now.lines().count(), 1);
    assert!(now.contains("\"second\""));
    let moved = std::fs::read_to_string(dir.join("moved.jsonl")).unwrap();
    assert!(moved.contains("\"first\"") && !moved.contains("\"second\""));
  }
}
