//! A small SNS-compatible HTTP endpoint for the benchmarks only.
//!
//! Speaks the AWS Query protocol (form-encoded `Action=Publish` / `Action=PublishBatch`, XML
//! answers), which is what both aws-sdk-sns (Rust) and @aws-sdk/client-sns (JS) send, plus the
//! Segment `POST /v1/batch` API. Counters and knobs live under `/__` on the same port.
//! Nothing is stored: messages are validated, counted and order-checked, then forgotten.

use std::collections::HashMap;
use std::convert::Infallible;
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

mod sns;

use sns::{bad_request, handle_sns, sns_error};

/// SNS caps a request at 256 KiB and Segment at 500 KiB; anything far above is a client bug.
const MAX_BODY: usize = 4 << 20;

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
  /// Requests held for the configured latency, and the microseconds they were held in all:
  /// the timer's granularity makes that more than the latency, which bounds a client's rate.
  delayed_requests: AtomicU64,
  delayed_us: AtomicU64,
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

/// `GET /__delays`: the requests held for the latency and how long, on average, in ms.
fn delays(state: &State) -> serde_json::Value {
  let (requests, us) = (
    state.delayed_requests.load(Relaxed),
    state.delayed_us.load(Relaxed),
  );
  let mean_ms = if requests == 0 {
    0.0
  } else {
    us as f64 / requests as f64 / 1000.0
  };
  json!({"requests": requests, "mean_ms": mean_ms})
}

fn reset(state: &State) {
  let delays = [
    ("delayed_requests", &state.delayed_requests),
    ("delayed_us", &state.delayed_us),
  ];
  for (_, c) in state.counters().into_iter().chain(delays) {
    c.store(0, Relaxed);
  }
  state.last_dedup.lock().unwrap().clear();
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Resp, Infallible> {
  let is_sns = match (req.method(), req.uri().path()) {
    (&Method::POST, "/") => true,
    (&Method::POST, "/v1/batch") => false,
    (&Method::GET, "/__stats") => return Ok(json_resp(StatusCode::OK, stats(&state))),
    (&Method::GET, "/__delays") => return Ok(json_resp(StatusCode::OK, delays(&state))),
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
    let slept = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(latency)).await;
    state.delayed_requests.fetch_add(1, Relaxed);
    let held = slept.elapsed().as_micros() as u64;
    state.delayed_us.fetch_add(held, Relaxed);
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
