//! A small HTTP/1.1 load generator for the relay benchmarks only.
//!
//! Prepares every request body once (one JSON body per line of `--bodies`), opens
//! `--connections` keep-alive connections, then sends `--requests` POSTs over them, request i
//! carrying body i mod the number of bodies. Closed loop by default (each connection sends its
//! next request when the answer to the last one is in); with `--rate R` request i is due at
//! start + i / R (paced), and its latency is still taken from when it was sent, with how late
//! it was sent reported apart (`start_lag_ms`). Each answer must be 200 with `accepted` equal
//! to the events of its body. A 503 (the relay's queue and spool are full: its backpressure)
//! is counted and the same request sent again after `--retry-ms` (default 10), as a
//! well-behaved client would; `--retry-ms 0` makes a 503 a failure. Stops by itself after the
//! requests or `--max-seconds`, and prints one JSON object on stdout. Exit 1 when any request
//! failed or time ran out.
//!
//! One thread (tokio's current-thread runtime): the server under test gets the cores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

struct Args {
  url: String,
  token: Option<String>,
  bodies: String,
  requests: usize,
  connections: usize,
  rate: f64,
  max_seconds: f64,
  retry_ms: u64,
}

fn parse_args() -> Result<Args, String> {
  let mut args = Args {
    url: String::new(),
    token: None,
    bodies: String::new(),
    requests: 1000,
    connections: 32,
    rate: 0.0,
    max_seconds: 60.0,
    retry_ms: 10,
  };
  let mut it = std::env::args().skip(1);
  while let Some(flag) = it.next() {
    let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
    let bad = || format!("bad value for {flag}: {value}");
    match flag.as_str() {
      "--url" => args.url = value,
      "--token" => args.token = Some(value),
      "--bodies" => args.bodies = value,
      "--requests" => args.requests = value.parse().map_err(|_| bad())?,
      "--connections" => args.connections = value.parse().map_err(|_| bad())?,
      "--rate" => args.rate = value.parse().map_err(|_| bad())?,
      "--max-seconds" => args.max_seconds = value.parse().map_err(|_| bad())?,
      "--retry-ms" => args.retry_ms = value.parse().map_err(|_| bad())?,
      _ => return Err(format!("unknown argument {flag}")),
    }
  }
  if args.url.is_empty() || args.bodies.is_empty() {
    return Err("--url and --bodies are required".into());
  }
  let finite_positive = |x: f64| x.is_finite() && x > 0.0;
  if args.connections == 0
    || !finite_positive(args.max_seconds)
    || args.rate.is_nan()
    || args.rate < 0.0
  {
    return Err("--connections, --max-seconds must be positive, --rate >= 0".into());
  }
  Ok(args)
}

/// `http://HOST:PORT/PATH` (loopback HTTP only: this is a benchmark tool).
fn split_url(url: &str) -> Result<(SocketAddr, String, String), String> {
  let rest = url
    .strip_prefix("http://")
    .ok_or_else(|| format!("{url}: only http:// URLs"))?;
  let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
  let address: SocketAddr = authority
    .parse()
    .map_err(|_| format!("{url}: the host must be IP:PORT"))?;
  let path = if path.is_empty() { "/" } else { path };
  Ok((address, authority.to_owned(), path.to_owned()))
}

/// A prepared body and the events it holds (what `accepted` must say).
struct Body {
  bytes: Bytes,
  events: u64,
}

fn load_bodies(path: &str) -> Result<Vec<Body>, String> {
  let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
  let mut bodies = Vec::new();
  for (n, line) in text
    .lines()
    .enumerate()
    .filter(|(_, l)| !l.trim().is_empty())
  {
    let value: serde_json::Value =
      serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
    let events = value
      .get("batch")
      .and_then(|b| b.as_array())
      .ok_or_else(|| format!("{path}:{}: not {{\"batch\": [...]}}", n + 1))?
      .len() as u64;
    bodies.push(Body {
      bytes: Bytes::from(line.to_owned()),
      events,
    });
  }
  if bodies.is_empty() {
    return Err(format!("{path}: no bodies"));
  }
  Ok(bodies)
}

struct Shared {
  args: Args,
  address: SocketAddr,
  host: HeaderValue,
  path: String,
  auth: Option<HeaderValue>,
  bodies: Vec<Body>,
  next: AtomicUsize,
  timed_out: AtomicBool,
  first_error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Tally {
  ok: u64,
  failed: u64,
  /// 503 answers, each followed by the same request again.
  retried: u64,
  events: u64,
  /// Microseconds from send to the whole answer, per successful request.
  latency_us: Vec<u32>,
  /// Microseconds between when a paced request was due and when it was sent.
  lag_us: Vec<u32>,
}

impl Shared {
  fn fail(&self, tally: &mut Tally, why: String) {
    tally.failed += 1;
    self.first_error.lock().unwrap().get_or_insert(why);
  }
}

async fn connect(
  shared: &Shared,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
  let stream = TcpStream::connect(shared.address)
    .await
    .map_err(|e| format!("connect {}: {e}", shared.address))?;
  stream.set_nodelay(true).map_err(|e| e.to_string())?;
  let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
    .await
    .map_err(|e| format!("handshake: {e}"))?;
  tokio::spawn(async move {
    let _ = connection.await;
  });
  Ok(sender)
}

async fn worker(
  shared: Arc<Shared>,
  mut sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
  start: Instant,
  deadline: Instant,
) -> Tally {
  let mut tally = Tally::default();
  loop {
    let i = shared.next.fetch_add(1, Relaxed);
    if i >= shared.args.requests {
      break;
    }
    if shared.args.rate > 0.0 {
      let due = start + Duration::from_secs_f64(i as f64 / shared.args.rate);
      if due >= deadline {
        shared.timed_out.store(true, Relaxed);
        break;
      }
      tokio::time::sleep_until(due.into()).await;
      tally
        .lag_us
        .push(due.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    if Instant::now() >= deadline {
      shared.timed_out.store(true, Relaxed);
      break;
    }
    let body = &shared.bodies[i % shared.bodies.len()];
    match send(&shared, &mut sender, body, deadline, &mut tally).await {
      Sent::Next => {}
      Sent::Stop => break,
    }
  }
  tally
}

enum Sent {
  Next,
  Stop,
}

/// Sends one request (again after a 503, while time is left) and checks its answer.
async fn send(
  shared: &Shared,
  sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
  body: &Body,
  deadline: Instant,
  tally: &mut Tally,
) -> Sent {
  // Latency runs from the first send: retries after a 503 are part of it.
  let first_sent = Instant::now();
  loop {
    let mut request = Request::new(Full::new(body.bytes.clone()));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = match shared.path.parse() {
      Ok(uri) => uri,
      Err(e) => {
        shared.fail(tally, format!("bad path: {e}"));
        return Sent::Stop;
      }
    };
    let headers = request.headers_mut();
    headers.insert(HOST, shared.host.clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.bytes.len()));
    if let Some(auth) = &shared.auth {
      headers.insert(AUTHORIZATION, auth.clone());
    }

    let answer = async {
      sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
      let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
      let status = response.status();
      let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("answer body: {e}"))?
        .to_bytes();
      Ok::<_, String>((status, bytes))
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let (status, bytes) = match tokio::time::timeout(remaining, answer).await {
      Err(_) => {
        shared.timed_out.store(true, Relaxed);
        shared.fail(tally, "no answer before --max-seconds".into());
        return Sent::Stop;
      }
      Ok(Err(why)) => {
        shared.fail(tally, why);
        return Sent::Stop; // The connection is unusable.
      }
      Ok(Ok(answer)) => answer,
    };
    let latency = first_sent.elapsed();
    if status == StatusCode::SERVICE_UNAVAILABLE && shared.args.retry_ms > 0 {
      tally.retried += 1;
      let again = Instant::now() + Duration::from_millis(shared.args.retry_ms);
      if again >= deadline {
        shared.timed_out.store(true, Relaxed);
        shared.fail(tally, "still 503 at --max-seconds".into());
        return Sent::Stop;
      }
      tokio::time::sleep_until(again.into()).await;
      continue;
    }
    let accepted = serde_json::from_slice::<serde_json::Value>(&bytes)
      .ok()
      .and_then(|v| v.get("accepted")?.as_u64());
    if status != StatusCode::OK || accepted != Some(body.events) {
      let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
      shared.fail(
        tally,
        format!(
          "HTTP {status}, expected 200 with accepted {}: {text}",
          body.events
        ),
      );
      return Sent::Next;
    }
    tally.ok += 1;
    tally.events += body.events;
    tally
      .latency_us
      .push(latency.as_micros().min(u32::MAX as u128) as u32);
    return Sent::Next;
  }
}

fn percentiles_ms(mut us: Vec<u32>) -> serde_json::Value {
  if us.is_empty() {
    return serde_json::Value::Null;
  }
  us.sort_unstable();
  let at = |q: f64| {
    let rank = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len());
    f64::from(us[rank - 1]) / 1000.0
  };
  let mean = us.iter().map(|&x| f64::from(x)).sum::<f64>() / us.len() as f64 / 1000.0;
  json!({
    "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p999": at(0.999),
    "max": at(1.0), "mean": mean,
  })
}

/// User + system CPU time of this process, from /proc (Linux; clock ticks of 10 ms).
fn own_cpu_ms() -> Option<f64> {
  let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
  // Fields after the command name, which is in parentheses and may hold spaces.
  let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
  let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
  Some(ticks as f64 * 10.0)
}

async fn run(args: Args) -> Result<(serde_json::Value, bool), String> {
  let (address, authority, path) = split_url(&args.url)?;
  let bodies = load_bodies(&args.bodies)?;
  let auth = match &args.token {
    Some(token) => {
      Some(HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| "bad token".to_string())?)
    }
    None => None,
  };
  let shared = Arc::new(Shared {
    host: HeaderValue::from_str(&authority).map_err(|e| e.to_string())?,
    address,
    path,
    auth,
    bodies,
    next: AtomicUsize::new(0),
    timed_out: AtomicBool::new(false),
    first_error: Mutex::new(None),
    args,
  });
  // Every connection is open before the clock starts.
  let mut senders = Vec::with_capacity(shared.args.connections);
  for _ in 0..shared.args.connections {
    senders.push(connect(&shared).await?);
  }
  let cpu0 = own_cpu_ms();
  let start = Instant::now();
  let deadline = start + Duration::from_secs_f64(shared.args.max_seconds);
  let workers: Vec<_> = senders
    .into_iter()
    .map(|sender| tokio::spawn(worker(shared.clone(), sender, start, deadline)))
    .collect();
  let mut total = Tally::default();
  for w in workers {
    let t = w.await.map_err(|e| format!("worker: {e}"))?;
    total.ok += t.ok;
    total.failed += t.failed;
    total.retried += t.retried;
    total.events += t.events;
    total.latency_us.extend(t.latency_us);
    total.lag_us.extend(t.lag_us);
  }
  let seconds = start.elapsed().as_secs_f64();
  let cpu_ms = match (cpu0, own_cpu_ms()) {
    (Some(a), Some(b)) => Some(b - a),
    _ => None,
  };
  let timed_out = shared.timed_out.load(Relaxed);
  let first_error = shared.first_error.lock().unwrap().take();
  let ok = total.failed == 0 && !timed_out && total.ok as usize == shared.args.requests;
  let paced = shared.args.rate > 0.0;
  let report = json!({
    "requests": total.ok,
    "failed": total.failed,
    "retried_503": total.retried,
    "events": total.events,
    "seconds": seconds,
    "requests_per_s": total.ok as f64 / seconds,
    "events_per_s": total.events as f64 / seconds,
    "connections": shared.args.connections,
    "rate": if paced { json!(shared.args.rate) } else { serde_json::Value::Null },
    "latency_ms": percentiles_ms(total.latency_us),
    "start_lag_ms": if paced { percentiles_ms(total.lag_us) } else { serde_json::Value::Null },
    "timed_out": timed_out,
    "first_error": first_error,
    "cpu_ms": cpu_ms,
  });
  Ok((report, ok))
}

fn main() {
  let args = match parse_args() {
    Ok(args) => args,
    Err(e) => {
      eprintln!(
        "{e}\nusage: sns-bench-loadgen --url http://IP:PORT/PATH --bodies FILE [--token T] \
         [--requests N] [--connections C] [--rate REQUESTS_PER_S] [--max-seconds S] [--retry-ms MS]"
      );
      std::process::exit(2);
    }
  };
  let runtime = tokio::runtime::Builder::new_current_thread()
    .enable_all()
    .build()
    .expect("build tokio runtime");
  match runtime.block_on(run(args)) {
    Ok((report, ok)) => {
      println!("{report}");
      std::process::exit(if ok { 0 } else { 1 });
    }
    Err(e) => {
      eprintln!("sns-bench-loadgen: {e}");
      std::process::exit(1);
    }
  }
}
