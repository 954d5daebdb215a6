//! The relay's options (`serve(options)`, or the command's flags), each falling back to an
//! environment variable, then to its default. The logger inside is configured exactly as
//! `init()` is: `options.logger`, then the same environment variables.

use crate::tokens::Tokens;
use crate::widget::Origins;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use sns_logger_core::config::parse::{self, PathOrObject, WholeNumber};
use sns_logger_core::config::{Durability, Fsync};
use sns_logger_core::error::quote;
use sns_logger_core::{ErrorCode, LoggerConfig, LoggerError, Result};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 8787;
pub const DEFAULT_ADMIN_PORT: u16 = 8788;
const DEFAULT_WIDGET_RATE: u32 = 10;
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Under the client's default timeout (5 s), so that it hears 503 rather than nothing.
const DEFAULT_PUBLISH_TIMEOUT: Duration = Duration::from_secs(4);
/// The most of `maxConnections`, and of the timeouts in milliseconds.
const MAX_CONNECTIONS: u64 = 1_000_000;
const MAX_MILLIS: u64 = 3_600_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RelayOptions {
  port: Option<WholeNumber<0, 65535>>,
  host: Option<String>,
  admin_port: Option<WholeNumber<0, 65535>>,
  admin_host: Option<String>,
  #[serde(default, deserialize_with = "tokens_source")]
  tokens: Option<PathOrObject>,
  widget_origins: Option<Vec<String>>,
  widget_rate: Option<WholeNumber<1, 1_000_000>>,
  shutdown_timeout_ms: Option<WholeNumber<0, 3_600_000>>,
  body_timeout_ms: Option<WholeNumber<1, 600_000>>,
  header_timeout_ms: Option<WholeNumber<1, MAX_MILLIS>>,
  idle_timeout_ms: Option<WholeNumber<1, MAX_MILLIS>>,
  max_connections: Option<WholeNumber<1, MAX_CONNECTIONS>>,
  trust_forwarded_for: Option<bool>,
  ack: Option<Ack>,
  fsync: Option<Fsync>,
  publish_timeout_ms: Option<WholeNumber<1, MAX_MILLIS>>,
  logger: Option<Json>,
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

impl Ack {
  pub fn as_str(self) -> &'static str {
    match self {
      Ack::Spooled => "spooled",
      Ack::Published => "published",
      Ack::Queued => "queued",
    }
  }

  fn from_env(text: &str) -> Result<Ack> {
    match text.trim() {
      "spooled" => Ok(Ack::Spooled),
      "published" => Ok(Ack::Published),
      "queued" => Ok(Ack::Queued),
      other => Err(invalid(format!(
        "SNS_LOGGER_ACK {} is not allowed; allowed: \"spooled\", \"published\" or \"queued\"",
        quote(other)
      ))),
    }
  }
}

fn tokens_source<'de, D: Deserializer<'de>>(
  d: D,
) -> std::result::Result<Option<PathOrObject>, D::Error> {
  PathOrObject::deserialize_as(d, "a path to a tokens file or its parsed object").map(Some)
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
    let options: RelayOptions = match options {
      None | Some(Json::Null) => RelayOptions::default(),
      Some(value @ Json::Object(_)) => parse::from_json(value, "", &[]).map_err(invalid)?,
      Some(_) => return Err(invalid("relay options must be an object".into())),
    };
    let number = |given: Option<u64>, var: &str, max: u64| -> Result<Option<u64>> {
      match (given, env(var)) {
        (Some(n), _) => Ok(Some(n)),
        (None, None) => Ok(None),
        (None, Some(text)) => match text.trim().parse::<u64>() {
          Ok(n) if n <= max => Ok(Some(n)),
          _ => Err(invalid(format!(
            "{var} {} is not allowed; allowed: a whole number from 0 to {max}",
            quote(&text)
          ))),
        },
      }
    };
    let address = |given: Option<String>, var: &str, field: &str| -> Result<IpAddr> {
      match given.or_else(|| env(var)) {
        None => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Some(text) => text.trim().parse().map_err(|_| {
          invalid(format!(
            "{field} {} is not an IP address; allowed: an IPv4 or IPv6 address such as 127.0.0.1, ::1 or 0.0.0.0",
            quote(&text)
          ))
        }),
      }
    };
    let port =
      number(options.port.map(|n| n.0), "SNS_LOGGER_PORT", 65535)?.unwrap_or(DEFAULT_PORT.into());
    let admin_port = number(
      options.admin_port.map(|n| n.0),
      "SNS_LOGGER_ADMIN_PORT",
      65535,
    )?
    .unwrap_or(DEFAULT_ADMIN_PORT.into());
    let listen = SocketAddr::new(
      address(options.host, "SNS_LOGGER_HOST", "host")?,
      port as u16,
    );
    let admin = SocketAddr::new(
      address(options.admin_host, "SNS_LOGGER_ADMIN_HOST", "adminHost")?,
      admin_port as u16,
    );
    if listen == admin && port != 0 {
      return Err(invalid(format!(
        "port and adminPort are both {port} on {}: the admin listener needs a port of its own",
        listen.ip()
      )));
    }

    let widget_rate = number(
      options.widget_rate.map(|n| n.0),
      "SNS_LOGGER_WIDGET_RATE",
      1_000_000,
    )?
    .unwrap_or(DEFAULT_WIDGET_RATE.into());
    let widget_rate = NonZeroU32::new(widget_rate as u32).ok_or_else(|| {
      invalid("widgetRate 0 is not allowed; allowed: a whole number from 1 to 1000000".into())
    })?;
    let millis = |given: Option<u64>, var: &str, default: Duration| -> Result<Duration> {
      Ok(number(given, var, 3_600_000)?.map_or(default, Duration::from_millis))
    };
    let shutdown_timeout = millis(
      options.shutdown_timeout_ms.map(|n| n.0),
      "SNS_LOGGER_SHUTDOWN_TIMEOUT_MS",
      DEFAULT_SHUTDOWN_TIMEOUT,
    )?;
    let body_timeout = millis(
      options.body_timeout_ms.map(|n| n.0),
      "SNS_LOGGER_BODY_TIMEOUT_MS",
      DEFAULT_BODY_TIMEOUT,
    )?;
    if body_timeout.is_zero() {
      return Err(invalid(
        "SNS_LOGGER_BODY_TIMEOUT_MS 0 is not allowed; allowed: a whole number from 1 to 3600000"
          .into(),
      ));
    }
    // From an option, the range is checked by its type; from the environment, here.
    let at_least_one = |given: Option<u64>, var: &str, max: u64| -> Result<Option<u64>> {
      match (given, env(var)) {
        (Some(n), _) => Ok(Some(n)),
        (None, None) => Ok(None),
        (None, Some(text)) => match text.trim().parse::<u64>() {
          Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
          _ => Err(invalid(format!(
            "{var} {} is not allowed; allowed: a whole number from 1 to {max}",
            quote(&text)
          ))),
        },
      }
    };
    let header_timeout = at_least_one(
      options.header_timeout_ms.map(|n| n.0),
      "SNS_LOGGER_HEADER_TIMEOUT_MS",
      MAX_MILLIS,
    )?
    .map_or(DEFAULT_HEADER_TIMEOUT, Duration::from_millis);
    let idle_timeout = at_least_one(
      options.idle_timeout_ms.map(|n| n.0),
      "SNS_LOGGER_IDLE_TIMEOUT_MS",
      MAX_MILLIS,
    )?
    .map_or(DEFAULT_IDLE_TIMEOUT, Duration::from_millis);
    let max_connections = at_least_one(
      options.max_connections.map(|n| n.0),
      "SNS_LOGGER_MAX_CONNECTIONS",
      MAX_CONNECTIONS,
    )?
    .map_or(DEFAULT_MAX_CONNECTIONS, |n| n as usize);
    let trust_forwarded_for = match options.trust_forwarded_for {
      Some(flag) => flag,
      None => match env("SNS_LOGGER_TRUST_FORWARDED_FOR").as_deref().map(str::trim) {
        None | Some("" | "0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => {
          return Err(invalid(format!(
            "SNS_LOGGER_TRUST_FORWARDED_FOR {} is not allowed; allowed: \"true\", \"1\", \"false\" or \"0\"",
            quote(other)
          )))
        }
      },
    };

    let publish_timeout = at_least_one(
      options.publish_timeout_ms.map(|n| n.0),
      "SNS_LOGGER_PUBLISH_TIMEOUT_MS",
      MAX_MILLIS,
    )?
    .map_or(DEFAULT_PUBLISH_TIMEOUT, Duration::from_millis);
    let mut logger = LoggerConfig::resolve(options.logger.as_ref(), env)?;
    let ack = match (options.ack, env("SNS_LOGGER_ACK")) {
      (Some(ack), _) => Some(ack),
      (None, Some(text)) => Some(Ack::from_env(&text)?),
      (None, None) => None,
    };
    let fsync = match (options.fsync, env("SNS_LOGGER_FSYNC")) {
      (Some(fsync), _) => Some(fsync),
      (None, Some(text)) => Some(match text.trim() {
        "none" => Fsync::None,
        "commit" => Fsync::Commit,
        other => {
          return Err(invalid(format!(
            "SNS_LOGGER_FSYNC {} is not allowed; allowed: \"none\" or \"commit\"",
            quote(other)
          )))
        }
      }),
      (None, None) => None,
    };
    if let Some(fsync) = fsync {
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
    let tokens = match options.tokens {
      Some(source) => Tokens::load(&source, &logger.plan)?,
      None => match env("SNS_LOGGER_TOKENS") {
        Some(path) => Tokens::load(&PathOrObject::Path(path), &logger.plan)?,
        None => Tokens::default(),
      },
    };
    let origins = match options.widget_origins {
      Some(list) => list,
      None => env("SNS_LOGGER_WIDGET_ORIGINS")
        .map(|text| {
          text
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
        })
        .unwrap_or_default(),
    };
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
