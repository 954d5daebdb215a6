use super::{sns, BatchResult, BoxFuture, Sink, SinkLimits, SinkOptions};
use crate::error::Result;
use crate::message::Envelope;
use parking_lot::Mutex;
use serde::Deserialize;
use std::sync::Arc;

/// `sink: { kind: 'memory' }`, or `SNS_LOGGER_SINK=memory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryOptions {}

impl SinkOptions for MemoryOptions {
  fn env_form() -> &'static str {
    "memory"
  }

  fn from_env(arg: Option<&str>) -> Option<Self> {
    arg.is_none().then_some(MemoryOptions {})
  }

  fn build(&self) -> Result<Arc<dyn Sink>> {
    Ok(Arc::new(MemorySink::default()))
  }
}

/// Keeps every published request in memory, for tests.
#[derive(Default)]
pub struct MemorySink {
  records: Mutex<Vec<Arc<Envelope>>>,
}

impl MemorySink {
  pub fn records(&self) -> Vec<Arc<Envelope>> {
    self.records.lock().clone()
  }

  pub fn record(&self, entries: &[Arc<Envelope>]) {
    self.records.lock().extend(entries.iter().cloned());
  }

  /// Every record so far, leaving none: in one step, so none published meanwhile is lost.
  pub fn take(&self) -> Vec<Arc<Envelope>> {
    std::mem::take(&mut *self.records.lock())
  }
}

impl Sink for MemorySink {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    self.record(entries);
    Box::pin(std::future::ready(vec![Ok(()); entries.len()]))
  }

  /// It stands in for SNS in tests: the same limits.
  fn limits(&self) -> SinkLimits {
    sns::LIMITS
  }
}
