//! The process-wide runtime every logger delivers on.
//!
//! One runtime per process, not per front door: the binding, the relay and the command line
//! share its two worker threads, and they never keep a Node.js process alive.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::LazyLock;
use tokio::runtime::{Handle, Runtime};

/// Whether the runtime's threads yield to the host's (see [`yield_to_host`]).
static BELOW_HOST: AtomicBool = AtomicBool::new(false);

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
  tokio::runtime::Builder::new_multi_thread()
    .worker_threads(2)
    .thread_name("sns-logger")
    .on_thread_start(|| {
      if BELOW_HOST.load(Relaxed) {
        below_host::lower_this_thread();
      }
    })
    .enable_all()
    .build()
    .expect("the sns-logger runtime starts")
});

/// The shared runtime, started on first use.
pub fn handle() -> &'static Handle {
  RUNTIME.handle()
}

/// Asks that the runtime's threads run below the host's (Linux: `SCHED_BATCH` and nice +5):
/// inside an application, delivery is background work, and the application's own threads (its
/// JavaScript thread) should get the core first when both want it. Takes effect only if it
/// comes before the runtime starts, so the first front door decides: the binding's loggers ask
/// for it, the relay (a process of its own, whose threads are the work) does not. A no-op on
/// other systems.
pub fn yield_to_host() {
  BELOW_HOST.store(true, Relaxed);
}

#[cfg(target_os = "linux")]
mod below_host {
  /// How far below the host: enough that a thread of the host waking up preempts delivery at
  /// once, not so far that delivery starves while the host is busy.
  const NICE: libc::c_int = 5;

  pub fn lower_this_thread() {
    // SAFETY: plain system calls on the calling thread (`0`: the caller); a failure leaves
    // the thread as it was, which is only slower for the host.
    unsafe {
      let param = libc::sched_param { sched_priority: 0 };
      libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
      let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
      libc::setpriority(libc::PRIO_PROCESS, thread, NICE);
    }
  }
}

#[cfg(not(target_os = "linux"))]
mod below_host {
  pub fn lower_this_thread() {}
}
