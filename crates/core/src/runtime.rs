//! The process-wide runtime every logger delivers on.
//!
//! One runtime per process, not per front door: the binding, the relay and the command line
//! share its worker threads, and they never keep a Node.js process alive.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::LazyLock;
use tokio::runtime::{Handle, Runtime};

/// Whether the runtime leaves a core to the host (see [`share_cores_with_host`]).
static HOST_FIRST: AtomicBool = AtomicBool::new(false);

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
  tokio::runtime::Builder::new_multi_thread()
    .worker_threads(worker_threads())
    .thread_name("sns-logger")
    .enable_all()
    .build()
    .expect("the sns-logger runtime starts")
});

/// The shared runtime, started on first use.
pub fn handle() -> &'static Handle {
  RUNTIME.handle()
}

/// Asks the runtime to leave a core to the host where cores are few: inside an application,
/// delivery is background work, and on two cores two delivery threads took the JavaScript
/// thread's core in bursts (event-loop p99 at 10,000 events/s: 2.8 ms with two, 1.1 ms with
/// the delivery threads held to one core; docs/performance.md). Takes effect only if it comes
/// before the runtime starts, so the first front door decides: the binding's loggers ask for
/// it; the relay, a process whose threads are the work, does not.
pub fn share_cores_with_host() {
  HOST_FIRST.store(true, Relaxed);
}

/// Two workers; one when the host comes first and has at most two cores.
fn worker_threads() -> usize {
  let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
  if HOST_FIRST.load(Relaxed) && cores <= 2 {
    1
  } else {
    2
  }
}
