//! No panic stops delivery silently: a task that panics is reported and started again.

use super::{NoticeCode, Shared};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinError;

/// A task that panics at once must not spin: its restarts are this far apart at least.
const RESTART_DELAY: Duration = Duration::from_millis(100);

/// Runs `task` until it returns; each panic is reported to `onError` (`InternalError`) and the
/// task started again.
pub(super) async fn supervise<F, Fut>(shared: Arc<Shared>, name: &'static str, task: F)
where
  F: Fn(Arc<Shared>) -> Fut,
  Fut: Future<Output = ()> + Send + 'static,
{
  loop {
    match tokio::spawn(task(shared.clone())).await {
      Ok(()) => return,
      Err(error) if error.is_panic() => {
        shared.notify_error(
          NoticeCode::Internal,
          format!("the {name} stopped on a panic ({}); restarted", why(error)),
          0,
        );
        tokio::time::sleep(RESTART_DELAY).await;
      }
      // Cancelled: the runtime is shutting down.
      Err(_) => return,
    }
  }
}

/// What a panic said, when it said it in text.
pub(super) fn why(error: JoinError) -> String {
  if !error.is_panic() {
    return "cancelled".into();
  }
  let payload = error.into_panic();
  payload
    .downcast_ref::<&str>()
    .map(|s| s.to_string())
    .or_else(|| payload.downcast_ref::<String>().cloned())
    .unwrap_or_else(|| "a panic without a message".into())
}
