// Message attributes (`messageAttributes: true`, `serve --message-attributes`,
// SNS_LOGGER_MESSAGE_ATTRIBUTES): each event's category, action and eventType as SNS String
// attributes, so that a subscription filter policy routes events. Through moto: a FIFO topic
// with two SQS FIFO queues, one filtered on {"category": ["Escalation"]} (scope
// MessageAttributes); through the addon, the relay and a spool replay. Without moto: the
// request is byte for byte what it was when the option is off, the attribute bytes count
// towards the 256 KiB, and the memory and file sinks show the attributes.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { startFakeSns } from './support/fake-sns.mjs'
import { SITE_URL, SUPPORT, TS, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, motoSnsEnv, receiveAll, subscribeNewQueue, useMotoCredentials } from './support/moto.mjs'
import { SF_TOKEN, TOKENS, post, startRelay } from './support/relay.mjs'
import { motoBehindProxy } from './support/sns-proxy.mjs'

const { SnsLogger, serve } = createRequire(import.meta.url)('../index.js')

clearSnsLoggerEnv()
useMotoCredentials()

const dir = tempDir('sns-logger-attributes-')
const ESCALATIONS_ONLY = { FilterPolicy: JSON.stringify({ category: ['Escalation'] }), FilterPolicyScope: 'MessageAttributes' }

/** Events of five categories, both event types; rooms `${prefix}-0`, `${prefix}-1`, ... */
function mixedEvents(prefix) {
  const events = [
    { category: 'Chat Session', action: 'started' },
    { category: 'Escalation', action: 'attempted' },
    { category: 'Survey', action: 'link_clicked' },
    { category: 'Escalation', action: 'failed', properties: { failure_reason: 'no agents available' } },
    { category: 'Chat Session', action: 'closed', properties: { close_method: 'chat window' } },
    { category: 'Window', action: 'opened', properties: { session_id: 's-1' } },
    { category: 'Escalation', action: 'successful', properties: { sf_chat_key: 'k-1', queue_time: 12 } },
    { category: 'Agent Transfer', action: 'successful' },
  ]
  return events.map((event, i) => ({ roomId: `${prefix}-${i}`, timestamp: TS, ...event }))
}

/** The eventType the plan gives each event of mixedEvents(). */
const eventTypeOf = (event) =>
  event.category === 'Survey' || event.category === 'Window' || event.properties?.close_method === 'chat window' ? 'customerAction' : 'session'

/** The attributes of `event` as the SNS envelope on SQS shows them. */
const envelopeAttributes = (event) => ({
  category: { Type: 'String', Value: event.category },
  action: { Type: 'String', Value: event.action },
  eventType: { Type: 'String', Value: eventTypeOf(event) },
})

/** The attributes of `event` as the request (records(), the file sink) carries them. */
const requestAttributes = (event) => ({
  category: { DataType: 'String', StringValue: event.category },
  action: { DataType: 'String', StringValue: event.action },
  eventType: { DataType: 'String', StringValue: eventTypeOf(event) },
})

describe('message attributes through moto: a filter policy routes by category', () => {
  const aws = motoBehindProxy()
  let topicCount = 0

  /** A FIFO topic with two FIFO queues: `all` unfiltered, `escalations` filtered on the category attribute. */
  async function topicWithTwoQueues() {
    const name = `attributes-${topicCount++}`
    const { topicArn, queueUrl: all } = await createFifoTopicWithQueue(aws.moto.endpoint, name)
    const { queueUrl: escalations } = await subscribeNewQueue(aws.moto.endpoint, topicArn, `${name}-escalations.fifo`, {
      queueAttributes: { FifoQueue: 'true' },
      subscriptionAttributes: ESCALATIONS_ONLY,
    })
    return { topicArn, all, escalations }
  }

  function logger(topicArn, options = {}) {
    return new SnsLogger({
      siteUrl: SITE_URL,
      dfConfig: dfConfig([{ ...SUPPORT, topic: topicArn }]),
      sink: { kind: 'sns', endpoint: aws.moto.endpoint, region: 'us-east-1', connectTimeoutMs: 500, requestTimeoutMs: 2000 },
      spoolDir: mkdtempSync(join(dir, 'spool-')),
      lingerMs: 5,
      ...options,
    })
  }

  /**
   * What arrived on `queueUrl`: `{ roomId, attributes }` in order (after `expected`, and a quiet
   * second). A copy with a dedup id already read is dropped, as SNS FIFO drops it: moto
   * delivers it again once the first was deleted (a request that landed after close() spooled
   * its events, replayed with the same dedup ids).
   */
  async function arrived(queueUrl, expected) {
    const received = await receiveAll(aws.moto.endpoint, queueUrl, { expected, timeoutMs: 20_000 })
    const dedupIds = new Set()
    const once = received.filter((r) => !dedupIds.has(r.messageDeduplicationId) && dedupIds.add(r.messageDeduplicationId))
    return once.map((r) => {
      assert.equal(r.subject, 'RC')
      assert.equal(r.messageGroupId, SITE_URL)
      return { roomId: JSON.parse(r.message).roomId, attributes: r.envelope.MessageAttributes }
    })
  }

  /** Every event on `all` with its attributes, only the Escalation ones on `escalations`, in log order. */
  async function assertRouted({ all, escalations }, events) {
    const routed = events.filter((e) => e.category === 'Escalation')
    assert.equal(routed.length, 3)
    const expect = (list) => list.map((e) => ({ roomId: e.roomId, attributes: envelopeAttributes(e) }))
    assert.deepEqual(await arrived(all, events.length), expect(events))
    assert.deepEqual(await arrived(escalations, routed.length), expect(routed))
  }

  test('the addon with messageAttributes: only the Escalation events reach the filtered queue, every event the other, each envelope with its attributes', async () => {
    const queues = await topicWithTwoQueues()
    const events = mixedEvents('addon')
    const sender = logger(queues.topicArn, { messageAttributes: true })
    for (const event of events) sender.logEvent(event)
    assert.deepEqual(await sender.flush(), { sent: events.length, deadLettered: 0, spooled: 0, dropped: 0 })
    await assertRouted(queues, events)
    await sender.close()
  })

  test('off (the default): every event reaches the unfiltered queue without attributes, and the filtered queue gets none', async () => {
    const queues = await topicWithTwoQueues()
    const events = mixedEvents('off')
    const sender = logger(queues.topicArn)
    for (const event of events) sender.logEvent(event)
    assert.deepEqual(await sender.flush(), { sent: events.length, deadLettered: 0, spooled: 0, dropped: 0 })
    const all = await arrived(queues.all, events.length)
    assert.deepEqual(
      all.map((r) => r.roomId),
      events.map((e) => e.roomId),
    )
    for (const r of all) assert.equal(r.attributes, undefined, 'the SNS envelope has no MessageAttributes')
    // A policy on message attributes matches no message without them (moto as SNS): nothing.
    assert.deepEqual(await receiveAll(aws.moto.endpoint, queues.escalations, { timeoutMs: 3000, settleSeconds: 2 }), [])
    await sender.close()
  })

  test('the relay with --message-attributes: events posted by an app are routed by the filter policy', async () => {
    const queues = await topicWithTwoQueues()
    const dfConfigPath = join(dir, `df_config-${queues.topicArn.split(':').pop()}.json`)
    writeFileSync(dfConfigPath, JSON.stringify(dfConfig([{ ...SUPPORT, topic: queues.topicArn }])))
    const relay = await startRelay({
      dir,
      args: ['--message-attributes'],
      config: {
        tokens: TOKENS,
        logger: {
          siteUrl: SITE_URL,
          dfConfig: dfConfigPath,
          spoolDir: mkdtempSync(join(dir, 'relay-spool-')),
          sink: { kind: 'sns', connectTimeoutMs: 500, requestTimeoutMs: 2000 },
        },
      },
      env: motoSnsEnv(aws.moto.endpoint),
    })
    try {
      const events = mixedEvents('relay')
      const answer = await post(`${relay.url}/v1/batch`, { batch: events }, { authorization: `Bearer ${SF_TOKEN}` })
      assert.equal(answer.status, 200, answer.text)
      assert.deepEqual(answer.json, { accepted: events.length, rejected: [] })
      await assertRouted(queues, events)
    } finally {
      assert.equal(await relay.stop(), 0)
    }
  })

  test('attributes are fixed when an event is logged: spooled in an outage, replayed by a logger without the option, they still arrive with them', async () => {
    const queues = await topicWithTwoQueues()
    const events = mixedEvents('spooled')
    const spoolDir = mkdtempSync(join(dir, 'outage-'))
    const behindProxy = { kind: 'sns', endpoint: aws.proxy.endpoint, region: 'us-east-1', connectTimeoutMs: 300, requestTimeoutMs: 500 }
    aws.proxy.setMode('down')
    try {
      const first = logger(queues.topicArn, { messageAttributes: true, spoolDir, sink: behindProxy })
      for (const event of events) first.logEvent(event)
      const report = await first.close({ timeoutMs: 300 })
      assert.equal(report.spooled, events.length)
    } finally {
      aws.proxy.setMode('pass')
    }
    const second = logger(queues.topicArn, { spoolDir, sink: behindProxy })
    await assertRouted(queues, events)
    assert.equal(second.stats().replayed, events.length)
    await second.close()
  })
})

describe('message attributes without moto', () => {
  const base = (sink, options = {}) => ({ siteUrl: SITE_URL, dfConfig: dfConfig([SUPPORT]), sink, ...options })
  const event = { roomId: 'be61e543dfe6:wqbFXoeX2kdSZhSyi', category: 'Escalation', action: 'successful', properties: { sf_chat_key: '5733b9d3-a8b0', queue_time: 42 }, timestamp: TS }

  test('off, the PublishBatch request is byte for byte the one before the option existed; on, it adds the three String attributes and nothing else', async () => {
    const sns = await startFakeSns()
    try {
      const sink = { kind: 'sns', endpoint: sns.endpoint, region: 'us-east-1' }
      for (const options of [{}, { messageAttributes: true }]) {
        const sender = new SnsLogger(base(sink, { spoolDir: mkdtempSync(join(dir, 'bytes-')), ...options }))
        sender.logEvent(event)
        assert.equal((await sender.flush()).sent, 1)
        await sender.close()
      }
      // The request of the seed's example event (the spec's payload) as the logger sent it
      // before message attributes existed; only the dedup id is the logger's own.
      const GOLDEN =
        'Action=PublishBatch&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Arc-support-events.fifo&PublishBatchRequestEntries.member.1.Id=0&PublishBatchRequestEntries.member.1.Message=%7B%22dialogflowAgentId%22%3A%22b5983b72-cac6-4f85-b9d0-be61e543dfe6%22%2C%22roomId%22%3A%22be61e543dfe6%3AwqbFXoeX2kdSZhSyi%22%2C%22tabId%22%3A%22%22%2C%22category%22%3A%22Escalation%22%2C%22action%22%3A%22successful%22%2C%22properties%22%3A%7B%22queue_time%22%3A42%2C%22sf_chat_key%22%3A%225733b9d3-a8b0%22%7D%2C%22eventType%22%3A%22session%22%2C%22timestamp%22%3A%222022-09-26T17%3A50%3A47.225Z%22%7D&PublishBatchRequestEntries.member.1.Subject=RC&PublishBatchRequestEntries.member.1.MessageDeduplicationId=DEDUP_ID&PublishBatchRequestEntries.member.1.MessageGroupId=https%3A%2F%2Fchat.example.com'
      const [off, on] = sns.bodies
      assert.equal(off, GOLDEN.replace('DEDUP_ID', sns.requests[0][0].dedupId))

      const ATTRIBUTE = /^PublishBatchRequestEntries\.member\.1\.MessageAttributes\.entry\.(\d+)\.(Name|Value\.DataType|Value\.StringValue)$/
      const form = [...new URLSearchParams(on)]
      const plain = form.filter(([key]) => !ATTRIBUTE.test(key))
      assert.deepEqual(plain, [...new URLSearchParams(GOLDEN.replace('DEDUP_ID', sns.requests[1][0].dedupId))])
      const entries = {}
      for (const [key, value] of form.filter(([k]) => ATTRIBUTE.test(k))) {
        const [, n, part] = ATTRIBUTE.exec(key)
        entries[n] = { ...entries[n], [part]: value }
      }
      const sent = Object.fromEntries(Object.values(entries).map((e) => [e.Name, { DataType: e['Value.DataType'], StringValue: e['Value.StringValue'] }]))
      assert.equal(Object.keys(entries).length, 3)
      assert.deepEqual(sent, requestAttributes(event))
    } finally {
      await sns.stop()
    }
  })

  test('the attribute bytes count towards 256 KiB: an event that fits without them is ERR_MESSAGE_TOO_LARGE with them', async () => {
    const MAX = 256 * 1024
    const message = (roomId) =>
      `{"dialogflowAgentId":"${SUPPORT.agentId}","roomId":"${roomId}","tabId":"","category":"Survey","action":"link_clicked","properties":{},"eventType":"customerAction","timestamp":"${TS}"}`
    // category + String + Survey, action + String + link_clicked, eventType + String + customerAction.
    const attributeBytes = 8 + 6 + 6 + (6 + 6 + 12) + (9 + 6 + 14)
    const roomId = 'r'.repeat(MAX - message('').length)
    assert.equal(message(roomId).length, MAX)
    const survey = (room) => ({ roomId: room, category: 'Survey', action: 'link_clicked', timestamp: TS })

    const off = new SnsLogger(base({ kind: 'memory' }))
    off.logEvent(survey(roomId))
    assert.equal((await off.flush()).sent, 1)
    await off.close()

    const on = new SnsLogger(base({ kind: 'memory' }, { messageAttributes: true }))
    assert.throws(() => on.logEvent(survey(roomId)), {
      code: 'ERR_MESSAGE_TOO_LARGE',
      message: `the message and its attributes would be ${MAX + attributeBytes} bytes (${attributeBytes} of them its attributes: messageAttributes is on); SNS allows at most ${MAX} bytes`,
    })
    const shorter = roomId.slice(attributeBytes)
    on.logEvent(survey(shorter))
    assert.throws(() => on.logEvent(survey(`${shorter}r`)), { code: 'ERR_MESSAGE_TOO_LARGE' })
    assert.equal((await on.flush()).sent, 1)
    const [record] = on.records()
    assert.equal(Buffer.byteLength(record.Message) + attributeBytes, MAX)
    assert.deepEqual(record.MessageAttributes, requestAttributes(survey(shorter)))
    await on.close()
  })

  test('records() and the file sink show the attributes when on; off, neither has the key', async () => {
    for (const messageAttributes of [false, true]) {
      const memory = new SnsLogger(base({ kind: 'memory' }, { messageAttributes }))
      const path = join(dir, `requests-${messageAttributes}.jsonl`)
      const file = new SnsLogger(base({ kind: 'file', path }, { messageAttributes }))
      for (const e of mixedEvents('sinks')) {
        memory.logEvent(e)
        file.logEvent(e)
      }
      await Promise.all([memory.flush(), file.flush()])
      const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      const records = memory.records()
      assert.equal(lines.length, 8)
      for (const [i, e] of mixedEvents('sinks').entries()) {
        for (const request of [records[i], lines[i]]) {
          const keys = ['TopicArn', 'Subject', 'MessageGroupId', 'MessageDeduplicationId', 'Message']
          assert.deepEqual(Object.keys(request).sort(), (messageAttributes ? [...keys, 'MessageAttributes'] : keys).sort())
          assert.equal(JSON.parse(request.Message).roomId, e.roomId)
          if (messageAttributes) assert.deepEqual(request.MessageAttributes, requestAttributes(e))
        }
      }
      await Promise.all([memory.close(), file.close()])
    }
  })

  test('SNS_LOGGER_MESSAGE_ATTRIBUTES turns it on for init() and serve(); a value that is not a boolean is named with what is allowed', async () => {
    const loggedWith = async (options) => {
      const logger = new SnsLogger(base({ kind: 'memory' }, options))
      logger.logEvent(mixedEvents('env')[1])
      await logger.flush()
      const [record] = logger.records()
      await logger.close()
      return record.MessageAttributes?.category.StringValue
    }
    try {
      for (const [value, category] of [
        ['1', 'Escalation'],
        [' true ', 'Escalation'],
        ['0', undefined],
        ['false', undefined],
        ['', undefined],
      ]) {
        process.env.SNS_LOGGER_MESSAGE_ATTRIBUTES = value
        assert.equal(await loggedWith({}), category, `SNS_LOGGER_MESSAGE_ATTRIBUTES=${JSON.stringify(value)}`)
      }
      process.env.SNS_LOGGER_MESSAGE_ATTRIBUTES = '1'
      assert.equal(await loggedWith({ messageAttributes: false }), undefined, 'the option wins')
      process.env.SNS_LOGGER_MESSAGE_ATTRIBUTES = 'yes'
      const fromEnv = { code: 'ERR_INVALID_OPTIONS', message: 'SNS_LOGGER_MESSAGE_ATTRIBUTES "yes" is not allowed; allowed: "true", "1", "false" or "0"' }
      assert.throws(() => new SnsLogger(base({ kind: 'memory' })), fromEnv)
      assert.throws(() => serve({ port: 0, adminPort: 0, logger: base({ kind: 'memory' }) }), fromEnv)
    } finally {
      delete process.env.SNS_LOGGER_MESSAGE_ATTRIBUTES
    }
    const fromOption = { code: 'ERR_INVALID_OPTIONS', message: 'messageAttributes must be a boolean, got string "yes"' }
    assert.throws(() => new SnsLogger(base({ kind: 'memory' }, { messageAttributes: 'yes' })), fromOption)
    assert.throws(() => serve({ port: 0, adminPort: 0, logger: base({ kind: 'memory' }, { messageAttributes: 'yes' }) }), fromOption)
  })
})
