//! The apps' secrets: a tokens file maps a source to its tokens (two allow rotation), and a
//! request's source is the one whose token it carries. Only SHA-256 digests are kept, and a
//! token is compared with every digest in constant time. No message ever shows a token.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use sns_logger_core::config::read_config_file;
use sns_logger_core::error::{one_of, quote};
use sns_logger_core::options::PathOrObject;
use sns_logger_core::plan::TrackingPlan;
use sns_logger_core::{ErrorCode, LoggerError, Result};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Shortest token accepted: long enough that it cannot be guessed.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The source that has no token: it posts to the widget route.
pub const WIDGET_SOURCE: &str = "Widget";

#[derive(Debug, Clone, Default)]
pub struct Tokens {
  entries: Vec<(Arc<str>, [u8; 32])>,
}

fn invalid(message: String) -> LoggerError {
  LoggerError::new(ErrorCode::InvalidConfig, message)
}

impl Tokens {
  pub fn load(source: &PathOrObject, plan: &TrackingPlan) -> Result<Tokens> {
    match source {
      PathOrObject::Path(path) => {
        let text = read_config_file(path).map_err(|why| {
          invalid(format!(
            "tokens: cannot read the tokens file {}: {why}",
            quote(path)
          ))
        })?;
        let json: Json = serde_json::from_str(&text).map_err(|e| {
          // serde_json's message gives a line and column, never the text.
          invalid(format!("tokens: {} is not valid JSON ({e})", quote(path)))
        })?;
        Tokens::from_json(&json, plan)
      }
      PathOrObject::Object(json) => Tokens::from_json(json, plan),
    }
  }

  /// `{"SF.app": ["..."], "DF.app": ["...", "..."]}`; the keys are the plan's sources but the
  /// widget, which has no token.
  pub fn from_json(json: &Json, plan: &TrackingPlan) -> Result<Tokens> {
    let shape = r#"tokens must map a source to its tokens, such as {"SF.app": ["<token>"], "DF.app": ["<token>", "<next token>"]}"#;
    let Json::Object(map) = json else {
      return Err(invalid(shape.into()));
    };
    let sources: Vec<&str> = plan
      .sources
      .keys()
      .map(String::as_str)
      .filter(|s| *s != WIDGET_SOURCE)
      .collect();
    let mut entries: Vec<(Arc<str>, [u8; 32])> = Vec::new();
    for (source, tokens) in map {
      if !sources.contains(&source.as_str()) {
        return Err(invalid(format!(
          "tokens: {} is not a source that posts with a token; allowed: {}",
          quote(source),
          one_of(sources.iter().copied())
        )));
      }
      let list = match tokens {
        Json::Array(list) if !list.is_empty() => list,
        _ => {
          return Err(invalid(format!(
            "tokens.{source} must be a non-empty array of tokens"
          )))
        }
      };
      let source: Arc<str> = source.as_str().into();
      for (i, token) in list.iter().enumerate() {
        let at = format!("tokens.{source}[{i}]");
        let Json::String(token) = token else {
          return Err(invalid(format!("{at} must be a string")));
        };
        if token.chars().count() < MIN_TOKEN_CHARS || !token.bytes().all(|b| b.is_ascii_graphic()) {
          return Err(invalid(format!(
            "{at} is not allowed (not shown); allowed: at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces"
          )));
        }
        let digest = digest(token.as_bytes());
        if let Some((other, _)) = entries.iter().find(|(_, d)| *d == digest) {
          return Err(invalid(format!(
            "{at} is the same token as one of {other}'s (not shown): each token names one source"
          )));
        }
        entries.push((source.clone(), digest));
      }
    }
    Ok(Tokens { entries })
  }

  pub fn is_empty(&self) -> bool {
    self.entries.is_empty()
  }

  /// The source whose token this is. Every digest is compared, in constant time.
  pub fn source_of(&self, token: &[u8]) -> Option<&Arc<str>> {
    let presented = digest(token);
    let mut found = None;
    for (source, digest) in &self.entries {
      if bool::from(digest.ct_eq(&presented)) {
        found = Some(source);
      }
    }
    found
  }
}

fn digest(token: &[u8]) -> [u8; 32] {
  Sha256::digest(token).into()
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  const SF: &str = "sf-token-0123456789";
  const DF: &str = "df-token-0123456789";

  #[test]
  fn a_token_names_its_source() {
    let plan = TrackingPlan::built_in();
    let tokens = Tokens::from_json(
      &json!({"SF.app": [SF], "DF.app": ["df-old-0123456789", DF]}),
      &plan,
    )
    .unwrap();
    assert_eq!(
      tokens.source_of(SF.as_bytes()).map(|s| &**s),
      Some("SF.app")
    );
    assert_eq!(
      tokens.source_of(DF.as_bytes()).map(|s| &**s),
      Some("DF.app")
    );
    assert_eq!(
      tokens.source_of(b"df-old-0123456789").map(|s| &**s),
      Some("DF.app")
    );
    assert!(tokens.source_of(b"sf-token-012345678").is_none());
    assert!(tokens.source_of(b"").is_none());
  }

  #[test]
  fn refuses_bad_files_without_showing_a_token() {
    let plan = TrackingPlan::built_in();
    for (tokens, expected) in [
      (
        json!({"Widget": [SF]}),
        "\"Widget\" is not a source that posts with a token",
      ),
      (
        json!({"SF.app": []}),
        "tokens.SF.app must be a non-empty array",
      ),
      (
        json!({"SF.app": ["short"]}),
        "tokens.SF.app[0] is not allowed (not shown)",
      ),
      (
        json!({"SF.app": ["has a space in it!"]}),
        "tokens.SF.app[0] is not allowed",
      ),
      (
        json!({"SF.app": [SF], "DF.app": [SF]}),
        "tokens.DF.app[0] is the same token as one of SF.app's",
      ),
      (json!(["x"]), "tokens must map a source"),
    ] {
      let error = Tokens::from_json(&tokens, &plan).unwrap_err();
      assert_eq!(error.code, ErrorCode::InvalidConfig);
      assert!(error.message.contains(expected), "{}", error.message);
      assert!(
        !error.message.contains(SF) && !error.message.contains("short"),
        "{}",
        error.message
      );
    }
  }
}
