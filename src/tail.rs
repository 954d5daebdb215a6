//! `sns-logger tail`'s queue reader for `cli/tail.js`: receive (long polling) and delete, each a
//! promise, so the JavaScript thread stays free to stop on SIGINT mid-poll. Not part of the
//! package's API (`index.js` does not export it).

use crate::to_js;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{json, Value as Json};
use sns_logger_core::ops::{self, QueueReader};
use sns_logger_core::{runtime, LoggerError};
use std::sync::Arc;

#[napi(js_name = "QueueReader")]
pub struct JsQueueReader {
  reader: Arc<QueueReader>,
}

/// A promise's outcome: `{ value }`, or `{ error: { code, message } }` for cli/tail.js to throw
/// (a rejection from the runtime's threads could not carry the stable code).
fn settled<T: ops::Report>(result: std::result::Result<T, LoggerError>) -> Json {
  match result {
    Ok(value) => json!({ "value": ops::report_json(&value) }),
    Err(error) => json!({ "error": { "code": error.code.as_str(), "message": error.message } }),
  }
}

#[napi]
impl JsQueueReader {
  /// Reads `queueUrl` with the `sink` setting of `options` (`--config`) or the environment
  /// (its region and timeouts; the endpoint is SQS's own, from the AWS environment).
  #[napi(
    constructor,
    ts_args_type = "options: object | undefined, queueUrl: string"
  )]
  pub fn new(options: Option<Json>, queue_url: String) -> Result<Self, &'static str> {
    let env = |name: &str| std::env::var(name).ok();
    let reader = QueueReader::from_settings(options.as_ref(), &env, &queue_url).map_err(to_js)?;
    Ok(JsQueueReader {
      reader: Arc::new(reader),
    })
  }

  /// Up to 10 messages, waiting up to `waitSeconds` (at most 20) for the first.
  #[napi(
    ts_return_type = "Promise<{ value?: { messageId: string, receiptHandle: string, body: string, messageGroupId?: string, sentTimestamp?: string }[], error?: { code: string, message: string } }>"
  )]
  pub fn receive<'env>(&self, env: &'env Env, wait_seconds: u32) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    let reader = self.reader.clone();
    let wait = wait_seconds.min(ops::MAX_WAIT_SECONDS.into()) as u8;
    runtime::handle().spawn(async move {
      let outcome = settled(reader.receive(wait).await);
      deferred.resolve(move |_| Ok(outcome));
    });
    Ok(promise)
  }

  /// Deletes received messages by their receipt handles.
  #[napi(
    ts_return_type = "Promise<{ value?: { deleted: number, failed: { code: string, message: string }[] }, error?: { code: string, message: string } }>"
  )]
  pub fn delete<'env>(&self, env: &'env Env, receipt_handles: Vec<String>) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    let reader = self.reader.clone();
    runtime::handle().spawn(async move {
      let outcome = settled(reader.delete(&receipt_handles).await);
      deferred.resolve(move |_| Ok(outcome));
    });
    Ok(promise)
  }
}
