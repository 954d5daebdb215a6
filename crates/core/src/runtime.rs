//! The process-wide runtime every logger delivers on.
//!
//! One runtime per process, not per front door: the binding, the relay and the command line
//! share its two worker threads, and they never keep a Node.js process alive.

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
