// The relay's connections, over raw sockets to `sns-logger serve` in a child process: a head
// that never ends (--header-timeout-ms), a kept-alive connection that goes quiet
// (--idle-timeout-ms), the connection cap (--max-connections), a refused body the client writes
// whole before reading (the bounded discard), and SIGTERM with kept-alive, idle and slow
// connections (Connection: close while draining, a head that had partly arrived is answered, the
// logger keeps its time to send). Every wait is for an outcome, bounded; no verdict on a duration.

import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { SITE_URL, SUPPORT, dfConfig, tempDir } from './support/fixtures.mjs'
import { startFakeSns } from './support/fake-sns.mjs'
import { SF_TOKEN, TOKENS, post, runCli, startRelay } from './support/relay.mjs'
import { waitUntil } from './support/wait.mjs'

const dir = tempDir('sns-logger-relay-connections-')
const DF_CONFIG = join(dir, 'df_config.json')
writeFileSync(DF_CONFIG, JSON.stringify(dfConfig()))

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const appEvent = (roomId) => ({ agent: SUPPORT.username, roomId, category: 'Escalation', action: 'attempted' })
const GET_HEALTHZ = 'GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n'

let relays = 0
/** A relay writing to its own file sink. */
function relayWith(args = [], logger = {}) {
  const out = join(dir, `published-${++relays}.jsonl`)
  const relay = startRelay({
    dir,
    args,
    config: { tokens: TOKENS, logger: { siteUrl: SITE_URL, dfConfig: DF_CONFIG, sink: { kind: 'file', path: out }, ...logger } },
  })
  return relay.then((r) => Object.assign(r, { out }))
}

/** Waits for `condition()` to hold, at most 5 s (then fails naming `what`). */
const until = (condition, what) => waitUntil(condition, what, 5000)

/** Runs `body(relay)` with a relay from relayWith(args), then stops it: the relay exits 0. */
async function withRelay(args, body) {
  const relay = await relayWith(args)
  try {
    await body(relay)
  } finally {
    assert.equal(await relay.stop(), 0)
  }
}

/** The complete HTTP/1.1 answers in `text` (the relay's bodies have a Content-Length). */
function answers(text) {
  const found = []
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) break
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n')
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':')
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
      }),
    )
    const length = Number(headers['content-length'] ?? 0)
    if (Buffer.byteLength(rest) < Buffer.byteLength(rest.slice(0, end + 4)) + length) break
    const body = rest.slice(end + 4, end + 4 + length)
    found.push({ status: Number(statusLine.split(' ')[1]), headers, body })
    rest = rest.slice(end + 4 + length)
  }
  return found
}

/** A raw connection to `url`: what it received, whether it is closed, and any error. */
async function open(url) {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  const conn = {
    socket,
    text: '',
    closed: false,
    error: null,
    answers: () => answers(conn.text),
    write: (text) => socket.write(text),
    /** Waits for the `n`th answer on this connection and returns it. */
    async answer(n) {
      await until(() => conn.answers().length >= n || conn.closed, `answer ${n}`)
      assert.ok(conn.answers().length >= n, `answer ${n} came before the connection closed: ${JSON.stringify(conn.text)}`)
      return conn.answers()[n - 1]
    },
    /** Sends GET /healthz and returns the status of the `n`th answer on this connection. */
    async healthz(n) {
      conn.write(GET_HEALTHZ)
      return (await conn.answer(n)).status
    },
  }
  socket.setEncoding('utf8')
  socket.on('data', (d) => (conn.text += d))
  socket.on('close', () => (conn.closed = true))
  socket.on('error', (e) => (conn.error = e))
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return conn
}

/** Resolves once `url` refuses new connections (the relay stopped listening), at most 5 s. */
function untilRefused(url) {
  const { port } = new URL(url)
  const refused = () =>
    new Promise((resolve) => {
      const socket = connect(Number(port), '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(false)
      })
      socket.once('error', (e) => resolve(e.code === 'ECONNREFUSED'))
    })
  return waitUntil(refused, 'the relay to refuse new connections', { timeoutMs: 5000, intervalMs: 10 })
}

describe('relay connections: slow, idle and too many', () => {
  test('a head that never ends is closed after --header-timeout-ms; a quiet kept-alive connection is not', () =>
    withRelay(['--header-timeout-ms', '300'], async (relay) => {
      const kept = await open(relay.url)
      assert.equal(await kept.healthz(1), 200)
      const slow = await open(relay.url)
      slow.write('POST /v1/batch HTTP/1.1\r\nHost: relay\r\nContent-Type: applic')
      await until(() => slow.closed, 'the relay closes the connection whose head never ends')
      assert.equal(slow.text, '', 'no answer to a head that never ended')
      // The header timeout is for a head that has begun; the quiet connection is still served.
      assert.equal(kept.closed, false)
      assert.equal(await kept.healthz(2), 200)
      kept.socket.destroy()
    }),
  )

  test('a connection that stays quiet is closed after --idle-timeout-ms, kept-alive or never used', () =>
    withRelay(['--idle-timeout-ms', '300'], async (relay) => {
      const kept = await open(relay.url)
      assert.equal(await kept.healthz(1), 200)
      const unused = await open(relay.url)
      await until(() => kept.closed && unused.closed, 'the relay closes both idle connections')
      assert.equal(kept.answers().length, 1)
      assert.equal(unused.text, '')
    }),
  )

  test('--max-connections N: the connection past N waits until one closes; the N open ones are served', () =>
    withRelay(['--max-connections', '2'], async (relay) => {
      const first = await open(relay.url)
      const second = await open(relay.url)
      for (const conn of [first, second]) {
        assert.equal(await conn.healthz(1), 200)
      }
      // The kernel completes the third handshake; the relay does not take it while two are open.
      const third = await open(relay.url)
      third.write(GET_HEALTHZ)
      for (const conn of [first, second]) {
        assert.equal(await conn.healthz(2), 200, 'an open connection is still served')
      }
      assert.equal((await fetch(`${relay.adminUrl}/metrics`)).status, 200, 'the admin listener has its own connections')
      assert.equal(third.text, '', 'the third connection is not served while two are open')
      first.socket.destroy()
      assert.equal((await third.answer(1)).status, 200, 'served once the first closed')
      second.socket.destroy()
      third.socket.destroy()
    }),
  )

  test('--header-timeout-ms, --idle-timeout-ms and --max-connections are checked', async () => {
    const env = { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: DF_CONFIG, SNS_LOGGER_SINK: 'memory' }
    for (const [args, extraEnv, message] of [
      [['--header-timeout-ms', '0'], {}, /headerTimeoutMs 0 is out of range; allowed: a whole number from 1 to 3600000/],
      [['--idle-timeout-ms', '3600001'], {}, /idleTimeoutMs 3600001 is out of range; allowed: a whole number from 1 to 3600000/],
      [['--max-connections', '0'], {}, /maxConnections 0 is out of range; allowed: a whole number from 1 to 1000000/],
      [['--max-connections', 'many'], {}, /--max-connections "many" is not allowed; allowed: a whole number/],
      [[], { SNS_LOGGER_HEADER_TIMEOUT_MS: '0' }, /SNS_LOGGER_HEADER_TIMEOUT_MS "0" is not allowed; allowed: a whole number from 1 to 3600000/],
      [[], { SNS_LOGGER_IDLE_TIMEOUT_MS: 'soon' }, /SNS_LOGGER_IDLE_TIMEOUT_MS "soon" is not allowed/],
      [[], { SNS_LOGGER_MAX_CONNECTIONS: '0' }, /SNS_LOGGER_MAX_CONNECTIONS "0" is not allowed; allowed: a whole number from 1 to 1000000/],
    ]) {
      const run = await runCli(['serve', '--port', '0', '--admin-port', '0', ...args], { ...env, ...extraEnv })
      assert.equal(run.code, 2, `${args.join(' ')} ${JSON.stringify(extraEnv)}: ${run.stderr}`)
      assert.match(run.stderr, message)
      if (!args.includes('many')) assert.match(run.stderr, /ERR_INVALID_OPTIONS/)
    }
    const help = await runCli(['serve', '--help'])
    for (const text of ['--header-timeout-ms', '--idle-timeout-ms', '--max-connections', 'SNS_LOGGER_MAX_CONNECTIONS']) {
      assert.ok(help.stdout.includes(text), `serve --help explains ${text}`)
    }
  })
})

describe('relay connections: a refused body', () => {
  /** Writes the whole request before reading anything, as Python's urllib does. */
  async function writeAllThenRead(url, head, body) {
    const conn = await open(url)
    conn.socket.pause()
    conn.write(head)
    const writeError = await new Promise((resolve) => conn.socket.write(body, resolve))
    conn.socket.resume()
    await until(() => conn.closed || conn.answers().length > 0, 'an answer or the end of the connection')
    return { conn, writeError }
  }

  test('a client that writes its whole 2 MB body before reading gets the 413 (and a 401)', () =>
    withRelay([], async (relay) => {
      const body = Buffer.alloc(2 << 20, 'x')
      const request = (auth) =>
        `POST /v1/batch HTTP/1.1\r\nHost: relay\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`
      const tooLarge = [`Authorization: Bearer ${SF_TOKEN}\r\n`, 413, 'ERR_TOO_LARGE']
      for (const [auth, status, code] of [tooLarge, tooLarge, tooLarge, ['', 401, 'ERR_UNAUTHORIZED']]) {
        const { conn, writeError } = await writeAllThenRead(relay.url, request(auth), body)
        assert.equal(writeError ?? null, null, `the body was written whole (${status})`)
        const answer = await conn.answer(1)
        assert.equal(answer.status, status)
        assert.equal(JSON.parse(answer.body).code, code)
        conn.socket.destroy()
      }
    }),
  )

  test('a client that waits for 100 Continue is refused without being asked for its body', () =>
    withRelay([], async (relay) => {
      const conn = await open(relay.url)
      conn.write(`POST /v1/batch HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: ${2 << 20}\r\nExpect: 100-continue\r\n\r\n`)
      const answer = await conn.answer(1)
      assert.equal(answer.status, 401, 'the answer, not 100 Continue')
      conn.socket.destroy()
    }),
  )

  test('the discard is bounded: a refused body that keeps trickling is cut off, a huge one is not read', () =>
    withRelay(['--body-timeout-ms', '300'], async (relay) => {
      const head = (length) =>
        `POST /v1/batch HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${SF_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`
      // 1 MB declared (over the 512 KiB limit), sent 1 KB at a time: 413 at once, and the relay
      // stops reading once the discard's time is up.
      const trickle = await open(relay.url)
      trickle.write(head(1 << 20))
      const chunk = 'x'.repeat(1024)
      let sent = 0
      while (!trickle.closed && sent < 1 << 20) {
        trickle.write(chunk)
        sent += chunk.length
        await sleep(20)
      }
      assert.equal(trickle.answers()[0]?.status, 413)
      assert.ok(trickle.closed, 'the relay closed the trickling connection before its body ended')
      // 64 MiB declared: over what the relay discards; 413, then closed.
      const huge = await open(relay.url)
      huge.write(head(64 << 20))
      assert.equal((await huge.answer(1)).status, 413)
      await until(() => huge.closed, 'the relay closes a connection whose body it will not read')
    }),
  )
})

describe('relay connections: SIGTERM', () => {
  test('while draining every answer says Connection: close; a head that had partly arrived, or a connection opened during the notice, is answered', async () => {
    const relay = await relayWith(['--shutdown-timeout-ms', '8000'])
    const exited = relay.exited
    try {
      // A kept-alive connection whose next head has partly arrived when the signal comes.
      const partial = await open(relay.url)
      assert.equal(await partial.healthz(1), 200)
      const body = JSON.stringify({ batch: [appEvent('late')] })
      const rest = `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
      partial.write(`POST /v1/batch HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${SF_TOKEN}\r\n`)
      // A kept-alive connection a client reuses during the drain notice.
      const reused = await open(relay.url)
      reused.write(GET_HEALTHZ)
      const before = await reused.answer(1)
      assert.equal(before.headers.connection, undefined, 'kept alive before the drain')

      relay.stop('SIGTERM')
      await relay.stderrMatching(/SIGTERM: draining/)
      let ready
      const deadline = Date.now() + 5000
      while (ready?.status !== 503) {
        assert.ok(Date.now() < deadline, '/readyz says 503 within 5 s of the signal')
        const conn = await open(relay.url)
        conn.write('GET /readyz HTTP/1.1\r\nHost: relay\r\n\r\n')
        ready = await conn.answer(1)
        conn.socket.destroy()
      }
      assert.equal(ready.headers.connection, 'close', '/readyz while draining')
      reused.write(`POST /v1/batch HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      const during = await reused.answer(2)
      assert.equal(during.status, 503)
      assert.equal(during.headers.connection, 'close', 'a 503 while draining closes its connection')
      await until(() => reused.closed, 'the relay closes the connection after its Connection: close answer')
      // A client that connected during the notice and sends its request once the notice is over.
      const opened = await open(relay.url)

      // The notice is over (the relay stopped listening); the head ends now and is answered.
      await untilRefused(relay.url)
      partial.write(rest)
      opened.write(`POST /v1/batch HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer ${SF_TOKEN}\r\n${rest}`)
      for (const late of [await partial.answer(2), await opened.answer(1)]) {
        assert.equal(late.status, 503)
        assert.equal(JSON.parse(late.body).code, 'ERR_UNAVAILABLE')
        assert.equal(late.headers.connection, 'close')
      }
      assert.equal(await exited, 0)
    } finally {
      await relay.stop()
    }
  })

  test('fetch clients looping through a SIGTERM: every request that reached the relay is answered (bounded)', async () => {
    const relay = await relayWith(['--shutdown-timeout-ms', '4000'])
    const body = JSON.stringify({ batch: [appEvent('loop')] })
    const statuses = new Map()
    const lost = []
    let refused = 0
    const client = async (c) => {
      for (let i = 0; i < 400; i++) {
        if (c === 0 && i === 20) relay.stop('SIGTERM')
        try {
          const response = await fetch(`${relay.url}/v1/batch`, {
            method: 'POST',
            headers: { authorization: `Bearer ${SF_TOKEN}`, 'content-type': 'application/json' },
            body,
          })
          await response.text()
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        } catch (error) {
          // Refused: the relay stopped listening, the request never reached it. This client is done.
          if (error.cause?.code === 'ECONNREFUSED') return void refused++
          lost.push(`${error.cause?.code ?? ''} ${error.cause?.message ?? error.message}`)
        }
      }
    }
    try {
      await Promise.all([0, 1, 2, 3].map(client))
      assert.deepEqual(lost, [], `answered: ${JSON.stringify([...statuses])}`)
      assert.ok(statuses.get(200) >= 20 && statuses.get(503) > 0, `answered: ${JSON.stringify([...statuses])}`)
      assert.equal(refused, 4, 'each client ended on a refused connection')
      assert.equal(await relay.exited, 0)
    } finally {
      await relay.stop()
    }
  })

  test('SIGTERM with many idle and slow connections: the relay exits and its logger has the time to send', async () => {
    // A long linger keeps the accepted events in memory until close() flushes them to SNS.
    const sns = await startFakeSns()
    const relay = await startRelay({
      dir,
      args: ['--shutdown-timeout-ms', '3000'],
      config: {
        tokens: TOKENS,
        logger: {
          siteUrl: SITE_URL,
          dfConfig: DF_CONFIG,
          sink: { kind: 'sns', endpoint: sns.endpoint, region: 'us-east-1' },
          lingerMs: 60000,
          spoolDir: mkdtempSync(join(dir, 'spool-')),
        },
      },
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' },
    })
    const conns = []
    try {
      // Fewer than a PublishBatch (10): they wait for batch mates.
      const batch = Array.from({ length: 9 }, (_, i) => appEvent(`term-${i}`))
      assert.deepEqual((await post(`${relay.url}/v1/batch`, { batch }, { authorization: `Bearer ${SF_TOKEN}` })).json, { accepted: 9, rejected: [] })
      assert.equal(sns.accepted.length, 0, 'still lingering in memory')
      for (let i = 0; i < 60; i++) conns.push(await open(relay.url)) // never send anything
      for (let i = 0; i < 60; i++) {
        const slow = await open(relay.url)
        slow.write('POST /v1/batch HTTP/1.1\r\nHost: relay\r\n') // a head that never ends
        conns.push(slow)
      }
      for (let i = 0; i < 20; i++) {
        const kept = await open(relay.url)
        await kept.healthz(1)
        conns.push(kept)
      }
      assert.equal(await relay.stop('SIGTERM'), 0)
      const said = relay.stderr()
      assert.match(said, /closed: 9 sent, 0 spooled, 0 dead-lettered, 0 dropped; 0 left in the spool\n/)
      assert.doesNotMatch(said, /the shutdown timeout passed/)
      assert.deepEqual(
        sns.accepted.map((e) => JSON.parse(e.message).roomId),
        batch.map((e) => e.roomId),
      )
      await until(() => conns.every((c) => c.closed), 'every connection closed with the relay')
    } finally {
      for (const c of conns) c.socket.destroy()
      await relay.stop()
      await sns.stop()
    }
  })
})
