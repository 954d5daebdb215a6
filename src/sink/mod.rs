//! Where batches go: SNS, a JSON-lines file, or memory.

mod file;
mod memory;
mod sns;

pub use file::FileSink;
pub use memory::MemorySink;
pub use sns::{SnsSink, SnsTimeouts};

use crate::message::Envelope;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a failed entry is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
  /// Throttled: retry later and slow the whole topic down.
  Throttled,
  /// Server fault, timeout, connection error: retry with backoff.
  Retryable,
  /// The request itself is wrong (bad parameter, missing topic, no permission): never retried.
  Permanent,
}

/// Why one entry was not published. `code` is the service's error code (e.g. `Throttling`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
  pub kind: FailureKind,
  pub code: String,
  pub message: String,
}

/// The outcome of each entry of a batch, in the batch's order.
pub type BatchResult = Vec<Result<(), Failure>>;

/// A destination for batches of at most 10 entries of one topic and one message group.
pub trait Sink: Send + Sync + 'static {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult>;
}
