// The relay over real HTTP, as a child process (`sns-logger serve`) writing to the file sink:
// every answer the issue names (200 with per-event rejections, 400, 401, 403, 404, 405, 408,
// 413, 415, 429, 503), CORS, the rate limit, /metrics, the command line, and serve() from
// code. Delivery to SNS (moto), draining and outages are in relay-e2e.test.mjs.

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createServer, connect } from 'node:net'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { FAKE_KEY_BODY, SALES, SITE_URL, SUPPORT, dfConfig, tempDir } from './support/fixtures.mjs'
import { DF_NEXT_TOKEN, DF_TOKEN, SF_TOKEN, TOKENS, post, runCli, startRelay } from './support/relay.mjs'
import { waitUntil } from './support/wait.mjs'

const require = createRequire(import.meta.url)
const { SnsLogger, serve } = require('../index.js')

const dir = tempDir('sns-logger-relay-http-')
const DF_CONFIG = join(dir, 'df_config.json')
writeFileSync(DF_CONFIG, JSON.stringify(dfConfig()))
const TOKENS_FILE = join(dir, 'tokens.json')
writeFileSync(TOKENS_FILE, JSON.stringify(TOKENS))
const ORIGIN = 'http://localhost:3000'
const SECRETS = [SF_TOKEN, DF_TOKEN, DF_NEXT_TOKEN, FAKE_KEY_BODY]

const bearer = (token) => ({ authorization: `Bearer ${token}` })
const widgetHeaders = (extra = {}) => ({ origin: ORIGIN, 'content-type': 'text/plain;charset=UTF-8', ...extra })

const appEvent = (roomId, extra = {}) => ({ agent: SUPPORT.username, roomId, category: 'Escalation', action: 'attempted', ...extra })
const widgetEvent = (roomId, extra = {}) => ({
  agent: SUPPORT.username,
  roomId,
  tabId: 'tab-1',
  category: 'Transcript Download',
  action: 'selected',
  ...extra,
})

/** What logEvent throws for `event`, as the relay should report it. */
function logEventRejection(event) {
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' } })
  try {
    logger.logEvent(event)
  } catch (error) {
    return { code: error.code, message: error.message }
  } finally {
    logger.close({ timeoutMs: 0 })
  }
  throw new Error(`logEvent took ${JSON.stringify(event)}`)
}

function published(path) {
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch {}
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

/** What the file sink at `path` holds once it has `count` records, or after 5 s (the caller asserts). */
async function waitForPublished(path, count) {
  await waitUntil(() => published(path).length >= count, `${count} records in ${path}`, { timeoutMs: 5000, failOnTimeout: false })
  return published(path)
}

/**
 * A relay (child process) of `config` (its tokens, widgetOrigins) whose logger writes to a file
 * sink of its own, `relay.out` (`name`.jsonl in the test directory).
 */
async function relayToFile(name, { args = [], ...config } = {}) {
  const out = join(dir, `${name}.jsonl`)
  const relay = await startRelay({ dir, args, config: { ...config, logger: { siteUrl: SITE_URL, dfConfig: DF_CONFIG, sink: { kind: 'file', path: out } } } })
  return Object.assign(relay, { out })
}

function assertNoSecret(text, where) {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `${where} shows a secret`)
}

describe('relay: the apps route, /v1/batch', () => {
  let relay
  before(async () => {
    relay = await relayToFile('apps', { tokens: TOKENS_FILE })
  })
  after(async () => {
    assert.equal(await relay.stop(), 0)
    assertNoSecret(relay.stdout() + relay.stderr(), 'the relay output')
  })

  test('takes valid events, reports each invalid one by index with logEvent code and message', async () => {
    const invalid = [
      { agent: SUPPORT.username, roomId: 'r', category: 'Nope', action: 'x' },
      { agent: SUPPORT.username, roomId: 'r', category: 'Escalation', action: 'failed', properties: { failure_reason: 'bored' } },
      { agent: 'nobody', roomId: 'r', category: 'Escalation', action: 'attempted' },
      { agent: SUPPORT.username, roomId: '', category: 'Escalation', action: 'attempted' },
      { agent: SUPPORT.username, roomId: 'r', category: 'Escalation', action: 'attempted', timestamp: 'yesterday' },
    ]
    const batch = [
      appEvent('room-a', { timestamp: '2022-09-26T19:50:47.225+02:00', messageId: 'a-1' }),
      ...invalid,
      { ...appEvent('room-b'), agent: SALES.username },
      42,
      appEvent('room-c', { messageId: 'not valid!' }),
    ]
    const answer = await post(`${relay.url}/v1/batch`, { batch }, bearer(SF_TOKEN))
    assert.equal(answer.status, 200, answer.text)
    const expected = [
      ...invalid.map((event, i) => ({ index: i + 1, ...logEventRejection(event) })),
      { index: 7, ...logEventRejection(42), message: 'an event must be an object { roomId, category, action, properties? }, got a number' },
      {
        index: 8,
        code: 'ERR_INVALID_EVENT',
        message: 'messageId "not valid!" is not allowed; allowed: 1 to 64 characters from A-Z, a-z, 0-9, "_" and "-"',
      },
    ]
    assert.deepEqual(answer.json, { accepted: 2, rejected: expected })

    const records = await waitForPublished(relay.out, 2)
    assert.equal(records.length, 2)
    // Two topics, two batches: their order in the file is not fixed.
    const first = records.find((r) => r.TopicArn === SUPPORT.topic)
    const second = records.find((r) => r.TopicArn === SALES.topic)
    assert.equal(first.TopicArn, SUPPORT.topic)
    assert.equal(first.MessageGroupId, SITE_URL)
    assert.equal(first.Subject, 'RC')
    assert.deepEqual(JSON.parse(first.Message), {
      dialogflowAgentId: SUPPORT.agentId,
      roomId: 'room-a',
      tabId: '',
      category: 'Escalation',
      action: 'attempted',
      properties: {},
      eventType: 'session',
      timestamp: '2022-09-26T17:50:47.225Z',
    })
    assert.equal(second.TopicArn, SALES.topic)
    assert.equal(JSON.parse(second.Message).roomId, 'room-b')
    // Without a messageId the relay assigns an id as logEvent does; with one, it derives it.
    assert.match(second.MessageDeduplicationId, /^[0-9a-f]{32}-[0-9a-f]{16}$/)
    assert.match(first.MessageDeduplicationId, /^m[0-9a-f]{64}$/)
  })

  test('a retried batch gets the same dedup ids from its messageIds; another source gets others', async () => {
    const batch = [appEvent('retry-1', { messageId: 'retry-1' }), appEvent('retry-2', { messageId: 'retry-2' })]
    const before = published(relay.out).length
    for (const token of [SF_TOKEN, SF_TOKEN, DF_NEXT_TOKEN]) {
      const answer = await post(`${relay.url}/v1/batch`, { batch }, bearer(token))
      assert.deepEqual(answer.json, { accepted: 2, rejected: [] })
    }
    const records = (await waitForPublished(relay.out, before + 6)).slice(before)
    const ids = records.map((r) => r.MessageDeduplicationId)
    assert.equal(ids[0], ids[2])
    assert.equal(ids[1], ids[3])
    assert.notEqual(ids[0], ids[1])
    assert.notEqual(ids[4], ids[0], 'DF.app (its second, rotated token) dedups apart from SF.app')
  })

  test('401 without a token or with an unknown one, and the token is never echoed', async () => {
    const body = { batch: [appEvent('r')] }
    for (const headers of [{}, { authorization: SF_TOKEN }, bearer('not-a-token-0123456789'), bearer(`${SF_TOKEN}x`), { authorization: `Basic ${SF_TOKEN}` }]) {
      const answer = await post(`${relay.url}/v1/batch`, body, headers)
      assert.equal(answer.status, 401, JSON.stringify(headers))
      assert.equal(answer.json.code, 'ERR_UNAUTHORIZED')
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer')
      assertNoSecret(answer.text, 'a 401 body')
      assert.ok(!answer.text.includes('not-a-token'), 'the presented token is not echoed')
    }
  })

  test('415 for another content type, 400 for bad JSON or shape, 404 and 405', async () => {
    const body = JSON.stringify({ batch: [appEvent('r')] })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const answer = await post(`${relay.url}/v1/batch`, body, { ...bearer(SF_TOKEN), 'content-type': type })
      assert.equal(answer.status, 415, type)
      assert.equal(answer.json.code, 'ERR_UNSUPPORTED_MEDIA_TYPE')
    }
    const charset = await post(`${relay.url}/v1/batch`, body, { ...bearer(SF_TOKEN), 'content-type': 'application/json; charset=utf-8' })
    assert.equal(charset.status, 200)

    const bad = await post(`${relay.url}/v1/batch`, '{"batch": [', bearer(SF_TOKEN))
    assert.equal(bad.status, 400)
    assert.equal(bad.json.code, 'ERR_BAD_JSON')
    for (const shape of ['[]', '{"events": []}', '{"batch": {}}', '"x"']) {
      const answer = await post(`${relay.url}/v1/batch`, shape, bearer(SF_TOKEN))
      assert.equal(answer.status, 400, shape)
      assert.equal(answer.json.code, 'ERR_BAD_BATCH')
      assert.match(answer.json.message, /^the body must be \{"batch": \[event, \.\.\.\]\}/)
    }
    const missing = await fetch(`${relay.url}/v1/nothing`)
    assert.equal(missing.status, 404)
    assert.equal((await missing.json()).code, 'ERR_NOT_FOUND')
    const wrongMethod = await fetch(`${relay.url}/v1/batch`)
    assert.equal(wrongMethod.status, 405)
  })

  test('415 for a Content-Encoding or a charset the relay does not read; a lone surrogate is named', async () => {
    const body = JSON.stringify({ batch: [appEvent('r')] })
    for (const [headers, message] of [
      [{ 'content-encoding': 'gzip' }, /^Content-Encoding "gzip" is not taken here; the relay reads bodies as sent \(identity\)/],
      [{ 'content-encoding': 'identity, br' }, /^Content-Encoding "br" is not taken here/],
      [{ 'content-type': 'application/json; charset=latin1' }, /^charset "latin1" is not taken here; allowed: utf-8/],
      [{ 'content-type': 'application/json;charset="ISO-8859-1"' }, /^charset "iso-8859-1" is not taken here/],
    ]) {
      const answer = await post(`${relay.url}/v1/batch`, body, { ...bearer(SF_TOKEN), ...headers })
      assert.equal(answer.status, 415, JSON.stringify(headers))
      assert.equal(answer.json.code, 'ERR_UNSUPPORTED_MEDIA_TYPE')
      assert.match(answer.json.message, message)
    }
    for (const headers of [{ 'content-encoding': 'identity' }, { 'content-type': 'application/json; charset="UTF-8"' }]) {
      const answer = await post(`${relay.url}/v1/batch`, body, { ...bearer(SF_TOKEN), ...headers })
      assert.equal(answer.status, 200, JSON.stringify(headers))
    }

    // JSON.stringify writes a lone surrogate as its escape; a pair is one character.
    const lone = JSON.stringify({ batch: [appEvent('\ud800'), appEvent('x', { properties: { p: 'a\udc00' } }), appEvent('\ud83d\ude00')] })
    assert.ok(lone.includes('"\\ud800"') && lone.includes('a\\udc00'))
    const answer = await post(`${relay.url}/v1/batch`, lone, bearer(SF_TOKEN))
    assert.equal(answer.status, 200, answer.text)
    assert.equal(answer.json.accepted, 1, 'the pair is a character like any other')
    assert.deepEqual(
      answer.json.rejected.map((r) => [r.index, r.code]),
      [
        [0, 'ERR_INVALID_EVENT'],
        [1, 'ERR_INVALID_EVENT'],
      ],
    )
    assert.match(answer.json.rejected[0].message, /^the event is not valid JSON: the escape \\ud800 at line 1 column \d+ is a lone surrogate/)
    assert.match(answer.json.rejected[1].message, /^the event is not valid JSON: the escape \\udc00 at line 1 column \d+ is a lone surrogate/)
  })

  test('413 for a body, an event count or an event over the limits', async () => {
    const event = appEvent('r')
    const many = await post(`${relay.url}/v1/batch`, { batch: Array(501).fill(event) }, bearer(SF_TOKEN))
    assert.equal(many.status, 413)
    assert.equal(many.json.code, 'ERR_TOO_LARGE')
    assert.match(many.json.message, /more than 500 events/)
    const exactly = await post(`${relay.url}/v1/batch`, { batch: Array(500).fill(event) }, bearer(SF_TOKEN))
    assert.deepEqual(exactly.json, { accepted: 500, rejected: [] })

    const big = appEvent('r', { properties: { pad: 'x'.repeat(33 * 1024) } })
    const bigEvent = await post(`${relay.url}/v1/batch`, { batch: [event, big] }, bearer(SF_TOKEN))
    assert.equal(bigEvent.status, 413)
    assert.match(bigEvent.json.message, /^event 1 is \d+ bytes of JSON; this route takes at most 32768 per event/)

    const huge = JSON.stringify({ batch: Array(20).fill(appEvent('r', { properties: { pad: 'x'.repeat(30 * 1024) } })) })
    assert.ok(huge.length > 512 * 1024)
    const hugeBody = await post(`${relay.url}/v1/batch`, huge, bearer(SF_TOKEN))
    assert.equal(hugeBody.status, 413)
    assert.match(hugeBody.json.message, /the body is over 524288 bytes/)
  })

  test('408 when the body is too slow to arrive', async () => {
    const slow = await relayToFile('slow', { args: ['--body-timeout-ms', '300'], tokens: TOKENS })
    try {
      const { port } = new URL(slow.url)
      const answer = await new Promise((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1')
        let text = ''
        socket.setEncoding('utf8')
        socket.on('data', (d) => (text += d))
        socket.on('end', () => resolve(text))
        socket.on('error', reject)
        socket.write(
          `POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SF_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{"batch": [`,
        )
        setTimeout(() => socket.destroy(new Error('no answer in 5 s')), 5000).unref()
      })
      assert.match(answer, /^HTTP\/1.1 408/)
      assert.match(answer, /ERR_REQUEST_TIMEOUT/)
    } finally {
      assert.equal(await slow.stop(), 0)
    }
  })

  test('/healthz and /readyz', async () => {
    assert.deepEqual(await (await fetch(`${relay.url}/healthz`)).json(), { status: 'ok' })
    const ready = await fetch(`${relay.url}/readyz`)
    assert.equal(ready.status, 200)
    assert.deepEqual(await ready.json(), { status: 'ready' })
  })

  test('/metrics: Prometheus text on the admin listener, exact counts of its own relay, no token, room id, address or origin', async () => {
    // Its own relay: the counts are those of the requests below, whatever ran before.
    const own = await relayToFile('metrics', { tokens: TOKENS_FILE, widgetOrigins: [ORIGIN] })
    try {
      for (const headers of [{}, { authorization: SF_TOKEN }, bearer('not-a-token-0123456789'), bearer(`${SF_TOKEN}x`), { authorization: `Basic ${SF_TOKEN}` }]) {
        assert.equal((await post(`${own.url}/v1/batch`, { batch: [appEvent('metrics-401')] }, headers)).status, 401)
      }
      const sf = await post(`${own.url}/v1/batch`, { batch: [appEvent('metrics-sf-1'), appEvent('metrics-bad', { category: 'Nope' }), appEvent('metrics-sf-2')] }, bearer(SF_TOKEN))
      assert.equal(sf.json.accepted, 2)
      const df = await post(`${own.url}/v1/batch`, { batch: [appEvent('metrics-df-1'), appEvent('metrics-df-2')] }, bearer(DF_NEXT_TOKEN))
      assert.equal(df.json.accepted, 2)
      const widget = await post(`${own.url}/v1/w`, JSON.stringify({ batch: [widgetEvent('metrics-w-1')] }), widgetHeaders())
      assert.equal(widget.json.accepted, 1)
      const foreign = await post(`${own.url}/v1/w`, JSON.stringify({ batch: [widgetEvent('metrics-w-2')] }), widgetHeaders({ origin: 'https://evil.example.com' }))
      assert.equal(foreign.status, 403)
      assert.equal((await waitForPublished(own.out, 5)).length, 5)

      const response = await fetch(`${own.adminUrl}/metrics`)
      assert.equal(response.status, 200)
      assert.match(response.headers.get('content-type'), /^application\/openmetrics-text/)
      const text = await response.text()
      const series = new Map(
        text
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
      )
      const family = (prefix) => Object.fromEntries([...series].filter(([k]) => k.startsWith(prefix)))
      assert.deepEqual(family('sns_logger_http_requests_total'), {
        'sns_logger_http_requests_total{route="batch",status="200"}': 2,
        'sns_logger_http_requests_total{route="batch",status="401"}': 5,
        'sns_logger_http_requests_total{route="widget",status="200"}': 1,
        'sns_logger_http_requests_total{route="widget",status="403"}': 1,
      })
      assert.deepEqual(family('sns_logger_http_request_duration_seconds_count'), {
        'sns_logger_http_request_duration_seconds_count{route="batch"}': 7,
        'sns_logger_http_request_duration_seconds_count{route="widget"}': 2,
      })
      assert.ok(series.has('sns_logger_http_request_duration_seconds_bucket{le="0.0001",route="batch"}'))
      assert.equal(series.get('sns_logger_http_request_duration_seconds_bucket{le="+Inf",route="batch"}'), 7)
      assert.deepEqual(family('sns_logger_relay_events_accepted_total'), {
        'sns_logger_relay_events_accepted_total{source="SF.app",category="Escalation",action="attempted"}': 2,
        'sns_logger_relay_events_accepted_total{source="DF.app",category="Escalation",action="attempted"}': 2,
        'sns_logger_relay_events_accepted_total{source="Widget",category="Transcript Download",action="selected"}': 1,
      })
      assert.deepEqual(family('sns_logger_relay_events_rejected_total'), { 'sns_logger_relay_events_rejected_total{code="ERR_UNKNOWN_CATEGORY"}': 1 })
      for (const [name, value] of [
        ['sns_logger_events_logged_total', 5],
        ['sns_logger_events_sent_total', 5],
        ['sns_logger_events_spooled_total', 0],
        ['sns_logger_events_dropped_total', 0],
        ['sns_logger_queue_events', 0],
        ['sns_logger_relay_ready', 1],
      ]) {
        assert.equal(series.get(name), value, name)
      }
      assertNoSecret(text, '/metrics')
      for (const leak of ['metrics-', '127.0.0.1', 'localhost', 'evil.example.com', SITE_URL]) assert.ok(!text.includes(leak), `/metrics shows ${leak}`)
      assert.equal((await fetch(`${own.url}/metrics`)).status, 404, 'not on the public listener')
    } finally {
      assert.equal(await own.stop(), 0)
    }
  })
})

describe('relay: the widget route, /v1/w', () => {
  let relay
  before(async () => {
    relay = await relayToFile('widget', { args: ['--widget-origin', ORIGIN, '--widget-origin', 'https://www.example.com', '--widget-rate', '3'] })
  })
  after(async () => {
    assert.equal(await relay.stop(), 0)
  })
  // Each test uses its own client address (127.0.0.x) so that the rate limit is its own.
  let lastAddress = 1
  const fromNewAddress = () => `127.0.0.${++lastAddress}`

  async function widgetPost(body, headers = widgetHeaders(), localAddress = '127.0.0.1') {
    // fetch cannot pick a source address; http.request can.
    const data = typeof body === 'string' ? body : JSON.stringify(body)
    return new Promise((resolve, reject) => {
      const req = request(`${relay.url}/v1/w`, { method: 'POST', headers, localAddress }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (d) => (text += d))
        res.on('end', () => {
          let json = null
          try {
            json = JSON.parse(text)
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, json, text })
        })
      })
      req.on('error', reject)
      req.end(data)
    })
  }

  test('takes the widget events from an allowed origin as text/plain (sendBeacon), with CORS', async () => {
    const from = fromNewAddress()
    const batch = [
      widgetEvent('w-1'),
      widgetEvent('w-2', { category: 'Chat Session', action: 'closed', properties: { close_method: 'chat window' } }),
      widgetEvent('w-3', { category: 'Chat Session', action: 'closed', properties: { close_method: 'agent' } }),
      widgetEvent('w-4', { category: 'Escalation', action: 'attempted' }),
      widgetEvent('w-5', { tabId: undefined }),
      widgetEvent('w-6', { category: 'Window', action: 'opened', properties: { session_id: 's' }, messageId: 'w6' }),
    ]
    const answer = await widgetPost({ batch }, widgetHeaders(), from)
    assert.equal(answer.status, 200, answer.text)
    assert.equal(answer.headers['access-control-allow-origin'], ORIGIN)
    assert.match(answer.headers.vary, /origin/i)
    assert.equal(answer.headers['access-control-allow-credentials'], undefined)
    assert.match(answer.headers['access-control-expose-headers'], /retry-after/i)
    const widgetEvents =
      '"Chat Session" / "closed" with close_method "chat window", "Transcript Download" / "selected", "Survey" / "link_clicked", "Window" / "opened", "Window" / "closed"'
    assert.deepEqual(answer.json, {
      accepted: 3,
      rejected: [
        {
          index: 2,
          code: 'ERR_NOT_A_WIDGET_EVENT',
          message: `"Chat Session" / "closed" with close_method "agent" is not an event the widget sends; allowed from the widget: ${widgetEvents}`,
        },
        {
          index: 3,
          code: 'ERR_NOT_A_WIDGET_EVENT',
          message: `"Escalation" / "attempted" is not an event the widget sends; allowed from the widget: ${widgetEvents}`,
        },
        { index: 4, code: 'ERR_INVALID_EVENT', message: 'tabId is required for widget events: a non-empty string naming the browser tab' },
      ],
    })
    const records = await waitForPublished(relay.out, 3)
    assert.deepEqual(
      records.map((r) => [JSON.parse(r.Message).roomId, JSON.parse(r.Message).tabId, JSON.parse(r.Message).eventType]),
      [
        ['w-1', 'tab-1', 'customerAction'],
        ['w-2', 'tab-1', 'customerAction'],
        ['w-6', 'tab-1', 'customerAction'],
      ],
    )
    const json = await widgetPost({ batch: [widgetEvent('w-7')] }, widgetHeaders({ 'content-type': 'application/json' }), from)
    assert.equal(json.status, 200)
    const form = await widgetPost({ batch: [widgetEvent('w-8')] }, widgetHeaders({ 'content-type': 'multipart/form-data' }), from)
    assert.equal(form.status, 415)
  })

  test('403 for a foreign origin or none; preflight answered for allowed origins only', async () => {
    const from = fromNewAddress()
    for (const headers of [widgetHeaders({ origin: 'https://evil.example.com' }), { 'content-type': 'text/plain' }, widgetHeaders({ origin: 'null' })]) {
      const answer = await widgetPost({ batch: [widgetEvent('x')] }, headers, from)
      assert.equal(answer.status, 403)
      assert.equal(answer.json.code, 'ERR_ORIGIN_NOT_ALLOWED')
      assert.equal(answer.headers['access-control-allow-origin'], undefined)
    }
    const preflight = (origin) =>
      fetch(`${relay.url}/v1/w`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      })
    const allowed = await preflight('https://www.example.com')
    assert.ok(allowed.status === 200 || allowed.status === 204, `preflight status ${allowed.status}`)
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://www.example.com')
    assert.equal(allowed.headers.get('access-control-allow-methods'), 'POST,OPTIONS')
    assert.equal(allowed.headers.get('access-control-allow-headers'), 'content-type')
    assert.equal(allowed.headers.get('access-control-max-age'), '3600')
    assert.equal(allowed.headers.get('access-control-allow-credentials'), null)
    assert.match(allowed.headers.get('vary'), /origin/i)
    const foreign = await preflight('https://evil.example.com')
    assert.equal(foreign.status, 403)
    assert.equal(foreign.headers.get('access-control-allow-origin'), null)
  })

  test('429 with Retry-After past the rate (burst of twice the rate), per client address', async () => {
    const from = fromNewAddress()
    const statuses = []
    let limited
    for (let i = 0; i < 8; i++) {
      const answer = await widgetPost({ batch: [widgetEvent(`rate-${i}`)] }, widgetHeaders(), from)
      statuses.push(answer.status)
      if (answer.status === 429) limited ??= answer
    }
    // Rate 3/s, burst 6: the first 6 pass (a 7th may pass if a token came back meanwhile).
    assert.deepEqual(statuses.slice(0, 6), [200, 200, 200, 200, 200, 200])
    assert.ok(statuses.includes(429), `statuses ${statuses}`)
    assert.equal(limited.json.code, 'ERR_RATE_LIMITED')
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    assert.equal(limited.headers['access-control-allow-origin'], ORIGIN, 'the page can read the 429')
    const other = await widgetPost({ batch: [widgetEvent('other')] }, widgetHeaders(), fromNewAddress())
    assert.equal(other.status, 200, 'another address is not limited')
  })

  test('413 over the widget limits: 64 KiB body, 50 events, 8 KiB per event', async () => {
    const from = fromNewAddress()
    const many = await widgetPost({ batch: Array(51).fill(widgetEvent('m')) }, widgetHeaders(), from)
    assert.equal(many.status, 413)
    assert.match(many.json.message, /more than 50 events/)
    const big = await widgetPost({ batch: [widgetEvent('b', { roomId: 'x'.repeat(9000) })] }, widgetHeaders(), from)
    assert.equal(big.status, 413)
    assert.match(big.json.message, /at most 8192 per event/)
    const body = await widgetPost({ batch: Array(10).fill(widgetEvent('x'.repeat(7000))) }, widgetHeaders(), fromNewAddress())
    assert.equal(body.status, 413)
    assert.match(body.json.message, /over 65536 bytes/)
  })
})

describe('relay: closed by default, full, the command line, serve() from code', () => {
  test('without --tokens every /v1/batch gets 401, without --widget-origin every /v1/w gets 403, and it says so', async () => {
    const relay = await startRelay({ dir, config: { logger: { siteUrl: SITE_URL, dfConfig: DF_CONFIG, sink: { kind: 'memory' } } } })
    try {
      const said = await relay.stderrMatching(/every \/v1\/w request gets 403/)
      assert.match(said, /warning: no tokens file \(--tokens \/ SNS_LOGGER_TOKENS\): every \/v1\/batch request gets 401/)
      assert.match(said, /warning: no widget origin \(--widget-origin \/ SNS_LOGGER_WIDGET_ORIGINS\): every \/v1\/w request gets 403/)
      assert.equal((await post(`${relay.url}/v1/batch`, { batch: [appEvent('r')] }, bearer(SF_TOKEN))).status, 401)
      const widget = await post(`${relay.url}/v1/w`, { batch: [widgetEvent('r')] }, { origin: ORIGIN })
      assert.equal(widget.status, 403)
      assert.match(widget.json.message, /allows no widget origin/)
    } finally {
      assert.equal(await relay.stop(), 0)
    }
  })

  test('--ack queued: 503 with Retry-After, and /readyz 503, when the queue is full and nothing can spool', async () => {
    const relay = await startRelay({
      dir,
      config: {
        tokens: TOKENS,
        ack: 'queued',
        logger: {
          siteUrl: SITE_URL,
          dfConfig: DF_CONFIG,
          // Nothing listens on port 9: every send fails and the events stay queued.
          sink: { kind: 'sns', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', connectTimeoutMs: 100 },
          maxQueueEvents: 5,
          onOverflow: 'drop',
          spoolDir: mkdtempSync(join(dir, 'spool-')),
        },
      },
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' },
      args: ['--shutdown-timeout-ms', '200'],
    })
    try {
      const fill = await post(`${relay.url}/v1/batch`, { batch: Array(5).fill(appEvent('f')) }, bearer(SF_TOKEN))
      assert.deepEqual(fill.json, { accepted: 5, rejected: [] })
      const full = await post(`${relay.url}/v1/batch`, { batch: [appEvent('g')] }, bearer(SF_TOKEN))
      assert.equal(full.status, 503)
      assert.equal(full.json.code, 'ERR_UNAVAILABLE')
      assert.equal(full.headers.get('retry-after'), '5')
      const ready = await fetch(`${relay.url}/readyz`)
      assert.equal(ready.status, 503)
      assert.deepEqual(await ready.json(), { status: 'full', reason: 'full' })
    } finally {
      assert.equal(await relay.stop(), 0)
    }
  })

  test('--help explains every flag; bad flags or config exit 2; a port in use exits 1', async () => {
    const help = await runCli(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /serve/)
    const serveHelp = await runCli(['serve', '--help'])
    assert.equal(serveHelp.code, 0)
    for (const flag of ['--port', '--host', '--admin-port', '--admin-host', '--tokens', '--widget-origin', '--widget-rate', '--shutdown-timeout-ms']) {
      assert.ok(serveHelp.stdout.includes(flag), `serve --help explains ${flag}`)
    }
    for (const variable of ['SNS_LOGGER_PORT', 'SNS_LOGGER_TOKENS', 'SNS_LOGGER_WIDGET_ORIGINS', 'SNS_LOGGER_SITE_URL', 'SNS_LOGGER_DF_CONFIG', 'SNS_LOGGER_SPOOL_DIR']) {
      assert.ok(serveHelp.stdout.includes(variable), `serve --help names ${variable}`)
    }

    const env = { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: DF_CONFIG, SNS_LOGGER_SINK: 'memory' }
    for (const [args, extraEnv, message] of [
      [['serve', '--port', 'eighty'], {}, /--port "eighty" is not allowed; allowed: a whole number/],
      [['serve', '--port', '70000'], {}, /port 70000 is out of range; allowed: a whole number from 0 to 65535/],
      [['serve', '--bogus'], {}, /Unknown option '--bogus'/],
      [['launch'], {}, /unknown command "launch"/],
      [['serve', '--widget-origin', '*'], {}, /widget origin "\*" is not allowed/],
      [['serve', '--tokens', join(dir, 'missing.json')], {}, /tokens: cannot read the tokens file/],
      [['serve', '--port', '0'], { SNS_LOGGER_SITE_URL: '' , SNS_LOGGER_DF_CONFIG: '' }, /ERR_INVALID/],
      [['serve'], { SNS_LOGGER_WIDGET_RATE: 'lots' }, /SNS_LOGGER_WIDGET_RATE "lots" is not allowed/],
    ]) {
      const run = await runCli(args, { ...env, ...extraEnv })
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
      assert.match(run.stderr, message)
    }
    const badTokens = join(dir, 'bad-tokens.json')
    writeFileSync(badTokens, JSON.stringify({ 'SF.app': ['short-secret'] }))
    const bad = await runCli(['serve', '--tokens', badTokens], env)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /tokens.SF.app\[0\] is not allowed \(not shown\)/)
    assert.ok(!bad.stderr.includes('short-secret'))

    const taken = createServer()
    await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve))
    try {
      const inUse = await runCli(['serve', '--port', String(taken.address().port)], env)
      assert.equal(inUse.code, 1)
      assert.match(inUse.stderr, /ERR_LISTEN: cannot listen on 127\.0\.0\.1:\d+ for the relay/)
    } finally {
      taken.close()
    }
  })

  test('serve() from code: address, stats() and close()', async () => {
    const relay = serve({
      port: 0,
      adminPort: 0,
      tokens: TOKENS,
      widgetOrigins: [ORIGIN],
      logger: { siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' } },
    })
    assert.equal(relay.address.host, '127.0.0.1')
    assert.equal(relay.address.url, `http://127.0.0.1:${relay.address.port}`)
    assert.equal(`${relay.address}`, relay.address.url)
    assert.equal(new URL('/healthz', relay.address).port, String(relay.address.port))
    assert.notEqual(relay.adminAddress.port, relay.address.port)
    assert.deepEqual(relay.warnings, [])
    const answer = await post(`${relay.address.url}/v1/batch`, { batch: [appEvent('code-1'), { bad: true }] }, bearer(DF_TOKEN))
    assert.equal(answer.json.accepted, 1)
    const stats = relay.stats()
    assert.equal(stats.requests, 1)
    assert.equal(stats.eventsAccepted, 1)
    assert.equal(stats.eventsRejected, 1)
    assert.equal(stats.draining, false)
    assert.equal(stats.logger.accepted, 1)
    const closing = relay.close()
    assert.equal(relay.close(), closing, 'close() twice: the same promise')
    const report = await closing
    assert.equal(report.sent, 1)
    assert.equal(relay.stats().draining, true)
    await assert.rejects(fetch(`${relay.address.url}/healthz`), 'no longer listening')
    assert.throws(() => serve({ port: 0, adminPort: 0, widgetRate: 0, logger: { siteUrl: SITE_URL, dfConfig: dfConfig() } }), {
      code: 'ERR_INVALID_OPTIONS',
      message: /widgetRate 0 is out of range; allowed: a whole number from 1 to 1000000/,
    })
    assert.throws(() => serve({ port: 0, adminPort: 0, portt: 1, logger: { siteUrl: SITE_URL, dfConfig: dfConfig() } }), {
      code: 'ERR_INVALID_OPTIONS',
      message: /unknown option "portt"/,
    })
  })
})
