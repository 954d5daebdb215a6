// The example apps where they really run: both zips, packaged as `npm run example:package` does (the
// real rc-apps; the generated clients as committed, which generate-client.test.mjs keeps current), installed into the real Apps-Engine 1.62.0 AppManager, each in its own Deno
// subprocess (support/apps-engine.mjs). The apps log through the client generated into them, over
// the engine's HTTP bridge, to `sns-logger serve` (a child process) backed by moto; every event is
// read back from the SQS FIFO queue: each expected one exactly once, in order per room, nothing
// else. Dialogflow is a stand-in on loopback answering each visitor message with a decision.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { packageExamples } from '../scripts/package-examples.mjs'
import { bot, livechatEventContext, message, startAppsEngine, transferEventContext, user } from './support/apps-engine.mjs'
import { SITE_URL, SUPPORT, dfConfig, tempDir } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, motoSnsEnv, receiveAll, startMoto } from './support/moto.mjs'
import { startGate } from './support/gate.mjs'
import { DF_NEXT_TOKEN, DF_TOKEN, SF_TOKEN, TOKENS, startRelay } from './support/relay.mjs'
import { waitUntil } from './support/wait.mjs'

const dir = tempDir('sns-logger-apps-engine-')
const DF_CONFIG = join(dir, 'df_config.json')
writeFileSync(DF_CONFIG, JSON.stringify(dfConfig([SUPPORT])))
const DF_BOT = SUPPORT.username // the bot serving the rooms: the relay's `agent`, a key of df_config.json
const SF_BOT = 'salesforce.bot' // the agent that stands for Salesforce Live Agent
const unhandled = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))

/** Dialogflow, standing in: "handover <department>", "bye", anything else a plain reply; "down" a 503. */
async function startDialogflow() {
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d) => (body += d))
    req.on('end', () => {
      const text = JSON.parse(body).queryInput.text.text
      if (text === 'down') {
        res.writeHead(503).end()
        return
      }
      const [word, ...rest] = text.split(' ')
      const payload = word === 'handover' ? { action: 'handover', targetDepartment: rest.join(' ') } : word === 'bye' ? { action: 'close_chat' } : {}
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ queryResult: { fulfillmentMessages: [{ text: { text: ['…'] } }, { payload }] } }))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}/v2/detectIntent`, close: () => new Promise((r) => server.close(r)) }
}

describe('the example apps in the real Apps-Engine -> relay -> moto SNS -> SQS FIFO', () => {
  let moto, queueUrl, relay, gate, dialogflow, engine, sf, df
  const spoolDir = mkdtempSync(join(dir, 'spool-'))
  /** Every event the test expects, per room, in order: [category, action, properties]. */
  const expected = new Map()
  /** How many events the test expects of each app so far. */
  const expectedOf = new Map()
  const expect = (appId, roomId, ...events) => {
    expected.set(roomId, [...(expected.get(roomId) ?? []), ...events])
    expectedOf.set(appId, (expectedOf.get(appId) ?? 0) + events.length)
  }

  const startTheRelay = () =>
    startRelay({
      dir,
      config: { tokens: TOKENS, logger: { siteUrl: SITE_URL, dfConfig: DF_CONFIG, spoolDir, sink: { kind: 'sns', connectTimeoutMs: 300, requestTimeoutMs: 2000 } } },
      env: motoSnsEnv(moto.endpoint),
    })

  /** Events the relay accepted (200) from an app, through the engine's HTTP bridge. */
  const acceptedFrom = (appId) =>
    engine.httpRequests
      .filter((r) => r.appId === appId && r.url.endsWith('/v1/batch') && r.status === 200)
      .reduce((n, r) => n + JSON.parse(typeof r.body === 'string' ? r.body : JSON.stringify(r.body)).batch.length, 0)
  /**
   * Waits until the relay accepted every event expected of the app so far: two apps' events about
   * one room are ordered by when the relay took them, so a test lets one app's go before the other logs.
   */
  const relayed = (appId) => {
    const count = expectedOf.get(appId) ?? 0
    return waitUntil(() => acceptedFrom(appId) >= count, `${count} events of app ${appId} accepted by the relay`)
  }

  const room = (id, fields = {}) => engine.livechat.addRoom({ id, visitor: `token-${id}`, servedBy: DF_BOT, department: 'Support', ...fields })
  const visitorSays = (roomId, text) => {
    const current = engine.livechat.room(roomId)
    const guest = current.visitor
    return engine.hook('IPostMessageSent', message({ room: current, sender: user({ id: guest.id, username: guest.username }), text, visitor: guest, token: guest.token }))
  }
  const liveAgent = (roomId, report) =>
    engine.command('sf-liveagent', [JSON.stringify({ session: { roomId, key: `key-${roomId}!more`, requestedAt: Date.now() - 12_000, established: false }, ...report })], {
      roomId,
      senderUsername: SF_BOT,
    })

  before(async () => {
    const zips = packageExamples({ quiet: true, generate: false })
    assert.ok(zips, 'npm run example:package failed')
    moto = await startMoto()
    ;({ queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'rc-support-events'))
    relay = await startTheRelay()
    // The apps' address for the relay, held for the whole test (support/gate.mjs).
    gate = await startGate(relay.url)
    dialogflow = await startDialogflow()
    engine = await startAppsEngine()
    engine.livechat.addDepartment({ id: 'dep-support', name: 'Support' })
    engine.livechat.addDepartment({ id: 'dep-sales', name: 'Sales' })
    engine.livechat.addDepartment({ id: 'dep-old', name: 'Old', enabled: false })
    engine.users.set(`user-${DF_BOT}`, bot(DF_BOT))
    engine.livechat.addAgent({ ...bot(SF_BOT), departments: ['Sales'] })
    ;[sf, df] = [zips.find((z) => z.includes('sf-handoff')), zips.find((z) => z.includes('df-bot'))]
    sf = (await engine.install(sf)).appId
    df = (await engine.install(df)).appId
    const settings = {
      [sf]: { relay_url: gate.url, relay_token: SF_TOKEN, salesforce_bot_username: SF_BOT },
      [df]: { relay_url: gate.url, relay_token: DF_TOKEN, bot_usernames: `other.bot, ${DF_BOT}`, dialogflow_url: dialogflow.url, salesforce_bot_username: SF_BOT },
    }
    for (const [appId, values] of Object.entries(settings)) {
      for (const [id, value] of Object.entries(values)) await engine.setSetting(appId, id, value)
    }
  })

  after(async () => {
    await engine?.close()
    await dialogflow?.close()
    await relay?.stop()
    await gate?.stop()
    await moto?.stop()
    assert.deepEqual(unhandled, [], 'no unhandled rejection')
  })

  test('SF.app and DF.app log a handoff that Salesforce serves: started, attempted, successful, transferred, disconnected, closed', async () => {
    const a = room('room-a')
    await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room: a, agent: bot(DF_BOT) }))
    await engine.hook('IPostLivechatRoomStarted', a)
    await visitorSays('room-a', 'handover Sales')
    await engine.idle() // the transfer's own hook (a department transfer: not an agent transfer)
    expect(df, 'room-a', ['Chat Session', 'started', {}], ['Escalation', 'attempted', {}])
    await relayed(df)

    await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room: engine.livechat.room('room-a'), agent: bot(SF_BOT) }))
    await liveAgent('room-a', { message: { type: 'ChatEstablished', message: { name: 'Ann', userId: 'sf-1' } } })
    await liveAgent('room-a', { message: { type: 'ChatTransferred', message: { name: 'Bob', userId: 'sf-2' } } })
    await liveAgent('room-a', { message: { type: 'AgentDisconnect' } })
    await engine.hook('IPostLivechatRoomClosed', { ...engine.livechat.room('room-a'), isOpen: false, closer: 'user', closedAt: new Date() })
    expect(
      sf,
      'room-a',
      ['Escalation', 'successful', { queue_time: 12, sf_chat_key: 'key-room-a' }],
      ['Agent Transfer', 'successful', {}],
      ['Agent Disconnect', 'triggered', {}],
      ['Chat Session', 'closed', { close_method: 'liveagent_disconnected' }],
    )
    await relayed(sf)
    assert.deepEqual(engine.livechat.transfers.map((t) => [t.roomId, t.targetDepartment, t.ok]), [['room-a', 'dep-sales', true]])
  })

  test("DF.app's handover failures, each with the plan's reason, and the bot's own close", async () => {
    for (const [id, department] of [
      ['room-b', 'Support'],
      ['room-c', 'Sales'],
      ['room-d', 'Support'],
      ['room-e', 'Support'],
      ['room-f', 'Support'],
    ]) {
      await engine.hook('IPostLivechatRoomStarted', room(id, { department }))
      expect(df, id, ['Chat Session', 'started', {}])
    }
    await visitorSays('room-b', 'handover Nowhere')
    await visitorSays('room-b', 'handover Old')
    expect(df, 'room-b', ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'invalid target department' }])
    expect(df, 'room-b', ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'invalid target department' }])
    await visitorSays('room-c', 'handover Sales')
    expect(df, 'room-c', ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'same target department' }])

    engine.livechat.setAgentStatus(SF_BOT, 'offline')
    await visitorSays('room-d', 'handover Sales')
    engine.livechat.setAgentStatus(SF_BOT, 'online')
    expect(df, 'room-d', ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'liveagent bot offline or disabled' }])

    // Rocket.Chat fails the transfer itself.
    const transfer = engine.livechat.transfer.bind(engine.livechat)
    engine.livechat.transfer = () => {
      throw new Error('the server is shutting down')
    }
    await visitorSays('room-e', 'handover Sales')
    engine.livechat.transfer = transfer
    expect(df, 'room-e', ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'network/app error' }])

    // A plain reply and Dialogflow failing are no events; "bye" closes the room as the bot.
    await visitorSays('room-f', 'hello')
    await visitorSays('room-f', 'down')
    await visitorSays('room-f', 'bye')
    await engine.idle() // the close's own hook (SF.app: not a Salesforce room, nothing)
    expect(df, 'room-f', ['Chat Session', 'closed', { close_method: 'df_bot' }])
    assert.deepEqual(engine.livechat.closes.map((c) => [c.roomId, c.closer, c.ok]), [['room-f', DF_BOT, true]])
    assert.match(engine.logs(df).map((l) => l.text).join('\n'), /analytics \(visitor message\): Dialogflow answered 503/)
    await relayed(df)
  })

  test("SF.app's escalation failures from the Live Agent job, an agent transfer in Rocket.Chat, an agent's close", async () => {
    const g = room('room-g')
    await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room: g, agent: bot(DF_BOT) }))
    await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room: g, agent: bot(SF_BOT) }))
    await liveAgent('room-g', { message: { type: 'ChatRequestFail', message: { reason: 'Unavailable' } } })
    await liveAgent('room-g', { failure: { step: 'ChasitorInit', statusCode: 503 } })
    await liveAgent('room-g', { failure: { step: 'SessionId', statusCode: 404 } })
    await liveAgent('room-g', { failure: { step: 'Messages' } })
    await engine.hook('IPostLivechatRoomTransferred', transferEventContext({ type: 'agent', room: g, from: SF_BOT, to: 'alice' }))
    await engine.hook('IPostLivechatRoomClosed', { ...g, isOpen: false, closer: 'user', closedAt: new Date() })
    expect(
      sf,
      'room-g',
      ['Escalation', 'failed', { failure_reason: 'no agents available' }],
      ['Escalation', 'failed', { failure_reason: 'salesforce error' }],
      ['Escalation', 'failed', { failure_reason: 'salesforce chat API not found' }],
      ['Escalation', 'failed', { failure_reason: 'network/app error' }],
      ['Agent Transfer', 'successful', {}],
      ['Chat Session', 'closed', { close_method: 'agent' }],
    )
    await relayed(sf)
  })

  test('a settings change rebuilds the client without losing what the old one held', async () => {
    await engine.hook('IPostLivechatRoomStarted', room('room-h'))
    // Still in the old client's linger when the token changes: its close() sends it.
    await engine.setSetting(df, 'relay_token', DF_NEXT_TOKEN)
    await visitorSays('room-h', 'handover Nowhere')
    expect(df, 'room-h', ['Chat Session', 'started', {}], ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'invalid target department' }])
    await relayed(df)
    const tokens = engine.httpRequests.filter((r) => r.appId === df && r.url.endsWith('/v1/batch')).map((r) => r.headers.Authorization ?? r.headers.authorization)
    assert.deepEqual([...new Set(tokens)], [`Bearer ${DF_TOKEN}`, `Bearer ${DF_NEXT_TOKEN}`])
  })

  test('disabling an app sends what it holds before the app stops', async () => {
    const before = acceptedFrom(df)
    await engine.hook('IPostLivechatRoomStarted', room('room-i'))
    expect(df, 'room-i', ['Chat Session', 'started', {}])
    assert.equal(await engine.disable(df), 'manually_disabled')
    // onDisable waited for the client's close(): the event went out before the app stopped.
    assert.equal(acceptedFrom(df), before + 1)
    assert.equal(await engine.enable(df), 'manually_enabled')
  })

  test('the relay down for a while, then back at the same address: nothing lost, nothing twice', async () => {
    gate.shut()
    assert.equal(await relay.stop(), 0)
    const j = room('room-j')
    await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room: j, agent: bot(DF_BOT) }))
    await engine.hook('IPostLivechatRoomStarted', j)
    await visitorSays('room-j', 'handover Nowhere')
    expect(df, 'room-j', ['Chat Session', 'started', {}], ['Escalation', 'attempted', {}], ['Escalation', 'failed', { failure_reason: 'invalid target department' }])
    await waitUntil(() => engine.httpRequests.some((r) => r.appId === df && r.error !== undefined), 'a request of DF.app to fail while the relay is down')
    relay = await startTheRelay()
    gate.open(relay.url)
    const before = acceptedFrom(df)
    await waitUntil(() => acceptedFrom(df) > before, 'DF.app to deliver its held events once the relay is back')
    await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room: j, agent: bot(SF_BOT) }))
    await liveAgent('room-j', { message: { type: 'ChatRequestFail', message: { reason: 'InternalFailure' } } })
    expect(sf, 'room-j', ['Escalation', 'failed', { failure_reason: 'salesforce internal failure' }])
  })

  test('every expected event arrives in SNS exactly once, in order per room, through the engine; nothing else', async () => {
    const total = [...expected.values()].reduce((n, events) => n + events.length, 0)
    await waitUntil(() => acceptedFrom(sf) + acceptedFrom(df) >= total, `${total} events accepted by the relay`)
    const messages = (await receiveAll(moto.endpoint, queueUrl, { expected: total, timeoutMs: 60_000 })).map((m) => {
      assert.equal(m.subject, 'RC')
      assert.equal(m.messageGroupId, SITE_URL)
      return JSON.parse(m.message)
    })
    const byRoom = new Map()
    for (const m of messages) {
      assert.equal(m.dialogflowAgentId, SUPPORT.agentId)
      assert.equal(m.tabId, '')
      byRoom.set(m.roomId, [...(byRoom.get(m.roomId) ?? []), [m.category, m.action, m.properties]])
    }
    // queue_time is whole seconds since the job's request: 12 give or take the test's own pace.
    const queueTime = byRoom.get('room-a')?.find(([, action]) => action === 'successful')?.[2]
    if (queueTime && queueTime.queue_time >= 12 && queueTime.queue_time <= 14) queueTime.queue_time = 12
    assert.deepEqual(Object.fromEntries(byRoom), Object.fromEntries(expected))
    assert.equal(messages.length, total)
    // Only the relay received the apps' events, and only through the engine's HTTP bridge.
    assert.equal(acceptedFrom(sf) + acceptedFrom(df), total)
    for (const appId of [sf, df]) {
      // What the app wrote: the engine itself logs each handler's result at debug level, and for
      // onPreSettingUpdate that is the setting with its value, PASSWORD or not (README says so).
      const written = engine.logs(appId).filter((l) => !/was successfully called! The result is/.test(l.args[0]?.msg ?? ''))
      const showing = (token) => written.filter((l) => JSON.stringify(l).includes(token))
      for (const token of [SF_TOKEN, DF_TOKEN, DF_NEXT_TOKEN]) assert.deepEqual(showing(token), [], 'no token in the app log')
      assert.deepEqual(
        engine.logs(appId).filter((l) => l.severity === 'error' && /analytics/.test(l.text) && !/Dialogflow answered 503/.test(l.text)),
        [],
      )
    }
  })
})
