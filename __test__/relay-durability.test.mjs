// What a 200 from the relay promises, where it really runs: `sns-logger serve` in a child
// process, SNS and SQS from moto behind a fault proxy, 8 clients posting batches of 25 events as
// fast as the relay answers, and the relay killed (SIGKILL) under that load.
//
// --ack spooled (the default with a spool directory): a 200 means every accepted event of the
// request is in the on-disk spool. Killed three times (SNS healthy; SNS down; during the replay
// after a restart) and restarted on the same spool, the relay delivers every event it ever
// answered 200 for, exactly once, in order per room. --ack published: a 200 means SNS has every
// event; killed under load, the same holds without a restart. A full disk and a full spool
// (--max-spool-bytes) refuse with 503 (ERR_UNAVAILABLE, Retry-After) and /readyz 503 until they
// recover by themselves, losing nothing acknowledged. A spool directory that is a regular file
// stops `serve` at start, before it listens (exit 2).
//
// The clients: client c owns three rooms and numbers its events (messageId `c<c>-<k>`, room
// k % 3); it posts its next batch only once the last one was answered 200. A batch answered
// otherwise (503, or no answer: the relay was killed) is sent again, the same events with the
// same messageIds, after a short pause (in the next round when the relay is gone): that is what a
// client does, and what the relay's dedup ids are for, so a retry across a kill is exercised
// too. The relay derives each event's MessageDeduplicationId from the client's source and
// messageId (sha256, crates/relay/src/dedup.rs); the test derives the same id to map what SQS
// returns back to the client's event, so an event that came back under any other id would be
// seen as one no client sent.
//
// Exactly once: SNS FIFO drops a copy whose MessageDeduplicationId it took within 5 minutes.
// moto's emulation drops one only while the first copy is still in the SQS queue, and costs a
// pass over the whole queue for every message it delivers (its queue attributes are recounted),
// so a queue holding thousands of messages slows it to a crawl. The queue is therefore read
// (and emptied) while the relay delivers, and the copies SNS would drop are counted by their
// dedup id (what SNS itself goes by) and reported, never counted as deliveries: each event's
// first copy is its delivery. Each wait is bounded to catch a hang; none is a verdict on speed.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'


import { SITE_URL, SUPPORT, dfConfig, tempDir } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, motoSnsEnv, receiveBatch } from './support/moto.mjs'
import { DF_TOKEN, SF_TOKEN, TOKENS, runCli, startRelay } from './support/relay.mjs'
import { motoBehindProxy } from './support/sns-proxy.mjs'
import { waitUntil as waitFor } from './support/wait.mjs'

const dir = tempDir('sns-logger-relay-durability-')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const CLIENTS = 8
const PER_BATCH = 25
const ROOMS_PER_CLIENT = 3
/** The in-memory cache of a relay that writes ahead: small, so that the load overflows it at once. */
const MAX_QUEUE_EVENTS = 500

/** Hang bounds here are twice the usual: rounds of load against moto take long. */
const waitUntil = (predicate, what, timeoutMs = 60_000) => waitFor(predicate, what, timeoutMs)

/** The files of a spool directory with their sizes, for a failure's message. */
const spoolFiles = (spoolDir) =>
  existsSync(spoolDir) ? readdirSync(spoolDir).map((name) => `${name} ${statSync(join(spoolDir, name)).size} B`).join(', ') : 'none'

/** Resolves with `promise`, or fails after `ms` (a hang bound, never a verdict on speed). */
function withinHangBound(promise, ms, what) {
  let timer
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms} ms (hung)`)), ms)
  })
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer))
}

/** The MessageDeduplicationId the relay derives from a client's messageId (crates/relay/src/dedup.rs). */
function dedupIdOf(source, messageId, tabId = '') {
  const hash = createHash('sha256')
  for (const part of [source, tabId, messageId]) {
    hash.update(part, 'utf8')
    hash.update(Buffer.from([0]))
  }
  return `m${hash.digest('hex')}`
}

/** The relay's stderr, last lines: for assertion messages. */
const tail = (relay, lines = 20) => `\n--- relay stderr (tail) ---\n${relay.stderr().trim().split('\n').slice(-lines).join('\n')}`

/** The relay's /metrics, `sns_logger_*` samples without labels, by name. */
async function metrics(relay) {
  const text = await (await fetch(`${relay.adminUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  const values = {}
  for (const line of text.split('\n')) {
    const match = line.match(/^(sns_logger_[a-z_]+) (\S+)$/)
    if (match) values[match[1]] = Number(match[2])
  }
  return values
}

async function readyz(relay) {
  const answer = await fetch(`${relay.url}/readyz`, { signal: AbortSignal.timeout(10_000) })
  return { status: answer.status, body: await answer.json() }
}

/**
 * Waits until /readyz and /metrics agree that the relay refuses for `reason` (two requests: both
 * are read again until they are seen together).
 */
async function refusingFor(relay, reason) {
  let seen
  await waitUntil(async () => {
    const ready = await readyz(relay)
    const { sns_logger_relay_ready: gauge } = await metrics(relay)
    seen = { ready, gauge }
    return ready.status === 503 && ready.body.reason === reason && gauge === 0
  }, `/readyz 503 "${reason}" and relay_ready 0`, 30_000).catch((error) => {
    throw new Error(`${error.message}; last seen ${JSON.stringify(seen)}${tail(relay)}`)
  })
  return seen.ready.body
}

/**
 * Eight clients posting to whichever relay is current. Remembers every event it ever sent (by
 * dedup id) and every one answered 200. `padding`: each event carries that many bytes more (an
 * Escalation "successful" with a long sf_chat_key), to fill a disk with fewer events.
 */
class Load {
  constructor({ padding = 0 } = {}) {
    this.padding = padding
    this.clients = Array.from({ length: CLIENTS }, (_, c) => ({
      c,
      token: c % 2 ? DF_TOKEN : SF_TOKEN,
      source: c % 2 ? 'DF.app' : 'SF.app',
      next: 0,
      pending: null,
      rooms: Array.from({ length: ROOMS_PER_CLIENT }, (_, r) => `c${c}-room${r}`),
    }))
    /** dedup id -> { c, k, roomId, messageId }, for every event ever sent. */
    this.events = new Map()
    /** Dedup ids answered 200. */
    this.acked = new Set()
    /** Answers by status ('none' when the request got no answer). */
    this.answers = {}
    /** Answers other than 200 with every event accepted, 503 and none: no test expects one. */
    this.unexpected = []
    /** The first 503: its Retry-After header and body. */
    this.first503 = null
  }

  /** Fails at once on an answer no test expects (rather than letting a wait run out). */
  expectedSoFar() {
    if (this.unexpected.length) throw new Error(`unexpected answers: ${JSON.stringify(this.unexpected.slice(0, 3))}`)
    return true
  }

  /** The client's unanswered batch, or its next one. */
  batchOf(client) {
    if (client.pending) return client.pending
    const batch = []
    for (let i = 0; i < PER_BATCH; i++) {
      const k = client.next++
      const messageId = `c${client.c}-${k}`
      const roomId = client.rooms[k % ROOMS_PER_CLIENT]
      const dedupId = dedupIdOf(client.source, messageId)
      this.events.set(dedupId, { c: client.c, k, roomId, messageId })
      const event = this.padding
        ? { roomId, category: 'Escalation', action: 'successful', properties: { queue_time: 1, sf_chat_key: `${messageId}-`.padEnd(this.padding, 'x') }, messageId }
        : { roomId, category: 'Escalation', action: 'attempted', messageId }
      batch.push({ dedupId, event })
    }
    client.pending = batch
    return batch
  }

  /** Posts the client's batch once: true when it was answered 200 with every event accepted. */
  async postOnce(url, client) {
    const batch = this.batchOf(client)
    let status = 'none'
    let json = null
    let headers = null
    try {
      const response = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${client.token}` },
        body: JSON.stringify({ batch: batch.map((b) => b.event) }),
        signal: AbortSignal.timeout(20_000),
      })
      status = response.status
      headers = response.headers
      const text = await response.text()
      try {
        json = JSON.parse(text)
      } catch {
        json = { text }
      }
    } catch {
      // No answer: the relay is gone (killed). The batch is sent again later.
    }
    this.answers[status] = (this.answers[status] ?? 0) + 1
    if (status === 200 && json?.accepted === batch.length && json.rejected?.length === 0) {
      for (const b of batch) this.acked.add(b.dedupId)
      client.pending = null
      return true
    }
    if (status === 503) this.first503 ??= { retryAfter: headers.get('retry-after'), json }
    else if (status !== 'none') this.unexpected.push({ status, json })
    return false
  }

  /**
   * Every client posts until `stop()`: its next batch once the last was answered 200, the same
   * batch again after a short pause otherwise.
   */
  start(url) {
    let stopped = false
    const done = Promise.all(
      this.clients.map(async (client) => {
        while (!stopped) {
          if (!(await this.postOnce(url, client)) && !stopped) await sleep(50)
        }
      }),
    )
    return {
      /** Stops the clients; resolves once each has had its last answer. */
      stop: () => {
        stopped = true
        return withinHangBound(done, 60_000, 'the clients to take their last answers')
      },
    }
  }

  /** Each client sends its unanswered batch again until it is answered 200 (bounded). */
  async finishPending(url) {
    await Promise.all(
      this.clients.map(async (client) => {
        const deadline = Date.now() + 60_000
        while (client.pending && !(await this.postOnce(url, client))) {
          this.expectedSoFar()
          if (Date.now() > deadline) throw new Error(`client ${client.c}: its last batch is still refused after 60 s`)
          await sleep(100)
        }
      }),
    )
  }

  /** Runs the clients against `relay` until `until()` holds, then stops them and SIGKILLs it. */
  async killUnderLoad(relay, until, what) {
    const round = this.start(relay.url)
    let stopped
    try {
      await waitUntil(async () => this.expectedSoFar() && (await until()), what, 90_000)
    } finally {
      stopped = round.stop()
      // At once: the requests in flight are cut off, unanswered.
      assert.equal(await relay.stop('SIGKILL'), 'SIGKILL')
    }
    await stopped
  }
}

/**
 * Reads an SQS FIFO queue while the relay delivers to it, deleting what it read (see the top of
 * the file), and keeps every message in arrival order.
 */
class QueueReader {
  constructor(endpoint, queueUrl) {
    this.endpoint = endpoint
    this.queueUrl = queueUrl
    /** { dedupId, groupId, message } in arrival order. */
    this.messages = []
    this.seen = new Set()
    this.running = true
    this.error = null
    this.loop = this.read()
  }

  /** One receive (waiting up to `waitSeconds`) and the deletion of what it got; how many. */
  async receiveOnce(waitSeconds) {
    const batch = await receiveBatch(this.endpoint, this.queueUrl, { waitSeconds, abortSignal: AbortSignal.timeout(30_000) })
    for (const m of batch) {
      const dedupId = m.messageDeduplicationId
      this.messages.push({ dedupId, groupId: m.messageGroupId, message: m.message })
      this.seen.add(dedupId)
    }
    return batch.length
  }

  async read() {
    try {
      while (this.running) await this.receiveOnce(1)
    } catch (error) {
      this.error = error
    }
  }

  /** Waits until every dedup id in `ids` has arrived. */
  async waitFor(ids, what, timeoutMs = 120_000) {
    await waitUntil(() => {
      if (this.error) throw this.error
      return [...ids].every((id) => this.seen.has(id))
    }, what, timeoutMs).catch((error) => {
      const missing = [...ids].filter((id) => !this.seen.has(id)).length
      throw new Error(`${error.message} (${missing} of ${ids.size} not arrived)`)
    })
  }

  /** Once nothing more can be published: stops, and reads what is left until a poll finds nothing. */
  async finish() {
    this.running = false
    await withinHangBound(this.loop, 60_000, 'the queue reader to stop')
    if (this.error) throw this.error
    while ((await this.receiveOnce(1)) > 0);
  }
}

/**
 * Checks what the queue returned against the load: every message one the clients sent, under
 * the dedup id the relay derives; every acknowledged event there; each event's first copy in
 * order per room. Copies under the same dedup id (which SNS FIFO drops) are counted. Returns
 * `{ arrived, copies }`: distinct events, and copies SNS would have dropped.
 */
function checkDelivered(reader, load, what) {
  const first = new Set()
  const rooms = new Map()
  let copies = 0
  for (const m of reader.messages) {
    assert.equal(m.groupId, SITE_URL)
    const event = load.events.get(m.dedupId)
    assert.ok(event, `${what}: a message under a dedup id no client's messageId gives (${m.dedupId}): ${m.message}`)
    assert.equal(JSON.parse(m.message).roomId, event.roomId, `${what}: ${event.messageId} arrived with its own room`)
    if (first.has(m.dedupId)) {
      copies++
      continue
    }
    first.add(m.dedupId)
    if (!rooms.has(event.roomId)) rooms.set(event.roomId, [])
    rooms.get(event.roomId).push(event.k)
  }
  const missing = [...load.acked].filter((id) => !first.has(id))
  assert.deepEqual(
    missing.map((id) => load.events.get(id).messageId),
    [],
    `${what}: events answered 200 missing from SQS (${missing.length} of ${load.acked.size})`,
  )
  for (const [roomId, ks] of rooms) {
    const at = ks.findIndex((k, i) => i > 0 && k <= ks[i - 1])
    assert.equal(at, -1, `${what}: room ${roomId} out of order at ${at}: ${ks.slice(Math.max(0, at - 3), at + 3)}`)
  }
  return { arrived: first.size, copies }
}

/** Dedup ids of the events in a spool directory (`sns-logger spool export`; no relay on it). */
async function spoolContents(spoolDir) {
  const exported = await runCli(['spool', 'export', '--spool-dir', spoolDir])
  assert.equal(exported.code, 0, exported.stderr)
  return exported.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).MessageDeduplicationId)
}

/** How many events a spool directory holds (`sns-logger spool status`; no relay on it). */
async function spoolCount(spoolDir) {
  const status = await runCli(['spool', 'status', '--json', '--spool-dir', spoolDir])
  assert.equal(status.code, 0, status.stdout + status.stderr)
  return JSON.parse(status.stdout).events ?? 0
}

/** A tmpfs of `size` at `path`, unmounted after the file's tests (lazily if still busy). */
const mounts = []
function mountTmpfs(path, size) {
  mkdirSync(path, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', path])
  mounts.push(path)
}
function unmount(path) {
  const mounted = () => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path)
  if (!mounted()) return
  try {
    execFileSync('umount', [path])
  } catch {
    execFileSync('umount', ['-l', path])
  }
}
after(() => {
  for (const path of mounts) unmount(path)
})

describe('relay durability: what a 200 promises, under load and SIGKILL, a full disk and a full spool', () => {
  const sns = motoBehindProxy()
  let topics = 0

  /** A new FIFO topic and queue (read from now on), and a df_config.json whose bot publishes to it. */
  async function freshTopic() {
    sns.proxy.setMode('pass')
    const name = `durability-${++topics}`
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(sns.moto.endpoint, name)
    const path = join(dir, `df_config-${name}.json`)
    writeFileSync(path, JSON.stringify(dfConfig([{ ...SUPPORT, topic: topicArn }])))
    return { dfConfigPath: path, reader: new QueueReader(sns.moto.endpoint, queueUrl) }
  }

  /** A relay in a child process whose SNS is the proxy in front of moto. */
  function relayOn({ dfConfigPath, spoolDir, args = [] }) {
    return startRelay({
      dir,
      args,
      config: {
        tokens: TOKENS,
        logger: {
          siteUrl: SITE_URL,
          dfConfig: dfConfigPath,
          spoolDir,
          retryBudgetMs: 1000,
          maxQueueEvents: MAX_QUEUE_EVENTS,
          sink: { kind: 'sns', connectTimeoutMs: 300, requestTimeoutMs: 2000 },
        },
      },
      env: motoSnsEnv(sns.proxy.endpoint),
    })
  }

  /**
   * The last relay on a spool: once every acknowledged event has arrived and the relay holds
   * nothing more, it stops (SIGTERM, exit 0) with its spool empty; then the rest of the queue
   * is read and checked.
   */
  async function deliveredAndChecked(relay, { reader, load, spoolDir, what }) {
    await reader.waitFor(load.acked, `every event answered 200 to arrive (${what})`)
    await waitUntil(async () => (await metrics(relay)).sns_logger_queue_events === 0, 'the relay to settle what it holds')
    assert.equal(await withinHangBound(relay.stop('SIGTERM'), 30_000, 'the relay to stop'), 0, tail(relay))
    if (spoolDir) assert.equal(await spoolCount(spoolDir), 0, `the spool is empty once everything is delivered${tail(relay)}`)
    await reader.finish()
    const delivered = checkDelivered(reader, load, what)
    assert.equal(delivered.arrived, load.events.size, 'every event sent was answered 200 in the end, and arrived')
    assert.deepEqual(load.unexpected, [], 'answers other than 200, 503 and none')
    return delivered
  }

  /**
   * Runs the clients against `relay` (SNS down) until one gets a 503 (`what`) and /readyz and
   * /metrics say it refuses for `reason`, then stops them. Checks the refusal: /readyz 503
   * `reason`, and the first 503 was ERR_UNAVAILABLE with a Retry-After.
   */
  async function loadUntilRefused(relay, load, reason, what) {
    const round = load.start(relay.url)
    let body
    try {
      await waitUntil(() => load.expectedSoFar() && load.first503 !== null, what)
      body = await refusingFor(relay, reason)
    } finally {
      await round.stop()
    }
    assert.deepEqual(body, { status: reason, reason })
    assert.equal(load.first503.json.code, 'ERR_UNAVAILABLE', JSON.stringify(load.first503.json))
    assert.ok(Number(load.first503.retryAfter) >= 1, `Retry-After: ${load.first503.retryAfter}`)
  }

  /**
   * SNS back: the spool drains and the refusing relay is ready again by itself; each client
   * sends its unanswered batch again, and everything answered 200 is delivered and checked.
   */
  async function readyAgainAndDelivered(relay, { reader, load, spoolDir, what }) {
    sns.proxy.setMode('pass')
    let seen
    await waitUntil(async () => {
      const ready = await readyz(relay)
      const { sns_logger_relay_ready: gauge, sns_logger_spool_bytes: spoolBytes } = await metrics(relay)
      seen = { ready, gauge, spoolBytes }
      return ready.status === 200 && gauge === 1
    }, '/readyz 200 and relay_ready 1 again').catch((error) => {
      throw new Error(`${error.message}; last seen ${JSON.stringify(seen)}; spool directory: ${spoolFiles(spoolDir)}${tail(relay)}`)
    })
    await load.finishPending(relay.url)
    return deliveredAndChecked(relay, { reader, load, spoolDir, what })
  }

  test('--ack spooled: SIGKILL under load three times (SNS up; SNS down; during the replay), restarted on the same spool: every event answered 200 arrives exactly once, in order per room', async (t) => {
    const { dfConfigPath, reader } = await freshTopic()
    const spoolDir = join(dir, 'spool-spooled')
    const load = new Load()
    const rounds = []
    const relays = []
    const start = async () => {
      const relay = await relayOn({ dfConfigPath, spoolDir })
      relays.push(relay)
      return relay
    }
    try {
      // Round 1: SNS healthy; the cache (500 events) overflows, so later events are on disk only.
      let relay = await start()
      let atKill = {}
      await load.killUnderLoad(
        relay,
        async () => {
          if (load.acked.size < 1500) return false
          atKill = await metrics(relay)
          return atKill.sns_logger_events_spooled_total > 0
        },
        '1500 events answered 200, some of them left in the spool only',
      )
      rounds.push({ acked: load.acked.size, sent: atKill.sns_logger_events_sent_total, onDiskOnly: atKill.sns_logger_events_spooled_total })
      t.diagnostic(`round 1: ${JSON.stringify(rounds.at(-1))}`)

      // Round 2: SNS down for the whole round: nothing answered 200 in it can reach SNS.
      sns.proxy.setMode('down')
      relay = await start()
      let ackedBefore = load.acked.size
      await load.killUnderLoad(relay, () => load.acked.size >= ackedBefore + 1500, '1500 more events answered 200 with SNS down')
      const ackedInRound2 = [...load.acked].slice(ackedBefore)
      const onDisk = new Set(await spoolContents(spoolDir))
      assert.deepEqual(
        ackedInRound2.filter((id) => !onDisk.has(id)).map((id) => load.events.get(id).messageId),
        [],
        'every event answered 200 while SNS was down is in the spool after SIGKILL',
      )
      rounds.push({ acked: ackedInRound2.length, inSpoolAtKill: onDisk.size })
      t.diagnostic(`round 2: ${JSON.stringify(rounds.at(-1))}`)

      // Round 3: SNS back; the restart replays the backlog, and once that is under way the
      // clients go on; killed during the replay (some of it sent, not all).
      sns.proxy.setMode('pass')
      const logStart = sns.proxy.state.log.length
      relay = await start()
      const forwarded = () => sns.proxy.state.log.slice(logStart).filter((r) => r.action === 'PublishBatch' && r.mode === 'pass').length
      await waitUntil(() => forwarded() >= 10, 'the replay to send 10 batches')
      ackedBefore = load.acked.size
      await load.killUnderLoad(
        relay,
        async () => {
          if (load.acked.size < ackedBefore + 500) return false
          atKill = await metrics(relay)
          return true
        },
        '500 more events answered 200 during the replay',
      )
      const leftInSpool = (await spoolContents(spoolDir)).length
      rounds.push({ acked: load.acked.size - ackedBefore, replayed: atKill.sns_logger_events_replayed_total, sent: atKill.sns_logger_events_sent_total, inSpoolAtKill: leftInSpool })
      t.diagnostic(`round 3: ${JSON.stringify(rounds.at(-1))}`)
      assert.ok(atKill.sns_logger_events_sent_total > 0 && atKill.sns_logger_events_replayed_total > 0, 'killed after the replay had sent events')
      assert.ok(leftInSpool > 0, 'killed before the replay had finished')

      // Last: SNS healthy, a relay on the same spool; each client sends its unanswered batch again.
      relay = await start()
      ackedBefore = load.acked.size
      await load.finishPending(relay.url)
      rounds.push({ acked: load.acked.size - ackedBefore })
      const { arrived, copies } = await deliveredAndChecked(relay, { reader, load, spoolDir, what: '--ack spooled' })
      t.diagnostic(`rounds (acked, at the kill): ${JSON.stringify(rounds)}`)
      t.diagnostic(`answered 200: ${load.acked.size} events; arrived: ${arrived}, each once; copies SNS FIFO drops by dedup id: ${copies}; answers ${JSON.stringify(load.answers)}`)
    } finally {
      sns.proxy.setMode('pass')
      for (const relay of relays) await relay.stop('SIGKILL')
    }
  })

  test('--ack published: SIGKILL under load, no restart: every event answered 200 is in SQS exactly once, in order per room', async (t) => {
    const { dfConfigPath, reader } = await freshTopic()
    const spoolDir = join(dir, 'spool-published')
    const load = new Load()
    const relay = await relayOn({ dfConfigPath, spoolDir, args: ['--ack', 'published'] })
    try {
      await load.killUnderLoad(relay, () => load.acked.size >= 1000, '1000 events answered 200')
      assert.equal(existsSync(join(spoolDir, 'spool.redb')), false, '--ack published keeps nothing on disk')
      await reader.waitFor(load.acked, 'every event answered 200 to arrive')
      // What SNS took of the requests cut off by the kill has landed by now (the relay is gone).
      await reader.finish()
      const { arrived, copies } = checkDelivered(reader, load, '--ack published')
      assert.ok(arrived <= load.events.size)
      assert.deepEqual(load.unexpected, [], 'answers other than 200, 503 and none')
      t.diagnostic(`answered 200: ${load.acked.size} events; unanswered at the kill: ${load.events.size - load.acked.size}; arrived: ${arrived}, each once; copies SNS FIFO drops by dedup id: ${copies}; answers ${JSON.stringify(load.answers)}`)
    } finally {
      await relay.stop('SIGKILL')
    }
  })

  test('disk full: 503 ERR_UNAVAILABLE with Retry-After, /readyz 503 spool_failing, relay_ready 0; ready again by itself, and every event answered 200 arrives once, in order', async (t) => {
    const { dfConfigPath, reader } = await freshTopic()
    const disk = join(dir, 'small-disk')
    mountTmpfs(disk, '2m')
    const spoolDir = join(disk, 'spool')
    const load = new Load({ padding: 1000 })
    sns.proxy.setMode('down')
    const relay = await relayOn({ dfConfigPath, spoolDir })
    try {
      await loadUntilRefused(relay, load, 'spool_failing', 'an answer 503 as the disk fills')
      assert.match(relay.stderr(), /No space left on device/)
      const ackedWhileFull = load.acked.size

      // Nothing changes while SNS stays down: no event leaves the spool, so it still cannot take
      // a batch, and readiness must not say otherwise. Watched over three of the writer's
      // one-second probes (a bound on the watch, not a verdict on speed): whenever /readyz says
      // 200, a batch posted then must be taken.
      const watchUntil = Date.now() + 3500
      while (Date.now() < watchUntil) {
        const ready = await readyz(relay)
        if (ready.status === 200) {
          const client = load.clients.find((c) => c.pending) ?? load.clients[0]
          const before = load.answers[503] ?? 0
          const taken = await load.postOnce(relay.url, client)
          assert.ok(
            taken,
            `/readyz said ${JSON.stringify(ready.body)} with the disk still full, and the next batch got ${(load.answers[503] ?? 0) > before ? '503' : 'no 200'}${tail(relay, 6)}`,
          )
          break
        }
        await sleep(100)
      }

      // SNS back: the spool drains, a write succeeds again, and the relay is ready by itself.
      const { arrived, copies } = await readyAgainAndDelivered(relay, { reader, load, spoolDir, what: 'disk full' })
      t.diagnostic(`answered 200 before the disk was full: ${ackedWhileFull}; in all: ${load.acked.size}; arrived: ${arrived}, each once; copies: ${copies}; answers ${JSON.stringify(load.answers)}`)
    } finally {
      sns.proxy.setMode('pass')
      await relay.stop('SIGKILL')
      unmount(disk)
    }
  })

  test('--max-spool-bytes: 503 ERR_UNAVAILABLE with Retry-After, /readyz 503 full, relay_ready 0; ready again once SNS drains the spool, and every event answered 200 arrives once, in order', async (t) => {
    const { dfConfigPath, reader } = await freshTopic()
    const spoolDir = join(dir, 'spool-capped')
    const load = new Load({ padding: 1000 })
    sns.proxy.setMode('down')
    const relay = await relayOn({ dfConfigPath, spoolDir, args: ['--max-spool-bytes', String(1 << 20)] })
    try {
      await loadUntilRefused(relay, load, 'full', 'an answer 503 as the spool reaches its cap')
      const ackedWhileFull = load.acked.size
      const { arrived, copies } = await readyAgainAndDelivered(relay, { reader, load, spoolDir, what: 'spool cap' })
      t.diagnostic(`answered 200 before the cap: ${ackedWhileFull}; in all: ${load.acked.size}; arrived: ${arrived}, each once; copies: ${copies}; answers ${JSON.stringify(load.answers)}`)
    } finally {
      sns.proxy.setMode('pass')
      await relay.stop('SIGKILL')
    }
  })

  test('a spool directory that is a regular file: serve exits 2 naming the path and the cause, before it listens', async () => {
    const file = join(dir, 'spool-is-a-file')
    writeFileSync(file, 'not a directory\n')
    const dfConfigPath = join(dir, 'df_config-file.json')
    writeFileSync(dfConfigPath, JSON.stringify(dfConfig([SUPPORT])))
    const configOf = (name, extra) => {
      const path = join(dir, `serve-config-${name}.json`)
      writeFileSync(path, JSON.stringify({ tokens: TOKENS, logger: { siteUrl: SITE_URL, dfConfig: dfConfigPath, ...extra } }))
      return path
    }
    // The relay's port is taken: a relay that bound its listeners before it looked at the spool
    // would fail on the port (ERR_LISTEN, exit 1) instead.
    const taken = createServer()
    await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve))
    try {
      // logger.spoolDir in the --config file, and SNS_LOGGER_SPOOL_DIR.
      for (const [config, env] of [
        [configOf('option', { spoolDir: file }), {}],
        [configOf('env', {}), { SNS_LOGGER_SPOOL_DIR: file }],
      ]) {
        const args = ['serve', '--port', String(taken.address().port), '--admin-port', '0', '--config', config]
        const { code, stdout, stderr } = await runCli(args, { ...motoSnsEnv(sns.proxy.endpoint), ...env })
        assert.equal(code, 2, stderr)
        assert.ok(stderr.includes(JSON.stringify(file)), `the path is named: ${stderr}`)
        assert.match(stderr, /ERR_INVALID_OPTIONS: spoolDir .* cannot be used: it is a file, not a directory/, 'and the cause')
        assert.doesNotMatch(stderr, /ERR_LISTEN/)
        assert.doesNotMatch(stdout, /listening/)
      }
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })
})
