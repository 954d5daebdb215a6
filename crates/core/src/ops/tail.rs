//! `sns-logger tail`: reads an SQS queue subscribed to a topic, so that a developer sees their
//! events arrive. This side receives (long polling) and deletes when asked; the command line
//! unwraps the SNS envelope, checks each message against the plan's JSON Schema and prints it.
//!
//! The client is the SNS sink's AWS configuration (`load_config`: region, credentials and
//! timeouts from the `sink` setting and the AWS chains) without its endpoint, which is SNS's:
//! SQS's comes from the SDK's own `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`.

use crate::error::{quote, ErrorCode, LoggerError, Result};
use crate::sink::sns::{load_config, mentions_credentials, redact, SnsOptions};
use crate::sink::SinkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use serde::Serialize;
use std::error::Error;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The longest long poll SQS allows.
pub const MAX_WAIT_SECONDS: u8 = 20;

/// One message as SQS hands it out; `body` is the SNS envelope (JSON) unless the subscription
/// delivers raw messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMessage {
  pub message_id: String,
  pub receipt_handle: String,
  pub body: String,
  /// FIFO queues only.
  pub message_group_id: Option<String>,
  /// When SQS took it in, milliseconds since the epoch.
  pub sent_timestamp: Option<String>,
}

/// What a deletion did: how many SQS confirmed, and the refusals (code and message).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeleteReport {
  pub deleted: usize,
  pub failed: Vec<super::ErrorInfo>,
}

pub struct QueueReader {
  queue_url: String,
  options: SnsOptions,
  /// Built on first use, on the runtime: loading AWS config may probe the network.
  client: OnceCell<std::result::Result<Client, LoggerError>>,
}

impl QueueReader {
  /// A reader of `queue_url` with the `sink` setting's AWS options (its region and timeouts;
  /// the defaults when the sink is not SNS).
  pub fn new(sink: &SinkConfig, queue_url: &str) -> Result<QueueReader> {
    if !(queue_url.starts_with("https://") || queue_url.starts_with("http://")) {
      return Err(LoggerError::new(
        ErrorCode::InvalidOptions,
        format!(
          "the queue URL {} is not allowed; allowed: the URL SQS gives a queue, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/events-tail.fifo",
          quote(queue_url)
        ),
      ));
    }
    let mut options = match sink {
      SinkConfig::Sns(options) => options.clone(),
      _ => SnsOptions::DEFAULT,
    };
    options.endpoint = None;
    Ok(QueueReader {
      queue_url: queue_url.to_string(),
      options,
      client: OnceCell::new(),
    })
  }

  /// A reader with the `sink` setting of `options` (`--config`) or of the environment.
  pub fn from_settings(
    options: Option<&serde_json::Value>,
    env: &dyn Fn(&str) -> Option<String>,
    queue_url: &str,
  ) -> Result<QueueReader> {
    use crate::config::settings::{Sources, SINK};
    let sink = Sources::new(options, env, "options must be an object")?.value(&SINK)?;
    QueueReader::new(&sink, queue_url)
  }

  async fn client(&self) -> Result<&Client> {
    let built = self
      .client
      .get_or_init(|| async {
        let shared = load_config(&self.options).await;
        if shared.region().is_none() {
          return Err(LoggerError::new(
            ErrorCode::InvalidOptions,
            "no AWS region is configured: set AWS_REGION (or sink.region in --config, or region in the AWS profile)",
          ));
        }
        // A long poll outlasts the sink's request timeout: each attempt gets both. SQS calls
        // are retried here (the sink's are not: its delivery retries on its own).
        let timeouts = TimeoutConfig::builder()
          .connect_timeout(self.options.connect_timeout())
          .operation_attempt_timeout(
            Duration::from_secs(MAX_WAIT_SECONDS.into()) + self.options.request_timeout(),
          )
          .build();
        let config = aws_sdk_sqs::config::Builder::from(&shared)
          .retry_config(RetryConfig::standard())
          .timeout_config(timeouts)
          .build();
        Ok(Client::from_conf(config))
      })
      .await;
    built.as_ref().map_err(Clone::clone)
  }

  /// Up to 10 messages, waiting up to `wait_seconds` (at most 20) for the first.
  pub async fn receive(&self, wait_seconds: u8) -> Result<Vec<QueueMessage>> {
    let output = self
      .client()
      .await?
      .receive_message()
      .queue_url(&self.queue_url)
      .max_number_of_messages(10)
      .wait_time_seconds(wait_seconds.min(MAX_WAIT_SECONDS).into())
      .message_system_attribute_names(MessageSystemAttributeName::All)
      .send()
      .await
      .map_err(|e| self.failure(e))?;
    Ok(
      output
        .messages()
        .iter()
        .map(|m| {
          let attribute =
            |name: MessageSystemAttributeName| m.attributes().and_then(|a| a.get(&name)).cloned();
          QueueMessage {
            message_id: m.message_id().unwrap_or_default().to_string(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_string(),
            body: m.body().unwrap_or_default().to_string(),
            message_group_id: attribute(MessageSystemAttributeName::MessageGroupId),
            sent_timestamp: attribute(MessageSystemAttributeName::SentTimestamp),
          }
        })
        .collect(),
    )
  }

  /// Deletes received messages by their receipt handles, 10 per request.
  pub async fn delete(&self, receipt_handles: &[String]) -> Result<DeleteReport> {
    let client = self.client().await?;
    let mut report = DeleteReport::default();
    for chunk in receipt_handles.chunks(10) {
      let entries = chunk
        .iter()
        .enumerate()
        .map(|(i, handle)| {
          DeleteMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .receipt_handle(handle)
            .build()
            .expect("id and receipt handle are set")
        })
        .collect();
      let output = client
        .delete_message_batch()
        .queue_url(&self.queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| self.failure(e))?;
      report.deleted += output.successful().len();
      report
        .failed
        .extend(output.failed().iter().map(|f| super::ErrorInfo {
          code: redact(f.code()),
          message: redact(f.message().unwrap_or("")),
        }));
    }
    Ok(report)
  }

  /// An SQS call's failure as an error with a stable code; nothing of the request in it.
  fn failure<E: ProvideErrorMetadata + Error + 'static, R: std::fmt::Debug + 'static>(
    &self,
    error: SdkError<E, R>,
  ) -> LoggerError {
    let queue = quote(&self.queue_url);
    let (code, message) = match &error {
      SdkError::ServiceError(service) => {
        let code = service.err().code().unwrap_or("");
        let said = redact(service.err().message().unwrap_or(""));
        if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist") {
          (
            ErrorCode::QueueNotFound,
            format!("the queue {queue} does not exist (SQS: {said}): check --queue-url and the region"),
          )
        } else {
          (
            ErrorCode::QueueAccess,
            format!("SQS refused to read the queue {queue}: {}: {said}", redact(code)),
          )
        }
      }
      _ if mentions_credentials(&error) => (
        ErrorCode::Credentials,
        "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), web identity, or run where container or instance credentials are available".to_string(),
      ),
      SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => (
        ErrorCode::QueueUnreachable,
        format!("could not reach SQS to read the queue {queue} (no answer, or not an SQS answer): check the network and AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL"),
      ),
      _ => (
        ErrorCode::QueueUnreachable,
        format!("the request to read the queue {queue} could not be built"),
      ),
    };
    LoggerError::new(code, message)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_queue_url_must_be_a_url() {
    let sink = SinkConfig::Sns(SnsOptions::DEFAULT);
    let error = QueueReader::new(&sink, "events-tail.fifo").err().unwrap();
    assert_eq!(error.code, ErrorCode::InvalidOptions);
    assert!(
      error.message.contains("\"events-tail.fifo\""),
      "{}",
      error.message
    );
    assert!(QueueReader::new(&sink, "http://127.0.0.1:5000/123456789012/q.fifo").is_ok());
  }

  #[test]
  fn the_sns_endpoint_is_not_the_queues() {
    let sink: SinkConfig = serde_json::from_value(serde_json::json!({
      "kind": "sns", "region": "eu-west-1", "endpoint": "http://127.0.0.1:1"
    }))
    .unwrap();
    let reader = QueueReader::new(&sink, "https://sqs.eu-west-1.amazonaws.com/1/q").unwrap();
    assert_eq!(reader.options.endpoint, None);
    assert_eq!(reader.options.region.as_deref(), Some("eu-west-1"));
  }
}
