//! The operator's commands for `cli.js` (`check`, `spool`, `dead-letters`, `validate`):
//! each reads its settings as `init()` does and returns the core's report as a plain object.
//! Not part of the package's API (`index.js` does not export them).
//!
//! They block the calling thread (the command line has nothing else to do); long ones call
//! `onProgress` on it between steps.

use crate::to_js;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value as Json;
use sns_logger_core::ops::{self, DeadLetterFilter, StorageSettings};
use sns_logger_core::{runtime, ErrorCode, LoggerError};
use std::path::Path;

/// The process environment, as the core reads settings from it.
pub(crate) fn env(name: &str) -> Option<String> {
  std::env::var(name).ok()
}

fn to_object<T: ops::Report>(report: &T) -> Result<Json, &'static str> {
  Ok(ops::report_json(report))
}

/// How far a long command is.
#[napi(object)]
pub struct OpsProgress {
  pub done: f64,
  pub total: f64,
}

type ProgressCallback<'env> = Function<'env, OpsProgress, ()>;

/// Calls `onProgress` (errors it throws are ignored: progress is cosmetic).
fn progress_of<'a>(callback: &'a Option<ProgressCallback<'_>>) -> impl FnMut(u64, u64) + 'a {
  move |done, total| {
    if let Some(callback) = callback {
      let _ = callback.call(OpsProgress {
        done: done as f64,
        total: total as f64,
      });
    }
  }
}

/// `sns-logger check`.
#[napi(
  catch_unwind,
  ts_args_type = "options: object | undefined, allowStandard: boolean"
)]
pub fn ops_check(options: Option<Json>, allow_standard: bool) -> Result<Json, &'static str> {
  let report = runtime::handle()
    .block_on(ops::check(options.as_ref(), &env, allow_standard))
    .map_err(to_js)?;
  to_object(&report)
}

/// The spool directory and sink the spool commands use.
#[napi(
  catch_unwind,
  ts_args_type = "options: object | undefined, spoolDir: string | undefined"
)]
pub fn ops_spool_dir(
  options: Option<Json>,
  spool_dir: Option<String>,
) -> Result<String, &'static str> {
  let settings =
    StorageSettings::resolve(options.as_ref(), &env, spool_dir.as_deref()).map_err(to_js)?;
  Ok(settings.spool_dir.display().to_string())
}

/// `sns-logger spool status`.
#[napi(catch_unwind)]
pub fn ops_spool_status(spool_dir: String) -> Result<Json, &'static str> {
  to_object(&ops::spool_status(Path::new(&spool_dir)))
}

/// `sns-logger spool export`: `onLines` gets the JSON lines, a chunk at a time.
#[napi(
  catch_unwind,
  ts_args_type = "spoolDir: string, onLines: (lines: string) => void"
)]
pub fn ops_spool_export(
  spool_dir: String,
  on_lines: Function<'_, String, ()>,
) -> Result<Json, &'static str> {
  let report = ops::export_spool(Path::new(&spool_dir), &mut |lines| {
    on_lines
      .call(lines.to_string())
      .map(|_| ())
      .map_err(|e| std::io::Error::other(e.reason.clone()))
  })
  .map_err(to_js)?;
  to_object(&report)
}

/// `sns-logger spool replay`.
#[napi(
  catch_unwind,
  ts_args_type = "options: object | undefined, spoolDir: string | undefined, onProgress?: (progress: OpsProgress) => void"
)]
pub fn ops_spool_replay(
  options: Option<Json>,
  spool_dir: Option<String>,
  on_progress: Option<ProgressCallback<'_>>,
) -> Result<Json, &'static str> {
  let settings =
    StorageSettings::resolve(options.as_ref(), &env, spool_dir.as_deref()).map_err(to_js)?;
  let sink = settings.sink.build().map_err(to_js)?;
  let mut progress = progress_of(&on_progress);
  let report = runtime::handle()
    .block_on(ops::replay_spool(&settings.spool_dir, sink, &mut progress))
    .map_err(to_js)?;
  to_object(&report)
}

/// `sns-logger dead-letters`.
#[napi(
  catch_unwind,
  ts_args_type = "spoolDir: string, errorCode: string | undefined, topicArn: string | undefined"
)]
pub fn ops_dead_letters(
  spool_dir: String,
  error_code: Option<String>,
  topic_arn: Option<String>,
) -> Result<Json, &'static str> {
  let filter = DeadLetterFilter {
    error_code,
    topic_arn,
  };
  let list = ops::list_dead_letters(Path::new(&spool_dir), &filter).map_err(to_js)?;
  to_object(&list)
}

/// `sns-logger dead-letters requeue`.
#[napi(
  catch_unwind,
  ts_args_type = "options: object | undefined, spoolDir: string | undefined, errorCode: string | undefined, topicArn: string | undefined, onProgress?: (progress: OpsProgress) => void"
)]
pub fn ops_requeue(
  options: Option<Json>,
  spool_dir: Option<String>,
  error_code: Option<String>,
  topic_arn: Option<String>,
  on_progress: Option<ProgressCallback<'_>>,
) -> Result<Json, &'static str> {
  let settings =
    StorageSettings::resolve(options.as_ref(), &env, spool_dir.as_deref()).map_err(to_js)?;
  let sink = settings.sink.build().map_err(to_js)?;
  let filter = DeadLetterFilter {
    error_code,
    topic_arn,
  };
  let mut progress = progress_of(&on_progress);
  let report = runtime::handle()
    .block_on(ops::requeue_dead_letters(
      &settings.spool_dir,
      sink,
      &filter,
      &mut progress,
    ))
    .map_err(to_js)?;
  to_object(&report)
}

/// `sns-logger generate-client --plan-extension FILE`: the extension checked by the rules the
/// relay and `init()` apply (throws `ERR_INVALID_PLAN` with their message).
#[napi(catch_unwind)]
pub fn ops_check_plan(plan_extension: String) -> Result<(), &'static str> {
  ops::plan_for(None, &env, Some(&plan_extension)).map_err(to_js)?;
  Ok(())
}

/// `sns-logger validate FILE`.
#[napi(
  catch_unwind,
  ts_args_type = "file: string, options: object | undefined, planExtension: string | undefined"
)]
pub fn ops_validate(
  file: String,
  options: Option<Json>,
  plan_extension: Option<String>,
) -> Result<Json, &'static str> {
  let plan = ops::plan_for(options.as_ref(), &env, plan_extension.as_deref()).map_err(to_js)?;
  let reader = std::fs::File::open(&file).map_err(|e| {
    to_js(LoggerError::new(
      ErrorCode::Io,
      format!("cannot read {}: {e}", sns_logger_core::error::quote(&file)),
    ))
  })?;
  let report = ops::validate_lines(&plan, std::io::BufReader::new(reader)).map_err(to_js)?;
  to_object(&report)
}
