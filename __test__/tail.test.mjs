// `sns-logger tail` against moto, as a developer runs it (`node cli.js tail ...` in a child
// process, its stdout read line by line): events logged by the addon and by the relay arrive in
// the queue subscribed to the topic and tail prints one line each; a message that breaks the
// plan, published straight to the topic, is flagged with its JSON path and rule; SIGINT and
// SIGTERM end it with 0 at once, mid long-poll; without --delete the messages stay in the queue.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { writeFileSync } from 'node:fs'

import { PublishCommand } from '@aws-sdk/client-sns'

import { SITE_URL, SUPPORT, TS, childEnv, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'
import { REGION, createFifoTopicWithQueue, motoSnsEnv, receiveAll, snsClient, startMoto, useMotoCredentials } from './support/moto.mjs'
import { CLI, SF_TOKEN, TOKENS, post, startRelay } from './support/relay.mjs'
import { cli } from './support/ops.mjs'
import { waitUntil } from './support/wait.mjs'

const { SnsLogger } = createRequire(import.meta.url)('../index.js')
const dir = tempDir('sns-logger-tail-')

clearSnsLoggerEnv()
useMotoCredentials()

/** A long poll lasts 20 s: an exit well within that is an exit mid-poll. */
const PROMPT_EXIT_MS = 5_000

let moto
before(async () => {
  moto = await startMoto()
})
after(async () => {
  await moto?.stop()
})

/** The environment of a tail child: moto's credentials and region, SQS at moto. */
const tailEnv = () => ({ ...motoSnsEnv(moto.endpoint), AWS_ENDPOINT_URL_SQS: moto.endpoint })

/** `sns-logger tail ...args` as a child process: its stdout lines as they come, and a stop by signal. */
function startTail(args) {
  const child = spawn(process.execPath, [CLI, 'tail', ...args], { env: childEnv(tailEnv()), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const lines = () => stdout.split('\n').filter(Boolean)
  return {
    lines,
    stderr: () => stderr,
    /** Resolves once `count` lines were printed (or fails with what was printed). */
    async waitForLines(count, timeoutMs = 30_000) {
      await waitUntil(() => lines().length >= count || child.exitCode !== null, `${count} lines from tail`, timeoutMs).catch((error) => {
        throw new Error(`${error.message}; stdout:\n${stdout}\nstderr:\n${stderr}`)
      })
      assert.equal(child.exitCode, null, `tail ended early: ${stderr}`)
      return lines()
    },
    /** Sends `signal`; `{ code, signal, ms }`: how it ended and how long it took. */
    async stop(signal) {
      const start = Date.now()
      child.kill(signal)
      const end = await exited
      return { ...end, ms: Date.now() - start }
    },
  }
}

/** A logger of the addon that publishes to `topicArn` at moto. */
function addonLogger(topicArn, extra = {}) {
  return new SnsLogger({
    siteUrl: SITE_URL,
    dfConfig: dfConfig([{ ...SUPPORT, topic: topicArn }]),
    spoolDir: tempDir('sns-logger-tail-spool-'),
    sink: { kind: 'sns', endpoint: moto.endpoint, region: REGION, requestTimeoutMs: 5000 },
    ...extra,
  })
}

/** The message of an event of the plan, as the core writes it, with `change` applied. */
function message(change = {}) {
  return {
    dialogflowAgentId: SUPPORT.agentId,
    roomId: 'room-published',
    tabId: '',
    category: 'Escalation',
    action: 'failed',
    properties: { failure_reason: 'no agents available' },
    eventType: 'session',
    timestamp: TS,
    ...change,
  }
}

/** Publishes `text` straight to the topic, as any other publisher could. */
async function publish(topicArn, text, dedupId, attributes) {
  await snsClient(moto.endpoint).send(
    new PublishCommand({ TopicArn: topicArn, Subject: 'RC', Message: text, MessageGroupId: SITE_URL, MessageDeduplicationId: dedupId, MessageAttributes: attributes }),
  )
}

describe('sns-logger tail', () => {
  test('prints the events of the addon and of the relay as they arrive, flags a message that breaks the plan, and exits 0 on SIGINT mid-poll', async () => {
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'tail-e2e')
    const tail = startTail(['--queue-url', queueUrl, '--delete'])

    const logger = addonLogger(topicArn)
    logger.logEvent({ roomId: 'room-addon', category: 'Escalation', action: 'failed', properties: { failure_reason: 'no agents available' }, timestamp: TS })
    logger.logEvent({ roomId: 'room-widget', tabId: 'tab-7', category: 'Window', action: 'opened', properties: { session_id: 's-1' }, timestamp: TS })
    assert.equal((await logger.flush()).sent, 2)
    await logger.close()

    const dfConfigFile = join(dir, 'df_config.json')
    writeFileSync(dfConfigFile, JSON.stringify(dfConfig([{ ...SUPPORT, topic: topicArn }])))
    const relay = await startRelay({
      dir,
      config: { tokens: TOKENS, logger: { siteUrl: SITE_URL, dfConfig: dfConfigFile, spoolDir: tempDir('sns-logger-tail-relay-'), sink: { kind: 'sns', requestTimeoutMs: 5000 } } },
      env: motoSnsEnv(moto.endpoint),
    })
    try {
      const batch = [{ roomId: 'room-relay', category: 'Escalation', action: 'successful', properties: { queue_time: 12.5, sf_chat_key: 'key-1' }, timestamp: TS }]
      assert.deepEqual((await post(`${relay.url}/v1/batch`, { batch }, { authorization: `Bearer ${SF_TOKEN}` })).json, { accepted: 1, rejected: [] })
      await waitUntil(async () => (await fetch(`${relay.adminUrl}/metrics`).then((r) => r.text())).includes('sns_logger_events_sent_total 1'), 'the relay to publish')
    } finally {
      assert.equal(await relay.stop(), 0)
    }

    // Published straight to the topic: a value the plan does not have; a renamed key and a
    // timestamp without milliseconds; a message with SNS message attributes.
    await publish(topicArn, JSON.stringify(message({ roomId: 'room-bad-value', properties: { failure_reason: 'moon phase' } })), 'bad-1')
    const { roomId, ...rest } = message()
    await publish(topicArn, JSON.stringify({ room_id: 'room-bad-keys', ...rest, timestamp: '2022-09-26T17:50:47Z' }), 'bad-2')
    await publish(topicArn, JSON.stringify(message({ roomId: 'room-attributes' })), 'attributes-1', { category: { DataType: 'String', StringValue: 'Escalation' } })

    const lines = await tail.waitForLines(6)
    await new Promise((r) => setTimeout(r, 500)) // tail is in its next long poll: the queue is empty
    const stopped = await tail.stop('SIGINT')
    assert.deepEqual([stopped.code, stopped.signal], [0, null], tail.stderr())
    assert.ok(stopped.ms < PROMPT_EXIT_MS, `tail took ${stopped.ms} ms to stop`)
    assert.equal(tail.stderr(), '')

    const line = (room) => lines.find((l) => l.includes(`  ${room}  `)) ?? assert.fail(`no line for ${room}:\n${lines.join('\n')}`)
    assert.equal(lines.length, 6, lines.join('\n'))
    assert.equal(line('room-addon'), `${TS}  room-addon  Escalation / failed  {"failure_reason":"no agents available"}  session`)
    assert.equal(line('room-widget'), `${TS}  room-widget  Window / opened  {"session_id":"s-1"}  customerAction`)
    assert.equal(line('room-relay'), `${TS}  room-relay  Escalation / successful  {"queue_time":12.5,"sf_chat_key":"key-1"}  session`)
    assert.equal(
      line('room-bad-value'),
      `${TS}  room-bad-value  Escalation / failed  {"failure_reason":"moon phase"}  session  BREAKS THE PLAN: /properties/failure_reason must be equal to one of the allowed values: "outside service hours", "no agents available", "salesforce error", "network/app error", "invalid target department", "same target department", "liveagent bot offline or disabled", "liveagent session id error", "error in liveagent request", "error in checking liveagent response", "error in liveagent response", "salesforce internal failure", "invalid app configuration" or "salesforce chat API not found"`,
    )
    const badKeys = lines.find((l) => l.includes('room_id')) ?? lines.find((l) => l.startsWith('2022-09-26T17:50:47Z'))
    assert.equal(
      badKeys,
      `2022-09-26T17:50:47Z  -  Escalation / failed  {"failure_reason":"no agents available"}  session  BREAKS THE PLAN: (message) must have required property 'roomId'; (message) must NOT have additional properties: "room_id"; /timestamp must match pattern "${'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$'}"`,
    )
    assert.equal(line('room-attributes'), `${TS}  room-attributes  Escalation / failed  {"failure_reason":"no agents available"}  session  attributes: {"category":"Escalation"}`)

    // --delete emptied the queue.
    assert.deepEqual(await receiveAll(moto.endpoint, queueUrl, { timeoutMs: 2_000 }), [])
  })

  test('--json prints each message as it is; without --delete the messages stay in the queue, each printed once; SIGTERM exits 0', async () => {
    // A visibility timeout of 1 s: tail receives the same messages again and again meanwhile.
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'tail-keep', { queueAttributes: { VisibilityTimeout: '1' } })
    const logger = addonLogger(topicArn)
    logger.logEvent({ roomId: 'room-kept-1', category: 'Survey', action: 'link_clicked', timestamp: TS })
    logger.logEvent({ roomId: 'room-kept-2', category: 'Chat Session', action: 'closed', properties: { close_method: 'chat window' }, timestamp: TS })
    assert.equal((await logger.flush()).sent, 2)
    await logger.close()

    const tail = startTail(['--queue-url', queueUrl, '--json'])
    const lines = await tail.waitForLines(2)
    await new Promise((r) => setTimeout(r, 3_000)) // three visibility timeouts
    const stopped = await tail.stop('SIGTERM')
    assert.deepEqual([stopped.code, stopped.signal], [0, null], tail.stderr())
    assert.ok(stopped.ms < PROMPT_EXIT_MS, `tail took ${stopped.ms} ms to stop`)
    assert.equal(tail.lines().length, 2, `each message is printed once: ${tail.lines().join('\n')}`)

    const kept = await receiveAll(moto.endpoint, queueUrl, { expected: 2, timeoutMs: 10_000 })
    // (moto hands messages back in any order once their visibility timeout ends)
    assert.deepEqual([...lines].sort(), kept.map((m) => m.message).sort(), 'the raw Message strings, still in the queue')
    assert.deepEqual(lines.map((l) => JSON.parse(l).roomId), ['room-kept-1', 'room-kept-2'])
  })

  test('--plan-extension: the extension\'s events pass; without it tail flags them', async () => {
    const extension = { categories: [{ category: 'Bot Handover', actions: [{ action: 'requested', eventType: 'customerAction', properties: [{ property: 'reason', type: 'string' }] }] }] }
    const extensionFile = join(dir, 'extension.json')
    writeFileSync(extensionFile, JSON.stringify(extension))
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'tail-extension', { queueAttributes: { VisibilityTimeout: '1' } })
    const logger = addonLogger(topicArn, { planExtension: extensionFile })
    logger.logCustomEvent({ roomId: 'room-ext', category: 'Bot Handover', action: 'requested', properties: { reason: 'asked' }, timestamp: TS })
    assert.equal((await logger.flush()).sent, 1)
    await logger.close()

    // First without the extension and without --delete, then with both.
    const plain = startTail(['--queue-url', queueUrl])
    const [flagged] = await plain.waitForLines(1)
    assert.equal((await plain.stop('SIGINT')).code, 0)
    assert.equal(flagged, `${TS}  room-ext  Bot Handover / requested  {"reason":"asked"}  customerAction  BREAKS THE PLAN: /category "Bot Handover" is not a category of the plan; allowed: "Chat Session", "Escalation", "Agent Transfer", "Agent Disconnect", "Transcript Download", "Survey" or "Window"`)

    const extended = startTail(['--queue-url', queueUrl, '--plan-extension', extensionFile, '--delete'])
    const [passed] = await extended.waitForLines(1) // once the first tail's visibility timeout (1 s) ends
    assert.equal((await extended.stop('SIGINT')).code, 0)
    assert.equal(passed, `${TS}  room-ext  Bot Handover / requested  {"reason":"asked"}  customerAction`)
  })

  test('a queue that does not exist exits 1 with ERR_QUEUE_NOT_FOUND; a queue URL that is none, 2; no flag, 2 with the usage', () => {
    const missing = cli(['tail', '--queue-url', `${moto.endpoint}/123456789012/no-such-queue.fifo`], tailEnv())
    assert.equal(missing.status, 1, missing.stderr)
    assert.match(missing.stderr, /^sns-logger: ERR_QUEUE_NOT_FOUND: the queue "http:\/\/127\.0\.0\.1:\d+\/123456789012\/no-such-queue\.fifo" does not exist/)
    const json = cli(['tail', '--queue-url', `${moto.endpoint}/123456789012/no-such-queue.fifo`, '--json'], tailEnv())
    assert.equal(json.json.error.code, 'ERR_QUEUE_NOT_FOUND')

    const notUrl = cli(['tail', '--queue-url', 'events-tail.fifo'], tailEnv())
    assert.equal(notUrl.status, 2)
    assert.match(notUrl.stderr, /ERR_INVALID_OPTIONS: the queue URL "events-tail\.fifo" is not allowed; allowed: the URL SQS gives a queue/)

    const usage = cli(['tail'], tailEnv())
    assert.equal(usage.status, 2)
    assert.match(usage.stderr, /tail needs --queue-url URL/)
    assert.match(cli(['tail', '--help']).stdout, /^Usage: sns-logger tail --queue-url URL/)
  })
})
