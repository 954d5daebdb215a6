// How the widget script reads the relay's answer, in Node against a scripted server on loopback
// (the browser run, with the real relay: widget-browser.test.mjs). A 200 that does not account
// for every event of the batch is no confirmation: the batch goes again with the same messageIds.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { test } from 'node:test'

import { createWidgetLogger } from '../widget/index.mjs'

/** Answers the n-th request with `replies[n]` (`{ body, contentType }`), the relay's answer after them. */
async function scriptedRelay(replies) {
  const requests = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d) => (body += d))
    req.on('end', () => {
      const batch = JSON.parse(body).batch
      requests.push(batch)
      const reply = replies[requests.length - 1] ?? { body: JSON.stringify({ accepted: batch.length, rejected: [] }) }
      // Retry-After 0: the widget's backoff would only slow the test down.
      res.writeHead(200, { 'content-type': reply.contentType ?? 'application/json', 'retry-after': '0' }).end(reply.body)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => new Promise((r) => server.close(r, server.closeAllConnections())) }
}

function widget(relayUrl) {
  const notices = []
  const logger = createWidgetLogger({ relayUrl, roomId: 'room-1', batchMs: 0, livechat: false, onError: (n) => notices.push(n) })
  return { logger, notices }
}

const NOT_THE_RELAYS = [
  { body: '<html>Bad gateway, friendly edition</html>', contentType: 'text/html' },
  { body: '' },
  { body: '{"accepted":1,"rejected":[]}' },
  { body: '{"accepted":1,"rejected":[{"index":5,"code":"ERR_X","message":"x"}]}' },
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
  const relay = await scriptedRelay([NOT_THE_RELAYS[0], NOT_THE_RELAYS[1], { body: '{"accepted":0,"rejected":[]}' }, NOT_THE_RELAYS[3], NOT_THE_RELAYS[0]])
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
