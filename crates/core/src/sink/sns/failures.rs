//! Which SNS errors are throttling, which are worth a retry, and which are final.

use crate::sink::{Failure, FailureKind};
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};

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
pub(super) fn request_failure<E: ProvideErrorMetadata, R>(
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
