// The widget script's delivery rules, in Node against a scripted relay on loopback (the browser
// adds nothing here; the beacons and the duplicated tab are in widget-livechat.test.mjs):
// retries on 408, 429 and 5xx after the relay's Retry-After, with the same messageIds; no retry
// on other refusals; the cap of events held in memory (MAX_EVENTS, 200) and its ERR_BUFFER_FULL
// notices; a 200 that does not account for every event of the batch is no confirmation: the
// batch goes again with the same messageIds.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, afterEach, beforeEach, test } from 'node:test'

import { createWidgetLogger } from '../widget/index.mjs'

/**
 * Answers the n-th request with `replies[n]` (`{ status, headers, body }`), the relay's answer
 * (every event accepted) after them. Records each request's batch.
 */
async function scriptedRelay(replies = []) {
  const requests = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d) => (body += d))
    req.on('end', () => {
      const batch = JSON.parse(body).batch
      requests.push(batch)
      const reply = replies[requests.length - 1] ?? { status: 200, body: JSON.stringify({ accepted: batch.length, rejected: [] }) }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body ?? '')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = () => new Promise((r) => (server.listening ? server.close(r, server.closeAllConnections()) : r()))
  servers.push(close) // closed after the file's tests even when an assertion fails
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close }
}
const servers = []
const loggers = []
after(async () => {
  for (const logger of loggers) logger.close()
  for (const close of servers) await close()
})

// The widget waits between attempts with setTimeout. The delays the widget (widget/index.mjs,
// by its call stack) asks for are recorded, and those of a Retry-After (whole seconds) are cut
// to 0 so that the test does not sit through them; every other timer runs as asked.
let realSetTimeout
let retryWaits
beforeEach(() => {
  retryWaits = []
  realSetTimeout = globalThis.setTimeout
  globalThis.setTimeout = (fn, ms, ...args) => {
    if (ms >= 1000 && new Error().stack.includes('/widget/index.mjs')) {
      retryWaits.push(ms)
      return realSetTimeout(fn, 0, ...args)
    }
    return realSetTimeout(fn, ms, ...args)
  }
})
afterEach(() => {
  globalThis.setTimeout = realSetTimeout
})

function widget(relayUrl, options = {}) {
  const notices = []
  const logger = createWidgetLogger({ relayUrl, roomId: 'room-1', batchMs: 0, livechat: false, onError: (n) => notices.push(n), ...options })
  loggers.push(logger)
  return { logger, notices }
}

const refusal = (status, code, retryAfter) => ({
  status,
  headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  body: JSON.stringify({ code, message: `scripted ${status}` }),
})

test('408, 429 and 503 are retried after the relay\'s Retry-After, with the same messageIds each attempt; then accepted', async () => {
  const relay = await scriptedRelay([refusal(408, 'ERR_TIMEOUT', 3), refusal(429, 'ERR_RATE_LIMITED', 7), refusal(503, 'ERR_UNAVAILABLE', 3)])
  const { logger, notices } = widget(relay.url)
  logger.transcriptDownloadSelected()
  logger.surveyLinkClicked()
  await logger.flush()
  await relay.close()
  assert.equal(relay.requests.length, 4, 'three refusals, then the accepted attempt (the fourth and last allowed)')
  assert.equal(relay.requests[0].length, 2)
  for (const batch of relay.requests) assert.deepEqual(batch, relay.requests[0], 'every attempt carries the same events and messageIds')
  assert.deepEqual(retryWaits, [3000, 7000, 3000], 'each wait is the Retry-After of the answer before it')
  const { sent, failed, retries } = logger.stats()
  assert.deepEqual({ sent, failed, retries }, { sent: 2, failed: 0, retries: 3 })
  assert.deepEqual(notices, [], 'nothing to report: the events got through')
  logger.close()
})

test('a 5xx on every attempt: four attempts with the same messageIds, then failed and reported with the relay\'s code', async () => {
  const relay = await scriptedRelay([refusal(500, 'ERR_INTERNAL', 3), refusal(502, 'ERR_UPSTREAM', 3), refusal(504, 'ERR_UPSTREAM', 7), refusal(503, 'ERR_UNAVAILABLE', 7)])
  const { logger, notices } = widget(relay.url)
  logger.transcriptDownloadSelected()
  await logger.flush()
  await relay.close()
  assert.equal(relay.requests.length, 4)
  for (const batch of relay.requests) assert.deepEqual(batch, relay.requests[0])
  assert.deepEqual(retryWaits, [3000, 3000, 7000], 'no wait after the last attempt')
  assert.deepEqual(notices.map((n) => [n.code, n.events]), [['ERR_UNAVAILABLE', 1]])
  const { sent, failed, retries } = logger.stats()
  assert.deepEqual({ sent, failed, retries }, { sent: 0, failed: 1, retries: 3 })
  logger.close()
})

test('a refusal that is not 408, 429 or 5xx is not retried, even with a Retry-After', async () => {
  const relay = await scriptedRelay([refusal(400, 'ERR_INVALID_BATCH', 3)])
  const { logger, notices } = widget(relay.url)
  logger.surveyLinkClicked()
  await logger.flush()
  await relay.close()
  assert.equal(relay.requests.length, 1)
  assert.deepEqual(retryWaits, [])
  assert.deepEqual(notices.map((n) => [n.code, n.events]), [['ERR_INVALID_BATCH', 1]])
  assert.deepEqual({ failed: logger.stats().failed, retries: logger.stats().retries }, { failed: 1, retries: 0 })
  logger.close()
})

test('at most 200 events wait for a room id: the 201st and later are dropped, one ERR_BUFFER_FULL notice each; the 200 are sent once the room id is set', async () => {
  const relay = await scriptedRelay()
  const { logger, notices } = widget(relay.url, { roomId: undefined })
  for (let i = 0; i < 205; i++) logger.transcriptDownloadSelected()
  assert.deepEqual(notices.map((n) => [n.code, n.events]), Array(5).fill(['ERR_BUFFER_FULL', 1]))
  let s = logger.stats()
  assert.deepEqual({ logged: s.logged, dropped: s.dropped, waiting: s.waitingForRoomId }, { logged: 200, dropped: 5, waiting: 200 })

  logger.setRoomId('room-7')
  await logger.flush()
  const sent = relay.requests.flat()
  assert.deepEqual(relay.requests.map((b) => b.length), [50, 50, 50, 50], 'in batches of 50')
  assert.equal(new Set(sent.map((e) => e.messageId)).size, 200, '200 distinct events, none twice')
  assert.ok(sent.every((e) => e.roomId === 'room-7'))
  s = logger.stats()
  assert.deepEqual({ sent: s.sent, dropped: s.dropped, waiting: s.waitingForRoomId, pending: s.pending }, { sent: 200, dropped: 5, waiting: 0, pending: 0 })
  // Room for more now: nothing is held.
  logger.surveyLinkClicked()
  await logger.flush()
  await relay.close()
  assert.equal(notices.length, 5, 'no new notice')
  assert.equal(relay.requests.length, 5)
  logger.close()
})

/** A 200 from whatever stands in front of the relay (Retry-After 0: the backoff would only slow the test). */
const notTheRelays = (body, contentType = 'application/json') => ({ status: 200, headers: { 'content-type': contentType, 'retry-after': '0' }, body })
const NOT_THE_RELAYS = [
  notTheRelays('<html>Bad gateway, friendly edition</html>', 'text/html'),
  notTheRelays(''),
  notTheRelays('{"accepted":1,"rejected":[]}'),
  notTheRelays('{"accepted":1,"rejected":[{"index":5,"code":"ERR_X","message":"x"}]}'),
]

test('a 200 that is not the relay\'s answer for the batch: sent again with the same messageIds, reported once, then counted as sent', async () => {
  const relay = await scriptedRelay(NOT_THE_RELAYS.slice(0, 3))
  const { logger, notices } = widget(relay.url)
  logger.transcriptDownloadSelected()
  logger.surveyLinkClicked()
  await logger.flush()
  await relay.close()
  assert.equal(relay.requests.length, 4)
  for (const batch of relay.requests) assert.deepEqual(batch, relay.requests[0], 'every attempt carries the same events and messageIds')
  assert.equal(relay.requests[0].length, 2)
  assert.deepEqual(notices.map((n) => [n.code, n.events]), [['ERR_UNCONFIRMED', 2]])
  const { sent, failed, retries } = logger.stats()
  assert.deepEqual({ sent, failed, retries }, { sent: 2, failed: 0, retries: 3 })
  logger.close()
})

test('never confirmed: failed after the last attempt, reported once, never counted as sent', async () => {
  // None of these accounts for a batch of one event.
  const relay = await scriptedRelay([NOT_THE_RELAYS[0], NOT_THE_RELAYS[1], notTheRelays('{"accepted":0,"rejected":[]}'), NOT_THE_RELAYS[3], NOT_THE_RELAYS[0]])
  const { logger, notices } = widget(relay.url)
  logger.surveyLinkClicked()
  await logger.flush()
  await relay.close()
  assert.equal(relay.requests.length, 4, 'the widget makes four attempts per batch')
  assert.deepEqual(notices.map((n) => n.code), ['ERR_UNCONFIRMED'])
  const { sent, failed } = logger.stats()
  assert.deepEqual({ sent, failed }, { sent: 0, failed: 1 })
  logger.close()
})
