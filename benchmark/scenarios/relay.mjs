// The relay over HTTP: one server (`relay`, i.e. `sns-logger serve`, or a Node baseline,
// `client-sns` or `log-event`) in a process of its own, driven by the Rust load generator
// with POST /v1/batch of 50 events over 32 keep-alive connections.
//
// max: closed loop, as fast as the server answers; the rate is events delivered (counted by
// the endpoint) over the time from the first request until the endpoint has every event, and
// the CPU is the server process's (all threads, /proc) over the same time.
// paced (`pacedFraction`): then requests due at that fraction of the max rate for
// `pacedSeconds`; latency percentiles and the server's RSS while under that load.
// A 503 (the relay's backpressure once its queue and spool are full) is retried by the load
// generator after 10 ms; the relay's own counters (events spooled, replayed) are read from
// its /metrics after each run.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { scenario } from '../support/child.mjs'
import { endpointControl } from '../support/endpoint.mjs'
import { EVENTS_PER_REQUEST, cpuMs, loadgen, relayCounters, rssMb, rssSampler, startServer, writeFixtures } from '../support/relay.mjs'

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

const diff = (after, before) =>
  after && Object.fromEntries(Object.entries(after).map(([name, value]) => [name, value - (before[name] ?? 0)]))

scenario(async ({ endpoint, contender, groups, requests, warmupRequests, maxSeconds, pacedFraction = 0, pacedSeconds = 0, profile }) => {
  const control = endpointControl(endpoint)
  const fixtures = writeFixtures(groups)
  const server = await startServer(contender, { endpoint, fixtures })
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
    await control.reset()

    const counters0 = await counters()
    const cpu0 = cpuMs(server.pid)
    const t0 = performance.now()
    const rss = rssSampler(server.pid)
    const load = await drive({ requests })
    const seen = await delivered(control, load.events, maxSeconds * 1000)
    const wallMs = performance.now() - t0
    const serverCpuMs = cpuMs(server.pid) - cpu0
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
      relay: diff(await counters(), counters0),
    }
    if (seen.messages !== load.events) throw new Error(`${contender}: ${seen.messages} delivered, ${load.events} accepted`)

    let paced = null
    if (pacedFraction > 0) {
      await sleep(500) // Let the max run's tail settle.
      await control.reset()
      const rate = (max.eps * pacedFraction) / EVENTS_PER_REQUEST
      const pacedRequests = Math.max(1, Math.round(rate * pacedSeconds))
      const countersPaced0 = await counters()
      const rssPaced = rssSampler(server.pid)
      const cpuPaced0 = cpuMs(server.pid)
      const run = await drive({ requests: pacedRequests, rate, maxSeconds: pacedSeconds * 2 + 5 })
      const seenPaced = await delivered(control, run.events, 30_000)
      paced = {
        ...run,
        targetEps: rate * EVENTS_PER_REQUEST,
        delivered: seenPaced.messages,
        cpuUsPerEvent: ((cpuMs(server.pid) - cpuPaced0) * 1000) / seenPaced.messages,
        rss: rssPaced.stop(),
        relay: diff(await counters(), countersPaced0),
      }
    }
    return { contender, groups, idleRssMb, warmRssMb, max, paced }
  } finally {
    await server.stop()
    fixtures.remove()
  }
})
