//! CPU per PublishBatch request of the real SNS sink, for profiling the SDK path only.
//!
//! Builds `SnsSink` from the core with an endpoint URL (the benchmark endpoint, started here
//! with `--endpoint-bin` or already running at `--endpoint`), then publishes batches of
//! `--entries` envelopes of about 250 bytes across `--groups` FIFO topics, one message group
//! per topic and one batch in flight per group (as the logger's delivery layer sends them), on
//! the core's shared runtime. The envelopes of a round are made before it starts; a round's
//! process CPU time (getrusage, user + system) over its requests is the figure. Prints one
//! JSON line per round and a summary with the medians. Every entry must be confirmed.
//!
//! Under perf, start the endpoint apart and pass `--endpoint` so that only this process is
//! recorded, e.g.
//! `perf record -g --call-graph dwarf -- sns-bench-sdk-path --endpoint http://127.0.0.1:PORT`.

use sns_logger_core::message::{DedupIds, Envelope};
use sns_logger_core::sink::{Sink, SnsOptions, SnsSink};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
  endpoint: Option<String>,
  endpoint_bin: Option<String>,
  groups: usize,
  entries: usize,
  batches: usize,
  warmup: usize,
  rounds: usize,
}

fn parse_args() -> Result<Args, String> {
  let mut args = Args {
    endpoint: None,
    endpoint_bin: None,
    groups: 100,
    entries: 10,
    batches: 20_000,
    warmup: 2_000,
    rounds: 5,
  };
  let mut it = std::env::args().skip(1);
  while let Some(flag) = it.next() {
    let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
    let count = || {
      value
        .parse::<usize>()
        .map_err(|_| format!("bad value for {flag}: {value}"))
    };
    match flag.as_str() {
      "--endpoint" => args.endpoint = Some(value.clone()),
      "--endpoint-bin" => args.endpoint_bin = Some(value.clone()),
      "--groups" => args.groups = count()?.max(1),
      "--entries" => args.entries = count()?.clamp(1, 10),
      "--batches" => args.batches = count()?,
      "--warmup" => args.warmup = count()?,
      "--rounds" => args.rounds = count()?.max(1),
      _ => return Err(format!("unknown argument {flag}")),
    }
  }
  if args.endpoint.is_none() == args.endpoint_bin.is_none() {
    return Err("give one of --endpoint URL or --endpoint-bin PATH".into());
  }
  Ok(args)
}

/// The benchmark endpoint as a child process: it prints `{"port":P}` and exits when its stdin
/// closes (when this process ends).
fn spawn_endpoint(bin: &str) -> (Child, String) {
  let mut child = Command::new(bin)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
  let mut line = String::new();
  BufReader::new(child.stdout.take().expect("piped stdout"))
    .read_line(&mut line)
    .expect("the endpoint prints its port");
  let port: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
  let port = port["port"].as_u64().expect("a port");
  (child, format!("http://127.0.0.1:{port}"))
}

fn cpu_time() -> Duration {
  // SAFETY: getrusage only writes the struct it is given.
  let usage = unsafe {
    let mut usage = std::mem::zeroed::<libc::rusage>();
    libc::getrusage(libc::RUSAGE_SELF, &mut usage);
    usage
  };
  let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
  tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One message group: its topic, its group id and the next sequence number of its events.
struct Group {
  topic_arn: Arc<str>,
  group_id: Arc<str>,
  seq: u64,
}

/// A message of the shape and size the logger writes (about 250 bytes).
fn message(group: usize, seq: u64) -> String {
  format!(
    "{{\"dialogflowAgentId\":\"b5983b72-cac6-4f85-b9d0-be61e543dfe6\",\"roomId\":\"be61e543dfe6:room{group:05}\",\
     \"tabId\":\"\",\"category\":\"Escalation\",\"action\":\"successful\",\"properties\":{{\"queue_time\":{},\
     \"sf_chat_key\":\"5733b9d3-a8b0\"}},\"eventType\":\"session\",\"timestamp\":\"2026-11-24T15:30:{:02}.{:03}Z\"}}",
    seq % 600,
    seq / 1000 % 60,
    seq % 1000
  )
}

/// The batches of one round, per group: `batches` spread over the groups.
fn make_round(
  groups: &mut [Group],
  ids: &DedupIds,
  batches: usize,
  entries: usize,
) -> Vec<Vec<Vec<Arc<Envelope>>>> {
  let n = groups.len();
  groups
    .iter_mut()
    .enumerate()
    .map(|(g, group)| {
      let mine = batches / n + usize::from(g < batches % n);
      (0..mine)
        .map(|_| {
          (0..entries)
            .map(|_| {
              group.seq += 1;
              // Through the envelope's stored form (the request's own names), which stays
              // put while the envelope's fields change.
              let stored = serde_json::json!({
                "TopicArn": &*group.topic_arn,
                "MessageGroupId": &*group.group_id,
                "MessageDeduplicationId": ids.id(group.seq),
                "Message": message(g, group.seq),
              });
              Arc::new(serde_json::from_value::<Envelope>(stored).expect("a stored envelope"))
            })
            .collect()
        })
        .collect()
    })
    .collect()
}

struct Round {
  requests: usize,
  events: usize,
  cpu: Duration,
  wall: Duration,
}

/// Sends every group's batches, one in flight per group, and checks each entry was confirmed.
fn run_round(sink: &Arc<SnsSink>, round: Vec<Vec<Vec<Arc<Envelope>>>>) -> Round {
  let runtime = sns_logger_core::runtime::handle();
  let requests: usize = round.iter().map(Vec::len).sum();
  let events: usize = round.iter().flatten().map(Vec::len).sum();
  let cpu = cpu_time();
  let wall = Instant::now();
  let tasks: Vec<_> = round
    .into_iter()
    .map(|batches| {
      let sink = sink.clone();
      runtime.spawn(async move {
        for batch in &batches {
          for (i, result) in sink.publish(batch).await.into_iter().enumerate() {
            if let Err(failure) = result {
              panic!("entry {i} of a batch was not published: {failure:?}");
            }
          }
        }
      })
    })
    .collect();
  runtime.block_on(async {
    for task in tasks {
      task.await.expect("a group's task");
    }
  });
  Round {
    requests,
    events,
    cpu: cpu_time() - cpu,
    wall: wall.elapsed(),
  }
}

fn median(mut values: Vec<f64>) -> f64 {
  values.sort_by(f64::total_cmp);
  let n = values.len();
  if n % 2 == 1 {
    values[n / 2]
  } else {
    (values[n / 2 - 1] + values[n / 2]) / 2.0
  }
}

fn main() {
  let args = match parse_args() {
    Ok(args) => args,
    Err(e) => {
      eprintln!(
        "{e}\nusage: sns-bench-sdk-path (--endpoint URL | --endpoint-bin PATH) [--groups 100] \
         [--entries 10] [--batches 20000] [--warmup 2000] [--rounds 5]"
      );
      std::process::exit(2);
    }
  };
  let (_child, url) = match (&args.endpoint, &args.endpoint_bin) {
    (Some(url), _) => (None, url.clone()),
    (None, Some(bin)) => {
      let (child, url) = spawn_endpoint(bin);
      (Some(child), url)
    }
    (None, None) => unreachable!("parse_args requires one"),
  };
  let mut options = SnsOptions::default();
  options.region = Some(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()));
  options.endpoint = Some(url);
  let sink = Arc::new(SnsSink::new(options));
  let ids = DedupIds::new();
  let mut groups: Vec<Group> = (0..args.groups)
    .map(|g| Group {
      topic_arn: format!("arn:aws:sns:us-east-1:123456789012:sdk-path-{g:03}.fifo").into(),
      group_id: format!("be61e543dfe6:room{g:05}").into(),
      seq: 0,
    })
    .collect();
  if args.warmup > 0 {
    let round = make_round(&mut groups, &ids, args.warmup, args.entries);
    run_round(&sink, round);
  }
  let mut per_request = Vec::new();
  let mut per_event = Vec::new();
  let mut rates = Vec::new();
  for r in 0..args.rounds {
    let round = make_round(&mut groups, &ids, args.batches, args.entries);
    let Round {
      requests,
      events,
      cpu,
      wall,
    } = run_round(&sink, round);
    let cpu_us = cpu.as_secs_f64() * 1e6;
    let line = serde_json::json!({
      "round": r + 1,
      "requests": requests,
      "events": events,
      "cpu_us_per_request": cpu_us / requests as f64,
      "cpu_us_per_event": cpu_us / events as f64,
      "requests_per_s": requests as f64 / wall.as_secs_f64(),
      "cpu_cores": cpu.as_secs_f64() / wall.as_secs_f64(),
    });
    println!("{line}");
    per_request.push(cpu_us / requests as f64);
    per_event.push(cpu_us / events as f64);
    rates.push(requests as f64 / wall.as_secs_f64());
  }
  let summary = serde_json::json!({
    "summary": true,
    "rounds": args.rounds,
    "median_cpu_us_per_request": median(per_request),
    "median_cpu_us_per_event": median(per_event),
    "median_requests_per_s": median(rates),
  });
  println!("{summary}");
}
