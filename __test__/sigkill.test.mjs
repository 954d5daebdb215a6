// SIGKILL gives no exit hook. docs/delivery.md ("What is guaranteed, by path", "Exit"): what was only in
// memory is lost (at most the queue); what reached the spool survives and the next start
// replays it, oldest first, each event with the MessageDeduplicationId it was given when
// logged, so that an event sent again (in flight at the kill, or sent by a replay whose
// deletion from the spool the kill cut short) is dropped by SNS FIFO within its 5-minute
// window. So, read back from the SQS FIFO queues and deduplicated only by that id (nothing
// else), exactly what SNS acknowledged before the kill and exactly what was on disk arrive,
// once each, in log order per message group.
//
// The chain: a logger (child process) gets 10 events acknowledged by SNS, then SNS goes down and
// 200 more overflow to the spool; SIGKILL. A second logger (child) replays, SNS takes its
// first 3 batches and stalls the 4th; SIGKILL. A third logger replays the rest.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { SALES, SITE_URL, SUPPORT, childEnv, clearSnsLoggerEnv, tempDir } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, receiveAll, useMotoCredentials } from './support/moto.mjs'
import { runCli } from './support/relay.mjs'
import { motoBehindProxy } from './support/sns-proxy.mjs'
import { waitUntil } from './support/wait.mjs'

const require = createRequire(import.meta.url)
const INDEX_JS = require.resolve('../index.js')
const { SnsLogger } = require(INDEX_JS)
clearSnsLoggerEnv()
useMotoCredentials()

const sns = motoBehindProxy()

/** A logger in a child process; it runs `phases`, one per line the test writes to its stdin. */
function loggerChild(options, phases) {
  const script = `
    const { SnsLogger, windowOpened } = require(${JSON.stringify(INDEX_JS)})
    const logger = new SnsLogger(${JSON.stringify(options)})
    const say = (what) => console.log(JSON.stringify(what))
    const phases = [${phases.join(',')}]
    let line = 0
    require('node:readline').createInterface({ input: process.stdin }).on('line', () => phases[line++](logger, windowOpened, say))
    say({ ready: true })
    setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['-e', script], { env: childEnv(), stdio: ['pipe', 'pipe', 'inherit'] })
  const said = []
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk
    const lines = out.split('\n')
    out = lines.pop()
    for (const l of lines) if (l.startsWith('{')) said.push(JSON.parse(l))
  })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)))
  return {
    said,
    exited,
    /** Runs the next phase and resolves with the first thing it says matching `key`. */
    async next(key) {
      child.stdin.write('go\n')
      await waitUntil(() => said.some((s) => key in s), `the child to say ${key}`)
      return said.find((s) => key in s)[key]
    },
    async ready() {
      await waitUntil(() => said.some((s) => s.ready), 'the child to start')
    },
    async kill() {
      child.kill('SIGKILL')
      assert.equal(await exited, 'SIGKILL')
    },
  }
}

test('after SIGKILL, what SNS acknowledged and what reached the spool arrive exactly once, in order per group; only memory is lost', async (t) => {
  const [support, sales] = await Promise.all([
    createFifoTopicWithQueue(sns.moto.endpoint, 'sigkill-support'),
    createFifoTopicWithQueue(sns.moto.endpoint, 'sigkill-sales'),
  ])
  const agents = [
    { ...SUPPORT, topic: support.topicArn },
    { ...SALES, topic: sales.topicArn },
  ]
  const dfConfig = Object.fromEntries(agents.map((a) => [a.username, { agent_id: a.agentId, sns_arn_topic: a.topic }]))
  const spoolDir = join(tempDir('sns-logger-sigkill-'), 'spool')
  const MAX_QUEUE = 2
  const options = {
    siteUrl: SITE_URL,
    dfConfig,
    sink: { kind: 'sns', endpoint: sns.proxy.endpoint, region: 'us-east-1', connectTimeoutMs: 300, requestTimeoutMs: 1000 },
    spoolDir,
    retryBudgetMs: 600_000,
  }
  // Event i goes to the support topic when i is even, to sales when odd: two groups.
  const log = (from, to) => `
    (logger, windowOpened, say) => {
      for (let i = ${from}; i < ${to}; i++) logger.logEvent(windowOpened({ agent: i % 2 ? ${JSON.stringify(SALES.username)} : ${JSON.stringify(SUPPORT.username)}, roomId: 'k-' + i }, 's-' + i))
    }`
  const acknowledged = Array.from({ length: 10 }, (_, i) => `k-${i}`)
  const outage = Array.from({ length: 200 }, (_, i) => `k-${10 + i}`)

  // 1. SNS up: 10 events acknowledged. Then SNS down: 200 more, all but the queue's worth spooled.
  sns.proxy.setMode('pass')
  const first = loggerChild({ ...options, maxQueueEvents: MAX_QUEUE }, [
    // Two at a time (the queue's worth), so that none overflows to the spool.
    `async (...a) => {
      const total = { sent: 0, deadLettered: 0, spooled: 0, dropped: 0 }
      for (let k = 0; k < 10; k += ${MAX_QUEUE}) {
        (${log('k', `k + ${MAX_QUEUE}`)})(...a)
        const report = await a[0].flush()
        for (const key of Object.keys(total)) total[key] += report[key]
      }
      a[2]({ flushed: total })
    }`,
    `(...a) => {
      (${log(10, 210)})(...a)
      const poll = setInterval(() => {
        const s = a[0].stats()
        // Settled: the overflow is written (queueEvents counts it until then), and everything
        // not sent is either on disk or in the queue.
        if (s.queueEvents <= ${MAX_QUEUE} && s.spooled + s.queueEvents === s.accepted - s.sent) { clearInterval(poll); a[2]({ stats: s }) }
      }, 10)
    }`,
  ])
  let second
  try {
    await first.ready()
    assert.deepEqual(await first.next('flushed'), { sent: 10, deadLettered: 0, spooled: 0, dropped: 0 }, 'SNS acknowledged the first 10')
    sns.proxy.setMode('down')
    const atKill = await first.next('stats')
    await first.kill()
    assert.equal(atKill.accepted, 210)
    assert.equal(atKill.sent, 10)
    assert.equal(atKill.dropped, 0)
    assert.ok(atKill.queueEvents <= MAX_QUEUE, `in memory at the kill: ${atKill.queueEvents} (the queue holds ${MAX_QUEUE})`)

    // 2. What is on disk: exactly what the logger counted as spooled, in log order per group.
    const exported = await runCli(['spool', 'export', '--spool-dir', spoolDir])
    assert.equal(exported.code, 0, exported.stderr)
    const onDisk = exported.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    const diskRooms = onDisk.map((r) => JSON.parse(r.Message).roomId)
    assert.equal(onDisk.length, atKill.spooled, 'the spool holds every event counted as spooled')
    assert.equal(new Set(diskRooms).size, diskRooms.length, 'no event twice on disk')
    const lost = outage.filter((r) => !diskRooms.includes(r))
    assert.equal(lost.length, atKill.queueEvents, `lost: only what was in memory (${lost})`)
    for (const arn of [support.topicArn, sales.topicArn]) {
      const rooms = onDisk.filter((r) => r.TopicArn === arn).map((r) => JSON.parse(r.Message).roomId)
      assert.deepEqual(rooms, outage.filter((r) => rooms.includes(r)), 'on disk in log order')
    }

    // 3. A second logger replays: SNS takes its first 3 batches and stalls the 4th; SIGKILL then.
    // Those 3 are in SNS and may still be in the spool (their deletion not yet done).
    sns.proxy.setMode('pass')
    let forwarded = 0
    sns.proxy.state.route = (r) => (r.action !== 'PublishBatch' ? null : forwarded++ < 3 ? 'pass' : 'stall')
    const logStart = sns.proxy.state.log.length
    second = loggerChild(options, [])
    await second.ready()
    await waitUntil(() => sns.proxy.state.log.slice(logStart).some((r) => r.mode === 'stall'), 'a replayed batch to stall')
    await second.kill()
    sns.proxy.state.route = null
    const replayedBeforeKill = sns.proxy.state.log.slice(logStart).filter((r) => r.mode === 'pass' && r.action === 'PublishBatch')
    assert.equal(replayedBeforeKill.length, 3)

    // 4. A third logger replays what is left.
    const third = new SnsLogger(options)
    await waitUntil(() => {
      const s = third.stats()
      return s.replayed > 0 && s.sent + s.deadLettered === s.replayed && s.queueEvents === 0
    }, 'the third logger to settle what it replayed')
    const closed = await third.close({ timeoutMs: 5000 })
    assert.equal(closed.leftInSpool, 0)
    assert.equal(third.stats().deadLettered, 0)

    // 5. Read back: deduplicated by MessageDeduplicationId only, exactly acknowledged + on disk,
    // once each, in log order per group; the spooled ones under the ids they had on disk.
    const idOnDisk = new Map(onDisk.map((r) => [JSON.parse(r.Message).roomId, r.MessageDeduplicationId]))
    let resentCopies = 0
    for (const [{ queueUrl }, parity] of [
      [support, 0],
      [sales, 1],
    ]) {
      const expected = [...acknowledged, ...diskRooms].filter((r) => Number(r.slice(2)) % 2 === parity)
      expected.sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)))
      const received = await receiveAll(sns.moto.endpoint, queueUrl, { expected: expected.length, timeoutMs: 30_000 })
      const byId = new Map()
      const rooms = []
      for (const m of received) {
        assert.equal(m.messageGroupId, SITE_URL)
        const seen = byId.get(m.messageDeduplicationId)
        if (seen !== undefined) {
          assert.equal(m.message, seen, 'a copy under the same dedup id is the same message')
          resentCopies++
          continue // SNS FIFO drops it within its window: harmless, and documented
        }
        byId.set(m.messageDeduplicationId, m.message)
        rooms.push(JSON.parse(m.message).roomId)
      }
      assert.deepEqual(rooms, expected, `group of topic ${parity ? 'sales' : 'support'}: each event once, in log order`)
      for (const m of received) {
        const room = JSON.parse(m.message).roomId
        if (idOnDisk.has(room)) assert.equal(m.messageDeduplicationId, idOnDisk.get(room), `${room} kept its dedup id`)
      }
    }
    t.diagnostic(`copies sent again under the same dedup id: ${resentCopies}`)
  } finally {
    sns.proxy.state.route = null
    sns.proxy.setMode('pass')
    await first.kill().catch(() => {})
    await second?.kill().catch(() => {})
  }
})
