// sns-logger/client against a scripted HTTP server on loopback: batching, message ids, which
// answers are retried (timeouts, network errors, 408, 429 honouring Retry-After, 5xx) and which
// are not, the bounded buffer, flush/close deadlines, notices that never carry the token.
// (The client end to end, in Deno, through a real relay to moto: client-deno.test.mjs.)
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { after, test } from 'node:test'

import { RelayClientError, createRelayClient, escalationAttempted } from '../client/index.mjs'

const TOKEN = 'app-token-0123456789-secret'
const unhandled = []
process.on('unhandledRejection', (reason) => unhandled.push(reason))
after(() => assert.deepEqual(unhandled, [], 'no unhandled rejection'))

/** A server that records each request and answers with `reply(request, index)`. */
async function scriptedServer(reply) {
  const requests = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d) => (body += d))
    req.on('end', () => {
      const request = { headers: req.headers, body, json: JSON.parse(body), at: Date.now() }
      requests.push(request)
      const answer = reply(request, requests.length - 1)
      if (answer === 'hang') return // never answers: the client's timeout must end the wait
      if (answer === 'destroy') return req.socket.destroy()
      const { status = 200, headers = {}, json, body: raw } = answer
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(raw ?? JSON.stringify(json ?? { accepted: request.json.batch.length, rejected: [] }))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    requests,
    close: () => new Promise((resolve) => server.close(resolve, server.closeAllConnections())),
  }
}

const ok = () => ({ status: 200 })
const events = (client, from, count) => {
  for (let n = from; n < from + count; n++) client.logEvent(escalationAttempted({ roomId: `room-${n}` }))
}
const rooms = (request) => request.json.batch.map((e) => e.roomId)

test('batches of at most 50, in order, with a bearer token, JSON and a unique valid messageId per event', async () => {
  const server = await scriptedServer(ok)
  const client = createRelayClient({ url: `${server.url}/`, token: TOKEN, lingerMs: 20 })
  events(client, 0, 120)
  assert.deepEqual(await client.flush(), { complete: true, pending: 0 })
  await server.close()
  assert.deepEqual(
    server.requests.map((r) => r.json.batch.length),
    [50, 50, 20],
  )
  assert.deepEqual(
    server.requests.flatMap(rooms),
    Array.from({ length: 120 }, (_, n) => `room-${n}`),
  )
  const ids = server.requests.flatMap((r) => r.json.batch.map((e) => e.messageId))
  assert.equal(new Set(ids).size, 120)
  assert.ok(ids.every((id) => /^[A-Za-z0-9_-]{1,64}$/.test(id)), ids[0])
  const { headers } = server.requests[0]
  assert.equal(headers.authorization, `Bearer ${TOKEN}`)
  assert.equal(headers['content-type'], 'application/json')
  assert.ok(server.requests.every((r) => r.json.batch.every((e) => typeof e.timestamp === 'string')))
  assert.deepEqual(client.stats(), { logged: 120, sent: 120, rejected: 0, failed: 0, dropped: 0, retries: 0, pending: 0 })
  await client.close()
})

/**
 * The client on mocked timers (node:test's MockTimers) with an IHttp accessor answering
 * `reply(index, options)`: time moves only when the test says, so waits are checked exactly,
 * not against the clock. `advance(ms)` moves it a millisecond at a time, letting the client
 * run in between; `posts` records each request with the mocked time it was made at.
 */
function onMockedTime(t, reply, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let now = 0
  const posts = []
  const http = {
    async post(url, request) {
      posts.push({ at: now, batch: request.data.batch })
      return reply(posts.length - 1, request)
    },
  }
  const client = createRelayClient({ url: 'http://relay.test', token: TOKEN, http, ...options })
  const turn = () => new Promise((resolve) => setImmediate(resolve))
  return {
    client,
    posts,
    async advance(ms) {
      await turn()
      for (let i = 0; i < ms; i++) {
        now++
        t.mock.timers.tick(1)
        await turn()
      }
    },
  }
}
const answered = (index, { data }) => ({ statusCode: 200, data: { accepted: data.batch.length, rejected: [] } })

test('a few events wait for the linger, then go in one request', async (t) => {
  const { client, posts, advance } = onMockedTime(t, answered, { lingerMs: 300 })
  events(client, 0, 3)
  await advance(299)
  assert.equal(posts.length, 0, 'nothing sent before the linger ends')
  await advance(1)
  assert.deepEqual(posts.map((p) => [p.at, p.batch.map((e) => e.roomId)]), [[300, ['room-0', 'room-1', 'room-2']]])
})

test('Retry-After is honoured to the millisecond: the retry goes 1000 ms after a 503 that asks for 1 s', async (t) => {
  const { client, posts, advance } = onMockedTime(t, (i, request) =>
    i === 0 ? { statusCode: 503, headers: { 'Retry-After': '1' }, content: '{"code":"ERR_UNAVAILABLE","message":"draining"}' } : answered(i, request),
  )
  t.mock.method(Math, 'random', () => 0) // the jittered backoff alone would retry at once
  events(client, 0, 2)
  const flushed = client.flush({ timeoutMs: 5000 })
  await advance(999)
  assert.equal(posts.length, 1, 'no retry before Retry-After')
  await advance(1)
  assert.deepEqual(posts.map((p) => p.at), [0, 1000])
  assert.deepEqual(posts[1].batch, posts[0].batch)
  assert.deepEqual((await flushed).complete, true)
})

for (const [name, first] of [
  ['503 with Retry-After: 1', { status: 503, headers: { 'retry-after': '1' }, json: { code: 'ERR_UNAVAILABLE', message: 'draining' } }],
  ['429 with Retry-After: 1', { status: 429, headers: { 'retry-after': '1' }, json: { code: 'ERR_RATE_LIMITED', message: 'slow down' } }],
  ['408', { status: 408, json: { code: 'ERR_REQUEST_TIMEOUT', message: 'body too slow' } }],
  ['500', { status: 500, json: {} }],
  ['a dropped connection', 'destroy'],
  ['no answer (timeout)', 'hang'],
]) {
  test(`retried after ${name}: the same batch, the same messageIds, then delivered`, async () => {
    const server = await scriptedServer((_, i) => (i === 0 ? first : ok()))
    const notices = []
    const client = createRelayClient({ url: server.url, token: TOKEN, lingerMs: 0, timeoutMs: 500, maxRetryDelayMs: 2000, onError: (n) => notices.push(n) })
    events(client, 0, 5)
    assert.deepEqual(await client.flush({ timeoutMs: 10_000 }), { complete: true, pending: 0 })
    await server.close()
    assert.equal(server.requests.length, 2)
    const [a, b] = server.requests
    assert.equal(b.body, a.body, 'the retry is the same request')
    assert.deepEqual(notices, [])
    assert.deepEqual(client.stats(), { logged: 5, sent: 5, rejected: 0, failed: 0, dropped: 0, retries: 1, pending: 0 })
    await client.close()
  })
}

test('retries back off exponentially from 250 ms with full jitter, capped by maxRetryDelayMs', async (t) => {
  // The jitter draws from Math.random: at 0.5 each wait is half its ceiling, min(cap, 250 * 2^n).
  const { client, posts, advance } = onMockedTime(t, (i, request) => (i < 6 ? { statusCode: 502 } : answered(i, request)), { lingerMs: 0, maxRetryDelayMs: 400 })
  t.mock.method(Math, 'random', () => 0.5)
  events(client, 0, 1)
  await advance(2000)
  const gaps = posts.slice(1).map((p, i) => p.at - posts[i].at)
  assert.deepEqual(gaps, [125, 200, 200, 200, 200, 200])
  assert.equal(client.stats().retries, 6)
  assert.equal(client.stats().sent, 1)
})

for (const [status, code] of [
  [400, 'ERR_BAD_BATCH'],
  [401, 'ERR_UNAUTHORIZED'],
  [403, 'ERR_ORIGIN_NOT_ALLOWED'],
  [413, 'ERR_TOO_LARGE'],
]) {
  test(`${status} is not retried: the batch is counted as failed and reported with its code, without the token`, async () => {
    const server = await scriptedServer(() => ({ status, json: { code, message: `refused (${status})` } }))
    const notices = []
    const client = createRelayClient({ url: server.url, token: TOKEN, lingerMs: 0, onError: (n) => notices.push(n) })
    events(client, 0, 4)
    assert.deepEqual(await client.flush(), { complete: true, pending: 0 })
    await new Promise((r) => setTimeout(r, 300))
    await server.close()
    assert.equal(server.requests.length, 1)
    assert.equal(notices.length, 1)
    assert.equal(notices[0].code, code)
    assert.equal(notices[0].events, 4)
    assert.ok(!JSON.stringify(notices).includes(TOKEN))
    assert.deepEqual(client.stats(), { logged: 4, sent: 0, rejected: 0, failed: 4, dropped: 0, retries: 0, pending: 0 })
    await client.close()
  })
}

test("the relay's per-event refusals are counted and reported once per code", async () => {
  const server = await scriptedServer((request) => ({
    json: {
      accepted: request.json.batch.length - 3,
      rejected: [0, 1, 2].map((index) => ({ index, code: 'ERR_UNKNOWN_AGENT', message: 'agent "x" is neither a bot username nor an agent_id' })),
    },
  }))
  const notices = []
  const client = createRelayClient({ url: server.url, token: TOKEN, lingerMs: 0, onError: (n) => notices.push(n) })
  events(client, 0, 10)
  await client.flush()
  await server.close()
  assert.deepEqual(notices, [{ code: 'ERR_UNKNOWN_AGENT', events: 3, message: 'the relay refused an event: agent "x" is neither a bot username nor an agent_id' }])
  assert.deepEqual(client.stats(), { logged: 10, sent: 7, rejected: 3, failed: 0, dropped: 0, retries: 0, pending: 0 })
  await client.close()
})

test('takeNotices() hands over what onError got since the last call, oldest first, at most 100 kept', async () => {
  // Every request refused per event with a code of its own: one notice per request.
  const server = await scriptedServer((request, i) => ({
    json: { accepted: 0, rejected: request.json.batch.map((_, index) => ({ index, code: `ERR_TEST_${i}`, message: `refusal ${i}` })) },
  }))
  const notices = []
  const client = createRelayClient({ url: server.url, token: TOKEN, lingerMs: 0, batchSize: 1, onError: (n) => notices.push(n) })
  assert.deepEqual(client.takeNotices(), [])
  events(client, 0, 3)
  await client.flush()
  const taken = client.takeNotices()
  assert.deepEqual(taken, notices)
  assert.deepEqual(taken.map((n) => n.code), ['ERR_TEST_0', 'ERR_TEST_1', 'ERR_TEST_2'])
  assert.deepEqual(client.takeNotices(), [], 'taken notices are forgotten')

  events(client, 3, 105)
  await client.flush({ timeoutMs: 20_000 })
  const many = client.takeNotices()
  assert.equal(many.length, 101)
  assert.deepEqual(many[0], { code: 'ERR_NOTICES_DROPPED', message: 'older notices about 5 event(s) were not kept (at most 100 are)', events: 5 })
  assert.deepEqual(many.slice(1).map((n) => n.code), notices.slice(8).map((n) => n.code))
  assert.equal(many.at(-1).code, 'ERR_TEST_107')
  await client.close()
  await server.close()
})

test('a full buffer drops new events, counts them and says so once; a throwing onError changes nothing', async () => {
  const server = await scriptedServer(() => 'hang')
  const notices = []
  const client = createRelayClient({
    url: server.url,
    token: TOKEN,
    lingerMs: 0,
    timeoutMs: 5000,
    maxBufferEvents: 5,
    onError: (n) => {
      notices.push(n)
      throw new Error('a broken handler')
    },
  })
  events(client, 0, 12)
  assert.deepEqual(client.stats(), { logged: 12, sent: 0, rejected: 0, failed: 0, dropped: 7, retries: 0, pending: 5 })
  assert.deepEqual(
    notices.map((n) => n.code),
    ['ERR_BUFFER_FULL'],
  )
  // (That close() keeps to its deadline: the mocked-time test below.)
  const result = await client.close({ timeoutMs: 300 })
  assert.deepEqual(result, { complete: false, pending: 5 })
  assert.equal(client.stats().dropped, 12, 'what close() gave up on is counted')
  assert.deepEqual(
    notices.map((n) => n.code),
    ['ERR_BUFFER_FULL', 'ERR_CLOSED'],
  )
  await server.close()
})

test('flush() and close() keep to their deadlines while the relay does not answer; logEvent() never waits', async (t) => {
  const { client, posts, advance } = onMockedTime(t, () => new Promise(() => {}), { lingerMs: 0, timeoutMs: 10_000, onError: () => {} })
  // Synchronous: the events are queued before any time passes or any request settles.
  events(client, 0, 200)
  assert.equal(client.stats().pending, 200)
  let flushed
  client.flush({ timeoutMs: 200 }).then((result) => (flushed = result))
  await advance(199)
  assert.equal(flushed, undefined, 'not before its deadline')
  await advance(1)
  assert.deepEqual(flushed, { complete: false, pending: 200 })
  let closed
  client.close({ timeoutMs: 100 }).then((result) => (closed = result))
  await advance(100)
  assert.deepEqual(closed, { complete: false, pending: 200 })
  assert.equal(posts.length, 1, 'one request, still unanswered')
})

test('logEvent refuses at the call site: bad events (the core codes), an event over the relay limit, after close()', async () => {
  const client = createRelayClient({ url: 'http://127.0.0.1:9', token: TOKEN, fetch: () => new Promise(() => {}) })
  assert.throws(
    () => client.logEvent({ roomId: 'r', category: 'Escalation', action: 'failed', properties: { failure_reason: 'x' } }),
    (e) => e instanceof RelayClientError && e.code === 'ERR_INVALID_PROPERTY' && e.message.startsWith('properties.failure_reason "x" is not allowed'),
  )
  assert.throws(
    () => client.logEvent({ roomId: 'r'.repeat(40_000), category: 'Survey', action: 'link_clicked' }),
    (e) => e.code === 'ERR_MESSAGE_TOO_LARGE' && /32768 bytes per event/.test(e.message),
  )
  assert.equal(client.stats().logged, 0, 'nothing half-logged')
  await client.close({ timeoutMs: 10 })
  assert.throws(() => client.logEvent(escalationAttempted({ roomId: 'r' })), { code: 'ERR_CLOSED' })
})

test('bad options are refused with the field, the value and what is allowed; the token never shows', () => {
  const cases = [
    [{ token: TOKEN }, /^url undefined is not a URL/],
    [{ url: 'ftp://x', token: TOKEN }, /^url "ftp:\/\/x" must use http or https/],
    [{ url: 'http://x' }, /^token is required/],
    [{ url: 'http://x', token: TOKEN, batchSize: 51 }, /^batchSize 51 is not allowed; allowed: a whole number from 1 to 50/],
    [{ url: 'http://x', token: TOKEN, timeoutMs: 30_000 }, /^timeoutMs 30000 is not allowed; allowed: a whole number from 1 to 25000/],
    [{ url: 'http://x', token: TOKEN, http: {} }, /^http must be the Apps-Engine IHttp accessor/],
    [{ url: 'http://x', token: TOKEN, onError: 1 }, /^onError must be a function/],
  ]
  for (const [options, message] of cases) {
    assert.throws(
      () => createRelayClient(options),
      (e) => e.code === 'ERR_INVALID_OPTIONS' && message.test(e.message) && !e.message.includes(TOKEN),
    )
  }
})

test('the CommonJS build is the same client: require("sns-logger/client")', () => {
  const cjs = createRequire(import.meta.url)('sns-logger/client')
  assert.equal(typeof cjs.createRelayClient, 'function')
  assert.equal(cjs.FailureReason.NoAgentsAvailable, 'no agents available')
  assert.throws(() => cjs.validateEvent({ roomId: 'r', category: 'Nope', action: 'x' }), { code: 'ERR_UNKNOWN_CATEGORY' })
})

test('the IHttp transport: post(url, { data, headers, timeout }) with the batch as data; any status resolves, 5xx is retried', async () => {
  const calls = []
  const http = {
    async post(url, options) {
      calls.push({ url, options })
      if (calls.length === 1) return { statusCode: 503, headers: { 'Retry-After': '0' }, content: '{"code":"ERR_UNAVAILABLE","message":"draining"}' }
      const batch = options.data.batch
      return { statusCode: 200, headers: {}, data: { accepted: batch.length - 1, rejected: [{ index: 0, code: 'ERR_UNKNOWN_AGENT', message: 'no such agent' }] } }
    },
  }
  const notices = []
  const client = createRelayClient({ url: 'http://relay.internal:8787', token: TOKEN, http, lingerMs: 0, timeoutMs: 2000, onError: (n) => notices.push(n) })
  events(client, 0, 3)
  assert.deepEqual(await client.flush({ timeoutMs: 5000 }), { complete: true, pending: 0 })
  assert.equal(calls.length, 2)
  const [{ url, options }] = calls
  assert.equal(url, 'http://relay.internal:8787/v1/batch')
  assert.deepEqual(Object.keys(options).sort(), ['data', 'headers', 'timeout'])
  assert.equal(options.timeout, 2000)
  assert.equal(options.headers.Authorization, `Bearer ${TOKEN}`)
  assert.deepEqual(options.data.batch.map((e) => e.roomId), ['room-0', 'room-1', 'room-2'])
  assert.deepEqual(calls[1].options.data, options.data, 'the retry sends the same events and messageIds')
  assert.deepEqual(notices.map((n) => n.code), ['ERR_UNKNOWN_AGENT'])
  assert.deepEqual(client.stats(), { logged: 3, sent: 2, rejected: 1, failed: 0, dropped: 0, retries: 1, pending: 0 })
  await client.close()
})

test("a 2xx that does not account for every event is no confirmation: sent again with the same messageIds, reported once", async () => {
  const wrong = [
    { headers: { 'content-type': 'text/html' }, body: '<html><body>Welcome to the proxy</body></html>' },
    { body: '' },
    { json: { accepted: 1, rejected: [] } },
    { json: { accepted: 4, rejected: [{ index: 7, code: 'ERR_UNKNOWN_AGENT', message: 'x' }] } },
    { json: { accepted: 3, rejected: [0, 0].map((index) => ({ index, code: 'ERR_UNKNOWN_AGENT', message: 'x' })) } },
    { status: 204, body: '' },
  ]
  const server = await scriptedServer((request, i) => wrong[i] ?? ok())
  const notices = []
  const client = createRelayClient({ url: server.url, token: TOKEN, lingerMs: 0, maxRetryDelayMs: 20, onError: (n) => notices.push(n) })
  events(client, 0, 5)
  assert.deepEqual(await client.flush({ timeoutMs: 20_000 }), { complete: true, pending: 0 })
  await client.close()
  await server.close()
  assert.equal(server.requests.length, wrong.length + 1)
  for (const request of server.requests) assert.deepEqual(request.json, server.requests[0].json, 'every attempt sends the same events and messageIds')
  assert.deepEqual(client.stats(), { logged: 5, sent: 5, rejected: 0, failed: 0, dropped: 0, retries: wrong.length, pending: 0 })
  assert.deepEqual(notices, [
    {
      code: 'ERR_UNCONFIRMED',
      events: 5,
      message: "the relay answered 200 without accounting for each of the 5 events (not the relay's answer, or cut short); the batch is sent again with the same messageIds",
    },
  ])
})

test('an IHttp accessor whose post() resolves nothing is a failed attempt: retried, reported once, the client keeps working', async () => {
  const answers = [undefined, null, 'OK', { content: 'no status' }]
  const calls = []
  const http = {
    async post(url, options) {
      calls.push(options.data)
      if (calls.length <= answers.length) return answers[calls.length - 1]
      return { statusCode: 200, data: { accepted: options.data.batch.length, rejected: [] } }
    },
  }
  const notices = []
  const client = createRelayClient({ url: 'http://relay.internal:8787', token: TOKEN, http, lingerMs: 0, maxRetryDelayMs: 20, onError: (n) => notices.push(n) })
  events(client, 0, 2)
  assert.deepEqual(await client.flush({ timeoutMs: 20_000 }), { complete: true, pending: 0 })
  events(client, 2, 1)
  assert.deepEqual(await client.flush({ timeoutMs: 20_000 }), { complete: true, pending: 0 })
  await client.close()
  assert.equal(calls.length, answers.length + 2)
  assert.deepEqual(client.stats(), { logged: 3, sent: 3, rejected: 0, failed: 0, dropped: 0, retries: answers.length, pending: 0 })
  assert.deepEqual(notices.map((n) => [n.code, n.events]), [['ERR_TRANSPORT', 2]])
  assert.match(notices[0].message, /^the IHttp accessor's post\(\) resolved undefined, not a response; the batch is sent again with the same messageIds$/)
})

test('flush() and close() check timeoutMs at the call (the range of the native close()); a bad close() leaves the client open', async () => {
  const server = await scriptedServer(ok)
  const client = createRelayClient({ url: server.url, token: TOKEN, lingerMs: 0 })
  for (const [options, shown] of [
    [{ timeoutMs: 1e12 }, '1000000000000'],
    [{ timeoutMs: -1 }, '-1'],
    [{ timeoutMs: NaN }, 'NaN'],
    [{ timeoutMs: 1.5 }, '1.5'],
    [{ timeoutMs: '5' }, '"5"'],
  ]) {
    for (const call of ['flush', 'close']) {
      assert.throws(() => client[call](options), {
        code: 'ERR_INVALID_OPTIONS',
        message: `${call}(): timeoutMs ${shown} is not allowed; allowed: a whole number from 0 to 86400000`,
      })
    }
  }
  assert.throws(() => client.flush(5000), { code: 'ERR_INVALID_OPTIONS', message: 'flush() takes an options object such as { timeoutMs: 2000 }' })
  events(client, 0, 1)
  assert.deepEqual(await client.close({ timeoutMs: 5000 }), { complete: true, pending: 0 })
  await server.close()
  assert.equal(client.stats().sent, 1)
})
