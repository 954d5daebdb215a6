// The relay end to end: `sns-logger serve` in a child process, SNS and SQS from moto (through
// a fault proxy for outages), apps and widget posting over real HTTP, and every accepted event
// read back from the SQS FIFO queue exactly once, in order (one message group: the site).

import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { SITE_URL, SUPPORT, dfConfig, tempDir } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, motoSnsEnv, receiveAll, resetMoto } from './support/moto.mjs'
import { DF_TOKEN, SF_TOKEN, TOKENS, post, startRelay } from './support/relay.mjs'
import { motoBehindProxy } from './support/sns-proxy.mjs'
import { waitUntil } from './support/wait.mjs'

const dir = tempDir('sns-logger-relay-e2e-')
const DF_CONFIG = join(dir, 'df_config.json')
writeFileSync(DF_CONFIG, JSON.stringify(dfConfig([SUPPORT])))
const ORIGIN = 'https://www.example.com'

const bearer = (token) => ({ authorization: `Bearer ${token}` })
const appEvent = (roomId, extra = {}) => ({ roomId, category: 'Escalation', action: 'attempted', ...extra })
const widgetEvent = (roomId, extra = {}) => ({ roomId, tabId: 'tab-9', category: 'Survey', action: 'link_clicked', ...extra })

describe('relay end to end (child process -> moto SNS -> SQS FIFO)', () => {
  const sns = motoBehindProxy()
  let queueUrl

  /** A fresh topic and queue, and a relay whose SNS is the proxy in front of moto. */
  async function freshRelay({ spoolDir = mkdtempSync(join(dir, 'spool-')), args = [], retryBudgetMs = 500 } = {}) {
    const relay = await startRelay({
      dir,
      args,
      config: {
        tokens: TOKENS,
        widgetOrigins: [ORIGIN],
        logger: {
          siteUrl: SITE_URL,
          dfConfig: DF_CONFIG,
          spoolDir,
          retryBudgetMs,
          sink: { kind: 'sns', connectTimeoutMs: 300, requestTimeoutMs: 1000 },
        },
      },
      env: motoSnsEnv(sns.proxy.endpoint),
    })
    return { relay, spoolDir }
  }

  async function freshTopic() {
    sns.proxy.setMode('pass')
    await resetMoto(sns.moto.endpoint)
    ;({ queueUrl } = await createFifoTopicWithQueue(sns.moto.endpoint, 'rc-support-events'))
  }

  /** The room ids that reached the queue, in order, after `expected` arrived (and a quiet second). */
  async function roomsReceived(expected, timeoutMs = 20_000) {
    const received = await receiveAll(sns.moto.endpoint, queueUrl, { expected, timeoutMs })
    for (const r of received) {
      assert.equal(r.subject, 'RC')
      assert.equal(r.messageGroupId, SITE_URL)
    }
    return received.map((r) => JSON.parse(r.message).roomId)
  }

  /**
   * Polls /readyz until it answers 503 (the relay took the signal), and returns that answer's
   * body. Bounded only to catch a hang; a refused connection (the relay gone before it said
   * "draining") fails at once.
   */
  function readyzUntilDraining(relay) {
    return waitUntil(
      async () => {
        const answer = await fetch(`${relay.url}/readyz`)
        if (answer.status === 503) return answer.json()
        assert.equal(answer.status, 200, 'readyz before the drain')
        await answer.arrayBuffer()
        return false
      },
      '/readyz to answer 503 after the signal',
      { timeoutMs: 10_000, intervalMs: 10 },
    )
  }

  /** Resolves with `promise`, or fails after `ms` (a hang bound, never a verdict on speed). */
  function withinHangBound(promise, ms, what) {
    let timer
    const hang = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms} ms (hung)`)), ms)
    })
    return Promise.race([promise, hang]).finally(() => clearTimeout(timer))
  }

  async function metric(relay, name) {
    const text = await (await fetch(`${relay.adminUrl}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${name} `))
    return line ? Number(line.split(' ')[1]) : NaN
  }

  test('apps and widget batches, a mixed batch and a retried one: each valid event arrives once, in order', async () => {
    await freshTopic()
    const { relay } = await freshRelay()
    try {
      const expected = []
      const send = async (url, batch, headers) => {
        const answer = await post(url, { batch }, headers)
        assert.equal(answer.status, 200, answer.text)
        return answer.json
      }
      // SF.app, then DF.app (its rotated token), 3 events each.
      for (const [token, app] of [
        [SF_TOKEN, 'sf'],
        [DF_TOKEN, 'df'],
      ]) {
        const batch = [1, 2, 3].map((i) => appEvent(`${app}-${i}`))
        assert.deepEqual(await send(`${relay.url}/v1/batch`, batch, bearer(token)), { accepted: 3, rejected: [] })
        expected.push(...batch.map((e) => e.roomId))
      }
      // The widget, as sendBeacon sends it.
      const widgetBatch = [widgetEvent('w-1'), widgetEvent('w-2', { category: 'Window', action: 'opened', properties: { session_id: 's-1' } })]
      const widgetAnswer = await post(`${relay.url}/v1/w`, JSON.stringify({ batch: widgetBatch }), {
        origin: ORIGIN,
        'content-type': 'text/plain;charset=UTF-8',
      })
      assert.deepEqual(widgetAnswer.json, { accepted: 2, rejected: [] })
      expected.push('w-1', 'w-2')
      // Mixed: the invalid ones are reported, the valid ones go.
      const mixed = await send(
        `${relay.url}/v1/batch`,
        [appEvent('mixed-1'), appEvent('bad', { category: 'Nope' }), appEvent('mixed-2'), { roomId: 'bad' }],
        bearer(SF_TOKEN),
      )
      assert.equal(mixed.accepted, 2)
      assert.deepEqual(
        mixed.rejected.map((r) => [r.index, r.code]),
        [
          [1, 'ERR_UNKNOWN_CATEGORY'],
          [3, 'ERR_UNKNOWN_CATEGORY'],
        ],
      )
      expected.push('mixed-1', 'mixed-2')
      // A batch retried after a "lost answer": the same messageIds, three times.
      const retried = [appEvent('retry-1', { messageId: 'order-77-1' }), appEvent('retry-2', { messageId: 'order-77-2' })]
      for (let i = 0; i < 3; i++) assert.equal((await send(`${relay.url}/v1/batch`, retried, bearer(SF_TOKEN))).accepted, 2)
      expected.push('retry-1', 'retry-2')

      // Every copy published before the queue is read: moto drops a duplicate only while the
      // first copy is still in the queue (SNS keeps dedup ids for 5 minutes, read or not).
      const published = expected.length + 4
      await waitUntil(async () => (await metric(relay, 'sns_logger_events_sent_total')) >= published, 'SNS to acknowledge every copy')
      assert.equal(await metric(relay, 'sns_logger_events_sent_total'), published, 'SNS acknowledged every copy')
      const rooms = await roomsReceived(expected.length)
      assert.deepEqual(rooms, expected)
      assert.equal(await relay.stop(), 0)
    } finally {
      await relay.stop()
    }
  })

  test('SNS down: the relay keeps answering 200 and spools, then delivers every event once when SNS is back', async () => {
    await freshTopic()
    const { relay } = await freshRelay()
    try {
      sns.proxy.setMode('down')
      const expected = []
      for (let b = 0; b < 4; b++) {
        const batch = Array.from({ length: 25 }, (_, i) => appEvent(`outage-${b}-${i}`))
        const answer = await post(`${relay.url}/v1/batch`, { batch }, bearer(SF_TOKEN))
        assert.deepEqual(answer.json, { accepted: 25, rejected: [] })
        expected.push(...batch.map((e) => e.roomId))
      }
      await waitUntil(async () => (await metric(relay, 'sns_logger_events_spooled_total')) >= expected.length, 'every event to be spooled')
      assert.equal(await metric(relay, 'sns_logger_events_spooled_total'), expected.length, 'every event went to the spool')
      assert.equal((await fetch(`${relay.url}/readyz`)).status, 200, 'still ready: the spool takes the events')
      sns.proxy.setMode('pass')
      assert.deepEqual(await roomsReceived(expected.length, 30_000), expected)
      assert.equal(await relay.stop(), 0)
    } finally {
      sns.proxy.setMode('pass')
      await relay.stop()
    }
  })

  test('SIGTERM: readyz and new requests get 503, events in flight to SNS survive the restart through the spool', async () => {
    await freshTopic()
    const spoolDir = mkdtempSync(join(dir, 'spool-'))
    const { relay } = await freshRelay({ spoolDir, args: ['--shutdown-timeout-ms', '5000'] })
    let restarted
    try {
      // SNS stalls: whatever is accepted is still in memory when the signal comes.
      sns.proxy.setMode('stall')
      const first = Array.from({ length: 10 }, (_, i) => appEvent(`term-${i}`))
      assert.equal((await post(`${relay.url}/v1/batch`, { batch: first }, bearer(SF_TOKEN))).json.accepted, 10)

      const exited = relay.stop('SIGTERM')
      assert.deepEqual(await readyzUntilDraining(relay), { status: 'draining', reason: 'draining' })
      const refused = await post(`${relay.url}/v1/batch`, { batch: [appEvent('too-late')] }, bearer(SF_TOKEN))
      assert.equal(refused.status, 503)
      assert.equal(refused.json.code, 'ERR_UNAVAILABLE')
      assert.ok(Number(refused.headers.get('retry-after')) >= 1)

      assert.equal(await exited, 0)
      assert.match(relay.stderr(), /SIGTERM: draining/)
      assert.match(relay.stderr(), /closed: 0 sent, 10 spooled, 0 dead-lettered, 0 dropped; 10 left in the spool/)

      // SNS is back; the next relay on the same spool sends what the last one kept.
      sns.proxy.setMode('pass')
      ;({ relay: restarted } = await freshRelay({ spoolDir }))
      assert.deepEqual(await roomsReceived(10), first.map((e) => e.roomId))
      assert.equal(await restarted.stop(), 0)
    } finally {
      sns.proxy.setMode('pass')
      await relay.stop()
      await restarted?.stop()
    }
  })

  test('SIGINT drains as SIGTERM does: readyz and new requests get 503, what was accepted is flushed to SNS, exit 0', async () => {
    await freshTopic()
    // A retry budget longer than the drain: what is accepted must go to SNS, not to the spool.
    const { relay } = await freshRelay({ args: ['--shutdown-timeout-ms', '10000'], retryBudgetMs: 60_000 })
    try {
      // SNS stalls: the accepted events are in memory, their batch in flight, when the signal comes.
      sns.proxy.setMode('stall')
      const logStart = sns.proxy.state.log.length
      const accepted = Array.from({ length: 10 }, (_, i) => appEvent(`int-${i}`))
      assert.equal((await post(`${relay.url}/v1/batch`, { batch: accepted }, bearer(SF_TOKEN))).json.accepted, 10)
      await waitUntil(() => sns.proxy.state.log.slice(logStart).some((r) => r.action === 'PublishBatch' && r.mode === 'stall'), 'the batch to reach SNS and stall')

      const exited = relay.stop('SIGINT')
      assert.deepEqual(await readyzUntilDraining(relay), { status: 'draining', reason: 'draining' })
      const refused = await post(`${relay.url}/v1/batch`, { batch: [appEvent('int-too-late')] }, bearer(SF_TOKEN))
      assert.equal(refused.status, 503)
      assert.equal(refused.json.code, 'ERR_UNAVAILABLE')
      assert.match(relay.stderr(), /SIGINT: draining/)

      // SNS is back during the drain: the stalled request times out and the retry goes through.
      sns.proxy.setMode('pass')
      assert.equal(await withinHangBound(exited, 60_000, 'the drain'), 0)
      assert.match(relay.stderr(), /closed: 10 sent, 0 spooled, 0 dead-lettered, 0 dropped; 0 left in the spool\n/)
      assert.deepEqual(await roomsReceived(10), accepted.map((e) => e.roomId), 'each accepted event once, in order; nothing refused')
    } finally {
      sns.proxy.setMode('pass')
      await relay.stop()
    }
  })

  test('load: 8 clients x 10 batches x 25 events at once, nothing lost or doubled (bounded)', async () => {
    await freshTopic()
    const { relay } = await freshRelay()
    try {
      const clients = 8
      const batches = 10
      const perBatch = 25
      await withinHangBound(Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let b = 0; b < batches; b++) {
            const batch = Array.from({ length: perBatch }, (_, i) => appEvent(`load-${c}-${b}-${i}`, { messageId: `l-${c}-${b}-${i}` }))
            const answer = await post(`${relay.url}/v1/batch`, { batch }, bearer(c % 2 ? SF_TOKEN : DF_TOKEN))
            assert.deepEqual(answer.json, { accepted: perBatch, rejected: [] })
          }
        }),
      ), 120_000, 'the load')
      const total = clients * batches * perBatch
      const rooms = await roomsReceived(total, 60_000)
      assert.equal(rooms.length, total)
      assert.equal(new Set(rooms).size, total, 'no duplicates')
      // Each client's events keep their order (one group; clients interleave).
      for (let c = 0; c < clients; c++) {
        const mine = rooms.filter((r) => r.startsWith(`load-${c}-`))
        const expected = Array.from({ length: batches * perBatch }, (_, k) => `load-${c}-${Math.floor(k / perBatch)}-${k % perBatch}`)
        assert.deepEqual(mine, expected)
      }
      assert.equal(await relay.stop(), 0)
    } finally {
      await relay.stop()
    }
  })
})
