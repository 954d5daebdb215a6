//! What SNS accepts: the request's fixed parts, its size limits, and the rules for topic
//! ARNs, message group ids and deduplication ids.

use crate::message::{Envelope, MessageAttributes};
use crate::sink::SinkLimits;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// `Subject` of every request.
pub const SUBJECT: &str = "RC";

/// PublishBatch: at most 10 entries and 256 KiB per request; a message at most 256 KiB (the
/// default `MaximumMessageSize`).
pub const LIMITS: SinkLimits = SinkLimits {
  batch_entries: 10,
  batch_bytes: 256 * 1024,
  message_bytes: crate::wire::MAX_MESSAGE_BYTES,
};

/// FIFO topics (names ending in `.fifo`) take a message group id and a deduplication id;
/// standard topics take neither.
pub fn is_fifo_topic(topic_arn: &str) -> bool {
  topic_arn.ends_with(".fifo")
}

/// `MessageGroupId`: 1-128 characters, letters, digits and punctuation. Returns what is
/// allowed when `id` is not.
pub fn validate_message_group_id(id: &str) -> Result<(), &'static str> {
  let valid = !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic());
  valid
    .then_some(())
    .ok_or("1 to 128 ASCII letters, digits and punctuation, no spaces")
}

/// `MessageDeduplicationId`: the same rule as the message group id.
pub fn is_valid_dedup_id(id: &str) -> bool {
  validate_message_group_id(id).is_ok()
}

/// `arn:aws…:sns:<region>:<account>:<topic>[.fifo]`; returns why an ARN is not one.
pub fn validate_topic_arn(arn: &str) -> Result<(), &'static str> {
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

/// One Publish request with SNS's parameter names: the line format of the file sink, of
/// `spool export` and of the dead-letter file's `request`, written and read with this one type.
/// `MessageAttributes` only when the event was logged with `messageAttributes` on, so that the
/// lines of a logger without them are what they always were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsRequest<'a> {
  #[serde(borrow)]
  pub topic_arn: Cow<'a, str>,
  #[serde(borrow, default = "subject")]
  pub subject: Cow<'a, str>,
  #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
  pub message_group_id: Option<Cow<'a, str>>,
  #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
  pub message_deduplication_id: Option<Cow<'a, str>>,
  #[serde(borrow)]
  pub message: Cow<'a, str>,
  #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
  pub message_attributes: Option<MessageAttributes<'a>>,
}

fn subject() -> Cow<'static, str> {
  Cow::Borrowed(SUBJECT)
}

impl<'a> SnsRequest<'a> {
  /// The request for `envelope` (FIFO fields only for a FIFO topic).
  pub fn of(envelope: &'a Envelope) -> SnsRequest<'a> {
    let fifo = is_fifo_topic(envelope.topic_arn());
    SnsRequest {
      topic_arn: Cow::Borrowed(envelope.topic_arn()),
      subject: Cow::Borrowed(SUBJECT),
      message_group_id: fifo.then(|| Cow::Borrowed(&**envelope.group_id())),
      message_deduplication_id: fifo.then(|| envelope.dedup_id()),
      message: Cow::Owned(envelope.message()),
      message_attributes: envelope.attributes(),
    }
  }

  /// The envelope that sends this request again, with its own dedup id and attributes.
  pub fn envelope(&self) -> Result<Envelope, String> {
    let (topic, group, dedup) = (
      &self.topic_arn,
      self.message_group_id.as_deref().unwrap_or(""),
      self.message_deduplication_id.as_deref().unwrap_or(""),
    );
    match &self.message_attributes {
      None => Ok(Envelope::whole(topic, group, dedup, &self.message)),
      Some(attributes) => {
        Envelope::whole_with_attributes(topic, group, dedup, &self.message, attributes)
      }
    }
  }
}

/// The request for one envelope as a JSON object with SNS's parameter names ([`SnsRequest`]).
pub fn request_json(envelope: &Envelope) -> String {
  serde_json::to_string(&SnsRequest::of(envelope)).expect("a request of strings always serializes")
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
  fn a_request_with_attributes_lists_them_last_and_sends_them_again_when_read_back() {
    let attributes = MessageAttributes {
      category: "Survey".into(),
      action: "link_clicked".into(),
      event_type: "customerAction".into(),
    };
    let topic = "arn:aws:sns:us-east-1:123456789012:events.fifo";
    let envelope =
      Envelope::whole_with_attributes(topic, "site", "d-1", "{\"a\":1}", &attributes).unwrap();
    let line = request_json(&envelope);
    assert_eq!(
      line,
      r#"{"TopicArn":"arn:aws:sns:us-east-1:123456789012:events.fifo","Subject":"RC","MessageGroupId":"site","MessageDeduplicationId":"d-1","Message":"{\"a\":1}","MessageAttributes":{"category":{"DataType":"String","StringValue":"Survey"},"action":{"DataType":"String","StringValue":"link_clicked"},"eventType":{"DataType":"String","StringValue":"customerAction"}}}"#
    );
    let request: SnsRequest = serde_json::from_str(&line).unwrap();
    let again = request.envelope().unwrap();
    assert_eq!(again.attributes(), Some(attributes));
    assert_eq!(request_json(&again), line);
    let plain = request_json(&Envelope::whole(topic, "site", "d-1", "{}"));
    let plain: SnsRequest = serde_json::from_str(&plain).unwrap();
    assert_eq!(plain.envelope().unwrap().attributes(), None);
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
    assert!(validate_topic_arn("arn:aws:sns:us-east-1:1:t.fifo").is_ok());
    assert!(validate_topic_arn("arn:aws:s3:::bucket").is_err());
    assert!(validate_message_group_id("https://chat.example.com").is_ok());
    assert!(validate_message_group_id("").is_err());
    assert!(validate_message_group_id("chät").is_err());
  }
}
