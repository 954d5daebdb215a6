// End to end through real AWS wire protocols: SnsLogger -> moto SNS (PublishBatch) -> SQS.
// Checks the exact Message string of every event kind of the plan, FIFO attributes, per-group
// order, no loss, no duplicates, standard topics and batching.

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { SPEC_EVENTS } from './support/spec.mjs'
import { AGENTS as BOTS, SITE_URL, SUPPORT, dfConfig as dfConfigOf } from './support/fixtures.mjs'
import {
  createFifoTopicWithQueue,
  createStandardTopicWithQueue,
  receiveAll,
  startMoto,
  useMotoCredentials,
} from './support/moto.mjs'

const lib = createRequire(import.meta.url)('../index.js')
const { SnsLogger, TRACKING_PLAN } = lib

useMotoCredentials()

// The two bots by username, with the agent_id each can also be addressed by.
const AGENTS = Object.fromEntries(BOTS.map((bot) => [bot.username, { agent_id: bot.agentId }]))
const SITES = [SITE_URL, 'https://support.example.org/rc']

const lowerFirst = (s) => s[0].toLowerCase() + s.slice(1)

/** The spec's eventType: the visitor's own actions are customerAction, all else session. */
const CUSTOMER_ACTIONS = new Set(['Transcript Download/selected', 'Survey/link_clicked', 'Window/opened', 'Window/closed', 'Chat Session/closed/chat window'])
const specEventType = (...path) => (CUSTOMER_ACTIONS.has(path.join('/')) ? 'customerAction' : 'session')

/**
 * Every event kind of the spec (support/spec.mjs, not the plan under test), each enum value
 * once: [{ builder, args(i), eventType }]. The builder is the plan's helper for it, looked up
 * by name (`chatSessionClosed` for ChatSession / Closed).
 */
function eventKinds() {
  const kinds = []
  for (const [categoryName, actions] of Object.entries(SPEC_EVENTS)) {
    const category = TRACKING_PLAN.categories.find((c) => c.category === categoryName)
    assert.ok(category, `the plan has the spec's category ${categoryName}`)
    for (const [actionName, properties] of Object.entries(actions)) {
      const action = category.actions.find((a) => a.action === actionName)
      assert.ok(action, `the plan has the spec's ${categoryName} / ${actionName}`)
      const builderName = lowerFirst(category.name) + action.name
      const builder = lib[builderName]
      assert.equal(typeof builder, 'function', `builder ${builderName}`)
      const base = { builder, category: categoryName, action: actionName }
      const enumProperty = Object.entries(properties).find(([, kind]) => Array.isArray(kind))
      if (enumProperty) {
        const [property, values] = enumProperty
        for (const value of values) {
          kinds.push({
            ...base,
            eventType: specEventType(categoryName, actionName, value),
            extraArgs: () => [value],
            properties: () => ({ [property]: value }),
          })
        }
      } else if (builderName === 'escalationSuccessful') {
        kinds.push({
          ...base,
          eventType: specEventType(categoryName, actionName),
          // Given in reverse plan order: the message must list them in plan order.
          extraArgs: (i) => [{ sf_chat_key: `key-${i} "quoted" é`, queue_time: i % 2 ? i : i + 0.5 }],
          properties: (i) => ({ queue_time: i % 2 ? i : i + 0.5, sf_chat_key: `key-${i} "quoted" é` }),
        })
      } else if (builderName === 'windowOpened') {
        kinds.push({
          ...base,
          eventType: specEventType(categoryName, actionName),
          extraArgs: (i) => [`session-${i}`],
          properties: (i) => ({ session_id: `session-${i}` }),
        })
      } else {
        assert.deepEqual(properties, {}, `unhandled properties of ${builderName}`)
        kinds.push({ ...base, eventType: specEventType(categoryName, actionName), extraArgs: () => [], properties: () => ({}) })
      }
    }
  }
  return kinds
}

/** The Message string expected for an event, keys in the spec's order. */
function expectedMessage(agentId, ctx, kind, i) {
  return JSON.stringify({
    dialogflowAgentId: agentId,
    roomId: ctx.roomId,
    tabId: ctx.tabId ?? '',
    category: kind.category,
    action: kind.action,
    properties: kind.properties(i),
    eventType: kind.eventType,
    timestamp: ctx.timestamp,
  })
}

describe('SNS end to end (moto)', () => {
  /** @type {Awaited<ReturnType<typeof startMoto>>} */
  let moto
  const dirs = []
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'sns-e2e-'))
    dirs.push(d)
    return d
  }

  before(async () => {
    moto = await startMoto()
  })

  after(async () => {
    await moto?.stop()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  test('two agents x two sites on FIFO topics: exact messages, attributes, order, no loss, no duplicates, batching', async () => {
    const usernames = Object.keys(AGENTS)
    const topics = {}
    for (const [n, username] of usernames.entries()) {
      topics[username] = await createFifoTopicWithQueue(moto.endpoint, `e2e-agent-${n}`)
    }
    const dfConfig = dfConfigOf(BOTS.map((bot) => ({ ...bot, topic: topics[bot.username].topicArn })))
    const kinds = eventKinds()
    assert.equal(kinds.length, 31) // 8 close methods + 14 failure reasons + 9 other actions
    const rounds = 2 // ~62 events per logger

    // expected[username][site] = messages in log order
    const expected = Object.fromEntries(usernames.map((u) => [u, Object.fromEntries(SITES.map((s) => [s, []]))]))
    const loggers = SITES.map(
      (siteUrl) =>
        new SnsLogger({
          siteUrl,
          dfConfig,
          sink: { kind: 'sns', endpoint: moto.endpoint, region: 'us-east-1', connectTimeoutMs: 2000, requestTimeoutMs: 5000 },
          lingerMs: 20,
          spoolDir: tmp(),
        }),
    )

    const base = Date.UTC(2024, 0, 15, 10, 0, 0, 0)
    for (const [li, logger] of loggers.entries()) {
      const site = SITES[li]
      let i = 0
      for (let r = 0; r < rounds; r++) {
        for (const kind of kinds) {
          const username = usernames[i % 2]
          const ctx = {
            agent: i % 4 < 2 ? username : AGENTS[username].agent_id, // by username and by agent_id
            roomId: `room-${li}-${i}`,
            ...(i % 3 ? { tabId: `tab-${li}-${i}` } : {}),
            timestamp: new Date(base + li * 1e6 + i * 1001).toISOString(),
          }
          logger.logEvent(kind.builder(ctx, ...kind.extraArgs(i)))
          expected[username][site].push(expectedMessage(AGENTS[username].agent_id, ctx, kind, i))
          i++
        }
      }
    }

    const logged = kinds.length * rounds
    for (const logger of loggers) {
      const report = await logger.flush()
      assert.deepEqual(report, { sent: logged, deadLettered: 0, spooled: 0, dropped: 0 })
      const stats = logger.stats()
      assert.equal(stats.accepted, logged)
      assert.equal(stats.sent, logged)
      assert.equal(stats.retried, 0)
      // Batching: a request carries up to 10 events; 2 groups (one per topic) per logger.
      const groups = usernames.length
      assert.ok(stats.requests >= Math.ceil(logged / 10), `requests ${stats.requests}`)
      assert.ok(stats.requests <= Math.ceil(logged / 10) + groups, `requests ${stats.requests} for ${logged} events`)
    }

    for (const username of usernames) {
      const total = SITES.reduce((n, s) => n + expected[username][s].length, 0)
      const received = await receiveAll(moto.endpoint, topics[username].queueUrl, { expected: total, timeoutMs: 20_000 })
      assert.equal(received.length, total, `messages on the queue of ${username}`)
      const dedupIds = new Set()
      for (const r of received) {
        assert.equal(r.subject, 'RC')
        assert.ok(SITES.includes(r.messageGroupId), `group ${r.messageGroupId}`)
        assert.equal(typeof r.messageDeduplicationId, 'string')
        assert.ok(r.messageDeduplicationId.length > 0)
        assert.ok(!dedupIds.has(r.messageDeduplicationId), 'dedup ids are unique')
        dedupIds.add(r.messageDeduplicationId)
        assert.equal(r.envelope.TopicArn, topics[username].topicArn)
      }
      for (const site of SITES) {
        // Exact strings, per-group order = log order, none missing, none duplicated.
        const got = received.filter((r) => r.messageGroupId === site).map((r) => r.message)
        assert.deepEqual(got, expected[username][site], `messages of ${username} / ${site}`)
      }
    }

    for (const logger of loggers) {
      const report = await logger.close({ timeoutMs: 2000 })
      assert.equal(report.timedOut, false)
    }
  })

  test('a standard (non-FIFO) topic gets every message, without group or dedup ids', async () => {
    const { topicArn, queueUrl } = await createStandardTopicWithQueue(moto.endpoint, 'e2e-standard')
    const logger = new SnsLogger({
      siteUrl: SITES[0],
      dfConfig: dfConfigOf([{ ...SUPPORT, agentId: 'std-agent', topic: topicArn }]),
      sink: { kind: 'sns', endpoint: moto.endpoint, region: 'us-east-1', requestTimeoutMs: 5000 },
      lingerMs: 20,
      spoolDir: tmp(),
    })
    const kinds = eventKinds()
    const expected = []
    for (const [i, kind] of kinds.entries()) {
      const ctx = { roomId: `std-room-${i}`, timestamp: new Date(Date.UTC(2023, 5, 1) + i).toISOString() }
      logger.logEvent(kind.builder(ctx, ...kind.extraArgs(i)))
      expected.push(expectedMessage('std-agent', ctx, kind, i))
    }
    assert.deepEqual(await logger.flush(), { sent: kinds.length, deadLettered: 0, spooled: 0, dropped: 0 })
    assert.ok(logger.stats().requests <= Math.ceil(kinds.length / 10) + 1, `requests ${logger.stats().requests}`)
    const received = await receiveAll(moto.endpoint, queueUrl, { expected: kinds.length, timeoutMs: 20_000 })
    assert.equal(received.length, kinds.length)
    for (const r of received) {
      assert.equal(r.subject, 'RC')
      assert.equal(r.messageGroupId, undefined)
      assert.equal(r.messageDeduplicationId, undefined)
    }
    // A standard queue does not promise order: compare as sets (and no duplicates).
    assert.deepEqual(
      received.map((r) => r.message).sort(),
      [...expected].sort(),
    )
    await logger.close({ timeoutMs: 2000 })
  })
})
