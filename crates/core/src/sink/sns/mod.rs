//! The SNS sink: PublishBatch through aws-sdk-sns, with the standard AWS credential, region
//! and endpoint chains. Retries are the delivery layer's job (it keeps per-group order and
//! spools), so the SDK makes one attempt per call, bounded by timeouts. Everything SNS
//! requires of a request lives in this folder.

pub mod preflight;

pub use failures::redact;
mod failures;
mod rules;

pub(crate) use failures::mentions_credentials;
pub use rules::{
  is_fifo_topic, is_valid_dedup_id, request_json, validate_message_group_id, validate_topic_arn,
  SnsRequest, LIMITS, SUBJECT,
};

use super::{BatchResult, BoxFuture, Failure, Sink, SinkLimits, SinkOptions};
use crate::error::Result;
use crate::message::{Envelope, ATTRIBUTE_DATA_TYPE};
use crate::options::WholeNumber;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sns::operation::publish_batch::PublishBatchOutput;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

type TimeoutMs = WholeNumber<1, 600_000>;

/// `sink: { kind: 'sns', region?, endpoint?, connectTimeoutMs?, requestTimeoutMs? }`, or
/// `SNS_LOGGER_SINK=sns`. Unset, region and endpoint come from the AWS chains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnsOptions {
  pub region: Option<String>,
  pub endpoint: Option<String>,
  /// Default 3000.
  connect_timeout_ms: Option<TimeoutMs>,
  /// Bounds a whole request, so a stalled endpoint holds a batch at most this long. Default
  /// 10000.
  request_timeout_ms: Option<TimeoutMs>,
}

impl SnsOptions {
  /// Everything from the AWS chains and the defaults (`{ kind: 'sns' }`).
  pub const DEFAULT: SnsOptions = SnsOptions {
    region: None,
    endpoint: None,
    connect_timeout_ms: None,
    request_timeout_ms: None,
  };

  pub fn connect_timeout(&self) -> Duration {
    Duration::from_millis(self.connect_timeout_ms.map_or(3_000, |ms| ms.0))
  }

  pub fn request_timeout(&self) -> Duration {
    Duration::from_millis(self.request_timeout_ms.map_or(10_000, |ms| ms.0))
  }
}

impl SinkOptions for SnsOptions {
  fn env_form() -> &'static str {
    "sns"
  }

  fn from_env(arg: Option<&str>) -> Option<Self> {
    arg.is_none().then(SnsOptions::default)
  }

  fn build(&self) -> Result<Arc<dyn Sink>> {
    Ok(Arc::new(SnsSink::new(self.clone())))
  }

  /// SNS can be down for a while: keep what cannot be sent on disk.
  fn spools_by_default(&self) -> bool {
    true
  }
}

pub struct SnsSink {
  options: SnsOptions,
  /// Built on first use, on the runtime: loading AWS config may probe the network.
  client: OnceCell<Client>,
}

impl SnsSink {
  pub fn new(options: SnsOptions) -> SnsSink {
    SnsSink {
      options,
      client: OnceCell::new(),
    }
  }

  async fn client(&self) -> &Client {
    self
      .client
      .get_or_init(|| async { Client::new(&load_config(&self.options).await) })
      .await
  }
}

/// The AWS configuration of every SNS client this crate builds (the sink's, and `check`'s,
/// which must ask SNS as the sink will): region, endpoint and credentials from `options` and
/// the standard chains; one attempt per call (retries are the delivery's), so the operation
/// timeout is the attempt's (a second, attempt timeout would only arm another timer per
/// request); the SDK's stall detector off, since the operation timeout already bounds a stalled
/// request and the detector watches every body byte, measurably costly per request.
pub async fn load_config(options: &SnsOptions) -> aws_config::SdkConfig {
  let timeouts = TimeoutConfig::builder()
    .connect_timeout(options.connect_timeout())
    .operation_timeout(options.request_timeout())
    .build();
  let mut loader = aws_config::defaults(BehaviorVersion::latest())
    .retry_config(RetryConfig::disabled())
    .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
    .timeout_config(timeouts);
  if let Some(region) = &options.region {
    loader = loader.region(Region::new(region.clone()));
  }
  if let Some(endpoint) = &options.endpoint {
    loader = loader.endpoint_url(endpoint);
  }
  loader.load().await
}

fn request_entry(index: usize, envelope: &Envelope, fifo: bool) -> PublishBatchRequestEntry {
  let mut entry = PublishBatchRequestEntry::builder()
    .id(index.to_string())
    .message(envelope.message())
    .subject(SUBJECT);
  if fifo {
    entry = entry
      .message_group_id(&**envelope.group_id())
      .message_deduplication_id(envelope.dedup_id());
  }
  for (name, value) in envelope.attributes().iter().flat_map(|a| a.entries()) {
    let value = MessageAttributeValue::builder()
      .data_type(ATTRIBUTE_DATA_TYPE)
      .string_value(value)
      .build()
      .expect("the data type is set");
    entry = entry.message_attributes(name, value);
  }
  entry.build().expect("id and message are set")
}

/// Each entry's result from a PublishBatch reply. A reply that does not account for every
/// entry sent exactly once (Successful + Failed = entries, each id one of them) is unreadable
/// as a whole: a body cut short still parses (the SDK's XML reader is lenient), so what it
/// does say cannot be trusted either. Every entry is then unconfirmed and retried, never
/// counted as sent; their dedup ids make a retry of one that landed harmless.
fn settle_entries(output: &PublishBatchOutput, count: usize) -> BatchResult {
  let mut results: Vec<Option<std::result::Result<(), Failure>>> = vec![None; count];
  let mut place = |id: Option<&str>, result: std::result::Result<(), Failure>| {
    let slot = id
      .and_then(|id| id.parse::<usize>().ok())
      .filter(|&i| i < count);
    match slot.map(|i| &mut results[i]) {
      Some(free @ None) => {
        *free = Some(result);
        true
      }
      _ => false,
    }
  };
  let mut accounted = 0;
  for done in output.successful() {
    accounted += usize::from(place(done.id(), Ok(())));
  }
  for failed in output.failed() {
    let failure = Failure {
      kind: failures::classify(failed.code(), None, failed.sender_fault()),
      code: failures::redact(failed.code()),
      message: failures::redact(failed.message().unwrap_or("")),
    };
    accounted += usize::from(place(Some(failed.id()), Err(failure)));
  }
  let listed = output.successful().len() + output.failed().len();
  if accounted != count || listed != count {
    return vec![Err(failures::unaccounted(listed, count)); count];
  }
  results
    .into_iter()
    .map(|result| result.expect("every entry is accounted for"))
    .collect()
}

impl Sink for SnsSink {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    Box::pin(async move {
      let Some(first) = entries.first() else {
        return Vec::new();
      };
      let fifo = is_fifo_topic(first.topic_arn());
      let request_entries = entries
        .iter()
        .enumerate()
        .map(|(i, e)| request_entry(i, e, fifo))
        .collect();
      let response = self
        .client()
        .await
        .publish_batch()
        .topic_arn(&**first.topic_arn())
        .set_publish_batch_request_entries(Some(request_entries))
        .send()
        .await;
      match response {
        Ok(output) => settle_entries(&output, entries.len()),
        Err(error) => {
          let status = error.raw_response().map(|r| r.status().as_u16());
          vec![Err(failures::request_failure(&error, status)); entries.len()]
        }
      }
    })
  }

  fn limits(&self) -> SinkLimits {
    LIMITS
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::message::MessageAttributes;

  const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:events.fifo";

  #[test]
  fn an_entry_carries_attributes_only_when_its_event_was_logged_with_them() {
    let plain = request_entry(3, &Envelope::whole(TOPIC, "site", "d-1", "{}"), true);
    assert_eq!(plain.id(), "3");
    assert_eq!(plain.message(), "{}");
    assert_eq!(plain.subject(), Some(SUBJECT));
    assert_eq!(plain.message_group_id(), Some("site"));
    assert_eq!(plain.message_deduplication_id(), Some("d-1"));
    assert_eq!(plain.message_attributes(), None);

    let attributes = MessageAttributes {
      category: "Agent Transfer".into(),
      action: "failed".into(),
      event_type: "session".into(),
    };
    let envelope = Envelope::whole_with_attributes(TOPIC, "site", "d-1", "{}", &attributes);
    let entry = request_entry(3, &envelope.unwrap(), true);
    let sent = entry.message_attributes().expect("attributes");
    let mut names: Vec<&String> = sent.keys().collect();
    names.sort();
    assert_eq!(names, ["action", "category", "eventType"]);
    for (name, value) in attributes.entries() {
      assert_eq!(sent[name].data_type(), "String", "{name}");
      assert_eq!(sent[name].string_value(), Some(value), "{name}");
      assert_eq!(sent[name].binary_value(), None, "{name}");
    }
    assert_eq!(
      (entry.message(), entry.message_deduplication_id()),
      ("{}", Some("d-1"))
    );
  }
}
