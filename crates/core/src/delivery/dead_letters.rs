//! Dead letters: events a sink refused for good go to `dead-letter.jsonl` and to `onError`.

use super::queue::Queued;
use super::{NoticeCode, Shared};
use crate::message::Envelope;
use crate::sink::Failure;

pub(super) fn record_dead_letters(shared: &Shared, dead: &[(Queued, Failure)]) {
  let entries: Vec<(&Envelope, &str, &str)> = dead
    .iter()
    .map(|(q, f)| (&*q.envelope, f.code.as_str(), f.message.as_str()))
    .collect();
  let written = match &shared.dead_letters {
    Some(file) => file
      .append(&entries)
      .map(|()| format!(" (written to {})", file.path().display())),
    None => Ok(" (no spool directory: not written anywhere)".to_string()),
  };
  let (code, message) = (&dead[0].1.code, &dead[0].1.message);
  let message = match written {
    Ok(where_) => format!(
      "SNS refused {} event(s) for good: {code}: {message}{where_}",
      dead.len()
    ),
    Err(e) => format!(
      "SNS refused {} event(s) for good: {code}: {message}; the dead-letter file failed: {e}",
      dead.len()
    ),
  };
  shared.notify_error(NoticeCode::Sink(code.clone()), message, dead.len() as u64);
}
