//! The process-wide runtime every logger delivers on, and the loggers still open.
//!
//! One runtime per process, not per front door: the binding, the relay and the command line
//! share its two worker threads, and they never keep a Node.js process alive.

use crate::delivery::Logger;
use parking_lot::Mutex;
use std::sync::LazyLock;
use tokio::runtime::{Handle, Runtime};

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
  tokio::runtime::Builder::new_multi_thread()
    .worker_threads(2)
    .thread_name("sns-logger")
    .enable_all()
    .build()
    .expect("the sns-logger runtime starts")
});

/// The shared runtime, started on first use.
pub fn handle() -> &'static Handle {
  RUNTIME.handle()
}

/// Every logger not yet closed, so that process exit can spool what they hold.
static OPEN_LOGGERS: Mutex<Vec<Logger>> = Mutex::new(Vec::new());

/// Remembers a logger until [`forget`] (at close) or [`spool_all_on_exit`].
pub fn register(logger: &Logger) {
  OPEN_LOGGERS.lock().push(logger.clone());
}

pub fn forget(logger: &Logger) {
  OPEN_LOGGERS.lock().retain(|l| !l.same_as(logger));
}

/// At process exit: writes every event still in memory, of every open logger, to the spool,
/// synchronously. Returns how many were spooled.
pub fn spool_all_on_exit() -> u64 {
  let loggers = std::mem::take(&mut *OPEN_LOGGERS.lock());
  loggers.iter().map(Logger::spool_everything_now).sum()
}
