//! The logger's own `MessageDeduplicationId`s.

use crate::hex;

/// `MessageDeduplicationId`s: a random prefix per logger (a UUIDv7) and the event's sequence
/// number, zero-padded so that ids sort in logging order. Unique per event and fixed when the
/// event is logged, without a random draw per event; written out only when a request needs it.
pub struct DedupIds {
  prefix: String,
}

impl DedupIds {
  pub fn new() -> DedupIds {
    DedupIds {
      prefix: uuid::Uuid::now_v7().simple().to_string(),
    }
  }

  pub fn id(&self, seq: u64) -> String {
    DedupIds::id_of(&self.prefix, seq)
  }

  pub fn prefix(&self) -> &str {
    &self.prefix
  }

  pub(super) fn id_of(prefix: &str, seq: u64) -> String {
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    id.push('-');
    hex::push_u64(&mut id, seq);
    id
  }
}

impl Default for DedupIds {
  fn default() -> Self {
    DedupIds::new()
  }
}
