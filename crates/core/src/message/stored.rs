//! An envelope as the spool stores it and `records()` shows it: the request's own names
//! (`TopicArn`, `MessageGroupId`, `MessageDeduplicationId`, `Message`, `MessageAttributes`).

use super::{Envelope, MessageAttributes};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// How an envelope is stored (spool) and shown (`records()`): the request's own names.
#[derive(Serialize, Deserialize)]
struct StoredEnvelope<'a> {
  #[serde(rename = "TopicArn", borrow)]
  topic_arn: Cow<'a, str>,
  #[serde(rename = "MessageGroupId", borrow)]
  group_id: Cow<'a, str>,
  #[serde(rename = "MessageDeduplicationId", borrow)]
  dedup_id: Cow<'a, str>,
  #[serde(rename = "Message", borrow)]
  message: Cow<'a, str>,
  #[serde(
    rename = "MessageAttributes",
    borrow,
    default,
    skip_serializing_if = "Option::is_none"
  )]
  attributes: Option<MessageAttributes<'a>>,
}

impl Serialize for Envelope {
  fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
    StoredEnvelope {
      topic_arn: Cow::Borrowed(self.topic_arn()),
      group_id: Cow::Borrowed(self.group_id()),
      dedup_id: self.dedup_id(),
      message: Cow::Owned(self.message()),
      attributes: self.attributes(),
    }
    .serialize(serializer)
  }
}

impl<'de> Deserialize<'de> for Envelope {
  fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Envelope, D::Error> {
    let stored = StoredEnvelope::deserialize(deserializer)?;
    if stored.dedup_id.len() > u16::MAX as usize {
      return Err(serde::de::Error::custom(
        "MessageDeduplicationId is too long",
      ));
    }
    let (topic, group) = (&stored.topic_arn, &stored.group_id);
    match &stored.attributes {
      None => Ok(Envelope::whole(
        topic,
        group,
        &stored.dedup_id,
        &stored.message,
      )),
      Some(attributes) => {
        Envelope::whole_with_attributes(topic, group, &stored.dedup_id, &stored.message, attributes)
          .map_err(serde::de::Error::custom)
      }
    }
  }
}
