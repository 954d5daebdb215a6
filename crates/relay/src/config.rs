//! The relay's options (`serve(options)`, or the command's flags), each falling back to an
//! environment variable, then to its default: one row each in [`RELAY_SETTINGS`], read
//! through the core's settings (`sns_logger_core::config::settings`). The logger inside is
//! configured exactly as `init()` is: `options.logger`, then the same environment variables.

use crate::tokens::Tokens;
use crate::widget::Origins;
use serde::Deserialize;
use serde_json::Value as Json;
use sns_logger_core::config::settings::{Choice, Fallback, Setting, Sources};
use sns_logger_core::config::{Durability, Fsync};
use sns_logger_core::options::{PathOrObject, WholeNumber};
use sns_logger_core::{ErrorCode, LoggerConfig, LoggerError, Result};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 8787;
pub const DEFAULT_ADMIN_PORT: u16 = 8788;
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The most of the timeouts in milliseconds.
const MAX_MILLIS: u64 = 3_600_000;

sns_logger_core::settings! {
  /// `serve()`'s options, in the order messages list them.
  pub const RELAY_SETTINGS = [
    PORT: WholeNumber<0, 65535> = Setting {
      key: "port",
      env: Some("SNS_LOGGER_PORT"),
      flag: Some("--port N"),
      default: Fallback::Value(WholeNumber(DEFAULT_PORT as u64)),
      doc: "public port; 0 picks a free one",
      ..Setting::BLANK
    };
    HOST: IpAddr = Setting {
      key: "host",
      env: Some("SNS_LOGGER_HOST"),
      flag: Some("--host IP"),
      default: Fallback::Value(LOCALHOST),
      doc: "public address",
      ..Setting::BLANK
    };
    ADMIN_PORT: WholeNumber<0, 65535> = Setting {
      key: "adminPort",
      env: Some("SNS_LOGGER_ADMIN_PORT"),
      flag: Some("--admin-port N"),
      default: Fallback::Value(WholeNumber(DEFAULT_ADMIN_PORT as u64)),
      doc: "port of /metrics",
      ..Setting::BLANK
    };
    ADMIN_HOST: IpAddr = Setting {
      key: "adminHost",
      env: Some("SNS_LOGGER_ADMIN_HOST"),
      flag: Some("--admin-host IP"),
      default: Fallback::Value(LOCALHOST),
      doc: "address of /metrics",
      ..Setting::BLANK
    };
    TOKENS: PathOrObject = Setting {
      key: "tokens",
      env: Some("SNS_LOGGER_TOKENS"),
      flag: Some("--tokens FILE"),
      default: Fallback::Otherwise("none: every /v1/batch request gets 401"),
      doc: r#"the tokens file, mapping a source to its tokens, such as {"SF.app": ["<token>"], "DF.app": ["<token>", "<next token>"]}: its path, or its object"#,
      takes: Some("a path to a tokens file or its parsed object"),
      ts: Some("string | RelayTokens"),
    };
    WIDGET_ORIGINS: Vec<String> = Setting {
      key: "widgetOrigins",
      env: Some("SNS_LOGGER_WIDGET_ORIGINS"),
      flag: Some("--widget-origin ORIGIN"),
      default: Fallback::Otherwise("none: every /v1/w request gets 403"),
      doc: "sites allowed to post widget events to /v1/w, such as https://www.example.com (\"*\" is refused); the flag is repeated for more, the environment variable is comma-separated",
      ..Setting::BLANK
    };
    WIDGET_RATE: WholeNumber<1, 1_000_000> = Setting {
      key: "widgetRate",
      env: Some("SNS_LOGGER_WIDGET_RATE"),
      flag: Some("--widget-rate N"),
      default: Fallback::Value(WholeNumber(10)),
      doc: "widget requests per second per client address, burst twice that",
      ..Setting::BLANK
    };
    SHUTDOWN_TIMEOUT_MS: WholeNumber<0, MAX_MILLIS> = Setting {
      key: "shutdownTimeoutMs",
      env: Some("SNS_LOGGER_SHUTDOWN_TIMEOUT_MS"),
      flag: Some("--shutdown-timeout-ms N"),
      default: Fallback::Value(WholeNumber(10_000)),
      doc: "how long draining and the final flush may take",
      ..Setting::BLANK
    };
    BODY_TIMEOUT_MS: WholeNumber<1, 600_000> = Setting {
      key: "bodyTimeoutMs",
      env: Some("SNS_LOGGER_BODY_TIMEOUT_MS"),
      flag: Some("--body-timeout-ms N"),
      default: Fallback::Value(WholeNumber(10_000)),
      doc: "how long a request body may take to arrive before 408",
      ..Setting::BLANK
    };
    HEADER_TIMEOUT_MS: WholeNumber<1, MAX_MILLIS> = Setting {
      key: "headerTimeoutMs",
      env: Some("SNS_LOGGER_HEADER_TIMEOUT_MS"),
      flag: Some("--header-timeout-ms N"),
      default: Fallback::Value(WholeNumber(10_000)),
      doc: "how long a request head may take from its first byte to its end; a slower one has its connection closed",
      ..Setting::BLANK
    };
    IDLE_TIMEOUT_MS: WholeNumber<1, MAX_MILLIS> = Setting {
      key: "idleTimeoutMs",
      env: Some("SNS_LOGGER_IDLE_TIMEOUT_MS"),
      flag: Some("--idle-timeout-ms N"),
      default: Fallback::Value(WholeNumber(60_000)),
      doc: "how long a connection may stay quiet between requests (or before its first) before it is closed",
      ..Setting::BLANK
    };
    MAX_CONNECTIONS: WholeNumber<1, 1_000_000> = Setting {
      key: "maxConnections",
      env: Some("SNS_LOGGER_MAX_CONNECTIONS"),
      flag: Some("--max-connections N"),
      default: Fallback::Value(WholeNumber(4096)),
      doc: "connections served at once on each listener; past it a new one waits to be accepted until another closes",
      ..Setting::BLANK
    };
    TRUST_FORWARDED_FOR: bool = Setting {
      key: "trustForwardedFor",
      env: Some("SNS_LOGGER_TRUST_FORWARDED_FOR"),
      flag: Some("--trust-forwarded-for"),
      default: Fallback::Value(false),
      doc: "behind a proxy: rate-limit by the address the proxy appends to X-Forwarded-For",
      ..Setting::BLANK
    };
    ACK: Ack = Setting {
      key: "ack",
      env: Some("SNS_LOGGER_ACK"),
      flag: Some("--ack MODE"),
      default: Fallback::Otherwise("spooled with a spool directory, else queued"),
      doc: "when a request gets 200: spooled, once its events are in the spool (the write-ahead log); published, once SNS accepted every event (else 503 after publishTimeoutMs; keeps nothing on disk, for replicas without disks); queued, once its events are queued in memory (a crash loses them)",
      ..Setting::BLANK
    };
    FSYNC: Fsync = Setting {
      key: "fsync",
      env: Some("SNS_LOGGER_FSYNC"),
      flag: Some("--fsync MODE"),
      default: Fallback::Otherwise("logger.fsync, none unless set"),
      doc: "the spool's fsync (the logger's, set for the relay): none, a spool write reaches the file (safe from a crash); commit, it is also flushed to stable storage (safe from power loss)",
      ..Setting::BLANK
    };
    PUBLISH_TIMEOUT_MS: WholeNumber<1, MAX_MILLIS> = Setting {
      key: "publishTimeoutMs",
      env: Some("SNS_LOGGER_PUBLISH_TIMEOUT_MS"),
      flag: Some("--publish-timeout-ms N"),
      // Under the client's default timeout (5 s), so that it hears 503 rather than nothing.
      default: Fallback::Value(WholeNumber(4000)),
      doc: "with ack published: how long a request waits for SNS before 503",
      ..Setting::BLANK
    };
    LOGGER: Json = Setting {
      key: "logger",
      default: Fallback::Otherwise("init()'s environment variables"),
      doc: "the relay's logger, configured as init() is (the same environment fallbacks)",
      ts: Some("LoggerOptions"),
      ..Setting::BLANK
    };
  ];
}

/// When the relay answers 200 (`--ack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ack {
  /// Once every accepted event of the request is in the spool, the write-ahead log.
  Spooled,
  /// Once SNS accepted every accepted event of the request; the relay keeps nothing.
  Published,
  /// Once the events are queued in memory (a crash loses what is queued).
  Queued,
}

impl Choice for Ack {}

impl Ack {
  pub fn as_str(self) -> &'static str {
    match self {
      Ack::Spooled => "spooled",
      Ack::Published => "published",
      Ack::Queued => "queued",
    }
  }
}

/// Everything the relay needs, checked.
#[derive(Debug, Clone)]
pub struct RelayConfig {
  pub listen: SocketAddr,
  pub admin: SocketAddr,
  pub tokens: Tokens,
  pub widget_origins: Origins,
  /// Widget requests per second per client address; the burst is twice this.
  pub widget_rate: NonZeroU32,
  /// How long close() waits for requests in flight and the logger's flush together.
  pub shutdown_timeout: Duration,
  /// How long a request body may take to arrive (else 408).
  pub body_timeout: Duration,
  /// How long a request head may take from its first byte to its end (else the connection is
  /// closed).
  pub header_timeout: Duration,
  /// How long a connection may stay quiet between requests (or before its first) before it is
  /// closed.
  pub idle_timeout: Duration,
  /// Connections served at once on each listener; past it, new ones wait to be accepted.
  pub max_connections: usize,
  /// Behind a proxy: the client is the last address of `X-Forwarded-For`.
  pub trust_forwarded_for: bool,
  /// When a request's events count as taken (the logger's durability follows from it).
  pub ack: Ack,
  /// `--ack published`: how long a request waits for SNS before 503.
  pub publish_timeout: Duration,
  pub logger: LoggerConfig,
}

fn invalid(message: String) -> LoggerError {
  LoggerError::new(ErrorCode::InvalidOptions, message)
}

impl RelayConfig {
  pub fn resolve(
    options: Option<&Json>,
    env: &dyn Fn(&str) -> Option<String>,
  ) -> Result<RelayConfig> {
    let given = Sources::new(options, env, "relay options must be an object")?;
    given.validate(RELAY_SETTINGS)?;
    let port = given.value(&PORT)?.0;
    let admin_port = given.value(&ADMIN_PORT)?.0;
    let listen = SocketAddr::new(given.value(&HOST)?, port as u16);
    let admin = SocketAddr::new(given.value(&ADMIN_HOST)?, admin_port as u16);
    if listen == admin && port != 0 {
      return Err(invalid(format!(
        "port and adminPort are both {port} on {}: the admin listener needs a port of its own",
        listen.ip()
      )));
    }

    let widget_rate = NonZeroU32::new(given.value(&WIDGET_RATE)?.0 as u32)
      .expect("widgetRate is a whole number from 1");
    let shutdown_timeout = Duration::from_millis(given.value(&SHUTDOWN_TIMEOUT_MS)?.0);
    let body_timeout = Duration::from_millis(given.value(&BODY_TIMEOUT_MS)?.0);
    let header_timeout = Duration::from_millis(given.value(&HEADER_TIMEOUT_MS)?.0);
    let idle_timeout = Duration::from_millis(given.value(&IDLE_TIMEOUT_MS)?.0);
    let max_connections = given.value(&MAX_CONNECTIONS)?.0 as usize;
    let trust_forwarded_for = given.value(&TRUST_FORWARDED_FOR)?;
    let publish_timeout = Duration::from_millis(given.value(&PUBLISH_TIMEOUT_MS)?.0);

    let mut logger = LoggerConfig::resolve(given.get(&LOGGER)?.as_ref(), env)?;
    let ack = given.get(&ACK)?;
    if let Some(fsync) = given.get(&FSYNC)? {
      logger.delivery.fsync = fsync;
    }
    let has_spool = logger.delivery.spool_dir.is_some();
    // Spooled by default; a sink without a spool directory (file, memory) has nothing to
    // write ahead to, and queues unless told otherwise.
    let ack = match ack {
      Some(Ack::Spooled) if !has_spool => {
        return Err(invalid(
          "ack \"spooled\" needs a spool directory; allowed: set logger.spoolDir (or SNS_LOGGER_SPOOL_DIR), or ack \"queued\" or \"published\"".into(),
        ))
      }
      Some(ack) => ack,
      None if has_spool => Ack::Spooled,
      None => Ack::Queued,
    };
    match ack {
      Ack::Spooled => logger.delivery.durability = Durability::Disk,
      // Keeps nothing: what SNS has not taken is the client's to send again.
      Ack::Published => {
        logger.delivery.durability = Durability::Memory;
        logger.delivery.spool_dir = None;
      }
      Ack::Queued => logger.delivery.durability = Durability::Memory,
    }
    let tokens = match given.get(&TOKENS)? {
      Some(source) => Tokens::load(&source, &logger.plan)?,
      None => Tokens::default(),
    };
    let origins = given.get(&WIDGET_ORIGINS)?.unwrap_or_default();
    let widget_origins = Origins::parse(&origins).map_err(invalid)?;

    Ok(RelayConfig {
      listen,
      admin,
      tokens,
      widget_origins,
      widget_rate,
      shutdown_timeout,
      body_timeout,
      header_timeout,
      idle_timeout,
      max_connections,
      trust_forwarded_for,
      ack,
      publish_timeout,
      logger,
    })
  }

  /// What the relay refuses by its configuration, to say at start.
  pub fn warnings(&self) -> Vec<String> {
    let mut warnings = Vec::new();
    if self.tokens.is_empty() {
      warnings.push(
        "no tokens file (--tokens / SNS_LOGGER_TOKENS): every /v1/batch request gets 401"
          .to_string(),
      );
    }
    if self.widget_origins.is_empty() {
      warnings.push(
        "no widget origin (--widget-origin / SNS_LOGGER_WIDGET_ORIGINS): every /v1/w request gets 403"
          .to_string(),
      );
    }
    if !self.listen.ip().is_loopback() {
      warnings.push(format!(
        "listening on {}, not loopback: the relay speaks plain HTTP; put a TLS proxy in front of it",
        self.listen.ip()
      ));
    }
    warnings
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn options(relay: Json) -> Json {
    let logger = json!({
      "siteUrl": "https://chat.example.com",
      "dfConfig": {"bot": {"agent_id": "a1", "sns_arn_topic": "arn:aws:sns:us-east-1:123456789012:events.fifo"}},
      "sink": {"kind": "memory"},
    });
    let mut relay = relay;
    relay["logger"] = logger;
    relay
  }

  fn resolve(relay: Json, vars: &[(&str, &str)]) -> Result<RelayConfig> {
    let vars: Vec<(String, String)> = vars
      .iter()
      .map(|(k, v)| (k.to_string(), v.to_string()))
      .collect();
    let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    RelayConfig::resolve(Some(&options(relay)), &env)
  }

  #[test]
  fn options_win_over_the_environment_and_defaults_fill_the_rest() {
    let config = resolve(
      json!({"port": 9000}),
      &[
        ("SNS_LOGGER_PORT", "9100"),
        ("SNS_LOGGER_ADMIN_PORT", " 9101 "),
      ],
    )
    .unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.admin.port(), 9101);
    assert_eq!(config.idle_timeout, Duration::from_millis(60_000));
    assert_eq!(
      config.ack,
      Ack::Queued,
      "a memory sink has no spool directory"
    );
    let config = resolve(
      json!({}),
      &[
        ("SNS_LOGGER_ACK", " published "),
        ("SNS_LOGGER_TRUST_FORWARDED_FOR", "1"),
      ],
    )
    .unwrap();
    assert_eq!(config.listen.port(), DEFAULT_PORT);
    assert_eq!(config.ack, Ack::Published);
    assert!(config.trust_forwarded_for);
  }

  #[test]
  fn environment_values_are_refused_naming_the_variable_and_what_it_allows() {
    let cases = [
      (
        "SNS_LOGGER_PORT",
        "x",
        r#"SNS_LOGGER_PORT "x" is not allowed; allowed: a whole number from 0 to 65535"#,
      ),
      (
        "SNS_LOGGER_MAX_CONNECTIONS",
        "0",
        r#"SNS_LOGGER_MAX_CONNECTIONS "0" is not allowed; allowed: a whole number from 1 to 1000000"#,
      ),
      (
        "SNS_LOGGER_ACK",
        "later",
        r#"SNS_LOGGER_ACK "later" is not allowed; allowed: "spooled", "published" or "queued""#,
      ),
      (
        "SNS_LOGGER_FSYNC",
        "always",
        r#"SNS_LOGGER_FSYNC "always" is not allowed; allowed: "none" or "commit""#,
      ),
      (
        "SNS_LOGGER_TRUST_FORWARDED_FOR",
        "yes",
        r#"SNS_LOGGER_TRUST_FORWARDED_FOR "yes" is not allowed; allowed: "true", "1", "false" or "0""#,
      ),
      (
        "SNS_LOGGER_HOST",
        "localhost",
        r#"host "localhost" is not an IP address; allowed: an IPv4 or IPv6 address such as 127.0.0.1, ::1 or 0.0.0.0"#,
      ),
    ];
    for (var, value, message) in cases {
      let error = resolve(json!({}), &[(var, value)]).unwrap_err();
      assert_eq!(error.code, ErrorCode::InvalidOptions);
      assert_eq!(error.message, message);
    }
  }

  #[test]
  fn unknown_options_are_named_with_every_setting_in_order() {
    let error = resolve(json!({"prot": 1}), &[]).unwrap_err();
    let keys: Vec<String> = RELAY_SETTINGS
      .iter()
      .map(|s| format!("\"{}\"", s.key()))
      .collect();
    let (last, rest) = keys.split_last().unwrap();
    assert_eq!(
      error.message,
      format!(
        "unknown option \"prot\"; allowed: {} or {last}",
        rest.join(", ")
      )
    );
    assert!(error
      .message
      .starts_with("unknown option \"prot\"; allowed: \"port\", \"host\", \"adminPort\""));
  }
}
