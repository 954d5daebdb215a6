//! The loggers not yet closed, so that process exit can spool what they hold.

use super::Logger;
use parking_lot::Mutex;

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
