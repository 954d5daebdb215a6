//! A small SNS-compatible HTTP endpoint for the benchmarks only.
//!
//! Speaks the AWS Query protocol (form-encoded `Action=Publish` / `Action=PublishBatch`, XML
//! answers), which is what both aws-sdk-sns (Rust) and @aws-sdk/client-sns (JS) send, plus the
//! Segment `POST /v1/batch` API. Counters and knobs live under `/__` on the same port.
//! Nothing is stored: messages are validated, counted and order-checked, then forgotten.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// SNS caps a request at 256 KiB and Segment at 500 KiB; anything far above is a client bug.
const MAX_BODY: usize = 4 << 20;
const MAX_BATCH: usize = 10;
const BATCH_PREFIX: &str = "PublishBatchRequestEntries.member.";

/// Counters are atomics so the hot path never takes a lock; only the order map needs one.
#[derive(Default)]
struct State {
  requests: AtomicU64,
  publish_requests: AtomicU64,
  batch_requests: AtomicU64,
  segment_requests: AtomicU64,
  messages: AtomicU64,
  message_bytes: AtomicU64,
  rejected_requests: AtomicU64,
  order_violations: AtomicU64,
  /// Source of message ids, sequence numbers and request ids (unique and increasing).
  next_id: AtomicU64,
  latency_ms: AtomicU64,
  unavailable: AtomicBool,
  /// topic -> group -> last accepted MessageDeduplicationId. Nested so lookups take `&str`
  /// without allocating a (topic, group) key for every message.
  last_dedup: Mutex<HashMap<String, HashMap<String, String>>>,
}

impl State {
  /// The counters reported by `/__stats` and zeroed by `/__reset`.
  fn counters(&self) -> [(&'static str, &AtomicU64); 8] {
    [
      ("requests", &self.requests),
      ("publish_requests", &self.publish_requests),
      ("batch_requests", &self.batch_requests),
      ("segment_requests", &self.segment_requests),
      ("messages", &self.messages),
      ("message_bytes", &self.message_bytes),
      ("rejected_requests", &self.rejected_requests),
      ("order_violations", &self.order_violations),
    ]
  }
}

type Resp = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
  let mut resp = Response::new(Full::new(body.into()));
  *resp.status_mut() = status;
  resp
    .headers_mut()
    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
  resp
}

fn json_resp(status: StatusCode, value: serde_json::Value) -> Resp {
  respond(status, "application/json", value.to_string())
}

/// A Query-protocol error; both SDKs read `Error/Code` (and the JS one `Error/Type`).
fn sns_error(state: &State, status: StatusCode, kind: &str, code: &str, message: &str) -> Resp {
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

fn bad_request(state: &State, code: &str, message: &str) -> Resp {
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
fn handle_sns(state: &State, body: &[u8]) -> Resp {
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

/// Segment's HTTP API: `{"batch":[...]}`, answered `{"success":true}`.
fn handle_segment(state: &State, body: &[u8]) -> Resp {
  let parsed: Result<serde_json::Value, _> = serde_json::from_slice(body);
  let Some(n) = parsed
    .ok()
    .and_then(|v| v.get("batch")?.as_array().map(Vec::len))
  else {
    state.rejected_requests.fetch_add(1, Relaxed);
    return json_resp(StatusCode::BAD_REQUEST, json!({"success": false}));
  };
  state.segment_requests.fetch_add(1, Relaxed);
  state.messages.fetch_add(n as u64, Relaxed);
  json_resp(StatusCode::OK, json!({"success": true}))
}

fn stats(state: &State) -> serde_json::Value {
  let counters = state.counters().into_iter();
  let mut out: serde_json::Map<_, _> = counters
    .map(|(name, c)| (name.to_owned(), c.load(Relaxed).into()))
    .collect();
  let groups: usize = state
    .last_dedup
    .lock()
    .unwrap()
    .values()
    .map(HashMap::len)
    .sum();
  out.insert("groups".into(), groups.into());
  out.into()
}

fn config_json(state: &State) -> serde_json::Value {
  let mode = if state.unavailable.load(Relaxed) {
    "unavailable"
  } else {
    "ok"
  };
  json!({"latency_ms": state.latency_ms.load(Relaxed), "mode": mode})
}

/// `POST /__config?latency_ms=20&mode=ok|unavailable`; either parameter may be omitted.
fn configure(state: &State, query: &str) -> Resp {
  // Validate everything before applying anything, so a bad request changes nothing.
  let (mut latency, mut unavailable) = (None, None);
  for (k, v) in form_urlencoded::parse(query.as_bytes()) {
    match (&*k, &*v) {
      ("latency_ms", v) if v.parse::<u64>().is_ok() => latency = v.parse().ok(),
      ("mode", "ok") => unavailable = Some(false),
      ("mode", "unavailable") => unavailable = Some(true),
      _ => {
        let error = format!("bad parameter {k}={v}");
        return json_resp(StatusCode::BAD_REQUEST, json!({ "error": error }));
      }
    }
  }
  if let Some(ms) = latency {
    state.latency_ms.store(ms, Relaxed);
  }
  if let Some(u) = unavailable {
    state.unavailable.store(u, Relaxed);
  }
  json_resp(StatusCode::OK, config_json(state))
}

fn reset(state: &State) {
  for (_, c) in state.counters() {
    c.store(0, Relaxed);
  }
  state.last_dedup.lock().unwrap().clear();
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Infallible> {
  let is_sns = match (req.method(), req.uri().path()) {
    (&Method::POST, "/") => true,
    (&Method::POST, "/v1/batch") => false,
    (&Method::GET, "/__stats") => return Ok(json_resp(StatusCode::OK, stats(&state))),
    (&Method::POST, "/__reset") => {
      reset(&state);
      return Ok(json_resp(StatusCode::OK, json!({})));
    }
    (&Method::POST, "/__config") => {
      return Ok(configure(&state, req.uri().query().unwrap_or("")));
    }
    _ => return Ok(respond(StatusCode::NOT_FOUND, "text/plain", "not found\n")),
  };

  // Config is read when the request arrives; the latency applies to every outcome.
  state.requests.fetch_add(1, Relaxed);
  let latency = state.latency_ms.load(Relaxed);
  let unavailable = state.unavailable.load(Relaxed);
  // Always read the whole body so the keep-alive connection stays usable.
  let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
    Ok(collected) => collected.to_bytes(),
    Err(_) => {
      return Ok(bad_request(
        &state,
        "InvalidParameter",
        "Unreadable request body",
      ))
    }
  };
  // Sleep before counting: a client that gives up during the delay has not been "accepted",
  // so its retry is not reported as an order violation.
  if latency > 0 {
    tokio::time::sleep(Duration::from_millis(latency)).await;
  }
  if unavailable {
    let (status, code) = (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable");
    return Ok(sns_error(
      &state,
      status,
      "Receiver",
      code,
      "Simulated outage",
    ));
  }
  Ok(if is_sns {
    handle_sns(&state, &body)
  } else {
    handle_segment(&state, &body)
  })
}

struct Args {
  port: u16,
  latency_ms: u64,
  threads: usize,
}

fn parse_args() -> Result<Args, String> {
  let mut args = Args {
    port: 0,
    latency_ms: 0,
    threads: 1,
  };
  let mut it = std::env::args().skip(1);
  while let Some(flag) = it.next() {
    let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
    let bad = |_| format!("bad value for {flag}: {value}");
    match flag.as_str() {
      "--port" => args.port = value.parse().map_err(bad)?,
      "--latency-ms" => args.latency_ms = value.parse().map_err(bad)?,
      "--threads" => args.threads = value.parse().map_err(bad)?,
      _ => return Err(format!("unknown argument {flag}")),
    }
  }
  Ok(args)
}

/// Resolves on SIGTERM, SIGINT or stdin EOF (the spawning runner exited or closed the pipe).
async fn shutdown_signal() {
  let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    .expect("install SIGTERM handler");
  let stdin_eof = async {
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
  };
  tokio::select! {
    _ = term.recv() => {}
    _ = tokio::signal::ctrl_c() => {}
    _ = stdin_eof => {}
  }
}

async fn serve(args: Args) -> std::io::Result<()> {
  let state = Arc::new(State::default());
  state.latency_ms.store(args.latency_ms, Relaxed);
  let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
  let port = listener.local_addr()?.port();
  {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json!({ "port": port }))?;
    out.flush()?;
  }
  let shutdown = shutdown_signal();
  tokio::pin!(shutdown);
  loop {
    let stream = tokio::select! {
      _ = &mut shutdown => return Ok(()),
      accepted = listener.accept() => match accepted {
        Ok((stream, _)) => stream,
        Err(_) => {
          // e.g. EMFILE under a connection storm: back off briefly, keep serving the rest.
          tokio::time::sleep(Duration::from_millis(10)).await;
          continue;
        }
      },
    };
    // Responses are small and written at once; don't let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let state = state.clone();
    tokio::spawn(async move {
      let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
      // HTTP/1.1 keep-alive is hyper's default; errors are just clients hanging up.
      let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
    });
  }
}

fn main() {
  let args = match parse_args() {
    Ok(args) => args,
    Err(e) => {
      eprintln!("{e}\nusage: sns-bench-endpoint [--port P] [--latency-ms L] [--threads N]");
      std::process::exit(2);
    }
  };
  // One thread by default so the endpoint's cost is bounded and comparable between runs.
  let runtime = if args.threads <= 1 {
    tokio::runtime::Builder::new_current_thread()
      .enable_all()
      .build()
  } else {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(args.threads).enable_all().build()
  }
  .expect("build tokio runtime");
  let result = runtime.block_on(serve(args));
  // The stdin read blocks a thread that cannot be cancelled; don't wait for it.
  runtime.shutdown_background();
  if let Err(e) = result {
    eprintln!("sns-bench-endpoint: {e}");
    std::process::exit(1);
  }
}
