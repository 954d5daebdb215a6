//! `sns-logger tail`'s queue reader for `cli/tail.js`: receive (long polling) and delete, each a
//! promise, so the JavaScript thread stays free to stop on SIGINT mid-poll. Not part of the
//! package's API (`index.js` does not export it).

use crate::ops::env;
use crate::to_js;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{json, Value as Json};
use sns_logger_core::ops::{self, QueueReader};
use sns_logger_core::{runtime, LoggerError};
use std::future::Future;
use std::sync::Arc;

#[napi(js_name = "QueueReader")]
pub struct JsQueueReader {
  reader: Arc<QueueReader>,
}

/// A promise of `work`'s outcome, run on the runtime: `{ value }`, or `{ error: { code, message } }`
/// for cli/tail.js to throw (a rejection from the runtime's threads could not carry the stable
/// code).
fn promise_of<'env, T: ops::Report>(
  env: &'env Env,
  work: impl Future<Output = std::result::Result<T, LoggerError>> + Send + 'static,
) -> Result<Object<'env>> {
  let (deferred, promise) = env.create_deferred()?;
  runtime::handle().spawn(async move {
    let outcome = match work.await {
      Ok(value) => json!({ "value": ops::report_json(&value) }),
      Err(error) => json!({ "error": { "code": error.code.as_str(), "message": error.message } }),
    };
    deferred.resolve(move |_| Ok(outcome));
  });
  Ok(promise)
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
    let reader = self.reader.clone();
    let wait = wait_seconds.min(ops::MAX_WAIT_SECONDS.into()) as u8;
    promise_of(env, async move { reader.receive(wait).await })
  }

  /// Deletes received messages by their receipt handles.
  #[napi(
    ts_return_type = "Promise<{ value?: { deleted: number, failed: { code: string, message: string }[] }, error?: { code: string, message: string } }>"
  )]
  pub fn delete<'env>(&self, env: &'env Env, receipt_handles: Vec<String>) -> Result<Object<'env>> {
    let reader = self.reader.clone();
    promise_of(env, async move { reader.delete(&receipt_handles).await })
  }
}
