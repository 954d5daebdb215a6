//! What SNS accepts: the request's fixed parts, its size limits, and the rules for topic
//! ARNs, message group ids and deduplication ids.

use crate::message::Envelope;
use crate::sink::SinkLimits;
use serde::Serialize;

/// `Subject` of every request.
pub const SUBJECT: &str = "RC";

/// PublishBatch: at most 10 entries and 256 KiB per request; a message at most 256 KiB (the
/// default `MaximumMessageSize`).
pub const LIMITS: SinkLimits = SinkLimits {
  batch_entries: 10,
  batch_bytes: 256 * 1024,
  message_bytes: 256 * 1024,
};

/// FIFO topics (names ending in `.fifo`) take a message group id and a deduplication id;
/// standard topics take neither.
pub fn is_fifo_topic(topic_arn: &str) -> bool {
  topic_arn.ends_with(".fifo")
}

/// `MessageGroupId`: 1-128 characters, letters, digits and punctuation. Returns what is
/// allowed when `id` is not.
pub fn check_message_group_id(id: &str) -> Result<(), &'static str> {
  let valid = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic());
  valid
    .then_some(())
    .ok_or("1 to 128 ASCII letters, digits and punctuation, no spaces")
}

/// `MessageDeduplicationId`: the same rule as the message group id.
pub fn is_valid_dedup_id(id: &str) -> bool {
  check_message_group_id(id).is_ok()
}

/// `arn:aws…:sns:<region>:<account>:<topic>[.fifo]`; returns why an ARN is not one.
pub fn check_topic_arn(arn: &str) -> Result<(), &'static str> {
  let parts: Vec<&str> = arn.split(':').collect();
  let [prefix, partition, service, region, account, name] = parts[..] else {
    return Err("it needs six ':'-separated parts");
  };
  if prefix != "arn" || !partition.starts_with("aws") || service != "sns" {
    return Err("it must start with arn:aws…:sns:");
  }
  if region.is_empty() || account.is_empty() {
    return Err("region and account must not be empty");
  }
  let base = name.strip_suffix(".fifo").unwrap_or(name);
  if base.is_empty()
    || base.len() > 256
    || !base
      .chars()
      .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
  {
    return Err("the topic name may hold 1-256 letters, digits, '-' and '_'");
  }
  Ok(())
}

/// The request for one envelope as a JSON object with SNS's parameter names: the file
/// sink's line format, and what the dead-letter file keeps.
pub fn request_json(envelope: &Envelope) -> String {
  #[derive(Serialize)]
  #[serde(rename_all = "PascalCase")]
  struct Request<'a> {
    topic_arn: &'a str,
    subject: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_group_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_deduplication_id: Option<&'a str>,
    message: &'a str,
  }
  let fifo = is_fifo_topic(envelope.topic_arn());
  let dedup_id = envelope.dedup_id();
  let message = envelope.message();
  let request = Request {
    topic_arn: envelope.topic_arn(),
    subject: SUBJECT,
    message_group_id: fifo.then_some(&**envelope.group_id()),
    message_deduplication_id: fifo.then_some(&*dedup_id),
    message: &message,
  };
  serde_json::to_string(&request).expect("a request of strings always serializes")
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::message::DedupIds;

  #[test]
  fn request_json_omits_fifo_fields_for_standard_topics() {
    let envelope = Envelope::whole(
      "arn:aws:sns:us-east-1:123456789012:events.fifo",
      "https://chat.example.com",
      "d-1",
      "{\"a\":1}",
    );
    assert_eq!(
      request_json(&envelope),
      r#"{"TopicArn":"arn:aws:sns:us-east-1:123456789012:events.fifo","Subject":"RC","MessageGroupId":"https://chat.example.com","MessageDeduplicationId":"d-1","Message":"{\"a\":1}"}"#
    );
    let envelope = Envelope::whole(
      "arn:aws:sns:us-east-1:123456789012:events",
      "https://chat.example.com",
      "d-1",
      "{\"a\":1}",
    );
    assert_eq!(
      request_json(&envelope),
      r#"{"TopicArn":"arn:aws:sns:us-east-1:123456789012:events","Subject":"RC","Message":"{\"a\":1}"}"#
    );
  }

  #[test]
  fn the_logger_s_dedup_ids_are_valid_sns_dedup_ids() {
    let ids = DedupIds::new();
    for seq in [0, 9, u64::MAX] {
      assert!(is_valid_dedup_id(&ids.id(seq)), "{}", ids.id(seq));
    }
    assert!(!is_valid_dedup_id(&"x".repeat(129)));
    assert!(!is_valid_dedup_id("has space"));
  }

  #[test]
  fn topic_arns_and_group_ids() {
    assert!(check_topic_arn("arn:aws:sns:us-east-1:1:t.fifo").is_ok());
    assert!(check_topic_arn("arn:aws:s3:::bucket").is_err());
    assert!(check_message_group_id("https://chat.example.com").is_ok());
    assert!(check_message_group_id("").is_err());
    assert!(check_message_group_id("chät").is_err());
  }
}
