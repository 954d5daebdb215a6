// sns-logger/client's own code in Deno with what the Apps-Engine gives an app (`--allow-net`,
// read access to the package, no environment, no FFI, no subprocesses), logging through a relay
// (a child process) backed by moto; every event is
// read back from the SQS FIFO queue exactly once, in order. Both transports and both builds:
// the ESM client with `fetch`, and the CommonJS build evaluated as the Apps-Engine evaluates app
// code (`new Function`, `globalThis` and `Deno` shadowed) with an IHttp accessor that behaves as
// the Apps-Engine's (resolves for every status). Also: the relay stops for a while and comes
// back on the same port.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { SITE_URL, SUPPORT, dfConfig, tempDir } from './support/fixtures.mjs'
import { createFifoTopicWithQueue, motoSnsEnv, receiveAll, resetMoto, startMoto } from './support/moto.mjs'
import { startGate } from './support/gate.mjs'
import { DF_TOKEN, SF_TOKEN, TOKENS, startRelay } from './support/relay.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const APP = join(ROOT, '__test__', 'deno', 'app.mjs')
const dir = tempDir('sns-logger-client-deno-')
const DF_CONFIG = join(dir, 'df_config.json')
writeFileSync(DF_CONFIG, JSON.stringify(dfConfig([SUPPORT])))

/** The Deno binary of the `deno` npm package (its postinstall may not have run). */
function denoExecutable() {
  const local = join(ROOT, 'node_modules', 'deno', 'deno')
  if (existsSync(local)) return local
  return createRequire(import.meta.url)('deno/install_api.cjs').runInstall()
}

/**
 * The app in Deno with the permissions the Apps-Engine gives one that declares `networking`:
 * `--allow-net` (any host), read access to the package, an empty environment (DENO_DIR aside,
 * Deno's own cache).
 */
function startApp(relayUrl, token, transport) {
  const cache = join(dir, 'deno-cache')
  mkdirSync(cache, { recursive: true })
  const child = spawn(
    denoExecutable(),
    ['run', '--no-prompt', '--no-config', '--no-lock', '--allow-net', `--allow-read=${join(ROOT, 'client')},${join(ROOT, 'plan')}`, APP, relayUrl, token, transport],
    { env: { DENO_DIR: cache, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
  /** Sends one command and waits (bounded) for its answer line. */
  async function send(command, timeoutMs = 30_000) {
    child.stdin.write(JSON.stringify(command) + '\n')
    let timer
    const answer = await Promise.race([
      answers.next(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to ${command.cmd} in ${timeoutMs} ms; deno stderr: ${stderr}`)), timeoutMs)
      }),
      exited.then((code) => Promise.reject(new Error(`deno exited with ${code}: ${stderr}`))),
    ]).finally(() => clearTimeout(timer))
    assert.ok(!answer.done, `deno closed stdout: ${stderr}`)
    const parsed = JSON.parse(answer.value)
    assert.equal(parsed.ok, true, `${command.cmd}: ${answer.value}`)
    return parsed
  }
  async function stop() {
    child.stdin.end()
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))])
    if (code === 'timeout') child.kill('SIGKILL')
    return code
  }
  return { send, stop, stderr: () => stderr }
}

const range = (from, to) => Array.from({ length: to - from }, (_, i) => `room-${from + i}`)

describe('sns-logger/client in Deno (the Apps-Engine sandbox) -> relay -> moto SNS -> SQS FIFO', () => {
  let moto
  let queueUrl

  before(async () => {
    moto = await startMoto()
  })
  after(async () => {
    await moto?.stop()
  })

  async function freshTopic() {
    await resetMoto(moto.endpoint)
    ;({ queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'rc-support-events'))
  }

  function relay({ args = [], spoolDir = mkdtempSync(join(dir, 'spool-')) } = {}) {
    return startRelay({
      dir,
      args,
      config: {
        tokens: TOKENS,
        logger: { siteUrl: SITE_URL, dfConfig: DF_CONFIG, spoolDir, sink: { kind: 'sns', connectTimeoutMs: 300, requestTimeoutMs: 2000 } },
      },
      env: motoSnsEnv(moto.endpoint),
    })
  }

  /** The messages in the queue once `expected` arrived and a quiet second passed. */
  async function received(expected) {
    const messages = await receiveAll(moto.endpoint, queueUrl, { expected, timeoutMs: 30_000 })
    for (const m of messages) {
      assert.equal(m.subject, 'RC')
      assert.equal(m.messageGroupId, SITE_URL)
    }
    return messages.map((m) => JSON.parse(m.message))
  }

  for (const [transport, token] of [
    ['fetch', SF_TOKEN],
    ['ihttp', DF_TOKEN],
  ]) {
    test(`${transport}: the sandbox withholds the environment; a bad event throws at the call site; 120 events arrive once, in order`, async () => {
      await freshTopic()
      const server = await relay()
      const app = startApp(server.url, token, transport)
      try {
        const { denied } = await app.send({ cmd: 'probe' })
        assert.deepEqual(denied, { env: true })

        const bad = await app.send({ cmd: 'bad' })
        assert.equal(bad.code, 'ERR_INVALID_PROPERTY')
        assert.match(bad.message, /^properties\.failure_reason "no agent available" is not allowed for "Escalation" \/ "failed"; allowed: .*"no agents available"/)

        await app.send({ cmd: 'log', from: 0, count: 120 })
        const { result, stats, notices } = await app.send({ cmd: 'flush', timeoutMs: 20_000 })
        assert.deepEqual(result, { complete: true, pending: 0 })
        assert.deepEqual(notices, [])
        assert.deepEqual(stats, { logged: 120, sent: 120, rejected: 0, failed: 0, dropped: 0, retries: 0, pending: 0 })
        await app.send({ cmd: 'close' })
        assert.equal(await app.stop(), 0)

        const messages = await received(120)
        assert.deepEqual(
          messages.map((m) => m.roomId),
          range(0, 120),
        )
        // The typed helpers' events, as the plan says: properties in plan order, no tabId.
        assert.deepEqual(messages[1].properties, { queue_time: 1, sf_chat_key: 'key-1' })
        assert.deepEqual(messages[0].properties, { failure_reason: 'no agents available' })
        assert.deepEqual(messages[2].properties, { close_method: 'agent' })
        assert.ok(messages.every((m) => m.eventType === 'session' && m.tabId === ''))
      } finally {
        await app.stop()
        await server.stop()
      }
    })
  }

  test('the relay stops for a while and comes back at the same address: the client retries and every event arrives once, in order', async () => {
    await freshTopic()
    const spoolDir = mkdtempSync(join(dir, 'spool-'))
    const first = await relay({ spoolDir })
    // The client's address for the relay, held for the whole test (support/gate.mjs).
    const gate = await startGate(first.url)
    const app = startApp(gate.url, SF_TOKEN, 'fetch')
    let second
    try {
      await app.send({ cmd: 'log', from: 0, count: 30 })
      assert.equal((await app.send({ cmd: 'flush', timeoutMs: 20_000 })).result.complete, true)
      gate.shut()
      assert.equal(await first.stop(), 0)

      // Down: the client keeps the events and retries; flush() gives up at its own timeout.
      await app.send({ cmd: 'log', from: 30, count: 50 })
      const down = await app.send({ cmd: 'flush', timeoutMs: 1500 })
      assert.deepEqual(down.result, { complete: false, pending: 50 })
      assert.ok(down.stats.retries >= 1, `retried while down: ${JSON.stringify(down.stats)}`)

      second = await relay({ spoolDir })
      gate.open(second.url)
      const back = await app.send({ cmd: 'flush', timeoutMs: 20_000 })
      assert.deepEqual(back.result, { complete: true, pending: 0 })
      assert.equal(back.stats.sent, 80)
      assert.deepEqual(back.notices, [])
      await app.send({ cmd: 'close' })

      const messages = await received(80)
      assert.deepEqual(
        messages.map((m) => m.roomId),
        range(0, 80),
      )
    } finally {
      await app.stop()
      await second?.stop()
      await gate.stop()
    }
  })
})
