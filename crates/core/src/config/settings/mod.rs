//! Each setting once: its option key, environment variable, `serve` flag, type and range,
//! default and doc line, in one row ([`Setting`]). `init()` (`LoggerConfig`), `serve()`
//! (`RelayConfig`) and the operator's commands read every setting through [`Sources`]: the
//! option, else the environment variable, else the default. `sns-logger serve` takes its flags
//! from the rows, and its usage text, the README's option tables and the options of index.d.ts
//! are written from them ([`describe`], the addon's `settings()`; cli/settings.js and
//! scripts/generate-settings-docs.mjs).
//!
//! A new setting is one row in a [`settings!`](crate::settings) list, plus the code that uses
//! its value (then `npm run generate:settings`).
//!
//! This module holds `init()`'s rows ([`LOGGER_SETTINGS`]) and the [`settings!`](crate::settings)
//! macro that makes rows and lists; the row type and its description are in `row`, the types
//! a setting can have (how each reads an option and an environment variable) in `values`, and
//! the resolver ([`Sources`]) in `resolve`.

mod resolve;
mod row;
mod values;

pub use resolve::Sources;
pub use row::{describe, AnySetting, Fallback, Setting};
pub use values::{Choice, Value};

use super::{Durability, Fsync, OverflowPolicy};
use crate::options::{PathOrObject, WholeNumber};
use crate::sink::SinkConfig;

crate::settings! {
  /// `init()`'s options, in the order messages list them.
  pub const LOGGER_SETTINGS = [
    SITE_URL: String = Setting {
      key: "siteUrl",
      env: Some("SNS_LOGGER_SITE_URL"),
      default: Fallback::Otherwise("required"),
      doc: "the Rocket.Chat site URL; becomes MessageGroupId (1-128 printable ASCII characters)",
      ..Setting::BLANK
    };
    DF_CONFIG: PathOrObject = Setting {
      key: "dfConfig",
      env: Some("SNS_LOGGER_DF_CONFIG"),
      default: Fallback::Otherwise("required"),
      doc: "the agents and their SNS topics: the path to df_config.json, or its parsed object; the environment variable is a path",
      takes: Some("a path to df_config.json or its parsed object"),
      ts: Some("string | DfConfig"),
      ..Setting::BLANK
    };
    SINK: SinkConfig = Setting {
      key: "sink",
      env: Some("SNS_LOGGER_SINK"),
      default: Fallback::Value(SinkConfig::DEFAULT),
      doc: "where events go: { kind: 'sns', region?, endpoint? }, { kind: 'file', path } or { kind: 'memory' }; the environment variable is sns, file:PATH or memory",
      ts: Some("SinkOptions"),
      ..Setting::BLANK
    };
    PLAN_EXTENSION: PathOrObject = Setting {
      key: "planExtension",
      env: Some("SNS_LOGGER_PLAN_EXTENSION"),
      doc: "extra events or enum values: a plan file shaped like plan/tracking-plan.json, its path or its object; the environment variable is a path",
      takes: Some("a path to a plan file or its parsed object"),
      ts: Some("string | object"),
      ..Setting::BLANK
    };
    LINGER_MS: WholeNumber<0, 60_000> = Setting {
      key: "lingerMs",
      default: Fallback::Value(WholeNumber(5)),
      doc: "how long an event may wait for batch mates before it is sent",
      ..Setting::BLANK
    };
    MAX_QUEUE_EVENTS: WholeNumber<1, { 1 << 32 }> = Setting {
      key: "maxQueueEvents",
      default: Fallback::Value(WholeNumber(100_000)),
      doc: "events held in memory before new ones overflow",
      ..Setting::BLANK
    };
    MAX_QUEUE_BYTES: WholeNumber<{ 1 << 20 }, { 1 << 40 }> = Setting {
      key: "maxQueueBytes",
      default: Fallback::Value(WholeNumber(64 << 20)),
      doc: "bytes of events held in memory before new ones overflow",
      ..Setting::BLANK
    };
    RETRY_BUDGET_MS: WholeNumber<0, { 24 * 3600 * 1000 }> = Setting {
      key: "retryBudgetMs",
      default: Fallback::Value(WholeNumber(30_000)),
      doc: "how long a message group keeps retrying before its events go to the spool",
      ..Setting::BLANK
    };
    ON_OVERFLOW: OverflowPolicy = Setting {
      key: "onOverflow",
      default: Fallback::Value(OverflowPolicy::Spool),
      doc: "what happens to events that do not fit in memory: spool, or drop (counted, reported to onError)",
      ..Setting::BLANK
    };
    SPOOL_DIR: String = Setting {
      key: "spoolDir",
      env: Some("SNS_LOGGER_SPOOL_DIR"),
      default: Fallback::Otherwise(".sns-logger for the sns sink, none for the others"),
      doc: "where the spool and the dead-letter file live (files 0600)",
      ..Setting::BLANK
    };
    DURABILITY: Durability = Setting {
      key: "durability",
      default: Fallback::Value(Durability::Memory),
      doc: "where an accepted event is kept until SNS has it: memory (the spool takes what memory cannot hold and what is left at close or exit), or disk (a background thread writes every event to the spool, the write-ahead log, before it counts as accepted, and deletes it once SNS has it: a crash loses nothing logged before the last write; logEvent stays synchronous, flush() waits for the writes; needs a spool directory)",
      ..Setting::BLANK
    };
    FSYNC: Fsync = Setting {
      key: "fsync",
      default: Fallback::Value(Fsync::None),
      doc: "whether a spool write waits for stable storage: none, it reaches the file (safe from a crash of the process); commit, it is also flushed to stable storage (safe from power loss), slower",
      ..Setting::BLANK
    };
    MESSAGE_ATTRIBUTES: bool = Setting {
      key: "messageAttributes",
      env: Some("SNS_LOGGER_MESSAGE_ATTRIBUTES"),
      flag: Some("--message-attributes"),
      default: Fallback::Value(false),
      doc: "also send each event's category, action and eventType as SNS String message attributes, which subscription filter policies read; their bytes count towards SNS's 256 KiB per message (docs/message-attributes.md)",
      ..Setting::BLANK
    };
    MAX_SPOOL_BYTES: WholeNumber<{ 1 << 20 }, { 1 << 50 }> = Setting {
      key: "maxSpoolBytes",
      flag: Some("--max-spool-bytes N"),
      default: Fallback::Value(WholeNumber(4 << 30)),
      doc: "the most bytes of events the spool holds; past it new events are refused (counted drops with onError in process, 503 at the relay)",
      ..Setting::BLANK
    };
  ];
}

/// Defines settings and the list of them: `settings! { pub const LIST = [NAME: Type = row;
/// ...]; }` makes a `pub const NAME: Setting<Type>` of each row and `LIST`, every row in order
/// (the order `unknown option` messages and the docs list them in).
#[macro_export]
macro_rules! settings {
  (
    $(#[$list_meta:meta])*
    $vis:vis const $list:ident = [
      $($(#[$meta:meta])* $name:ident: $ty:ty = $row:expr;)*
    ];
  ) => {
    $($(#[$meta])* $vis const $name: $crate::config::settings::Setting<$ty> = $row;)*
    $(#[$list_meta])*
    $vis const $list: &[&dyn $crate::config::settings::AnySetting] = &[$(&$name),*];
  };
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::{json, Value as Json};

  crate::settings! {
    const LIST = [
      COUNT: WholeNumber<1, 10> = Setting {
        key: "count",
        env: Some("COUNT"),
        default: Fallback::Value(WholeNumber(3)),
        ..Setting::BLANK
      };
      POLICY: OverflowPolicy = Setting { key: "policy", env: Some("POLICY"), ..Setting::BLANK };
      SYNC: Fsync = Setting {
        key: "sync",
        default: Fallback::Value(Fsync::Commit),
        ..Setting::BLANK
      };
      SOURCE: PathOrObject = Setting { key: "source", takes: Some("a path to x"), ..Setting::BLANK };
    ];
  }

  fn env(name: &str) -> Option<String> {
    match name {
      "COUNT" => Some(" 7 ".into()),
      "POLICY" => Some("keep".into()),
      _ => None,
    }
  }

  fn sources(options: &Json) -> Sources<'_> {
    Sources::new(Some(options), &env, "not an object").unwrap()
  }

  #[test]
  fn option_then_environment_then_default() {
    let given = json!({ "count": 2 });
    assert_eq!(sources(&given).value(&COUNT).unwrap(), WholeNumber(2));
    let none = json!({ "count": null });
    assert_eq!(sources(&none).value(&COUNT).unwrap(), WholeNumber(7));
    assert_eq!(
      sources(&none).get(&POLICY).unwrap_err().message,
      r#"POLICY "keep" is not allowed; allowed: "spool" or "drop""#
    );
    assert_eq!(sources(&none).value(&SYNC).unwrap(), Fsync::Commit);
    assert_eq!(sources(&none).get(&SOURCE).unwrap(), None);
  }

  #[test]
  fn options_are_checked_in_their_order() {
    let check = |options: Json| sources(&options).validate(LIST).unwrap_err().message;
    assert_eq!(
      check(json!({ "count": 11, "bogus": 1 })),
      "count 11 is out of range; allowed: a whole number from 1 to 10"
    );
    assert_eq!(
      check(json!({ "bogus": 1, "count": 11 })),
      r#"unknown option "bogus"; allowed: "count", "policy", "sync" or "source""#
    );
    assert_eq!(
      check(json!({ "source": null })),
      "source must be a path to x, got null"
    );
    assert!(sources(&json!({ "count": null, "policy": "drop" }))
      .validate(LIST)
      .is_ok());
  }

  #[test]
  fn rows_describe_themselves() {
    let rows = describe("test", LIST);
    assert_eq!(rows[0]["allowed"], "a whole number from 1 to 10");
    assert_eq!(rows[0]["default"], "3");
    assert_eq!(rows[1]["ts"], "'spool' | 'drop'");
    assert_eq!(rows[2]["default"], "commit");
    assert_eq!(rows[3]["hasDefault"], false);
    assert_eq!(rows[3]["scope"], "test");
  }
}
