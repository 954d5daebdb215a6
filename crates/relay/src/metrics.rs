//! `/metrics`: Prometheus text from the relay's own registry (`sns_logger_` names). Labels are
//! routes, statuses, sources, plan categories and actions, and error codes: never a token, a
//! room id, an address or an origin.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sns_logger_core::Logger;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
  route: &'static str,
  status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
  route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
  source: String,
  category: String,
  action: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
  code: &'static str,
}

fn duration_histogram() -> Histogram {
  // 0.1 ms to about 1.6 s.
  Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

pub struct Metrics {
  registry: Registry,
  requests: Family<RequestLabels, Counter>,
  durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
  accepted: Family<EventLabels, Counter>,
  rejected: Family<CodeLabels, Counter>,
}

impl Metrics {
  pub fn new(logger: Logger, draining: Arc<AtomicBool>) -> Metrics {
    let mut registry = Registry::with_prefix("sns_logger");
    let requests = Family::<RequestLabels, Counter>::default();
    let durations = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
    let accepted = Family::<EventLabels, Counter>::default();
    let rejected = Family::<CodeLabels, Counter>::default();
    registry.register(
      "http_requests",
      "HTTP requests answered, by route and status",
      requests.clone(),
    );
    registry.register(
      "http_request_duration_seconds",
      "Time to answer an HTTP request, by route",
      durations.clone(),
    );
    registry.register(
      "relay_events_accepted",
      "Events the relay queued, by source, category and action",
      accepted.clone(),
    );
    registry.register(
      "relay_events_rejected",
      "Events the relay refused (reported in a 200 answer), by error code",
      rejected.clone(),
    );
    registry.register_collector(Box::new(LoggerStats { logger, draining }));
    Metrics {
      registry,
      requests,
      durations,
      accepted,
      rejected,
    }
  }

  pub fn request(&self, route: &'static str, status: u16, seconds: f64) {
    self
      .requests
      .get_or_create(&RequestLabels { route, status })
      .inc();
    self
      .durations
      .get_or_create(&RouteLabels { route })
      .observe(seconds);
  }

  pub fn accepted(&self, source: &str, category: &str, action: &str, events: u64) {
    let labels = EventLabels {
      source: source.to_string(),
      category: category.to_string(),
      action: action.to_string(),
    };
    self.accepted.get_or_create(&labels).inc_by(events);
  }

  pub fn rejected(&self, code: &'static str) {
    self.rejected.get_or_create(&CodeLabels { code }).inc();
  }

  pub fn encode(&self) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &self.registry)
      .expect("writing to a String cannot fail");
    text
  }
}

/// The logger's `stats()`, read at each scrape.
struct LoggerStats {
  logger: Logger,
  draining: Arc<AtomicBool>,
}

impl fmt::Debug for LoggerStats {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("LoggerStats")
  }
}

impl Collector for LoggerStats {
  fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
    let s = self.logger.stats();
    let counters = [
      ("events_logged", "Events the logger accepted", s.accepted),
      ("events_sent", "Events SNS acknowledged", s.sent),
      (
        "events_retried",
        "Events sent again after a retryable failure",
        s.retried,
      ),
      (
        "events_spooled",
        "Events written to the on-disk spool",
        s.spooled,
      ),
      (
        "events_replayed",
        "Events read back from the spool to be sent",
        s.replayed,
      ),
      (
        "events_dead_lettered",
        "Events SNS refused for good (in the dead-letter file)",
        s.dead_lettered,
      ),
      (
        "events_dropped",
        "Events dropped (only with a drop policy)",
        s.dropped,
      ),
      ("sns_requests", "PublishBatch requests made", s.requests),
    ];
    for (name, help, value) in counters {
      let counter = ConstCounter::new(value);
      counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
    }
    let gauges = [
      (
        "queue_events",
        "Events in memory, waiting or in flight",
        s.queue_events as i64,
      ),
      (
        "queue_bytes",
        "Bytes the queued events hold",
        s.queue_bytes as i64,
      ),
      (
        "in_flight_batches",
        "PublishBatch requests in flight",
        s.in_flight_batches as i64,
      ),
      (
        "spool_bytes",
        "Bytes of events in the spool (refused past maxSpoolBytes)",
        self.logger.spool_bytes() as i64,
      ),
      (
        "relay_ready",
        "1 while the relay takes events, 0 while draining, full or its spool failing",
        i64::from(!self.draining.load(Relaxed) && self.logger.is_accepting()),
      ),
    ];
    for (name, help, value) in gauges {
      let gauge = ConstGauge::new(value);
      gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
    }
    Ok(())
  }
}
