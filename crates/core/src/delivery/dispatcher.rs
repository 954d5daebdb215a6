//! The dispatcher: takes in what `log()` handed over, takes every batch that is ready, sends
//! each on a task of its own, and sleeps until the next one is due or it is woken.

use super::completion::complete;
use super::queue::GroupKey;
use super::Shared;
use crate::message::Envelope;
use crate::sink::{Failure, FailureKind};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

pub(super) async fn dispatch(shared: Arc<Shared>) {
  loop {
    let woken = shared.wake.notified();
    tokio::pin!(woken);
    woken.as_mut().enable();
    shared.hand_off.dispatcher_looking();
    let (batches, next) = {
      let mut queue = shared.queue.lock();
      if queue.is_finished() {
        return;
      }
      queue.dispatch(Instant::now())
    };
    for (key, envelopes) in batches {
      tokio::spawn(send(shared.clone(), key, envelopes));
    }
    // Published before looking at the hand-off once more: a caller that pushes after that
    // look sees this schedule and wakes the dispatcher if it is too late for its event.
    shared.hand_off.dispatcher_sleeps_until(next);
    if shared.hand_off.has_pending() {
      tokio::task::yield_now().await;
      continue;
    }
    match next {
      Some(at) => {
        tokio::select! {
          _ = woken => {}
          _ = tokio::time::sleep_until(at.into()) => {}
        }
      }
      None => woken.await,
    }
  }
}

/// Publishes one batch and hands its results to the completion.
async fn send(shared: Arc<Shared>, key: GroupKey, envelopes: Vec<Arc<Envelope>>) {
  shared.counters.requests.fetch_add(1, Relaxed);
  let count = envelopes.len();
  let sink = shared.sink.clone();
  // A panicking sink must not wedge the group: its batch counts as a retryable failure.
  let results = tokio::spawn(async move { sink.publish(&envelopes).await })
    .await
    .unwrap_or_else(|_| {
      vec![
        Err(Failure {
          kind: FailureKind::Retryable,
          code: "InternalError".into(),
          message: "sink panicked".into()
        });
        count
      ]
    });
  complete(&shared, key, results);
}
