// The operator's commands against moto: check (a FIFO topic, a missing topic, a standard
// topic; no secret in the output), spool replay and dead-letters requeue.

import assert from 'node:assert/strict'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { FAKE_KEY_BODY, SITE_URL, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'
import {
  ACCOUNT_ID,
  REGION,
  createFifoTopicWithQueue,
  createStandardTopicWithQueue,
  motoSnsEnv,
  receiveAll,
  startMoto,
  useMotoCredentials,
} from './support/moto.mjs'
import { cli, event, spoolWhileSnsIsDown } from './support/ops.mjs'
import { SF_TOKEN, TOKENS, post, startRelay } from './support/relay.mjs'
import { waitUntil } from './support/wait.mjs'

const { SnsLogger } = createRequire(import.meta.url)('../index.js')
const root = tempDir('sns-logger-ops-moto-')
const PLANTED_SECRET = 'PLANTEDsecretKEY0123456789abcdefghijklmnopQR'

clearSnsLoggerEnv()
useMotoCredentials()

let moto
before(async () => {
  moto = await startMoto()
})
after(async () => {
  await moto?.stop()
})

const arn = (name) => `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${name}`
const bot = (username, topic) => ({ username, agentId: `${username}-id`, topic })

function writeDfConfig(name, agents) {
  const path = join(root, name)
  writeFileSync(path, JSON.stringify(dfConfig(agents)))
  return path
}

describe('check', () => {
  test('a FIFO topic is ok; a missing and a standard topic are problems that say what to fix', async () => {
    await createFifoTopicWithQueue(moto.endpoint, 'check-ok')
    await createStandardTopicWithQueue(moto.endpoint, 'check-standard')
    const path = writeDfConfig('check.json', [
      bot('support.bot', arn('check-ok.fifo')),
      bot('sales.bot', arn('check-missing.fifo')),
      bot('standard.bot', arn('check-standard')),
    ])
    const env = { ...motoSnsEnv(moto.endpoint), AWS_SECRET_ACCESS_KEY: PLANTED_SECRET, SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: path }
    const run = cli(['check', '--json'], env)
    assert.equal(run.status, 1, run.stderr)
    const report = run.json
    assert.equal(report.ok, false)
    assert.equal(report.credentials.source, 'EnvironmentVariable')
    assert.equal(report.credentials.region, REGION)
    const byAgent = Object.fromEntries(report.agents.map((a) => [a.agent, a]))
    assert.deepEqual(
      [byAgent['support.bot'].exists, byAgent['support.bot'].fifo, byAgent['support.bot'].contentBasedDeduplication, byAgent['support.bot'].problems],
      [true, true, false, []],
    )
    assert.equal(byAgent['sales.bot'].exists, false)
    assert.deepEqual(byAgent['sales.bot'].problems.map((p) => p.code), ['ERR_TOPIC_NOT_FOUND'])
    assert.match(byAgent['sales.bot'].problems[0].message, /create it .* or fix sns_arn_topic of "sales.bot" in df_config.json/)
    assert.equal(byAgent['standard.bot'].fifo, false)
    assert.deepEqual(byAgent['standard.bot'].problems.map((p) => p.code), ['ERR_TOPIC_NOT_FIFO'])

    const text = cli(['check'], env)
    assert.equal(text.status, 1)
    assert.match(text.stdout, /credentials +EnvironmentVariable/)
    assert.match(text.stdout, /^support\.bot +support\.bot-id +arn:aws:sns:us-east-1:123456789012:check-ok\.fifo +yes +yes +no +none +ok$/m)
    assert.match(text.stdout, /^sales\.bot .* +no +- +- +- +ERR_TOPIC_NOT_FOUND$/m)
    assert.match(text.stdout, /check: 2 problem\(s\)/)
    for (const output of [run.stdout, run.stderr, text.stdout, text.stderr]) {
      assert.ok(!output.includes(PLANTED_SECRET), 'no AWS secret key in the output')
      assert.ok(!output.includes(FAKE_KEY_BODY), 'no private key from df_config.json in the output')
      assert.ok(!output.includes('private_key'), 'no df_config.json field but agent ids and topics')
    }
  })

  test('--allow-standard makes a standard topic a note; exit 0 when nothing else is wrong', async () => {
    await createStandardTopicWithQueue(moto.endpoint, 'check-standard-2')
    const path = writeDfConfig('check-2.json', [bot('standard.bot', arn('check-standard-2'))])
    const env = { ...motoSnsEnv(moto.endpoint), SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: path }
    const run = cli(['check', '--allow-standard', '--json'], env)
    assert.equal(run.status, 0, run.stdout)
    assert.equal(run.json.ok, true)
    assert.match(run.json.notes[0], /standard topic/)
  })
})

describe('spool replay', () => {
  test('sends what an outage spooled, with its dedup ids, in order, and empties the spool', async () => {
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'replay')
    const spoolDir = join(root, 'replay-spool')
    const config = dfConfig([bot('support.bot', topicArn)])
    const report = await spoolWhileSnsIsDown(spoolDir, config, [1, 2, 3, 4, 5].map((n) => event('support.bot', n)))
    assert.equal(report.leftInSpool, 5)
    const exported = cli(['spool', 'export', '--spool-dir', spoolDir]).stdout.trim().split('\n').map((l) => JSON.parse(l))

    const run = cli(['spool', 'replay', '--spool-dir', spoolDir, '--json'], motoSnsEnv(moto.endpoint))
    assert.equal(run.status, 0, run.stdout + run.stderr)
    assert.deepEqual([run.json.events, run.json.sent, run.json.left, run.json.deadLettered], [5, 5, 0, 0])
    const received = await receiveAll(moto.endpoint, queueUrl, { expected: 5 })
    assert.deepEqual(received.map((m) => JSON.parse(m.message).roomId), ['room-1', 'room-2', 'room-3', 'room-4', 'room-5'])
    assert.deepEqual(received.map((m) => m.messageDeduplicationId), exported.map((e) => e.MessageDeduplicationId))
    assert.ok(received.every((m) => m.messageGroupId === SITE_URL))
    assert.equal(cli(['spool', 'status', '--spool-dir', spoolDir, '--json']).json.events, 0)
  })

  test('a topic that does not exist: the events are dead-lettered, exit 1', async () => {
    const spoolDir = join(root, 'replay-missing')
    const config = dfConfig([bot('support.bot', arn('replay-missing.fifo'))])
    await spoolWhileSnsIsDown(spoolDir, config, [event('support.bot', 1)])
    const run = cli(['spool', 'replay', '--spool-dir', spoolDir], motoSnsEnv(moto.endpoint))
    assert.equal(run.status, 1, run.stdout + run.stderr)
    assert.match(run.stdout, /replayed 1 events: 0 sent, 1 dead-lettered, 0 left in the spool/)
    assert.match(run.stdout, /NotFound/)
    assert.equal(cli(['dead-letters', '--spool-dir', spoolDir, '--json']).json.entries, 1)
  })
})

describe('dead-letters requeue', () => {
  test('lists by code and topic; after the topic is created, requeue delivers and removes them', async () => {
    const spoolDir = join(root, 'dead')
    const topic = arn('requeue.fifo')
    const logger = new SnsLogger({
      siteUrl: SITE_URL,
      dfConfig: dfConfig([bot('support.bot', topic)]),
      spoolDir,
      sink: { kind: 'sns', region: REGION, endpoint: moto.endpoint },
    })
    for (const n of [1, 2, 3]) logger.logEvent(event('support.bot', n))
    const closed = await logger.close()
    assert.equal(closed.deadLettered, 3, JSON.stringify(closed))

    const list = cli(['dead-letters', '--spool-dir', spoolDir, '--json'])
    assert.equal(list.status, 0)
    assert.equal(list.json.entries, 3)
    assert.equal(list.json.groups.length, 1)
    assert.equal(list.json.groups[0].topicArn, topic)
    assert.match(list.json.groups[0].errorCode, /NotFound/)
    const text = cli(['dead-letters', '--spool-dir', spoolDir])
    assert.match(text.stdout, /^CODE +TOPIC +EVENTS +FIRST +LAST +MESSAGE$/m)

    // Not fixed yet: nothing is removed.
    const early = cli(['dead-letters', 'requeue', '--spool-dir', spoolDir, '--json'], motoSnsEnv(moto.endpoint))
    assert.equal(early.status, 1)
    assert.deepEqual([early.json.sent, early.json.left], [0, 3])
    assert.equal(cli(['dead-letters', '--spool-dir', spoolDir, '--json']).json.entries, 3)

    const { queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'requeue')
    const run = cli(['dead-letters', 'requeue', '--spool-dir', spoolDir], motoSnsEnv(moto.endpoint))
    assert.equal(run.status, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /requeued 3 dead letters: 3 delivered and removed, 0 kept/)
    const received = await receiveAll(moto.endpoint, queueUrl, { expected: 3 })
    assert.deepEqual(received.map((m) => JSON.parse(m.message).roomId), ['room-1', 'room-2', 'room-3'])
    assert.ok(!existsSync(join(spoolDir, 'dead-letter.jsonl')))
    assert.equal(cli(['dead-letters', '--spool-dir', spoolDir, '--json']).json.entries, 0)
  })

  test('next to a running relay that spooled nothing: requeue refuses (ERR_SPOOL_BUSY) and every dead letter stays on disk', async () => {
    const spoolDir = join(root, 'relay-dead')
    const dfConfigPath = writeDfConfig('relay-dead.json', [bot('support.bot', arn('never-created.fifo'))])
    const relay = await startRelay({
      dir: root,
      config: { tokens: TOKENS, logger: { siteUrl: SITE_URL, dfConfig: dfConfigPath, spoolDir, sink: { kind: 'sns', region: REGION, endpoint: moto.endpoint } } },
      env: motoSnsEnv(moto.endpoint),
    })
    const deadLetters = () => (existsSync(join(spoolDir, 'dead-letter.jsonl')) ? readFileSync(join(spoolDir, 'dead-letter.jsonl'), 'utf8').split('\n').filter(Boolean).length : 0)
    const deadLettered = async (count) => {
      await waitUntil(() => deadLetters() >= count, `${count} dead letters`, { timeoutMs: 20_000, failOnTimeout: false })
      assert.equal(deadLetters(), count)
    }
    const send = async (from) => {
      const batch = Array.from({ length: 10 }, (_, i) => event('support.bot', from + i))
      const answer = await post(`${relay.url}/v1/batch`, { batch }, { authorization: `Bearer ${SF_TOKEN}` })
      assert.equal(answer.status, 200, answer.text)
    }
    try {
      await send(0)
      await deadLettered(10)
      const busy = cli(['dead-letters', 'requeue', '--spool-dir', spoolDir, '--json'], motoSnsEnv(moto.endpoint))
      assert.equal(busy.status, 1)
      assert.equal(busy.json.error.code, 'ERR_SPOOL_BUSY')
      assert.match(busy.stderr, /a running logger or relay uses .*relay-dead \(it holds the directory's lock\) and may be writing dead letters/)
      await send(10)
      await deadLettered(20)
    } finally {
      assert.equal(await relay.stop(), 0)
    }
    assert.equal(deadLetters(), 20, 'every dead letter the relay wrote is on disk')
    // Stopped: requeue runs (the topic still does not exist, so all 20 stay).
    const run = cli(['dead-letters', 'requeue', '--spool-dir', spoolDir, '--json'], motoSnsEnv(moto.endpoint))
    assert.deepEqual([run.status, run.json.sent, run.json.left], [1, 0, 20])
    assert.equal(deadLetters(), 20)
  })
})
