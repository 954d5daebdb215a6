//! Errors with a stable `code`, surfaced to JavaScript as `error.code`.

use std::fmt;

/// Stable error codes of the errors Rust throws. The string form is part of the public API
/// (README, "Errors"); `ERR_NOT_INITIALIZED` and `ERR_ALREADY_INITIALIZED` come from
/// `index.js`, which owns the process-wide logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
  InvalidConfig,
  InvalidOptions,
  InvalidPlan,
  InvalidEvent,
  UnknownAgent,
  UnknownCategory,
  UnknownAction,
  InvalidProperty,
  InvalidTimestamp,
  MessageTooLarge,
  /// The relay's widget route got an event the plan does not list with source Widget.
  NotAWidgetEvent,
  Closed,
  /// The relay could not listen on its address (in use, or not this machine's).
  ListenFailed,
  /// An operator's command found a spool file held by a running logger or relay.
  SpoolBusy,
  /// An operator's command could not read or write a file it was given.
  Io,
  /// `sns-logger tail`: the queue does not exist.
  QueueNotFound,
  /// `sns-logger tail`: SQS refused the request (access denied, a bad signature, ...).
  QueueAccess,
  /// `sns-logger tail`: SQS could not be reached, or did not answer as SQS.
  QueueUnreachable,
  /// No AWS credentials were found (`sns-logger tail`; `check` reports it as a problem).
  Credentials,
  /// Something that cannot happen did (a failed N-API call while setting up callbacks).
  Internal,
}

impl ErrorCode {
  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::InvalidConfig => "ERR_INVALID_CONFIG",
      ErrorCode::InvalidOptions => "ERR_INVALID_OPTIONS",
      ErrorCode::InvalidPlan => "ERR_INVALID_PLAN",
      ErrorCode::InvalidEvent => "ERR_INVALID_EVENT",
      ErrorCode::UnknownAgent => "ERR_UNKNOWN_AGENT",
      ErrorCode::UnknownCategory => "ERR_UNKNOWN_CATEGORY",
      ErrorCode::UnknownAction => "ERR_UNKNOWN_ACTION",
      ErrorCode::InvalidProperty => "ERR_INVALID_PROPERTY",
      ErrorCode::InvalidTimestamp => "ERR_INVALID_TIMESTAMP",
      ErrorCode::MessageTooLarge => "ERR_MESSAGE_TOO_LARGE",
      ErrorCode::NotAWidgetEvent => "ERR_NOT_A_WIDGET_EVENT",
      ErrorCode::Closed => "ERR_CLOSED",
      ErrorCode::ListenFailed => "ERR_LISTEN",
      ErrorCode::SpoolBusy => "ERR_SPOOL_BUSY",
      ErrorCode::Io => "ERR_IO",
      ErrorCode::QueueNotFound => "ERR_QUEUE_NOT_FOUND",
      ErrorCode::QueueAccess => "ERR_QUEUE_ACCESS",
      ErrorCode::QueueUnreachable => "ERR_QUEUE_UNREACHABLE",
      ErrorCode::Credentials => "ERR_CREDENTIALS",
      ErrorCode::Internal => "ERR_INTERNAL",
    }
  }
}

/// A rejection: a stable code plus a message naming the field, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggerError {
  pub code: ErrorCode,
  pub message: String,
}

impl LoggerError {
  pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
    LoggerError {
      code,
      message: message.into(),
    }
  }
}

impl fmt::Display for LoggerError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.as_str(), self.message)
  }
}

impl std::error::Error for LoggerError {}

pub type Result<T> = std::result::Result<T, LoggerError>;

/// Quotes a user-supplied value for an error message, cut short so a huge input cannot
/// produce a huge error.
pub fn quote(value: &str) -> String {
  const MAX_CHARS: usize = 80;
  let mut quoted = String::with_capacity(value.len().min(MAX_CHARS) + 8);
  quoted.push('"');
  for (i, c) in value.chars().enumerate() {
    if i == MAX_CHARS {
      quoted.push_str("\"… (");
      quoted.push_str(&value.len().to_string());
      quoted.push_str(" bytes)");
      return quoted;
    }
    quoted.extend(c.escape_debug());
  }
  quoted.push('"');
  quoted
}

/// A list of allowed values for an error message: `"a", "b" or "c"`.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
  let quoted: Vec<String> = values.into_iter().map(|v| format!("\"{v}\"")).collect();
  match quoted.split_last() {
    None => "nothing".to_string(),
    Some((last, [])) => last.clone(),
    Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
  }
}
