//! `df_config.json`: the Dialogflow app's per-bot settings. Only `agent_id` and `sns_arn_topic`
//! are read; every other key (private keys included) is ignored and never echoed.

use crate::error::{one_of, quote, ErrorCode, LoggerError, Result};
use crate::sink::sns;
use serde_json::{Map, Value as Json};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
  /// The key in df_config.json: the bot's username.
  pub username: String,
  /// Becomes `dialogflowAgentId`.
  pub agent_id: String,
  pub topic_arn: Arc<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DfConfig {
  agents: Vec<Agent>,
  /// Bot usernames and agent ids to their agent (the first one in file order wins).
  /// foldhash: looked up for every event; std's SipHash was 1-2 % of logEvent.
  by_name: foldhash::HashMap<String, usize>,
}

fn invalid(message: String) -> LoggerError {
  LoggerError::new(ErrorCode::InvalidConfig, message)
}

impl DfConfig {
  /// Reads the file at `path`. Parse errors report a position only, never content.
  pub fn from_file(path: &str) -> Result<DfConfig> {
    let text = super::read_config_file(path).map_err(|why| {
      invalid(format!(
        "dfConfig: cannot read df_config.json at {}: {why}",
        quote(path)
      ))
    })?;
    let json: Json = serde_json::from_str(&text)
      .map_err(|e| invalid(format!("dfConfig: {} is not valid JSON ({e})", quote(path))))?;
    DfConfig::from_json(&json)
  }

  pub fn from_json(json: &Json) -> Result<DfConfig> {
    let Json::Object(bots) = json else {
      return Err(invalid(
        "dfConfig must be an object keyed by bot username".into(),
      ));
    };
    if bots.is_empty() {
      return Err(invalid(
        "dfConfig has no agents: it needs at least one bot entry".into(),
      ));
    }
    let agents = bots
      .iter()
      .map(|(username, entry)| agent(username, entry))
      .collect::<Result<Vec<_>>>()?;
    let mut by_name = foldhash::HashMap::default();
    for (i, agent) in agents.iter().enumerate() {
      by_name.entry(agent.username.clone()).or_insert(i);
      by_name.entry(agent.agent_id.clone()).or_insert(i);
    }
    Ok(DfConfig { agents, by_name })
  }

  pub fn agents(&self) -> &[Agent] {
    &self.agents
  }

  /// Finds the agent an event names, by bot username or `agent_id`; with a single agent the
  /// name may be omitted.
  pub fn resolve(&self, name: Option<&str>) -> Result<&Agent> {
    self.resolve_index(name).map(|i| &self.agents[i])
  }

  /// [`DfConfig::resolve`], as the agent's index in [`DfConfig::agents`].
  pub fn resolve_index(&self, name: Option<&str>) -> Result<usize> {
    match name {
      None if self.agents.len() == 1 => Ok(0),
      None => Err(LoggerError::new(
        ErrorCode::UnknownAgent,
        format!(
          "agent is required because df_config.json has {} agents; allowed: {}",
          self.agents.len(),
          self.allowed()
        ),
      )),
      Some(name) => self.by_name.get(name).copied().ok_or_else(|| {
        LoggerError::new(
          ErrorCode::UnknownAgent,
          format!(
            "agent {} is neither a bot username nor an agent_id in df_config.json; allowed: {}",
            quote(name),
            self.allowed()
          ),
        )
      }),
    }
  }

  /// The bot usernames, the first few of them when there are many.
  fn allowed(&self) -> String {
    const SHOWN: usize = 10;
    let names = one_of(self.agents.iter().take(SHOWN).map(|a| a.username.as_str()));
    match self.agents.len().checked_sub(SHOWN) {
      Some(more) if more > 0 => format!("{names} (and {more} more)"),
      _ => names,
    }
  }
}

fn agent(username: &str, entry: &Json) -> Result<Agent> {
  let at = format!("dfConfig[{}]", quote(username));
  let Json::Object(fields) = entry else {
    return Err(invalid(format!(
      "{at} must be an object with agent_id and sns_arn_topic"
    )));
  };
  let agent_id = string_field(fields, &at, "agent_id")?;
  let topic_arn = string_field(fields, &at, "sns_arn_topic")?;
  sns::validate_topic_arn(&topic_arn).map_err(|why| {
    invalid(format!(
      "{at}.sns_arn_topic {} is not an SNS topic ARN ({why}); expected arn:aws:sns:<region>:<account>:<topic>[.fifo]",
      quote(&topic_arn)
    ))
  })?;
  Ok(Agent {
    username: username.to_string(),
    agent_id,
    topic_arn: topic_arn.into(),
  })
}

fn string_field(fields: &Map<String, Json>, at: &str, name: &str) -> Result<String> {
  match fields.get(name) {
    Some(Json::String(s)) if !s.is_empty() => Ok(s.clone()),
    None => Err(invalid(format!(
      "{at}.{name} is missing: a non-empty string is required"
    ))),
    // The value is not echoed: a misplaced secret must not end up in a log.
    Some(_) => Err(invalid(format!("{at}.{name} must be a non-empty string"))),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn two_agents() -> DfConfig {
    DfConfig::from_json(&json!({
      "support.bot": { "agent_id": "b5983b72", "sns_arn_topic": "arn:aws:sns:us-east-1:123456789012:rc-events.fifo",
                       "private_key": "-----BEGIN PRIVATE KEY-----secret", "project_id": "p" },
      "sales.bot": { "agent_id": "c0ffee00", "sns_arn_topic": "arn:aws:sns:us-east-1:123456789012:sales.fifo" }
    }))
    .unwrap()
  }

  #[test]
  fn resolves_by_username_or_agent_id() {
    let config = two_agents();
    assert_eq!(
      config.resolve(Some("support.bot")).unwrap().agent_id,
      "b5983b72"
    );
    assert_eq!(
      config.resolve(Some("c0ffee00")).unwrap().username,
      "sales.bot"
    );
    let err = config.resolve(None).unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownAgent);
    assert!(
      err.message.contains("\"support.bot\" or \"sales.bot\""),
      "{}",
      err.message
    );
    assert!(config
      .resolve(Some("nobody"))
      .unwrap_err()
      .message
      .contains("\"nobody\""));
  }

  #[test]
  fn single_agent_may_be_omitted() {
    let config = DfConfig::from_json(
      &json!({"bot": {"agent_id": "a", "sns_arn_topic": "arn:aws:sns:eu-west-1:1:t"}}),
    )
    .unwrap();
    assert_eq!(config.resolve(None).unwrap().username, "bot");
  }

  #[test]
  fn errors_never_echo_secrets() {
    for bad in [
      json!({"bot": {"agent_id": "a", "sns_arn_topic": "arn:aws:s3:::bucket", "private_key": "SECRET"}}),
      json!({"bot": {"agent_id": "SECRET-KEY-MATERIAL-not-a-string-field", "sns_arn_topic": 5}}),
      json!({"bot": {"agent_id": ["SECRET"], "sns_arn_topic": "arn:aws:sns:us-east-1:1:t"}}),
      json!({"bot": "SECRET"}),
      json!([]),
      json!({}),
    ] {
      let err = DfConfig::from_json(&bad).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidConfig);
      assert!(!err.message.contains("SECRET"), "{}", err.message);
    }
  }

  #[test]
  fn unreadable_or_malformed_files_are_config_errors() {
    let err = DfConfig::from_file("/nonexistent/df_config.json").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidConfig);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let path = dir.join("df_config.json");
    std::fs::write(&path, "{\"bot\": {\"private_key\": \"SECRET\"").unwrap();
    let err = DfConfig::from_file(path.to_str().unwrap()).unwrap_err();
    assert!(
      err.message.contains("not valid JSON") && !err.message.contains("SECRET"),
      "{}",
      err.message
    );
  }

  #[test]
  fn many_agents_are_listed_in_part() {
    let bots: serde_json::Map<String, Json> = (0..100_000)
      .map(|i| {
        (
          format!("bot-{i}"),
          json!({"agent_id": format!("a{i}"), "sns_arn_topic": "arn:aws:sns:us-east-1:1:t.fifo"}),
        )
      })
      .collect();
    let config = DfConfig::from_json(&Json::Object(bots)).unwrap();
    let err = config.resolve(Some("nobody")).unwrap_err();
    assert!(err.message.len() < 400, "{} bytes", err.message.len());
    assert!(err.message.ends_with("(and 99990 more)"), "{}", err.message);
  }

  #[test]
  fn only_small_regular_files_are_read() {
    let err = DfConfig::from_file("/dev/null").unwrap_err();
    assert!(
      err.message.contains("not a regular file"),
      "{}",
      err.message
    );
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let fifo = dir.join("fifo.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
      // Opening a FIFO with no writer would block forever.
      let err = DfConfig::from_file(fifo.to_str().unwrap()).unwrap_err();
      assert!(
        err.message.contains("not a regular file"),
        "{}",
        err.message
      );
    }
    let big = dir.join("big.json");
    std::fs::write(
      &big,
      vec![b' '; (super::super::MAX_CONFIG_FILE_BYTES + 1) as usize],
    )
    .unwrap();
    let err = DfConfig::from_file(big.to_str().unwrap()).unwrap_err();
    assert!(err.message.contains("at most"), "{}", err.message);
  }
}
