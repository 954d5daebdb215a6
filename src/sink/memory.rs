use super::{BatchResult, BoxFuture, Sink};
use crate::message::Envelope;
use std::sync::{Arc, Mutex};

/// Keeps every published request in memory, for tests.
#[derive(Default)]
pub struct MemorySink {
  records: Mutex<Vec<Arc<Envelope>>>,
}

impl MemorySink {
  pub fn records(&self) -> Vec<Arc<Envelope>> {
    self
      .records
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .clone()
  }

  pub fn record(&self, entries: &[Arc<Envelope>]) {
    self
      .records
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .extend(entries.iter().cloned());
  }

  pub fn clear(&self) {
    self
      .records
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .clear();
  }
}

impl Sink for MemorySink {
  fn publish<'a>(&'a self, entries: &'a [Arc<Envelope>]) -> BoxFuture<'a, BatchResult> {
    self
      .records
      .lock()
      .unwrap_or_else(|e| e.into_inner())
      .extend(entries.iter().cloned());
    Box::pin(std::future::ready(vec![Ok(()); entries.len()]))
  }
}
