//! `SnsLogger`: a core logger seen from JavaScript, and the plain objects its methods return.

use crate::js_input::{self, ActionRef};
use crate::to_js;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use sns_logger_core::config::CloseOptions;
use sns_logger_core::delivery::{self, Observer, Stats, Tally};
use sns_logger_core::message::{MessageAttributes, ATTRIBUTE_DATA_TYPE};
use sns_logger_core::sink::{sns, MemorySink};
use sns_logger_core::{runtime, ErrorCode, Logger, LoggerConfig, LoggerError, Notice};
use std::sync::Arc;

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
        code: Some(code.to_string()),
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

/// A failed N-API call that should not fail: `ERR_INTERNAL` with napi's reason.
fn internal(error: Error) -> Error<&'static str> {
  Error::new(ErrorCode::Internal.as_str(), error.reason.clone())
}

/// A weak threadsafe function: it never keeps the process alive.
type NoticeCallback = ThreadsafeFunction<JsNotice, (), JsNotice, Status, false, true>;

/// Hands the core's notices to a JavaScript callback, without keeping the process alive.
/// Delivery notices (one per batch sent) cross to the JavaScript thread only when
/// `deliveries` says an `onDelivery` callback wants them.
pub(crate) fn observer(
  on_notice: Option<Function<JsNotice, ()>>,
  deliveries: Option<bool>,
) -> Result<Option<Observer>, &'static str> {
  let Some(callback) = on_notice else {
    return Ok(None);
  };
  let callback: NoticeCallback = callback
    .build_threadsafe_function::<JsNotice>()
    .callee_handled::<false>()
    .weak::<true>()
    .build()
    .map_err(internal)?;
  let deliveries = deliveries.unwrap_or(true);
  Ok(Some(Arc::new(move |notice: Notice| {
    if deliveries || !matches!(notice, Notice::Delivered { .. }) {
      callback.call(notice.into(), ThreadsafeFunctionCallMode::NonBlocking);
    }
  })))
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
  /// Events the spool holds once closed, of this run and earlier ones: what the next start
  /// replays.
  pub left_in_spool: i64,
}

impl From<delivery::CloseReport> for CloseReport {
  fn from(report: delivery::CloseReport) -> Self {
    let FlushReport {
      sent,
      dead_lettered,
      spooled,
      dropped,
    } = report.tally.into();
    CloseReport {
      sent,
      dead_lettered,
      spooled,
      dropped,
      timed_out: report.timed_out,
      left_in_spool: report.left_in_spool as i64,
    }
  }
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

impl From<Stats> for LoggerStats {
  fn from(s: Stats) -> Self {
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
}

/// An action of the logger's plan and the index `logAction` takes for it.
#[napi(object)]
pub struct ActionIndex {
  pub category: String,
  pub action: String,
  pub index: u32,
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
  /// Only with `messageAttributes` on.
  #[napi(js_name = "MessageAttributes")]
  pub message_attributes: Option<MessageAttributesRecord>,
}

/// The message attributes of a request, as SNS takes them.
#[napi(object)]
pub struct MessageAttributesRecord {
  pub category: StringAttribute,
  pub action: StringAttribute,
  #[napi(js_name = "eventType")]
  pub event_type: StringAttribute,
}

/// `{ DataType: 'String', StringValue }`.
#[napi(object)]
pub struct StringAttribute {
  #[napi(js_name = "DataType")]
  pub data_type: String,
  #[napi(js_name = "StringValue")]
  pub string_value: String,
}

impl From<MessageAttributes<'_>> for MessageAttributesRecord {
  fn from(attributes: MessageAttributes<'_>) -> Self {
    let string = |value: &str| StringAttribute {
      data_type: ATTRIBUTE_DATA_TYPE.to_string(),
      string_value: value.to_string(),
    };
    MessageAttributesRecord {
      category: string(&attributes.category),
      action: string(&attributes.action),
      event_type: string(&attributes.event_type),
    }
  }
}

/// A logger with its own queue and sink. `index.js` keeps one as the process-wide logger.
#[napi(js_name = "SnsLogger")]
pub struct JsSnsLogger {
  logger: Logger,
}

#[napi]
impl JsSnsLogger {
  #[napi(
    constructor,
    catch_unwind,
    ts_args_type = "options?: object, onNotice?: (notice: JsNotice) => void, deliveries?: boolean"
  )]
  pub fn new(
    options: Option<serde_json::Value>,
    on_notice: Option<Function<JsNotice, ()>>,
    deliveries: Option<bool>,
  ) -> Result<Self, &'static str> {
    let config =
      LoggerConfig::resolve(options.as_ref(), &|name| std::env::var(name).ok()).map_err(to_js)?;
    let observer = observer(on_notice, deliveries)?;
    // Inside an application, delivery is background work: the JavaScript thread comes first.
    runtime::share_cores_with_host();
    let logger = Logger::open(config, observer).map_err(to_js)?;
    Ok(JsSnsLogger { logger })
  }

  /// Validates the event and queues it; throws on bad input. Never blocks on I/O.
  #[napi(catch_unwind, ts_args_type = "event: LogEvent")]
  pub fn log_event(&self, env: Env, event: Unknown) -> Result<(), &'static str> {
    // SAFETY: both handles belong to this call.
    let input = unsafe { js_input::read_event(env.raw(), event.value().value) }.map_err(to_js)?;
    self.logger.log(input).map_err(to_js)
  }

  /// The logger for `logAction` / `logFields`: module functions, which skip the per-call
  /// bookkeeping napi-rs does for class methods (a borrow registry behind a global lock).
  #[napi(skip_typescript)]
  pub fn handle(&self) -> External<Logger> {
    External::new(self.logger.clone())
  }

  /// Every action of this logger's plan (the built-in plan and its extension) with the index
  /// `logAction` takes for it.
  #[napi(skip_typescript)]
  pub fn action_indexes(&self) -> Vec<ActionIndex> {
    self
      .logger
      .plan()
      .action_ids()
      .map(|(category, action, id)| ActionIndex {
        category: category.to_string(),
        action: action.to_string(),
        index: id.to_index(),
      })
      .collect()
  }

  /// Resolves when every event logged before the call is sent, dead-lettered or spooled.
  #[napi(ts_return_type = "Promise<FlushReport>")]
  pub fn flush<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    let logger = self.logger.clone();
    // Written ahead, an event is marked for flushes once its write is done: the flush waits
    // for the writes of what was logged before it first.
    let epoch = (!logger.writes_ahead()).then(|| logger.begin_flush());
    runtime::handle().spawn(async move {
      let epoch = match epoch {
        Some(epoch) => epoch,
        None => {
          logger.written_ahead().await;
          logger.begin_flush()
        }
      };
      let tally = logger.settled(epoch).await;
      deferred.resolve(move |_| Ok(FlushReport::from(tally)));
    });
    Ok(promise)
  }

  /// Stops accepting events, flushes until `timeoutMs` (default 5000), then spools what is
  /// left. Never rejects, never outlives its deadline.
  #[napi(
    ts_args_type = "options?: { timeoutMs?: number }",
    ts_return_type = "Promise<CloseReport>"
  )]
  pub fn close<'env>(
    &self,
    env: &'env Env,
    options: Option<serde_json::Value>,
  ) -> Result<Object<'env>, &'static str> {
    // Checked before anything happens: bad options leave the logger open.
    let timeout = CloseOptions::from_json(options.as_ref())
      .map_err(to_js)?
      .timeout();
    let (deferred, promise) = env.create_deferred().map_err(internal)?;
    let logger = self.logger.clone();
    let epoch = logger.stop_accepting();
    runtime::handle().spawn(async move {
      let report = logger.finish_close(epoch, timeout).await;
      deferred.resolve(move |_| Ok(CloseReport::from(report)));
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
    self.logger.stats().into()
  }

  /// What the memory sink recorded so far (`{ clear: true }` empties it). Throws for other sinks.
  #[napi(ts_args_type = "options?: { clear?: boolean }")]
  pub fn records(
    &self,
    options: Option<serde_json::Value>,
  ) -> Result<Vec<PublishRecord>, &'static str> {
    let Some(memory) = self.logger.sink().as_any().downcast_ref::<MemorySink>() else {
      return Err(to_js(LoggerError::new(
        ErrorCode::InvalidOptions,
        "records() needs the memory sink: { kind: 'memory' }",
      )));
    };
    let clear = options
      .as_ref()
      .and_then(|o| o.get("clear"))
      .and_then(|c| c.as_bool())
      == Some(true);
    let taken = if clear {
      memory.take()
    } else {
      memory.records()
    };
    let records = taken
      .iter()
      .map(|e| {
        let fifo = sns::is_fifo_topic(e.topic_arn());
        PublishRecord {
          topic_arn: e.topic_arn().to_string(),
          subject: sns::SUBJECT.to_string(),
          message_group_id: fifo.then(|| e.group_id().to_string()),
          message_deduplication_id: fifo.then(|| e.dedup_id().into_owned()),
          message: e.message(),
          message_attributes: e.attributes().map(Into::into),
        }
      })
      .collect();
    Ok(records)
  }
}

/// logEvent with the fields already read by `index.js` (V8 reads them far faster than N-API),
/// in the order of `js_input::FIELDS`, and `Object.keys(properties)`.
#[napi(catch_unwind, ts_args_type = "logger: object, ...fields: unknown[]")]
#[allow(clippy::too_many_arguments)]
pub fn log_fields(
  env: Env,
  logger: &External<Logger>,
  agent: Unknown,
  room_id: Unknown,
  tab_id: Unknown,
  category: Unknown,
  action: Unknown,
  properties: Unknown,
  timestamp: Unknown,
  property_keys: Unknown,
) -> Result<(), &'static str> {
  let action = ActionRef::Names {
    category: category.value().value,
    action: action.value().value,
  };
  let fields = [agent, room_id, tab_id, properties, timestamp];
  log_read(env, logger, action, fields, property_keys)
}

/// logFields for an event whose category and action `index.js` found in `actionIndexes()`:
/// one number crosses instead of two strings to read and look up.
#[napi(
  catch_unwind,
  ts_args_type = "logger: object, actionIndex: number, ...fields: unknown[]"
)]
#[allow(clippy::too_many_arguments)]
pub fn log_action(
  env: Env,
  logger: &External<Logger>,
  action_index: u32,
  agent: Unknown,
  room_id: Unknown,
  tab_id: Unknown,
  properties: Unknown,
  timestamp: Unknown,
  property_keys: Unknown,
) -> Result<(), &'static str> {
  let fields = [agent, room_id, tab_id, properties, timestamp];
  log_read(
    env,
    logger,
    ActionRef::Index(action_index),
    fields,
    property_keys,
  )
}

fn log_read(
  env: Env,
  logger: &Logger,
  action: ActionRef,
  fields: [Unknown; 5],
  property_keys: Unknown,
) -> Result<(), &'static str> {
  let fields = fields.map(|field| field.value().value);
  // Anything but an array (undefined) makes js_input enumerate the keys itself.
  let keys = Some(property_keys.value().value);
  // SAFETY: every handle belongs to this call.
  let input = unsafe { js_input::read_fields(env.raw(), action, fields, keys) }.map_err(to_js)?;
  logger.log(input).map_err(to_js)
}
