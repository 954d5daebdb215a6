// The three ways to get events to SNS that the benchmarks compare. Each has `log(i)` (send
// event i of the pool, as the app would at the call site) and `drain()` (resolves once every
// logged event is acknowledged).
import { Agent } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { CREDENTIALS, REGION, SITE_URL, baselinePool, counterIds, dfConfig, eventPool, lib } from './fixtures.mjs'

/** sns-logger: logEvent() per event; flush() waits for acknowledgement. */
export function snsLogger({ endpoint, groups, options = {} }) {
  const spoolDir = mkdtempSync(join(tmpdir(), 'sns-logger-bench-'))
  const logger = new lib.SnsLogger({
    siteUrl: SITE_URL,
    dfConfig: dfConfig(groups),
    sink: { kind: 'sns', endpoint, region: REGION },
    spoolDir,
    ...options,
  })
  const pool = eventPool(groups)
  return {
    logger,
    log: (i) => logger.logEvent(pool[i % pool.length]),
    async drain() {
      const report = await logger.flush()
      if (report.deadLettered || report.dropped) throw new Error(`sns-logger lost events: ${JSON.stringify(report)}`)
      return report
    },
    async close(options) {
      const report = await logger.close(options)
      // Past its deadline close() resolves before the spool write of what it took ends (exit
      // waits for it): files may still appear while the directory goes, so retry.
      rmSync(spoolDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 })
      return report
    },
  }
}

// Loaded on first use only: sns-logger's runs carry none of the baselines' SDK.
const sdk = () => createRequire(import.meta.url)('@aws-sdk/client-sns')

function snsClient(endpoint, maxSockets) {
  return new (sdk().SNSClient)({
    region: REGION,
    endpoint,
    credentials: CREDENTIALS,
    // Only the hand-batched baseline raises the SDK's default of 50 sockets, to one per group.
    ...(maxSockets ? { requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets }) } } : {}),
  })
}

/** Calls `onIdle` once nothing is pending; the promise of `drain()`. */
function idleWaiter() {
  let waiters = []
  return {
    wait: () => new Promise((resolve, reject) => waiters.push({ resolve, reject })),
    settle(error) {
      const current = waiters
      waiters = []
      for (const w of current) (error ? w.reject(error) : w.resolve())
    },
  }
}

/**
 * Baseline (a), what most apps write: one PublishCommand per event, fired from the call site.
 * At most 50 in flight (the SDK's socket limit), the rest wait in a FIFO as they would in the
 * SDK's agent queue.
 */
export function perEventPublish({ endpoint, groups, concurrency = 50 }) {
  const client = snsClient(endpoint)
  const { PublishCommand } = sdk()
  const pool = baselinePool(groups)
  const nextId = counterIds()
  const waiting = []
  let head = 0
  let active = 0
  let failed = null
  const idle = idleWaiter()
  const pump = () => {
    while (active < concurrency && head < waiting.length) {
      const input = waiting[head]
      waiting[head++] = undefined
      active++
      client.send(new PublishCommand(input)).then(done, (error) => done(null, error))
    }
    if (head === waiting.length) {
      waiting.length = 0
      head = 0
      if (active === 0) idle.settle(failed)
    }
  }
  const done = (_output, error) => {
    active--
    if (error) failed ??= error
    pump()
  }
  return {
    log(i) {
      const event = pool[i % pool.length]
      waiting.push({
        TopicArn: event.topicArn,
        Subject: 'RC',
        Message: event.message(),
        MessageGroupId: SITE_URL,
        MessageDeduplicationId: nextId(),
      })
      pump()
    },
    drain: () => (active === 0 && waiting.length === 0 ? Promise.resolve() : idle.wait()),
    close: async () => client.destroy(),
  }
}

/**
 * Baseline (b), the best a careful user writes: PublishBatch of up to 10 per (topic, group),
 * one batch in flight per group to keep FIFO order, one socket per group, a one-tick linger
 * so that batches fill, and failed entries counted.
 */
export function handBatchedPublish({ endpoint, groups }) {
  const client = snsClient(endpoint, groups + 8)
  const { PublishBatchCommand } = sdk()
  const pool = baselinePool(groups)
  const nextId = counterIds()
  const streams = new Map()
  let pending = 0
  let failed = null
  const idle = idleWaiter()
  const send = (stream) => {
    stream.scheduled = false
    if (stream.inFlight || stream.entries.length === 0) return
    const entries = stream.entries.splice(0, 10)
    for (let k = 0; k < entries.length; k++) entries[k].Id = String(k)
    stream.inFlight = true
    const finish = (output, error) => {
      stream.inFlight = false
      pending -= entries.length
      if (error) failed ??= error
      else if (output.Failed?.length) failed ??= new Error(`${output.Failed.length} entries failed: ${output.Failed[0].Code}`)
      if (stream.entries.length) send(stream)
      if (pending === 0) idle.settle(failed)
    }
    client
      .send(new PublishBatchCommand({ TopicArn: stream.topicArn, PublishBatchRequestEntries: entries }))
      .then((output) => finish(output), (error) => finish(null, error))
  }
  return {
    log(i) {
      const event = pool[i % pool.length]
      let stream = streams.get(event.topicArn)
      if (!stream) {
        stream = { topicArn: event.topicArn, entries: [], inFlight: false, scheduled: false }
        streams.set(event.topicArn, stream)
      }
      stream.entries.push({
        Id: '',
        Subject: 'RC',
        Message: event.message(),
        MessageGroupId: SITE_URL,
        MessageDeduplicationId: nextId(),
      })
      pending++
      if (stream.entries.length >= 10) send(stream)
      else if (!stream.scheduled) {
        stream.scheduled = true
        setImmediate(send, stream)
      }
    },
    drain: () => (pending === 0 ? Promise.resolve() : idle.wait()),
    close: async () => client.destroy(),
  }
}

/** Logs nothing: the machine's own event-loop delay, the floor under every other figure. */
export function noLogging() {
  return { log() {}, drain: async () => {}, close: async () => {} }
}

export const contenders = {
  'no-logging': noLogging,
  'sns-logger': snsLogger,
  'client-sns-per-event': perEventPublish,
  'client-sns-batched': handBatchedPublish,
}
