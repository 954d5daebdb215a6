// The relay over HTTP: one server (`relay`, i.e. `sns-logger serve`, or a Node baseline,
// `client-sns` or `log-event`) in a process of its own, driven by the Rust load generator
// with POST /v1/batch of 50 events over 32 keep-alive connections.
//
// max: closed loop, as fast as the server answers; the rate is events delivered (counted by
// the endpoint) over the time from the first request until the endpoint has every event, and
// the CPU is the server process's (all threads, /proc) over the same time.
// paced (`pacedFraction`): then requests due at that fraction of the max rate for
// `pacedSeconds`; latency percentiles and the server's RSS while under that load.
// `pacedAtEps` (optional): one more paced run at that absolute rate (another run's half rate,
// so that two relay modes are compared at the same offered load), as `pacedAt`.
// `ack`, `fsync`: the relay's `--ack` and `--fsync` (the relay only).
// Every run reports the endpoint's per-group order check (`orderViolations`).
// A 503 (the relay's backpressure once its queue and spool are full) is retried by the load
// generator after 10 ms; the relay's own counters (events spooled, replayed) are read from
// its /metrics after each run.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { scenario } from '../support/child.mjs'
import { endpointControl } from '../support/endpoint.mjs'
import { EVENTS_PER_REQUEST, cpuMs, loadgen, relayCounters, rssMb, rssSampler, serverLatency, startServer, writeFixtures } from '../support/relay.mjs'

/** Waits until the endpoint has counted `events` messages; returns its stats. */
async function delivered(control, events, timeoutMs) {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const stats = await control.stats()
    if (stats.messages >= events) return stats
    if (performance.now() > deadline) throw new Error(`the endpoint got ${stats.messages} of ${events} events within ${timeoutMs} ms`)
    await sleep(5)
  }
}

/** The relay's counters over a run (its histogram of answer times aside: see serverLatency). */
const diff = (after, before) =>
  after &&
  Object.fromEntries(
    Object.entries(after)
      .filter(([name]) => name !== 'durations')
      .map(([name, value]) => [name, value - (before[name] ?? 0)]),
  )

scenario(async ({ endpoint, contender, groups, requests, warmupRequests, maxSeconds, pacedFraction = 0, pacedAtEps = 0, pacedSeconds = 0, ack, fsync, profile }) => {
  const control = endpointControl(endpoint)
  const fixtures = writeFixtures(groups)
  const server = await startServer(contender, { endpoint, fixtures, ack, fsync })
  const drive = (args) => loadgen({ url: server.url, fixtures, maxSeconds, profile, ...args })
  const counters = async () => (server.metricsUrl ? relayCounters(server.metricsUrl) : null)
  try {
    await sleep(300)
    const idleRssMb = rssMb(server.pid)

    // Warm-up: JIT, the SDK, connections to the endpoint for every stream.
    await control.reset()
    await drive({ requests: warmupRequests })
    await delivered(control, warmupRequests * EVENTS_PER_REQUEST, 30_000)
    await sleep(200)
    const warmRssMb = rssMb(server.pid)
    const warmupOrderViolations = (await control.stats()).order_violations
    await control.reset()

    const counters0 = await counters()
    const cpu0 = cpuMs(server.pid)
    const t0 = performance.now()
    const rss = rssSampler(server.pid)
    const load = await drive({ requests })
    const seen = await delivered(control, load.events, maxSeconds * 1000)
    const wallMs = performance.now() - t0
    const serverCpuMs = cpuMs(server.pid) - cpu0
    const countersMax = await counters()
    const max = {
      ...load,
      deliveredMs: wallMs,
      eps: (seen.messages * 1000) / wallMs,
      serverCpuMs,
      cpuUsPerEvent: (serverCpuMs * 1000) / seen.messages,
      snsRequests: seen.requests,
      delivered: seen.messages,
      orderViolations: seen.order_violations,
      rss: rss.stop(),
      relay: diff(countersMax, counters0),
      serverLatency: serverLatency(countersMax, counters0),
    }
    if (seen.messages !== load.events) throw new Error(`${contender}: ${seen.messages} delivered, ${load.events} accepted`)

    /** Requests due at `eps` events/s for `pacedSeconds`: latency, CPU and RSS under that load. */
    const pacedRun = async (eps) => {
      await sleep(500) // Let the last run's tail settle.
      await control.reset()
      const rate = eps / EVENTS_PER_REQUEST
      const pacedRequests = Math.max(1, Math.round(rate * pacedSeconds))
      const countersPaced0 = await counters()
      const rssPaced = rssSampler(server.pid)
      const cpuPaced0 = cpuMs(server.pid)
      const run = await drive({ requests: pacedRequests, rate, maxSeconds: pacedSeconds * 2 + 5 })
      const seenPaced = await delivered(control, run.events, 30_000)
      const countersPaced = await counters()
      return {
        ...run,
        targetEps: rate * EVENTS_PER_REQUEST,
        delivered: seenPaced.messages,
        orderViolations: seenPaced.order_violations,
        cpuUsPerEvent: ((cpuMs(server.pid) - cpuPaced0) * 1000) / seenPaced.messages,
        rss: rssPaced.stop(),
        relay: diff(countersPaced, countersPaced0),
        // The relay's own answer times (the loadgen's latency adds the client, the network
        // and how late the loadgen's thread ran on these shared cores).
        serverLatency: serverLatency(countersPaced, countersPaced0),
      }
    }
    const paced = pacedFraction > 0 ? await pacedRun(max.eps * pacedFraction) : null
    const pacedAt = pacedAtEps > 0 ? await pacedRun(pacedAtEps) : null
    const orderViolations = warmupOrderViolations + max.orderViolations + (paced?.orderViolations ?? 0) + (pacedAt?.orderViolations ?? 0)
    return { contender, ack: ack ?? null, fsync: fsync ?? null, groups, idleRssMb, warmRssMb, warmupOrderViolations, max, paced, pacedAt, orderViolations }
  } finally {
    await server.stop()
    fixtures.remove()
  }
})
