#![deny(clippy::all)]
//! sns-logger's N-API binding: converts between JavaScript and `sns_logger_core`, nothing
//! else. `index.js` and the hand-written `index.d.ts` wrap it for JavaScript.
//!
//! The allocator is chosen here, in the `.node` (a library crate must not choose it for its
//! users); the runtime lives in the core (`sns_logger_core::runtime`), shared with every other
//! front door.

mod js_input;
mod logger;
pub mod ops;
mod relay;
mod tail;

use napi::bindgen_prelude::Error;
use napi_derive::napi;
use sns_logger_core::LoggerError;

pub use logger::{log_action, log_fields, JsSnsLogger};
pub use relay::{serve, JsRelay};

/// Events are allocated on the JavaScript thread and freed on the runtime's threads; glibc's
/// malloc handles such cross-thread frees slowly (a third of logEvent's time in a profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc 3 keeps freed pages for 1,000 ms before returning them to the OS. Through an SNS
/// outage every event passes through memory on its way to the spool, and a second of them
/// stayed resident: the outage benchmark peaked at 193 MB, 147 MB with 10 ms (mimalloc 2's
/// default), at no cost per call measurable in the per-call benchmark.
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
#[napi_derive::module_init]
fn return_freed_memory_sooner() {
  if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
    // SAFETY: sets a plain option value; mimalloc reads it on its next purge.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) }
  }
}

/// Called by `index.js` on process `exit`: writes every event still in memory to the spool,
/// synchronously. Returns how many were spooled.
#[napi(catch_unwind)]
pub fn spool_pending_on_exit() -> u32 {
  sns_logger_core::delivery::open_loggers::spool_all_on_exit() as u32
}

/// Every setting of `init()` (scope `logger`) and `serve()` (scope `relay`), one object each:
/// key, env, flag and its value's name, type (and min, max, choices), allowed, ts, default,
/// hasDefault and doc. `sns-logger serve --help` and the README's option tables are written
/// from it. Not part of the package's API (`index.js` does not export it).
#[napi(catch_unwind)]
pub fn settings() -> serde_json::Value {
  use sns_logger_core::config::settings::{describe, LOGGER_SETTINGS};
  let mut rows = describe("logger", LOGGER_SETTINGS);
  rows.extend(describe("relay", sns_logger_relay::RELAY_SETTINGS));
  serde_json::Value::Array(rows)
}

/// The JavaScript error for a rejection: `error.code` is the stable code.
fn to_js(error: LoggerError) -> Error<&'static str> {
  Error::new(error.code.as_str(), error.message)
}
