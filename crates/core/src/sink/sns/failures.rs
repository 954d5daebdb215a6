//! Which SNS errors are throttling, which are worth a retry, and which are final.

use crate::sink::{Failure, FailureKind};
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use std::error::Error;
use std::fmt::Debug;

/// Error codes that mean "slow down".
const THROTTLING_CODES: [&str; 6] = [
  "Throttling",
  "ThrottlingException",
  "Throttled",
  "KMSThrottling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
];

pub(super) fn classify(code: &str, status: Option<u16>, sender_fault: bool) -> FailureKind {
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
/// Only a refusal SNS itself explains (an error code in its reply) can be permanent; a reply
/// that is not an SNS response (a proxy's page, an empty body) is retried.
pub(super) fn request_failure<E: ProvideErrorMetadata + Error + 'static, R: Debug + 'static>(
  error: &SdkError<E, R>,
  status: Option<u16>,
) -> Failure {
  let (kind, code, message) = match error {
    SdkError::ServiceError(service) => match service.err().code() {
      Some(code) => (
        classify(code, status, status.is_none_or(|s| s < 500)),
        redact(code),
        redact(service.err().message().unwrap_or("")),
      ),
      None => unreadable(status),
    },
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
    _ if mentions_credentials(error) => (
      FailureKind::Retryable,
      "CredentialsError".into(),
      "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), web identity, or run where container or instance credentials are available"
        .into(),
    ),
    SdkError::DispatchFailure(_) => (
      FailureKind::Retryable,
      "ConnectionError".into(),
      "could not reach the SNS endpoint".into(),
    ),
    SdkError::ResponseError(_) => unreadable(status),
    // Mostly a missing region: fixable by the operator, so keep the events.
    _ => (
      FailureKind::Retryable,
      "ConfigError".into(),
      "the request could not be built (region missing?)".into(),
    ),
  };
  Failure {
    kind,
    code,
    message,
  }
}

fn unreadable(status: Option<u16>) -> (FailureKind, String, String) {
  (
    FailureKind::Unconfirmed,
    UNREADABLE_RESPONSE.into(),
    format!(
      "the reply (HTTP {}) is not an SNS response: a proxy or load balancer in the way? Retrying",
      status.map_or("without status".to_string(), |s| s.to_string())
    ),
  )
}

/// A PublishBatch reply that lists `listed` results for `count` entries (or ids that match
/// none, or one twice): unreadable as a whole, every entry retried.
pub(super) fn unaccounted(listed: usize, count: usize) -> Failure {
  Failure {
    kind: FailureKind::Unconfirmed,
    code: UNREADABLE_RESPONSE.into(),
    message: format!(
      "SNS's reply lists {listed} results for the {count} entries sent, not one for each: it is read as no reply (cut short?), and every entry is sent again"
    ),
  }
}

/// The code of a failure whose reply was not an SNS response.
pub(super) const UNREADABLE_RESPONSE: &str = "UnreadableResponse";

/// Whether the error, or one it was caused by, is about credentials: the SDK reports a failed
/// credential lookup as a failure to send.
pub(crate) fn mentions_credentials(error: &(dyn Error + 'static)) -> bool {
  let mut next = Some(error);
  while let Some(e) = next {
    if e.to_string().to_ascii_lowercase().contains("credentials") {
      return true;
    }
    next = e.source();
  }
  false
}

/// Removes what may be a secret from text a server sent (AWS echoes the canonical request,
/// session token included, in `SignatureDoesNotMatch`): access key ids, and any run of 32 or
/// more token characters holding both letters and digits (secret keys, session tokens,
/// signatures). The text reaches `onError` and the dead-letter file.
pub fn redact(text: &str) -> String {
  const MIN_SECRET: usize = 32;
  let is_token = |c: char| c.is_ascii_alphanumeric() || "+/=%_-".contains(c);
  let mut out = String::with_capacity(text.len());
  let mut rest = text;
  while !rest.is_empty() {
    let start = rest.find(is_token).unwrap_or(rest.len());
    out.push_str(&rest[..start]);
    rest = &rest[start..];
    let end = rest.find(|c: char| !is_token(c)).unwrap_or(rest.len());
    let token = &rest[..end];
    let mixed = token.contains(|c: char| c.is_ascii_digit())
      && token.contains(|c: char| c.is_ascii_alphabetic());
    let key_id = token.len() >= 20
      && (token.starts_with("AKIA") || token.starts_with("ASIA"))
      && token[..20]
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if (token.len() >= MIN_SECRET && mixed) || key_id {
      out.push_str("[redacted]");
    } else {
      out.push_str(token);
    }
    rest = &rest[end..];
  }
  out
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

  #[test]
  fn secrets_in_server_text_are_redacted() {
    let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx1234567890abcdef+/==";
    let text = format!(
      "The request signature we calculated does not match. The Canonical String for this request should have been\n'POST\n/\n\nhost:sns.us-east-1.amazonaws.com\nx-amz-security-token:{token}\n' Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sns/aws4_request, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    );
    let redacted = redact(&text);
    assert!(!redacted.contains(token), "{redacted}");
    assert!(!redacted.contains("IQoJb3JpZ2lu"), "{redacted}");
    assert!(!redacted.contains("AKIAIOSFODNN7EXAMPLE"), "{redacted}");
    assert!(!redacted.contains("5d672d79c15b"), "{redacted}");
    assert!(redacted.starts_with("The request signature we calculated does not match."));
    let plain = "Invalid parameter: TopicArn (arn:aws:sns:us-east-1:123456789012:rc-events.fifo)";
    assert_eq!(redact(plain), plain);
  }
}
