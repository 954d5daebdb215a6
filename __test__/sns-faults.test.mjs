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
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { SITE_URL as SITE, SUPPORT, dfConfig } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, receiveAll, startMoto, useMotoCredentials } from './support/moto.mjs'
import { startProxy } from './support/sns-proxy.mjs'

const require = createRequire(import.meta.url)
const INDEX_JS = require.resolve('../index.js')
const { SnsLogger, windowOpened } = require('../index.js')

useMotoCredentials()

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function waitUntil(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(25)
  }
}

describe('SNS delivery under faults (proxy -> moto)', () => {
  /** @type {Awaited<ReturnType<typeof startMoto>>} */
  let moto
  /** @type {Awaited<ReturnType<typeof startProxy>>} */
  let proxy
  const dirs = []
  const loggers = []
  let topicCounter = 0

  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'sns-faults-'))
    dirs.push(d)
    return d
  }

  async function setup(name, options = {}) {
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, `faults-${name}-${topicCounter++}`)
    const spoolDir = options.spoolDir ?? tmp()
    const errors = []
    const logger = makeLogger(topicArn, spoolDir, errors, options)
    return { topicArn, queueUrl, spoolDir, errors, logger }
  }

  function makeLogger(topicArn, spoolDir, errors, options = {}) {
    const logger = new SnsLogger({
      siteUrl: SITE,
      dfConfig: dfConfig([{ ...SUPPORT, topic: topicArn }]),
      sink: { kind: 'sns', endpoint: proxy.endpoint, region: 'us-east-1', connectTimeoutMs: 300, requestTimeoutMs: 500 },
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
    const received = await receiveAll(moto.endpoint, queueUrl, { expected: expectedRooms.length, timeoutMs })
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

  before(async () => {
    moto = await startMoto()
    proxy = await startProxy(moto.endpoint)
  })

  after(async () => {
    const out = process.env.SNS_LOGGER_FAULT_MATRIX
    if (out) {
      const columns = ['fault', 'accepted', 'delivered', 'spooled', 'deadLettered', 'lost', 'duplicated']
      const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`, ...matrix.map((r) => `| ${columns.map((c) => r[c]).join(' | ')} |`)]
      writeFileSync(out, lines.join('\n') + '\n')
    }
    for (const l of loggers) if (!l.closed) await l.close({ timeoutMs: 500 })
    await proxy?.close()
    await moto?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  for (const { mode, code } of [
    { mode: 'down', code: null },
    { mode: 'http500', code: 'InternalError' },
    { mode: 'throttle429', code: 'TooManyRequests' },
    { mode: 'throttle400', code: 'Throttling' },
  ]) {
    test(`${mode} for ~1 s, then back: everything delivered once, in order`, async () => {
      proxy.setMode('pass')
      const { queueUrl, logger, spoolDir } = await setup(mode)
      proxy.setMode(mode)
      const rooms = logMany(logger, mode, 35)
      const back = sleep(1000).then(() => proxy.setMode('pass'))
      const report = await logger.flush()
      await back
      assert.deepEqual(report, { sent: 35, deadLettered: 0, spooled: 0, dropped: 0 })
      const stats = logger.stats()
      assert.ok(stats.retried > 0, `retried ${stats.retried}`)
      assert.ok(stats.lastErrorCode, 'lastErrorCode is set')
      if (code) assert.equal(stats.lastErrorCode, code)
      else assert.match(stats.lastErrorCode, /ConnectionError|Timeout|ResponseError/)
      assert.ok((proxy.state.counts[mode] ?? 0) > 0 || mode === 'down', `the proxy saw ${mode} requests`)
      await assertDelivered(queueUrl, rooms, 20_000, { fault: `SNS ${mode} for 1 s`, accepted: 35, spooled: report.spooled, deadLettered: report.deadLettered })
      assert.deepEqual(deadLetters(spoolDir), [])
    })
  }

  test('partial Failed entries: retryable ones retried and delivered, permanent ones dead-lettered', async () => {
    proxy.setMode('pass')
    const { queueUrl, logger, spoolDir, errors } = await setup('partial')
    const failedOnce = new Set()
    const perm = new Set()
    proxy.state.partialRule = (entry) => {
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
    proxy.setMode('partial')
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
      await waitUntil(() => errors.reduce((n, e) => n + (e.code === 'InvalidParameter' ? e.events : 0), 0) === permanent.length, 2000, 'onError for every dead letter')
    } finally {
      proxy.state.partialRule = null
      proxy.setMode('pass')
    }
  })

  test('stalled endpoint: requests time out, then it is back and everything arrives once, in order', async () => {
    proxy.setMode('pass')
    const { queueUrl, logger } = await setup('stall')
    proxy.setMode('stall')
    const rooms = logMany(logger, 'stall', 25)
    const codes = new Set()
    const back = (async () => {
      const until = Date.now() + 1500
      while (Date.now() < until) {
        const c = logger.stats().lastErrorCode
        if (c) codes.add(c)
        await sleep(20)
      }
      proxy.setMode('pass')
    })()
    const started = Date.now()
    const report = await logger.flush()
    await back
    assert.deepEqual(report, { sent: 25, deadLettered: 0, spooled: 0, dropped: 0 })
    assert.ok(Date.now() - started < 15_000)
    const stats = logger.stats()
    assert.ok(stats.retried > 0)
    assert.deepEqual([...codes], ['Timeout'], 'error codes seen while stalled')
    assert.ok(proxy.state.counts.stall >= 2, `stalled requests: ${proxy.state.counts.stall}`)
    await assertDelivered(queueUrl, rooms, 20_000, { fault: 'stalled endpoint (timeouts)', accepted: 25, spooled: report.spooled, deadLettered: 0 })
  })

  test('queue overflow goes to the spool, and all 500 arrive in order once the endpoint is back', async () => {
    proxy.setMode('down')
    const { queueUrl, logger } = await setup('overflow', { logger: { maxQueueEvents: 50 } })
    const rooms = logMany(logger, 'overflow', 500)
    await waitUntil(() => logger.stats().spooled > 0, 5000, 'overflow to be spooled')
    // The spool keeper writes the overflow in the background: wait until all of it is on disk.
    await waitUntil(() => logger.stats().spooled >= 450, 5000, 'all overflow to be spooled')
    const spooled = logger.stats()
    assert.equal(spooled.accepted, 500)
    assert.ok(spooled.spooled >= 450, `spooled ${spooled.spooled}`)
    assert.ok(spooled.queueEvents <= 50, `in memory ${spooled.queueEvents}`)
    assert.equal(spooled.dropped, 0)
    await sleep(800)
    proxy.setMode('pass')
    await assertDelivered(queueUrl, rooms, 40_000, { fault: 'outage with the queue full (spool)', accepted: 500, spooled: spooled.spooled, deadLettered: 0 })
    const stats = logger.stats()
    assert.equal(stats.sent, 500)
    assert.ok(stats.replayed >= 450, `replayed ${stats.replayed}`)
    assert.equal(stats.dropped, 0)
  })

  test('close({ timeoutMs: 500 }) during an outage spools; a new logger on the same spoolDir replays', async () => {
    proxy.setMode('down')
    const { queueUrl, topicArn, logger, spoolDir } = await setup('close')
    const rooms = logMany(logger, 'close', 40)
    const started = Date.now()
    const report = await logger.close({ timeoutMs: 500 })
    const elapsed = Date.now() - started
    assert.ok(elapsed < 2000, `close took ${elapsed} ms`)
    assert.equal(report.timedOut, true)
    assert.equal(report.spooled, 40)
    assert.equal(report.sent, 0)
    assert.ok(existsSync(join(spoolDir, 'spool.redb')))

    proxy.setMode('pass')
    const second = makeLogger(topicArn, spoolDir, [])
    await assertDelivered(queueUrl, rooms, 20_000, { fault: 'close() deadline in an outage, then restart', accepted: 40, spooled: report.spooled, deadLettered: 0 })
    await waitUntil(() => second.stats().replayed === 40 && second.stats().sent === 40, 5000, 'replay stats')
    const closed = await second.close({ timeoutMs: 2000 })
    assert.equal(closed.timedOut, false)
  })

  test('process.exit(0) without close: the exit hook spools, a new logger replays', async () => {
    proxy.setMode('down')
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, `faults-child-${topicCounter++}`)
    const spoolDir = tmp()
    const n = 25
    const script = `
      const { SnsLogger, windowOpened } = require(${JSON.stringify(INDEX_JS)})
      const logger = new SnsLogger({
        siteUrl: ${JSON.stringify(SITE)},
        dfConfig: ${JSON.stringify(dfConfig([{ ...SUPPORT, topic: topicArn }]))},
        sink: { kind: 'sns', endpoint: ${JSON.stringify(proxy.endpoint)}, region: 'us-east-1', connectTimeoutMs: 300, requestTimeoutMs: 500 },
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

    proxy.setMode('pass')
    const logger = makeLogger(topicArn, spoolDir, [])
    const rooms = Array.from({ length: n }, (_, i) => `child-${i}`)
    await assertDelivered(queueUrl, rooms, 20_000, { fault: 'process.exit() in an outage, then restart', accepted: n, spooled: n, deadLettered: 0 })
    await waitUntil(() => logger.stats().replayed === n && logger.stats().sent === n, 5000, 'replay stats')
  })
})
