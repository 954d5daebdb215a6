//! What every layer shares of the wire format, kept at the bottom so that none imports a
//! layer above it: the largest message SNS takes (the plan refuses longer strings before a
//! message exists, the message checks its size, every sink declares it) and the fast JSON
//! string writer (the plan writes its cached parts of the message with it).

/// The largest `Message` SNS takes, and so the largest any sink takes: 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Appends `s` as a JSON string. Most strings need no escaping, and checking that first is
/// several times faster than serde_json's byte-by-byte escaper, which writes the others.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
  if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
  } else {
    serde_json::to_writer(&mut *out, s).expect("a string always serializes");
  }
}
