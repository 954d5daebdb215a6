//! `sns-logger check`: the options and df_config.json as `init()` reads them, the AWS
//! credentials and region, and each agent's topic as SNS describes it.

use super::{codes, Problem};
use crate::config::LoggerConfig;
use crate::error::Result;
use crate::sink::sns::preflight::{self, CredentialsReport, TopicAttributes};
use crate::sink::SinkConfig;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::HashMap;
use tokio::task::JoinSet;

/// Topics asked about at once.
const TOPICS_AT_ONCE: usize = 8;

/// One agent of df_config.json and its topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCheck {
  /// The bot username (the key in df_config.json).
  pub agent: String,
  pub agent_id: String,
  pub topic_arn: String,
  pub exists: Option<bool>,
  pub fifo: Option<bool>,
  pub content_based_deduplication: Option<bool>,
  pub kms_master_key_id: Option<String>,
  pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
  /// No problem anywhere.
  pub ok: bool,
  pub site_url: String,
  /// `sns`, `file` or `memory`.
  pub sink: &'static str,
  pub spool_dir: Option<String>,
  /// Only for the sns sink.
  pub credentials: Option<CredentialsReport>,
  pub agents: Vec<AgentCheck>,
  /// Problems not about one agent (credentials, region).
  pub problems: Vec<Problem>,
  /// Things worth knowing that are not problems (a standard topic allowed, ...).
  pub notes: Vec<String>,
}

/// Resolves the options as `init()` does (a bad option or df_config.json is an error, as
/// there), then asks SNS about every agent's topic. `allow_standard`: a standard topic is a
/// note, not a problem.
pub async fn check(
  options: Option<&Json>,
  env: &dyn Fn(&str) -> Option<String>,
  allow_standard: bool,
) -> Result<CheckReport> {
  let config = LoggerConfig::resolve(options, env)?;
  let mut report = CheckReport {
    ok: true,
    site_url: config.site_url.to_string(),
    sink: match config.sink {
      SinkConfig::Sns(_) => "sns",
      SinkConfig::File(_) => "file",
      SinkConfig::Memory(_) => "memory",
    },
    spool_dir: config
      .delivery
      .spool_dir
      .as_ref()
      .map(|d| d.display().to_string()),
    credentials: None,
    agents: config
      .df_config
      .agents()
      .iter()
      .map(|agent| AgentCheck {
        agent: agent.username.clone(),
        agent_id: agent.agent_id.clone(),
        topic_arn: agent.topic_arn.to_string(),
        exists: None,
        fifo: None,
        content_based_deduplication: None,
        kms_master_key_id: None,
        problems: Vec::new(),
      })
      .collect(),
    problems: Vec::new(),
    notes: Vec::new(),
  };
  let SinkConfig::Sns(options) = &config.sink else {
    report.notes.push(format!(
      "the {} sink does not publish to SNS: no topic was checked",
      report.sink
    ));
    return Ok(report);
  };

  let aws = preflight::load_config(options).await;
  let credentials = preflight::credentials(&aws, env).await;
  if let Some(error) = &credentials.error {
    report
      .problems
      .push(Problem::new(codes::CREDENTIALS, error.clone()));
  }
  if credentials.region.is_none() {
    report.problems.push(Problem::new(
      codes::NO_REGION,
      "no AWS region is configured: set AWS_REGION (or sink.region, or region in the AWS profile)",
    ));
  }
  let region = credentials.region.clone();
  let usable = report.problems.is_empty();
  report.credentials = Some(credentials);
  if !usable {
    for agent in &mut report.agents {
      agent.problems.push(Problem::new(
        codes::TOPIC_UNCHECKED,
        "not checked: fix the credentials and region first",
      ));
    }
    report.ok = false;
    return Ok(report);
  }

  // One question per topic, however many agents share it.
  let client = preflight::client(&aws);
  let mut topics: Vec<String> = report.agents.iter().map(|a| a.topic_arn.clone()).collect();
  topics.sort();
  topics.dedup();
  let mut answers: HashMap<String, TopicAttributes> = HashMap::new();
  let mut pending = topics.into_iter();
  let mut running = JoinSet::new();
  let mut spawn_next = |running: &mut JoinSet<TopicAttributes>| {
    if let Some(topic) = pending.next() {
      let client = client.clone();
      running.spawn(async move { preflight::topic_attributes(&client, &topic).await });
    }
  };
  for _ in 0..TOPICS_AT_ONCE {
    spawn_next(&mut running);
  }
  while let Some(joined) = running.join_next().await {
    if let Ok(answer) = joined {
      answers.insert(answer.topic_arn.clone(), answer);
    }
    spawn_next(&mut running);
  }

  for agent in &mut report.agents {
    let name = &agent.agent;
    let topic_region = agent.topic_arn.split(':').nth(3).unwrap_or("");
    if let Some(region) = region.as_deref().filter(|r| *r != topic_region) {
      agent.problems.push(Problem::new(
        codes::TOPIC_REGION,
        format!(
          "the topic is in {topic_region} but the client's region is {region}: set AWS_REGION (or sink.region) to {topic_region}, or point sns_arn_topic of \"{name}\" in df_config.json at a topic in {region}"
        ),
      ));
    }
    let Some(answer) = answers.get(&agent.topic_arn) else {
      agent.problems.push(Problem::new(
        codes::TOPIC_UNCHECKED,
        "SNS could not be asked about this topic",
      ));
      continue;
    };
    agent.exists = answer.exists;
    agent.fifo = answer.fifo;
    agent.content_based_deduplication = answer.content_based_deduplication;
    agent.kms_master_key_id = answer.kms_master_key_id.clone();
    match (&answer.error, answer.exists) {
      (_, Some(false)) => agent.problems.push(Problem::new(
        codes::TOPIC_NOT_FOUND,
        format!(
          "the topic does not exist: create it (a FIFO topic, name ending in .fifo) or fix sns_arn_topic of \"{name}\" in df_config.json"
        ),
      )),
      (Some((code, message)), _) => {
        let access = matches!(
          code.as_str(),
          "AuthorizationError" | "AccessDenied" | "AccessDeniedException" | "KMSAccessDenied"
        );
        let (problem, fix) = if access {
          (
            codes::TOPIC_ACCESS,
            "allow sns:GetTopicAttributes and sns:Publish on this topic to these credentials",
          )
        } else {
          (
            codes::TOPIC_UNCHECKED,
            "check the endpoint, the network and the region",
          )
        };
        let message = if message.is_empty() {
          String::new()
        } else {
          format!(": {message}")
        };
        agent.problems.push(Problem::new(
          problem,
          format!("SNS answered {code}{message}; {fix}"),
        ));
      }
      _ => {}
    }
    if answer.fifo == Some(false) {
      let what = format!(
        "\"{name}\" publishes to a standard topic: events may arrive out of order or twice (no message group, no deduplication)"
      );
      if allow_standard {
        report.notes.push(what);
      } else {
        agent.problems.push(Problem::new(
          codes::TOPIC_NOT_FIFO,
          format!("{what}; point sns_arn_topic of \"{name}\" in df_config.json at a FIFO topic (name ending in .fifo), or pass --allow-standard"),
        ));
      }
    }
  }
  report.ok = report.problems.is_empty() && report.agents.iter().all(|a| a.problems.is_empty());
  Ok(report)
}
