// What an event costs in memory while it waits for SNS: `events` typical events (the pool of
// fixtures.mjs) logged into a logger whose endpoint accepts connections and never answers, so
// that every one of them is held in memory: none sent, none spooled (request timeout and retry
// budget far beyond the run, queue caps above `events`). The figure is the process's RSS after
// minus before (each after a GC and a pause), over `events`; beside it the messages' average
// length (the part of each queued event that is the SNS message itself), the logger's own
// accounting (stats().queueBytes) and what the JavaScript heap kept.
//
// Warm-up first: one full batch per group goes out and stays in flight (one batch in flight
// per group), the runtime's threads and the connections exist, so that "before" holds all of
// the logger but the measured events, which then all wait in the queue behind those batches.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { scenario } from '../support/child.mjs'
import { snsLogger } from '../support/contenders.mjs'
import { REGION, baselinePool } from '../support/fixtures.mjs'

const CHUNK = 10_000
const BATCH = 10
const SETTLE_MS = 500
// Longer than any run: nothing times out, nothing is retried, nothing goes to the spool.
const NEVER_MS = 600_000

/** A loopback server that takes SNS requests and never answers them. */
async function silentEndpoint() {
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    socket.resume() // read and discard the requests
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    connections: () => sockets.size,
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

/** Polls `check()` until it returns true; fails after `timeoutMs` with `what()`. */
async function until(check, what, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting: ${what()}`)
    await sleep(10)
  }
}

/** RSS and heap after a full GC and a pause (so that freed pages and lazy work settle). */
async function settledMemory() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc()
    await sleep(SETTLE_MS / 3)
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, external, arrayBuffers }
}

scenario(async ({ events, groups }) => {
  if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc')
  const endpoint = await silentEndpoint()
  // The messages as sns-logger builds them (checkSameMessages in fixtures.mjs): their length.
  const lengths = baselinePool(groups).map((b) => Buffer.byteLength(b.message()))
  let messageBytes = 0
  for (let i = 0; i < events; i++) messageBytes += lengths[i % lengths.length]

  const warmup = groups * BATCH
  const client = snsLogger({
    endpoint: endpoint.url,
    groups,
    options: {
      sink: { kind: 'sns', endpoint: endpoint.url, region: REGION, requestTimeoutMs: NEVER_MS },
      retryBudgetMs: NEVER_MS,
      maxQueueEvents: warmup + events + 1,
      maxQueueBytes: 2 ** 32,
    },
  })
  const { logger } = client
  const stats = () => logger.stats()
  const left = (s) => s.sent + s.spooled + s.dropped + s.deadLettered + s.retried
  try {
    for (let i = 0; i < warmup; i++) client.log(i)
    await until(
      () => stats().inFlightBatches === groups,
      () => `${groups} batches in flight, ${JSON.stringify(stats())}`,
    )
    const before = await settledMemory()
    const stats0 = stats()

    const t0 = performance.now()
    for (let i = 0; i < events; i += CHUNK) {
      for (let k = i; k < Math.min(events, i + CHUNK); k++) client.log(warmup + k)
      await nextTurn()
    }
    const loggedMs = performance.now() - t0
    await until(
      () => stats().queueEvents === warmup + events,
      () => `${warmup + events} events queued, ${JSON.stringify(stats())}`,
    )
    const after = await settledMemory()
    const stats1 = stats()
    if (stats1.queueEvents !== warmup + events || left(stats1) !== 0 || stats1.inFlightBatches !== groups) {
      throw new Error(`events left the queue while it was measured: ${JSON.stringify(stats1)}`)
    }
    return {
      events,
      groups,
      loggedMs,
      queuedEventBytes: (after.rss - before.rss) / events,
      messageBytes: messageBytes / events,
      accountedBytes: (stats1.queueBytes - stats0.queueBytes) / events,
      heapBytes: (after.heapUsed - before.heapUsed) / events,
      externalBytes: (after.external - before.external) / events,
      rssBeforeMb: before.rss / 2 ** 20,
      rssAfterMb: after.rss / 2 ** 20,
      connections: endpoint.connections(),
      stats: stats1,
    }
  } finally {
    // What is left goes to the spool (a temporary directory, removed by close()).
    await client.close({ timeoutMs: 100 })
    await endpoint.close()
  }
})
