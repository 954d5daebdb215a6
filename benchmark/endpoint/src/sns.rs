//! The SNS side: Publish and PublishBatch in the AWS Query protocol (form-encoded requests,
//! XML answers), validated, counted and order-checked per message group.

use super::{respond, Resp, State};
use hyper::header::HeaderValue;
use hyper::StatusCode;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

const MAX_BATCH: usize = 10;
const BATCH_PREFIX: &str = "PublishBatchRequestEntries.member.";

/// A Query-protocol error; both SDKs read `Error/Code` (and the JS one `Error/Type`).
pub(crate) fn sns_error(
  state: &State,
  status: StatusCode,
  kind: &str,
  code: &str,
  message: &str,
) -> Resp {
  state.rejected_requests.fetch_add(1, Relaxed);
  let request_id = state.next_id.fetch_add(1, Relaxed);
  let body = format!(
    "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{kind}</Type>\
     <Code>{code}</Code><Message>{message}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
    Uuid(request_id)
  );
  xml_resp(status, body, request_id)
}

/// SNS answers in `text/xml`; the JS SDK takes `$metadata.requestId` from this header.
fn xml_resp(status: StatusCode, body: String, request_id: u64) -> Resp {
  let mut resp = respond(status, "text/xml", body);
  if let Ok(value) = HeaderValue::try_from(Uuid(request_id).to_string()) {
    resp.headers_mut().insert("x-amzn-requestid", value);
  }
  resp
}

pub(crate) fn bad_request(state: &State, code: &str, message: &str) -> Resp {
  sns_error(state, StatusCode::BAD_REQUEST, "Sender", code, message)
}

/// Formats like a UUID, which is what SDK users expect in MessageId / RequestId; a Display
/// wrapper so it can be written into the response without a temporary String.
struct Uuid(u64);

impl std::fmt::Display for Uuid {
  fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
    write!(
      f,
      "00000000-0000-4000-8000-{:012x}",
      self.0 & 0xffff_ffff_ffff
    )
  }
}

/// Percent-decodes one raw key or value (which holds no raw `&` or `=`). Borrows when nothing
/// is escaped, so ids and topic ARNs usually cost no allocation.
fn decode(raw: &[u8]) -> Cow<'_, str> {
  form_urlencoded::parse(raw)
    .next()
    .map(|(k, _)| k)
    .unwrap_or(Cow::Borrowed(""))
}

/// Decoded length of a form-encoded value without decoding it (each `%XX` is one byte).
fn decoded_len(raw: &[u8]) -> u64 {
  (raw.len() - 2 * raw.iter().filter(|&&b| b == b'%').count()) as u64
}

/// One message of a Publish or one PublishBatch entry, borrowing from the request body.
#[derive(Default)]
struct Entry<'a> {
  id: Option<Cow<'a, str>>,
  /// Decoded Message length; `None` when the Message parameter is missing.
  message_len: Option<u64>,
  group: Option<Cow<'a, str>>,
  dedup: Option<Cow<'a, str>>,
}

impl<'a> Entry<'a> {
  fn set(&mut self, field: &str, raw: &'a [u8]) {
    match field {
      "Id" => self.id = Some(decode(raw)),
      "Message" => self.message_len = Some(decoded_len(raw)),
      "MessageGroupId" => self.group = Some(decode(raw)),
      "MessageDeduplicationId" => self.dedup = Some(decode(raw)),
      _ => {} // Subject, MessageAttributes, ... are accepted and ignored.
    }
  }
}

/// Handles `POST /` (Publish / PublishBatch) in a single pass over the form pairs.
pub(crate) fn handle_sns(state: &State, body: &[u8]) -> Resp {
  let mut action = Cow::Borrowed("");
  let mut topic = None;
  let mut single = Entry::default();
  let mut batch: [Entry; MAX_BATCH] = Default::default();
  for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
    let (raw_key, raw_value) = match pair.iter().position(|&b| b == b'=') {
      Some(i) => (&pair[..i], &pair[i + 1..]),
      None => (pair, &pair[pair.len()..]),
    };
    let key = decode(raw_key);
    match &*key {
      "Action" => action = decode(raw_value),
      "TopicArn" => topic = Some(decode(raw_value)),
      k => {
        if let Some(rest) = k.strip_prefix(BATCH_PREFIX) {
          // "<index>.<Field>" with index 1..=10.
          let Some((index, field)) = rest.split_once('.') else {
            continue;
          };
          match index.parse::<usize>() {
            Ok(i @ 1..=MAX_BATCH) => batch[i - 1].set(field, raw_value),
            Ok(i) if i > MAX_BATCH => {
              return bad_request(
                state,
                "TooManyEntriesInBatchRequest",
                "The batch request contains more entries than permissible.",
              )
            }
            _ => return bad_request(state, "InvalidParameter", "Invalid batch entry index"),
          }
        } else {
          single.set(k, raw_value);
        }
      }
    }
  }

  // Entries are sent with consecutive indexes; a gap simply leaves an unused slot.
  let mut entries: Vec<&Entry> = Vec::with_capacity(MAX_BATCH);
  let is_batch = match &*action {
    "Publish" => {
      entries.push(&single);
      false
    }
    "PublishBatch" => {
      // An entry exists if any of its fields was sent.
      entries.extend(batch.iter().filter(|e| {
        e.id.is_some() || e.message_len.is_some() || e.group.is_some() || e.dedup.is_some()
      }));
      if entries.is_empty() {
        return bad_request(
          state,
          "EmptyBatchRequest",
          "The batch request doesn't contain any entries.",
        );
      }
      if entries.iter().any(|e| e.id.is_none()) {
        return bad_request(state, "InvalidParameter", "Every batch entry needs an Id");
      }
      true
    }
    _ => {
      return bad_request(
        state,
        "InvalidAction",
        "Only Publish and PublishBatch are supported",
      )
    }
  };
  let Some(topic) = topic else {
    return bad_request(state, "InvalidParameter", "TopicArn is required");
  };
  if entries.iter().any(|e| e.message_len.is_none()) {
    return bad_request(state, "InvalidParameter", "Message is required");
  }

  // Accepted: order check under one lock per request, entries in the order they were sent.
  check_order(state, &topic, &entries);
  let bytes: u64 = entries.iter().filter_map(|e| e.message_len).sum();
  state.messages.fetch_add(entries.len() as u64, Relaxed);
  state.message_bytes.fetch_add(bytes, Relaxed);
  // Reserve all ids at once: one atomic op per request, ids increase in entry order.
  let n = entries.len() as u64;
  let first = state.next_id.fetch_add(n + 1, Relaxed);
  let mut xml = String::with_capacity(256 + 200 * entries.len());
  let (op, counter) = if is_batch {
    ("PublishBatch", &state.batch_requests)
  } else {
    ("Publish", &state.publish_requests)
  };
  counter.fetch_add(1, Relaxed);
  let _ = write!(
    xml,
    "<{op}Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><{op}Result>"
  );
  if is_batch {
    xml.push_str("<Successful>");
  }
  for (k, entry) in entries.iter().enumerate() {
    let id = first + k as u64;
    if is_batch {
      xml.push_str("<member><Id>");
      escape_into(&mut xml, entry.id.as_deref().unwrap_or_default());
      xml.push_str("</Id>");
    }
    let _ = write!(xml, "<MessageId>{}</MessageId>", Uuid(id));
    // SequenceNumber only exists for FIFO topics, i.e. when a group was given.
    if entry.group.is_some() {
      let _ = write!(xml, "<SequenceNumber>{id:020}</SequenceNumber>");
    }
    if is_batch {
      xml.push_str("</member>");
    }
  }
  if is_batch {
    xml.push_str("</Successful><Failed/>");
  }
  let _ = write!(
    xml,
    "</{op}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{op}Response>",
    Uuid(first + n)
  );
  xml_resp(StatusCode::OK, xml, first + n)
}

/// Counts a violation when a group's MessageDeduplicationId does not increase (the benchmark
/// clients use ids that increase in log order), then remembers the new one.
fn check_order(state: &State, topic: &str, entries: &[&Entry]) {
  let mut map = state.last_dedup.lock().unwrap();
  let mut violations = 0;
  for entry in entries {
    let Some(group) = &entry.group else { continue };
    // Allocate the key strings only the first time a topic / group is seen.
    if !map.contains_key(topic) {
      map.insert(topic.to_owned(), HashMap::new());
    }
    let groups = map.get_mut(topic).unwrap();
    if !groups.contains_key(&**group) {
      groups.insert(group.to_string(), String::new());
    }
    let (Some(last), Some(dedup)) = (groups.get_mut(&**group), &entry.dedup) else {
      continue; // Content-based deduplication: nothing to compare.
    };
    if !last.is_empty() && **dedup <= **last {
      violations += 1;
    }
    last.clear();
    last.push_str(dedup); // Reuses the buffer: no allocation per message.
  }
  if violations > 0 {
    state.order_violations.fetch_add(violations, Relaxed);
  }
}

fn escape_into(out: &mut String, s: &str) {
  for c in s.chars() {
    match c {
      '&' => out.push_str("&amp;"),
      '<' => out.push_str("&lt;"),
      '>' => out.push_str("&gt;"),
      '"' => out.push_str("&quot;"),
      '\'' => out.push_str("&apos;"),
      c => out.push(c),
    }
  }
}
