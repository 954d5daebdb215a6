//! The `MessageDeduplicationId` of a client's `messageId`.

use sha2::{Digest, Sha256};
use sns_logger_core::hex;

/// The same for a retried request, different for another source or another browser tab that
/// happens to pick the same id. Each part ends with a NUL so that moving characters from one
/// part to the next changes the id.
pub fn dedup_id(source: &str, tab_id: &str, message_id: &str) -> String {
  let mut hash = Sha256::new();
  for part in [source, tab_id, message_id] {
    hash.update(part.as_bytes());
    hash.update([0]);
  }
  let digest = hash.finalize();
  // 'm' and 64 hex digits: within SNS's 128 alphanumeric characters.
  let mut id = String::with_capacity(65);
  id.push('m');
  hex::push_bytes(&mut id, &digest);
  id
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_message_id_gives_the_same_dedup_id_within_its_source_and_tab_only() {
    let a = dedup_id("SF.app", "", "m-1");
    assert_eq!(a, dedup_id("SF.app", "", "m-1"));
    assert_ne!(a, dedup_id("DF.app", "", "m-1"));
    assert_ne!(
      dedup_id("Widget", "tab-1", "1"),
      dedup_id("Widget", "tab-2", "1")
    );
    assert_ne!(dedup_id("Widget", "a", "b"), dedup_id("Widget", "ab", ""));
    assert!(a.len() <= 128 && a.bytes().all(|b| b.is_ascii_alphanumeric()));
  }
}
