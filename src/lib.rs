#![deny(clippy::all)]
//! sns-logger: typed, validated analytics events from Rocket.Chat apps to AWS SNS.
//!
//! Layers, each a module: `plan` (tracking plan and validation) → `message` (the SNS
//! request) → `config` (options, df_config.json) → `delivery` (queue, batching, retry) →
//! `sink` (SNS, file, memory). This file is the thin N-API layer; `index.js` and the
//! hand-written `index.d.ts` wrap it for JavaScript.

pub mod config;
pub mod delivery;
pub mod error;
mod js_input;
pub mod message;
pub mod plan;
pub mod sink;
pub mod storage;

use config::{LoggerConfig, SinkConfig};
use delivery::{Logger, Notice, Observer, Tally};
use error::{ErrorCode, LoggerError};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use sink::{FileSink, MemorySink, Sink, SnsSink};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::runtime::Runtime;

/// Events are allocated on the JavaScript thread and freed on the runtime's threads; glibc's
/// malloc handles such cross-thread frees slowly (a third of logEvent's time in a profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The addon's own runtime: delivery never runs on the JavaScript thread, and its threads do
/// not keep the Node.js process alive.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
  tokio::runtime::Builder::new_multi_thread()
    .worker_threads(2)
    .thread_name("sns-logger")
    .enable_all()
    .build()
    .expect("the sns-logger runtime starts")
});

/// Every logger not yet closed, so that process exit can spool what they hold.
static OPEN_LOGGERS: Mutex<Vec<Logger>> = Mutex::new(Vec::new());

fn open_loggers() -> std::sync::MutexGuard<'static, Vec<Logger>> {
  OPEN_LOGGERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Called by `index.js` on process `exit`: writes every event still in memory to the spool,
/// synchronously. Returns how many were spooled.
#[napi(catch_unwind)]
pub fn spool_pending_on_exit() -> u32 {
  let loggers = std::mem::take(&mut *open_loggers());
  loggers
    .iter()
    .map(|l| l.spool_everything_now() as u32)
    .sum()
}

/// A notice for `index.js`, which hands it to `onError` or `onDelivery`.
#[napi(object)]
pub struct JsNotice {
  /// "error" or "delivery".
  pub kind: String,
  pub code: Option<String>,
  pub message: Option<String>,
  pub events: i64,
  pub topic_arn: Option<String>,
  pub message_group_id: Option<String>,
}

impl From<Notice> for JsNotice {
  fn from(notice: Notice) -> Self {
    match notice {
      Notice::Error {
        code,
        message,
        events,
      } => JsNotice {
        kind: "error".into(),
        code: Some(code),
        message: Some(message),
        events: events as i64,
        topic_arn: None,
        message_group_id: None,
      },
      Notice::Delivered {
        topic_arn,
        message_group_id,
        events,
      } => JsNotice {
        kind: "delivery".into(),
        code: None,
        message: None,
        events: events as i64,
        topic_arn: Some(topic_arn),
        message_group_id: Some(message_group_id),
      },
    }
  }
}

/// A weak threadsafe function: it never keeps the process alive.
type NoticeCallback = ThreadsafeFunction<JsNotice, (), JsNotice, Status, false, true>;

/// The JavaScript error for a rejection: `error.code` is the stable code.
fn to_js(error: LoggerError) -> Error<&'static str> {
  Error::new(error.code.as_str(), error.message)
}

/// Outcomes of the events a flush or close waited for.
#[napi(object)]
pub struct FlushReport {
  /// Acknowledged by SNS (or written by the file / memory sink).
  pub sent: i64,
  /// Refused by SNS for good, written to the dead-letter file.
  pub dead_lettered: i64,
  /// Written to the on-disk spool, to be sent later.
  pub spooled: i64,
  /// Dropped (only with a drop policy, or when nothing else was possible).
  pub dropped: i64,
}

impl From<Tally> for FlushReport {
  fn from(t: Tally) -> Self {
    FlushReport {
      sent: t.sent as i64,
      dead_lettered: t.dead_lettered as i64,
      spooled: t.spooled as i64,
      dropped: t.dropped as i64,
    }
  }
}

#[napi(object)]
pub struct CloseReport {
  pub sent: i64,
  pub dead_lettered: i64,
  pub spooled: i64,
  pub dropped: i64,
  /// True when the deadline passed before every event settled.
  pub timed_out: bool,
}

#[napi(object)]
pub struct CloseOptions {
  /// How long close() may take; default 5000.
  pub timeout_ms: Option<u32>,
}

#[napi(object)]
pub struct LoggerStats {
  pub accepted: i64,
  pub sent: i64,
  pub retried: i64,
  pub dead_lettered: i64,
  pub spooled: i64,
  pub replayed: i64,
  pub dropped: i64,
  pub queue_events: i64,
  pub queue_bytes: i64,
  pub in_flight_batches: i64,
  pub requests: i64,
  pub last_error_code: Option<String>,
}

/// One request as the memory sink recorded it, with SNS's parameter names.
#[napi(object)]
pub struct PublishRecord {
  #[napi(js_name = "TopicArn")]
  pub topic_arn: String,
  #[napi(js_name = "Subject")]
  pub subject: String,
  #[napi(js_name = "MessageGroupId")]
  pub message_group_id: Option<String>,
  #[napi(js_name = "MessageDeduplicationId")]
  pub message_deduplication_id: Option<String>,
  #[napi(js_name = "Message")]
  pub message: String,
}

/// A logger with its own queue and sink. `index.js` keeps one as the process-wide logger.
#[napi(js_name = "SnsLogger")]
pub struct JsSnsLogger {
  logger: Logger,
  memory: Option<Arc<MemorySink>>,
}

#[napi]
impl JsSnsLogger {
  #[napi(
    constructor,
    catch_unwind,
    ts_args_type = "options?: object, onNotice?: (notice: JsNotice) => void"
  )]
  pub fn new(
    options: Option<serde_json::Value>,
    on_notice: Option<Function<JsNotice, ()>>,
  ) -> Result<Self, &'static str> {
    let config =
      LoggerConfig::resolve(options.as_ref(), &|name| std::env::var(name).ok()).map_err(to_js)?;
    let mut memory = None;
    let sink: Arc<dyn Sink> = match &config.sink {
      SinkConfig::Memory => {
        let sink = Arc::new(MemorySink::default());
        memory = Some(sink.clone());
        sink
      }
      SinkConfig::File { path } => Arc::new(FileSink::open(path).map_err(|e| {
        to_js(LoggerError::new(
          ErrorCode::InvalidOptions,
          format!(
            "sink.path {}: cannot open for appending: {e}",
            error::quote(&path.to_string_lossy())
          ),
        ))
      })?),
      SinkConfig::Sns {
        region,
        endpoint,
        timeouts,
      } => Arc::new(SnsSink::new(region.clone(), endpoint.clone(), *timeouts)),
    };
    let observer: Option<Observer> = match on_notice {
      Some(callback) => {
        let callback: NoticeCallback = callback
          .build_threadsafe_function::<JsNotice>()
          .callee_handled::<false>()
          .weak::<true>()
          .build()
          .map_err(|e| Error::new("ERR_INTERNAL", e.reason.clone()))?;
        Some(Arc::new(move |notice: Notice| {
          callback.call(notice.into(), ThreadsafeFunctionCallMode::NonBlocking);
        }))
      }
      None => None,
    };
    let logger = Logger::start(config, sink, observer, RUNTIME.handle());
    open_loggers().push(logger.clone());
    Ok(JsSnsLogger { logger, memory })
  }

  /// Validates the event and queues it; throws on bad input. Never blocks on I/O.
  #[napi(catch_unwind, ts_args_type = "event: LogEvent")]
  pub fn log_event(&self, env: Env, event: Unknown) -> Result<(), &'static str> {
    // SAFETY: both handles belong to this call.
    let input = unsafe { js_input::read_event(env.raw(), event.value().value) }.map_err(to_js)?;
    self.logger.log(input).map_err(to_js)
  }

  /// logEvent with the fields already read by `index.js`, in the order of
  /// `js_input::FIELDS`, and `Object.keys(properties)`: V8 reads them far faster than N-API.
  #[napi(catch_unwind, skip_typescript)]
  #[allow(clippy::too_many_arguments)]
  pub fn log_fields(
    &self,
    env: Env,
    agent: Unknown,
    room_id: Unknown,
    tab_id: Unknown,
    category: Unknown,
    action: Unknown,
    properties: Unknown,
    timestamp: Unknown,
    property_keys: Unknown,
  ) -> Result<(), &'static str> {
    let fields = [
      agent, room_id, tab_id, category, action, properties, timestamp,
    ]
    .map(|field| field.value().value);
    // Anything but an array (undefined) makes js_input enumerate the keys itself.
    let keys = Some(property_keys.value().value);
    // SAFETY: every handle belongs to this call.
    let input = unsafe { js_input::read_fields(env.raw(), fields, keys) }.map_err(to_js)?;
    self.logger.log(input).map_err(to_js)
  }

  /// Resolves when every event logged before the call is sent, dead-lettered or spooled.
  #[napi(ts_return_type = "Promise<FlushReport>")]
  pub fn flush<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    let logger = self.logger.clone();
    let epoch = logger.begin_flush();
    RUNTIME.spawn(async move {
      let tally = logger.settled(epoch).await;
      deferred.resolve(move |_| Ok(FlushReport::from(tally)));
    });
    Ok(promise)
  }

  /// Stops accepting events, flushes until `timeoutMs` (default 5000), then spools what is
  /// left. Never rejects, never outlives its deadline.
  #[napi(ts_return_type = "Promise<CloseReport>")]
  pub fn close<'env>(&self, env: &'env Env, options: Option<CloseOptions>) -> Result<Object<'env>> {
    let timeout = Duration::from_millis(options.and_then(|o| o.timeout_ms).unwrap_or(5000).into());
    let (deferred, promise) = env.create_deferred()?;
    let logger = self.logger.clone();
    let epoch = logger.stop_accepting();
    RUNTIME.spawn(async move {
      let report = logger.finish_close(epoch, timeout).await;
      open_loggers().retain(|l| !l.same_as(&logger));
      deferred.resolve(move |_| {
        let FlushReport {
          sent,
          dead_lettered,
          spooled,
          dropped,
        } = report.tally.into();
        Ok(CloseReport {
          sent,
          dead_lettered,
          spooled,
          dropped,
          timed_out: report.timed_out,
        })
      });
    });
    Ok(promise)
  }

  /// True once close() has been called.
  #[napi(getter)]
  pub fn closed(&self) -> bool {
    self.logger.is_closed()
  }

  #[napi]
  pub fn stats(&self) -> LoggerStats {
    let s = self.logger.stats();
    LoggerStats {
      accepted: s.accepted as i64,
      sent: s.sent as i64,
      retried: s.retried as i64,
      dead_lettered: s.dead_lettered as i64,
      spooled: s.spooled as i64,
      replayed: s.replayed as i64,
      dropped: s.dropped as i64,
      queue_events: s.queue_events as i64,
      queue_bytes: s.queue_bytes as i64,
      in_flight_batches: s.in_flight_batches as i64,
      requests: s.requests as i64,
      last_error_code: s.last_error_code,
    }
  }

  /// What the memory sink recorded so far (`{ clear: true }` empties it). Throws for other sinks.
  #[napi(ts_args_type = "options?: { clear?: boolean }")]
  pub fn records(
    &self,
    options: Option<serde_json::Value>,
  ) -> Result<Vec<PublishRecord>, &'static str> {
    let Some(memory) = &self.memory else {
      return Err(to_js(LoggerError::new(
        ErrorCode::InvalidOptions,
        "records() needs the memory sink: { kind: 'memory' }",
      )));
    };
    let records = memory
      .records()
      .iter()
      .map(|e| {
        let fifo = e.is_fifo();
        PublishRecord {
          topic_arn: e.topic_arn.to_string(),
          subject: message::SUBJECT.to_string(),
          message_group_id: fifo.then(|| e.group_id.to_string()),
          message_deduplication_id: fifo.then(|| e.dedup_id.clone()),
          message: e.message.clone(),
        }
      })
      .collect();
    if options
      .as_ref()
      .and_then(|o| o.get("clear"))
      .and_then(|c| c.as_bool())
      == Some(true)
    {
      memory.clear();
    }
    Ok(records)
  }
}
