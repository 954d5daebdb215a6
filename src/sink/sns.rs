//! The SNS sink: PublishBatch through aws-sdk-sns, with the standard AWS credential, region
//! and endpoint chains. Retries are the delivery layer's job (it keeps per-group order and
//! spools), so the SDK makes one attempt per call, bounded by timeouts.

use super::{BatchResult, BoxFuture, Failure, FailureKind, Sink};
use crate::message::{Envelope, SUBJECT};
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::PublishBatchRequestEntry;
use aws_sdk_sns::Client;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Connection and request bounds: a stalled endpoint holds a batch for at most `operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnsTimeouts {
  pub connect: Duration,
  pub operation: Duration,
}

impl Default for SnsTimeouts {
  fn default() -> Self {
    SnsTimeouts {
      connect: Duration::from_secs(3),
      operation: Duration::from_secs(10),
    }
  }
}

pub struct SnsSink {
  region: Option<String>,
  endpoint: Option<String>,
  timeouts: SnsTimeouts,
  /// Built on first use, on the runtime: loading AWS config may probe the network.
  client: OnceCell<Client>,
}

/// Error codes that mean "slow down".
const THROTTLING_CODES: [&str; 6] = [
  "Throttling",
  "ThrottlingException",
  "Throttled",
  "KMSThrottling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
];

impl SnsSink {
  pub fn new(region: Option<String>, endpoint: Option<String>, timeouts: SnsTimeouts) -> SnsSink {
    SnsSink {
      region,
      endpoint,
      timeouts,
      client: OnceCell::new(),
    }
  }

  async fn client(&self) -> &Client {
    self
      .client
      .get_or_init(|| async {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
          .retry_config(RetryConfig::disabled())
          // The operation timeout below already bounds a stalled request; the SDK's own
          // stall detector watches every body byte, measurably costly per request.
          .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
          .timeout_config(
            TimeoutConfig::builder()
              .connect_timeout(self.timeouts.connect)
              .operation_attempt_timeout(self.timeouts.operation)
              .operation_timeout(self.timeouts.operation)
              .build(),
          );
        if let Some(region) = &self.region {
          loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint {
          loader = loader.endpoint_url(endpoint);
        }
        Client::new(&loader.load().await)
      })
      .await
  }
}

fn classify(code: &str, status: Option<u16>, sender_fault: bool) -> FailureKind {
  if THROTTLING_CODES.contains(&code) || status == Some(429) {
    FailureKind::Throttled
  } else if status.is_some_and(|s| s >= 500)
    || code == "InternalError"
    || code == "InternalFailure"
    || !sender_fault
  {
    FailureKind::Retryable
  } else {
    FailureKind::Permanent
  }
}

/// A whole-request failure, described without anything from the request (no credentials).
fn request_failure<E: ProvideErrorMetadata, R>(
  error: &SdkError<E, R>,
  status: Option<u16>,
) -> Failure {
  let (kind, code, message) = match error {
    SdkError::ServiceError(service) => {
      let err = service.err();
      let code = err.code().unwrap_or("UnknownError").to_string();
      let kind = classify(&code, status, status.is_none_or(|s| s < 500));
      (kind, code, err.message().unwrap_or("").to_string())
    }
    SdkError::TimeoutError(_) => (
      FailureKind::Retryable,
      "Timeout".into(),
      "the request timed out".into(),
    ),
    SdkError::DispatchFailure(failure) if failure.is_timeout() => (
      FailureKind::Retryable,
      "Timeout".into(),
      "the connection timed out".into(),
    ),
    SdkError::DispatchFailure(_) => (
      FailureKind::Retryable,
      "ConnectionError".into(),
      "could not reach the SNS endpoint".into(),
    ),
    SdkError::ResponseError(_) => (
      FailureKind::Retryable,
      "ResponseError".into(),
      format!("unreadable response (HTTP {})", status.unwrap_or(0)),
    ),
    // Mostly missing credentials or region: fixable by the operator, so keep the events.
    _ => (
      FailureKind::Retryable,
      "ConfigError".into(),
      "the request could not be built (credentials or region missing?)".into(),
    ),
  };
  Failure {
    kind,
    code,
    message,
  }
}

impl Sink for SnsSink {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    Box::pin(async move {
      let Some(first) = entries.first() else {
        return Vec::new();
      };
      let fifo = first.is_fifo();
      let request_entries = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
          let mut entry = PublishBatchRequestEntry::builder()
            .id(i.to_string())
            .message(&e.message)
            .subject(SUBJECT);
          if fifo {
            entry = entry
              .message_group_id(&*e.group_id)
              .message_deduplication_id(&e.dedup_id);
          }
          entry.build().expect("id and message are set")
        })
        .collect();
      let response = self
        .client()
        .await
        .publish_batch()
        .topic_arn(&*first.topic_arn)
        .set_publish_batch_request_entries(Some(request_entries))
        .send()
        .await;
      match response {
        Ok(output) => {
          let mut results: BatchResult = vec![Ok(()); entries.len()];
          for failed in output.failed() {
            if let Some(slot) = failed
              .id()
              .parse::<usize>()
              .ok()
              .and_then(|i| results.get_mut(i))
            {
              *slot = Err(Failure {
                kind: classify(failed.code(), None, failed.sender_fault()),
                code: failed.code().to_string(),
                message: failed.message().unwrap_or("").to_string(),
              });
            }
          }
          results
        }
        Err(error) => {
          let status = error.raw_response().map(|r| r.status().as_u16());
          vec![Err(request_failure(&error, status)); entries.len()]
        }
      }
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn classifies_every_spelling_of_throttling_and_permanent_errors() {
    for code in THROTTLING_CODES {
      assert_eq!(classify(code, None, true), FailureKind::Throttled, "{code}");
    }
    assert_eq!(
      classify("Whatever", Some(429), true),
      FailureKind::Throttled
    );
    assert_eq!(
      classify("InternalError", Some(500), false),
      FailureKind::Retryable
    );
    assert_eq!(
      classify("ServiceUnavailable", Some(503), true),
      FailureKind::Retryable
    );
    assert_eq!(
      classify("InternalError", None, false),
      FailureKind::Retryable
    );
    for code in [
      "InvalidParameter",
      "ParameterValueInvalid",
      "NotFound",
      "AuthorizationError",
      "KMSAccessDenied",
      "ValidationException",
    ] {
      assert_eq!(
        classify(code, Some(400), true),
        FailureKind::Permanent,
        "{code}"
      );
    }
  }
}
