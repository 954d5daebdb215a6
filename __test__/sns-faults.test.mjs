// Fault injection between SnsLogger and moto: a small HTTP proxy whose mode is switched per
// test (down, 5xx, throttling, partial batch failures, stalls). Every case ends with: each
// accepted event on the SQS queue exactly once, or dead-lettered with its reason, and order
// per message group preserved.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { SITE_URL as SITE, SUPPORT, dfConfig } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, receiveAll, useMotoCredentials } from './support/moto.mjs'
import { runCli } from './support/relay.mjs'
import { motoBehindProxy } from './support/sns-proxy.mjs'
import { waitUntil } from './support/wait.mjs'

const require = createRequire(import.meta.url)
const INDEX_JS = require.resolve('../index.js')
const { SnsLogger, windowOpened } = require('../index.js')

useMotoCredentials()

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Resolves with `promise`, or fails after `ms`: a bound that catches a hang, never a verdict on speed. */
function withinHangBound(promise, ms, what) {
  let timer
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms} ms (hung)`)), ms)
  })
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer))
}

describe('SNS delivery under faults (proxy -> moto)', () => {
  const dirs = []
  const loggers = []
  let topicCounter = 0

  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'sns-faults-'))
    dirs.push(d)
    return d
  }

  async function setup(name, options = {}) {
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(sns.moto.endpoint, `faults-${name}-${topicCounter++}`)
    const spoolDir = options.spoolDir ?? tmp()
    const errors = []
    const logger = makeLogger(topicArn, spoolDir, errors, options)
    return { topicArn, queueUrl, spoolDir, errors, logger }
  }

  function makeLogger(topicArn, spoolDir, errors, options = {}) {
    const logger = new SnsLogger({
      siteUrl: SITE,
      dfConfig: dfConfig([{ ...SUPPORT, topic: topicArn }]),
      sink: { kind: 'sns', endpoint: sns.proxy.endpoint, region: 'us-east-1', connectTimeoutMs: 300, requestTimeoutMs: 500 },
      lingerMs: 5,
      retryBudgetMs: 20_000,
      spoolDir,
      onError: (e) => errors.push({ code: e.code, events: e.events, message: e.message }),
      ...options.logger,
    })
    loggers.push(logger)
    return logger
  }

  /** Logs `n` events with distinct room ids; returns their room ids in log order. */
  function logMany(logger, prefix, n) {
    const rooms = []
    for (let i = 0; i < n; i++) {
      const roomId = `${prefix}-${i}`
      logger.logEvent(windowOpened({ roomId, timestamp: new Date(Date.UTC(2024, 0, 1) + i).toISOString() }, `s-${i}`))
      rooms.push(roomId)
    }
    return rooms
  }

  /**
   * One row per fault: what was accepted and what became of it, from this run. Written as a
   * Markdown table to $SNS_LOGGER_FAULT_MATRIX (the README's fault matrix) when that is set.
   */
  const matrix = []

  /**
   * Drains the queue and checks: exactly `expectedRooms`, once each, in order, group = SITE.
   * `row` ({ fault, accepted, spooled, deadLettered }) records the case in the fault matrix.
   */
  async function assertDelivered(queueUrl, expectedRooms, timeoutMs = 20_000, row = null) {
    const all = await receiveAll(sns.moto.endpoint, queueUrl, { expected: expectedRooms.length, timeoutMs })
    // A retry of a request SNS took (its answer lost to a timeout) carries the same
    // MessageDeduplicationId, and SNS FIFO drops it within 5 minutes; moto delivers it again once
    // the first copy was read and deleted. Dropped here as SNS would: a duplicate that counts is
    // one with another dedup id.
    const dedupIds = new Set()
    const received = all.filter((r) => !dedupIds.has(r.messageDeduplicationId) && dedupIds.add(r.messageDeduplicationId))
    const rooms = received.map((r) => JSON.parse(r.message).roomId)
    const seen = new Set()
    const dups = rooms.filter((r) => (seen.has(r) ? true : (seen.add(r), false)))
    if (row) {
      const delivered = seen.size
      matrix.push({ ...row, delivered, lost: row.accepted - delivered - row.deadLettered, duplicated: dups.length })
    }
    assert.deepEqual(dups, [], 'duplicated deliveries')
    const missing = expectedRooms.filter((r) => !seen.has(r))
    assert.deepEqual(missing, [], 'missing deliveries')
    assert.deepEqual(rooms, expectedRooms, 'delivery order within the group')
    for (const r of received) {
      assert.equal(r.subject, 'RC')
      assert.equal(r.messageGroupId, SITE)
      assert.ok(r.messageDeduplicationId)
    }
  }

  function deadLetters(spoolDir) {
    const file = join(spoolDir, 'dead-letter.jsonl')
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  }

  // Registered before motoBehindProxy's hook: the loggers close while SNS is still there.
  after(async () => {
    const out = process.env.SNS_LOGGER_FAULT_MATRIX
    if (out) {
      const columns = ['fault', 'accepted', 'delivered', 'spooled', 'deadLettered', 'lost', 'duplicated']
      const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`, ...matrix.map((r) => `| ${columns.map((c) => r[c]).join(' | ')} |`)]
      writeFileSync(out, lines.join('\n') + '\n')
    }
    for (const l of loggers) if (!l.closed) await l.close({ timeoutMs: 500 })
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const sns = motoBehindProxy()

  for (const { mode, code } of [
    { mode: 'down', code: null },
    { mode: 'http500', code: 'InternalError' },
    { mode: 'throttle429', code: 'TooManyRequests' },
    { mode: 'throttle400', code: 'Throttling' },
  ]) {
    test(`${mode} for ~1 s, then back: everything delivered once, in order`, async () => {
      sns.proxy.setMode('pass')
      const { queueUrl, logger, spoolDir } = await setup(mode)
      sns.proxy.setMode(mode)
      const rooms = logMany(logger, mode, 35)
      const back = sleep(1000).then(() => sns.proxy.setMode('pass'))
      const report = await logger.flush()
      await back
      assert.deepEqual(report, { sent: 35, deadLettered: 0, spooled: 0, dropped: 0 })
      const stats = logger.stats()
      assert.ok(stats.retried > 0, `retried ${stats.retried}`)
      assert.ok(stats.lastErrorCode, 'lastErrorCode is set')
      if (code) assert.equal(stats.lastErrorCode, code)
      else assert.match(stats.lastErrorCode, /ConnectionError|Timeout|ResponseError/)
      assert.ok((sns.proxy.state.counts[mode] ?? 0) > 0 || mode === 'down', `the proxy saw ${mode} requests`)
      await assertDelivered(queueUrl, rooms, 20_000, { fault: `SNS ${mode} for 1 s`, accepted: 35, spooled: report.spooled, deadLettered: report.deadLettered })
      assert.deepEqual(deadLetters(spoolDir), [])
    })
  }

  test('partial Failed entries: retryable ones retried and delivered, permanent ones dead-lettered', async () => {
    sns.proxy.setMode('pass')
    const { queueUrl, logger, spoolDir, errors } = await setup('partial')
    const failedOnce = new Set()
    const perm = new Set()
    sns.proxy.state.partialRule = (entry) => {
      const { roomId } = JSON.parse(entry.Message)
      const i = Number(roomId.split('-').pop())
      if (i % 7 === 3) {
        perm.add(roomId)
        return 'permanent'
      }
      if (i % 5 === 1 && !failedOnce.has(entry.MessageDeduplicationId)) {
        failedOnce.add(entry.MessageDeduplicationId)
        return 'retryable'
      }
      return 'pass'
    }
    sns.proxy.setMode('partial')
    try {
      const rooms = logMany(logger, 'partial', 40)
      const report = await logger.flush()
      const permanent = rooms.filter((r) => Number(r.split('-').pop()) % 7 === 3)
      assert.deepEqual(report, { sent: 40 - permanent.length, deadLettered: permanent.length, spooled: 0, dropped: 0 })
      const stats = logger.stats()
      assert.ok(stats.retried > 0, `retried ${stats.retried}`)
      assert.equal(stats.deadLettered, permanent.length)
      const retryable = rooms.filter((r) => {
        const i = Number(r.split('-').pop())
        return i % 5 === 1 && i % 7 !== 3
      })
      assert.equal(failedOnce.size, retryable.length, 'each retryable entry failed once')
      await assertDelivered(
        queueUrl,
        rooms.filter((r) => !permanent.includes(r)),
        20_000,
        { fault: 'partial Failed entries (retryable and permanent)', accepted: 40, spooled: report.spooled, deadLettered: report.deadLettered },
      )
      const dead = deadLetters(spoolDir)
      assert.deepEqual(
        dead.map((d) => JSON.parse(d.request.Message).roomId),
        permanent,
      )
      for (const d of dead) {
        assert.equal(d.errorCode, 'InvalidParameter')
        assert.equal(d.errorMessage, 'injected permanent failure')
        assert.equal(d.request.MessageGroupId, SITE)
      }
      await waitUntil(() => errors.reduce((n, e) => n + (e.code === 'InvalidParameter' ? e.events : 0), 0) === permanent.length, 'onError for every dead letter', 2000)
    } finally {
      sns.proxy.state.partialRule = null
      sns.proxy.setMode('pass')
    }
  })

  test('stalled endpoint: requests time out, then it is back and everything arrives once, in order', async () => {
    sns.proxy.setMode('pass')
    const { queueUrl, logger } = await setup('stall')
    sns.proxy.setMode('stall')
    const stalledBefore = sns.proxy.state.counts.stall ?? 0
    const rooms = logMany(logger, 'stall', 25)
    const flushed = logger.flush()
    // Stalled until two requests have timed out and been retried (a condition, not a duration).
    const codes = new Set()
    await waitUntil(
      () => {
        const { lastErrorCode, retried } = logger.stats()
        if (lastErrorCode) codes.add(lastErrorCode)
        return (sns.proxy.state.counts.stall ?? 0) - stalledBefore >= 2 && retried > 0
      },
      'two stalled requests, the first one timed out',
      30_000,
    )
    sns.proxy.setMode('pass')
    const report = await withinHangBound(flushed, 60_000, 'flush() once the endpoint is back')
    assert.deepEqual(report, { sent: 25, deadLettered: 0, spooled: 0, dropped: 0 })
    const stats = logger.stats()
    assert.ok(stats.retried > 0)
    assert.equal(stats.lastErrorCode, 'Timeout')
    assert.deepEqual([...codes], ['Timeout'], 'error codes seen while stalled')
    await assertDelivered(queueUrl, rooms, 20_000, { fault: 'stalled endpoint (timeouts)', accepted: 25, spooled: report.spooled, deadLettered: 0 })
  })

  test('queue overflow goes to the spool, and all 500 arrive in order once the endpoint is back', async () => {
    sns.proxy.setMode('down')
    const { queueUrl, logger } = await setup('overflow', { logger: { maxQueueEvents: 50 } })
    const rooms = logMany(logger, 'overflow', 500)
    await waitUntil(() => logger.stats().spooled > 0, 'overflow to be spooled', 5000)
    // The spool keeper writes the overflow in the background: wait until all of it is on disk.
    await waitUntil(() => logger.stats().spooled >= 450, 'all overflow to be spooled', 5000)
    const spooled = logger.stats()
    assert.equal(spooled.accepted, 500)
    assert.ok(spooled.spooled >= 450, `spooled ${spooled.spooled}`)
    assert.ok(spooled.queueEvents <= 50, `in memory ${spooled.queueEvents}`)
    assert.equal(spooled.dropped, 0)
    await sleep(800)
    sns.proxy.setMode('pass')
    await assertDelivered(queueUrl, rooms, 40_000, { fault: 'outage with the queue full (spool)', accepted: 500, spooled: spooled.spooled, deadLettered: 0 })
    const stats = logger.stats()
    assert.equal(stats.sent, 500)
    assert.ok(stats.replayed >= 450, `replayed ${stats.replayed}`)
    assert.equal(stats.dropped, 0)
  })

  test('close({ timeoutMs: 500 }) during an outage spools; a new logger on the same spoolDir replays', async () => {
    sns.proxy.setMode('down')
    const { queueUrl, topicArn, logger, spoolDir } = await setup('close')
    const rooms = logMany(logger, 'close', 40)
    // close() resolving at all (whatever the queue holds) is the promise; how soon is a
    // measurement (docs/delivery.md), not something a loaded test machine can judge.
    const report = await withinHangBound(logger.close({ timeoutMs: 500 }), 30_000, 'close({ timeoutMs: 500 }) in an outage')
    assert.equal(report.timedOut, true)
    assert.equal(report.spooled, 40)
    assert.equal(report.sent, 0)
    assert.ok(existsSync(join(spoolDir, 'spool.redb')))

    sns.proxy.setMode('pass')
    const second = makeLogger(topicArn, spoolDir, [])
    await assertDelivered(queueUrl, rooms, 20_000, { fault: 'close() deadline in an outage, then restart', accepted: 40, spooled: report.spooled, deadLettered: 0 })
    await waitUntil(() => second.stats().replayed === 40 && second.stats().sent === 40, 'replay stats', 5000)
    const closed = await second.close({ timeoutMs: 2000 })
    assert.equal(closed.timedOut, false)
  })

  // docs/delivery.md: "throttling also pauses the whole topic" (completion.rs: a throttled
  // batch puts its group back until its backoff ends, and holds every group of the topic until
  // then). One logger holds two groups of one topic when it replays events logged under two
  // site URLs (one spool directory shared by two loggers). SNS throttles group A only; group B
  // is never refused, yet may only send when A's retry does: each time the pause ends both go
  // at once, so B sends about one batch per A attempt (two when B's answer is read before A's
  // throttling sets the next pause): at most 2 * (5 + 1) before A gets through. Without the
  // pause B would send its 20 batches back to back while A backs off (at least 50 + 100 + 200
  // + 400 + 800 ms). The same run with B on another topic (not paused, as a topic without the
  // pause would be) sent 18 and 19 of its 20 batches before A got through.
  test('throttling one group pauses the whole topic: the other group waits for its retries; nothing lost, order kept', async () => {
    sns.proxy.setMode('pass')
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(sns.moto.endpoint, `faults-pause-${topicCounter++}`)
    const spoolDir = tmp()
    const SITE_A = 'https://a.example.com'
    const SITE_B = 'https://b.example.com'
    const THROTTLED = 5
    // One logger after the other on one directory, SNS unreachable: close() at once spools it
    // all; the second starts on the first one's spool file and spools behind it.
    const offline = (siteUrl) =>
      new SnsLogger({
        siteUrl,
        dfConfig: dfConfig([{ ...SUPPORT, topic: topicArn }]),
        sink: { kind: 'sns', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', connectTimeoutMs: 100 },
        retryBudgetMs: 600_000,
        spoolDir,
      })
    // close() writes and releases its file just after it resolves: wait until it is free.
    const spooled = (events) =>
      waitUntil(
        async () => {
          const { code, stdout } = await runCli(['spool', 'status', '--json', '--spool-dir', spoolDir])
          const status = code === 0 ? JSON.parse(stdout) : null
          return status?.events === events && status.files.every((f) => f.state === 'ok')
        },
        `${events} events in a released spool`,
        30_000,
      )
    const a = offline(SITE_A)
    const roomsA = logMany(a, 'pause-a', 30)
    assert.equal((await a.close({ timeoutMs: 0 })).spooled, 30)
    await spooled(30)
    const b = offline(SITE_B)
    const roomsB = logMany(b, 'pause-b', 200)
    assert.equal((await b.close({ timeoutMs: 0 })).spooled, 200)
    await spooled(230)

    // SNS throttles group A's first THROTTLED requests; everything else goes through.
    let aRequests = 0
    sns.proxy.state.route = (r) => (r.action === 'PublishBatch' && r.groups.includes(SITE_A) && ++aRequests <= THROTTLED ? 'throttle400' : 'pass')
    const logStart = sns.proxy.state.log.length
    try {
      // The next logger replays both groups at once (one chunk).
      // A request timeout far above what a loaded machine needs: a retry after a timeout would
      // blur which group waited for which.
      const sink = { kind: 'sns', endpoint: sns.proxy.endpoint, region: 'us-east-1', connectTimeoutMs: 5000, requestTimeoutMs: 20_000 }
      const logger = makeLogger(topicArn, spoolDir, [], { logger: { retryBudgetMs: 60_000, sink } })
      await waitUntil(() => logger.stats().sent === 230, 'both groups to be sent', 60_000)
      const requests = sns.proxy.state.log.slice(logStart).filter((r) => r.action === 'PublishBatch')
      for (const r of requests) assert.equal(r.groups.length, 1, 'a batch holds one group')
      const ofA = requests.filter((r) => r.groups[0] === SITE_A)
      const ofB = requests.filter((r) => r.groups[0] === SITE_B)
      assert.deepEqual(
        ofA.map((r) => r.mode),
        [...Array(THROTTLED).fill('throttle400'), ...Array(ofA.length - THROTTLED).fill('pass')],
      )
      assert.ok(ofB.every((r) => r.mode === 'pass'), 'group B is never refused')
      assert.equal(ofB.length, 20, 'group B: 20 batches of 10, each sent once')
      assert.equal(logger.stats().lastErrorCode, 'Throttling')
      // Requests of B that reached SNS before A's first one SNS took.
      const firstTaken = requests.indexOf(ofA[THROTTLED])
      const bWhileThrottled = requests.slice(0, firstTaken).filter((r) => r.groups[0] === SITE_B).length
      assert.ok(
        bWhileThrottled <= 2 * (THROTTLED + 1),
        `group B sent ${bWhileThrottled} batches while A was throttled ${THROTTLED} times: it did not wait for A's retries (order: ${requests
          .map((r) => (r.groups[0] === SITE_A ? (r.mode === 'pass' ? 'A' : 'a') : 'B'))
          .join('')})`,
      )

      // Nothing lost or doubled, order kept per group.
      const received = await receiveAll(sns.moto.endpoint, queueUrl, { expected: 230, timeoutMs: 30_000 })
      const inGroup = (site) => received.filter((m) => m.messageGroupId === site).map((m) => JSON.parse(m.message).roomId)
      assert.deepEqual(inGroup(SITE_A), roomsA)
      assert.deepEqual(inGroup(SITE_B), roomsB)
      assert.equal(received.length, 230)
      const closed = await logger.close({ timeoutMs: 5000 })
      assert.equal(closed.leftInSpool, 0)
    } finally {
      sns.proxy.state.route = null
    }
  })

  test('process.exit(0) without close: the exit hook spools, a new logger replays', async () => {
    sns.proxy.setMode('down')
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(sns.moto.endpoint, `faults-child-${topicCounter++}`)
    const spoolDir = tmp()
    const n = 25
    const script = `
      const { SnsLogger, windowOpened } = require(${JSON.stringify(INDEX_JS)})
      const logger = new SnsLogger({
        siteUrl: ${JSON.stringify(SITE)},
        dfConfig: ${JSON.stringify(dfConfig([{ ...SUPPORT, topic: topicArn }]))},
        sink: { kind: 'sns', endpoint: ${JSON.stringify(sns.proxy.endpoint)}, region: 'us-east-1', connectTimeoutMs: 300, requestTimeoutMs: 500 },
        retryBudgetMs: 20000,
        spoolDir: ${JSON.stringify(spoolDir)},
      })
      for (let i = 0; i < ${n}; i++) {
        logger.logEvent(windowOpened({ roomId: 'child-' + i, timestamp: new Date(Date.UTC(2024, 0, 1) + i).toISOString() }, 's-' + i))
      }
      setTimeout(() => {
        console.log(JSON.stringify(logger.stats()))
        process.exit(0)
      }, 300)
    `
    const child = spawn(process.execPath, ['-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env },
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    const code = await Promise.race([
      new Promise((resolve) => child.on('exit', (c) => resolve(c))),
      sleep(15_000).then(() => {
        child.kill('SIGKILL')
        return 'timeout'
      }),
    ])
    assert.equal(code, 0, `child exit ${code}; stderr: ${err}`)
    const childStats = JSON.parse(out.trim().split('\n').pop())
    assert.equal(childStats.accepted, n)
    assert.equal(childStats.sent, 0)
    assert.ok(existsSync(join(spoolDir, 'spool.redb')), 'the spool file exists')
    assert.ok(statSync(join(spoolDir, 'spool.redb')).size > 0)

    sns.proxy.setMode('pass')
    const logger = makeLogger(topicArn, spoolDir, [])
    const rooms = Array.from({ length: n }, (_, i) => `child-${i}`)
    await assertDelivered(queueUrl, rooms, 20_000, { fault: 'process.exit() in an outage, then restart', accepted: n, spooled: n, deadLettered: 0 })
    await waitUntil(() => logger.stats().replayed === n && logger.stats().sent === n, 'replay stats', 5000)
  })
})
