//! What the logger tells its host: errors (for `onError`) and deliveries (for `onDelivery`).

use std::fmt;
use std::sync::Arc;

/// The `code` of an error notice. Ours are fixed strings, documented in docs/delivery.md
/// ("Callbacks"); a sink's failure passes its own code through (SNS's `Throttling`,
/// `InvalidParameter`, ..., or a sink's `Timeout`, `ConnectionError`, `FileWriteError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeCode {
  /// The in-memory queue was full and the overflow policy (or a missing spool) dropped events.
  QueueFull,
  /// The spool could not be written or read: the events counted were dropped.
  SpoolError,
  /// Spool records that could not be decoded were skipped and removed.
  SpoolCorrupt,
  /// Something about the spool files worth knowing: one was damaged and moved aside, another
  /// file is used, a file left by a logger that is gone was adopted.
  SpoolNotice,
  /// A delivery task stopped on a panic (a defect); it was restarted.
  Internal,
  /// A sink refused or failed events: the sink's own code.
  Sink(String),
}

impl NoticeCode {
  pub fn as_str(&self) -> &str {
    match self {
      NoticeCode::QueueFull => "QueueFull",
      NoticeCode::SpoolError => "SpoolError",
      NoticeCode::SpoolCorrupt => "SpoolCorrupt",
      NoticeCode::SpoolNotice => "SpoolNotice",
      NoticeCode::Internal => "InternalError",
      NoticeCode::Sink(code) => code,
    }
  }
}

impl fmt::Display for NoticeCode {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(self.as_str())
  }
}

/// Something the host may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
  /// Events were dead-lettered, dropped, moved to the spool after failing, or storage failed.
  Error {
    code: NoticeCode,
    message: String,
    events: u64,
  },
  /// A batch was acknowledged.
  Delivered {
    topic_arn: String,
    message_group_id: String,
    events: u64,
  },
}

pub type Observer = Arc<dyn Fn(Notice) + Send + Sync>;
