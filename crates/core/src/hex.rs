//! Lowercase hexadecimal, appended to a `String` digit by digit: the one hex writer of dedup
//! ids and digests. It avoids `format!`, which costs several times more per digit.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends two lowercase hex digits per byte, most significant first.
pub fn push_bytes(out: &mut String, bytes: &[u8]) {
  for &byte in bytes {
    out.push(DIGITS[usize::from(byte >> 4)] as char);
    out.push(DIGITS[usize::from(byte & 0xf)] as char);
  }
}

/// Appends `value` as 16 lowercase hex digits, zero-padded so that the text sorts as the
/// number does.
pub fn push_u64(out: &mut String, value: u64) {
  push_bytes(out, &value.to_be_bytes());
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn writes_what_format_writes() {
    let mut digest = String::new();
    push_bytes(&mut digest, &[0x00, 0x0f, 0xa5, 0xff]);
    assert_eq!(digest, "000fa5ff");
    for value in [0, 1, 0xabc, u64::MAX] {
      let mut text = String::new();
      push_u64(&mut text, value);
      assert_eq!(text, format!("{value:016x}"));
    }
  }
}
