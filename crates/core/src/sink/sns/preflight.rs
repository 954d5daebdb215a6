//! `sns-logger check`'s questions to SNS: which credentials the AWS chain finds (their source,
//! never their keys), the region, and each topic's attributes (GetTopicAttributes). The client
//! is built from the sink's own configuration (`load_config`), with the same options.

use super::failures;
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::Client;
use serde::Serialize;

/// Where the credentials come from; never the keys themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsReport {
  /// The provider that answered: `EnvironmentVariable`, `ProfileFile`, `WebIdentityToken`,
  /// `IMDSv2`, `EcsContainer`, ...; `None` when none did.
  pub source: Option<String>,
  /// `AWS_PROFILE`, when set.
  pub profile: Option<String>,
  pub region: Option<String>,
  /// `sink.endpoint` or `AWS_ENDPOINT_URL_SNS` / `AWS_ENDPOINT_URL`, when set.
  pub endpoint: Option<String>,
  /// Why no credentials were found (secrets redacted).
  pub error: Option<String>,
}

/// What SNS says about one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicAttributes {
  pub topic_arn: String,
  /// `None`: SNS could not be asked (see `error`).
  pub exists: Option<bool>,
  pub fifo: Option<bool>,
  pub content_based_deduplication: Option<bool>,
  /// The topic's KMS key (an id or alias, not a secret), when encrypted.
  pub kms_master_key_id: Option<String>,
  /// SNS's error code and message (secrets redacted) when it did not answer with attributes.
  pub error: Option<(String, String)>,
}

pub use super::load_config;

/// Resolves the credentials of `config` and says where they come from.
pub async fn credentials(
  config: &SdkConfig,
  env: &dyn Fn(&str) -> Option<String>,
) -> CredentialsReport {
  let mut report = CredentialsReport {
    profile: env("AWS_PROFILE").filter(|p| !p.is_empty()),
    region: config.region().map(|r| r.to_string()),
    endpoint: config.endpoint_url().map(failures::redact),
    ..Default::default()
  };
  let Some(provider) = config.credentials_provider() else {
    report.error = Some("no AWS credentials provider is configured".into());
    return report;
  };
  use aws_credential_types::provider::ProvideCredentials;
  match provider.provide_credentials().await {
    Ok(credentials) => report.source = Some(provider_name(&credentials)),
    Err(error) => report.error = Some(credentials_error(&error)),
  }
  report
}

/// The provider's name, read from the credentials' debug form (the SDK has no accessor). Only
/// the `provider_name` field is taken from it; the rest (the key id) is dropped here.
fn provider_name(credentials: &aws_credential_types::Credentials) -> String {
  let debug = format!("{credentials:?}");
  debug
    .split_once("provider_name: \"")
    .and_then(|(_, rest)| rest.split_once('"'))
    .map(|(name, _)| name)
    .filter(|name| {
      name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
    .unwrap_or("unknown")
    .to_string()
}

fn credentials_error(error: &CredentialsError) -> String {
  let what = match error {
    CredentialsError::CredentialsNotLoaded(_) => "no AWS credentials were found",
    CredentialsError::ProviderTimedOut(_) => "the credentials provider timed out",
    CredentialsError::InvalidConfiguration(_) => "the AWS credentials configuration is invalid",
    CredentialsError::ProviderError(_) => "the credentials provider failed",
    _ => "the credentials could not be resolved",
  };
  let mut detail = String::new();
  let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
  while let Some(e) = next {
    detail = e.to_string();
    next = e.source();
  }
  let fix = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), web identity, or run where container or instance credentials are available";
  if detail.is_empty() {
    format!("{what}: {fix}")
  } else {
    format!("{what} ({}): {fix}", failures::redact(&detail))
  }
}

/// Asks SNS for a topic's attributes.
pub async fn topic_attributes(client: &Client, topic_arn: &str) -> TopicAttributes {
  let mut report = TopicAttributes {
    topic_arn: topic_arn.to_string(),
    ..Default::default()
  };
  match client
    .get_topic_attributes()
    .topic_arn(topic_arn)
    .send()
    .await
  {
    Ok(output) => {
      let attributes = output.attributes().cloned().unwrap_or_default();
      let flag = |name: &str| attributes.get(name).map(|v| v.eq_ignore_ascii_case("true"));
      report.exists = Some(true);
      report.fifo = Some(flag("FifoTopic").unwrap_or(false));
      report.content_based_deduplication = Some(flag("ContentBasedDeduplication").unwrap_or(false));
      report.kms_master_key_id = attributes
        .get("KmsMasterKeyId")
        .filter(|k| !k.is_empty())
        .cloned();
    }
    Err(error) => {
      let code = error.code().map(str::to_string);
      if matches!(code.as_deref(), Some("NotFound" | "NotFoundException")) {
        report.exists = Some(false);
      }
      let (code, message) = match (&error, code) {
        (SdkError::ServiceError(service), Some(code)) => (
          failures::redact(&code),
          failures::redact(service.err().message().unwrap_or("")),
        ),
        _ => {
          let status = error.raw_response().map(|r| r.status().as_u16());
          let failure = failures::request_failure(&error, status);
          (failure.code, failure.message)
        }
      };
      report.error = Some((code, message));
    }
  }
  report
}

/// A client built from `config`.
pub fn client(config: &SdkConfig) -> Client {
  Client::new(config)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn only_the_provider_name_is_taken_from_credentials() {
    let credentials = aws_credential_types::Credentials::new(
      "AKIAIOSFODNN7EXAMPLE",
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      Some("session-token-secret".into()),
      None,
      "EnvironmentVariable",
    );
    assert_eq!(provider_name(&credentials), "EnvironmentVariable");
  }
}
