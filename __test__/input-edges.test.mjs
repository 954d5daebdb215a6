// Inputs at the edges of what JavaScript can hand over: options JSON cannot carry, numbers
// past 32 bits, close() arguments, and event values that would not read back from the
// message (years outside 0000-9999, leap seconds, huge whole numbers, lone surrogates).
// Each is refused with a documented code, or written so that it reads back.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import { SITE_URL, SUPPORT, clearSnsLoggerEnv, dfConfig } from './support/fixtures.mjs'

const require = createRequire(import.meta.url)
const { SnsLogger, escalationSuccessful, windowOpened } = require('../index.js')
clearSnsLoggerEnv()

const options = (extra = {}) => ({ siteUrl: SITE_URL, dfConfig: dfConfig([SUPPORT]), sink: { kind: 'memory' }, ...extra })

function throwsCoded(fn, code, includes = []) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof Error, `not an Error: ${String(error)}`)
    assert.equal(error.code, code, error.message)
    for (const text of includes) assert.ok(error.message.includes(text), `${JSON.stringify(error.message)} lacks ${JSON.stringify(text)}`)
    return true
  })
}

async function withLogger(extra, fn) {
  const logger = new SnsLogger(options(extra))
  try {
    return await fn(logger)
  } finally {
    await logger.close()
  }
}

test('options JSON cannot carry are refused with ERR_INVALID_OPTIONS, naming where', () => {
  const circular = dfConfig([SUPPORT])
  circular[SUPPORT.username].self = circular
  let deep = { leaf: true }
  for (let i = 0; i < 200; i++) deep = { deep }
  const getter = Object.defineProperty({}, 'siteUrl', { enumerable: true, get: () => { throw new Error('boom') } })
  const stringThrower = Object.defineProperty({}, 'siteUrl', { enumerable: true, get: () => { throw 'a thrown string' } })
  const cases = [
    [{ dfConfig: circular }, 'options.dfConfig.support.bot.self'],
    [{ dfConfig: { ...dfConfig([SUPPORT]), extra: deep } }, 'nested deeper'],
    [{ lingerMs: NaN }, 'options.lingerMs is NaN'],
    [{ lingerMs: Infinity }, 'options.lingerMs is Infinity'],
    [{ maxQueueEvents: 10n }, 'options.maxQueueEvents is a bigint'],
    [{ spoolDir: Symbol('x') }, 'options.spoolDir is a symbol'],
    [{ planExtension: () => {} }, 'options.planExtension is a function'],
  ]
  for (const [extra, text] of cases) throwsCoded(() => new SnsLogger(options(extra)), 'ERR_INVALID_OPTIONS', [text])
  throwsCoded(() => new SnsLogger(getter), 'ERR_INVALID_OPTIONS', ['threw'])
  throwsCoded(() => new SnsLogger(stringThrower), 'ERR_INVALID_OPTIONS', ['threw'])
})

test('whole-number options take their whole documented range, past 32 bits', async () => {
  await withLogger({ maxQueueBytes: 2 ** 32 }, () => {})
  await withLogger({ maxQueueBytes: 2 ** 40, maxQueueEvents: 2 ** 32 }, () => {})
  throwsCoded(() => new SnsLogger(options({ maxQueueBytes: 2 ** 40 + 1 })), 'ERR_INVALID_OPTIONS', ['maxQueueBytes', 'allowed'])
  throwsCoded(() => new SnsLogger(options({ lingerMs: 1.5 })), 'ERR_INVALID_OPTIONS', ['lingerMs 1.5', 'whole number'])
})

test('close() validates its options and stays open when they are bad', async () => {
  const logger = new SnsLogger(options())
  for (const bad of ['5000', 5, true]) throwsCoded(() => logger.close(bad), 'ERR_INVALID_OPTIONS', ['close options'])
  for (const [timeoutMs, text] of [
    ['x', 'timeoutMs must be a whole number'],
    [-1, 'timeoutMs -1 is out of range'],
    [2 ** 33, 'out of range'],
    [1.5, 'out of range'],
    [10n, 'bigint'],
  ]) {
    throwsCoded(() => logger.close({ timeoutMs }), 'ERR_INVALID_OPTIONS', [text])
  }
  throwsCoded(() => logger.close({ timeout: 5 }), 'ERR_INVALID_OPTIONS', ['unknown option', '"timeout"', '"timeoutMs"'])
  assert.equal(logger.closed, false, 'bad close() options leave the logger open')
  logger.logEvent(windowOpened({ roomId: 'r' }, 's'))
  assert.equal((await logger.close({ timeoutMs: 1000 })).sent, 1)
})

test('timestamps that would not read back are refused', () =>
  withLogger({}, async (logger) => {
    const at = (timestamp) => () => logger.logEvent(windowOpened({ roomId: 'r', timestamp }, 's'))
    throwsCoded(at('2016-12-31T23:59:60.000Z'), 'ERR_INVALID_TIMESTAMP', ['leap second'])
    throwsCoded(at(new Date(Date.UTC(10000, 0, 1))), 'ERR_INVALID_TIMESTAMP', ['0000 to 9999'])
    throwsCoded(at(new Date(-62198755200001)), 'ERR_INVALID_TIMESTAMP', ['0000 to 9999'])
    throwsCoded(at('+010000-01-01T00:00:00Z'), 'ERR_INVALID_TIMESTAMP', ['timestamp'])
    assert.equal(logger.stats().accepted, 0)
    for (const timestamp of ['0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
      logger.logEvent(windowOpened({ roomId: 'r', timestamp }, 's'))
      await logger.flush()
      const written = JSON.parse(logger.records({ clear: true }).at(-1).Message).timestamp
      assert.equal(new Date(written).toISOString(), timestamp, 'reads back through Date')
    }
  }))

test('whole numbers are written in full, and read back unchanged', () =>
  withLogger({ lingerMs: 0 }, async (logger) => {
    const values = [9e15, 2 ** 53 + 2, 1e20, Number.MAX_VALUE, 42]
    for (const queue_time of values) logger.logEvent(escalationSuccessful({ roomId: 'r' }, { queue_time, sf_chat_key: 'k' }))
    await logger.flush()
    const written = logger.records().map((r) => /"queue_time":([^,}]+)/.exec(r.Message)[1])
    for (const text of written) assert.match(text, /^\d+$/, 'no fraction, no exponent')
    assert.deepEqual(written.map(Number), values)
  }))

test('strings with a lone surrogate are refused, not silently changed', () =>
  withLogger({}, async (logger) => {
    const lone = 'room-\uD800-x'
    throwsCoded(() => logger.logEvent(windowOpened({ roomId: lone }, 's')), 'ERR_INVALID_EVENT', ['roomId', 'lone surrogate'])
    throwsCoded(() => logger.logEvent(windowOpened({ roomId: 'r', tabId: 'tab\uDC00' }, 's')), 'ERR_INVALID_EVENT', ['tabId', 'lone surrogate'])
    throwsCoded(() => logger.logEvent(windowOpened({ roomId: 'r' }, 'session\uD83D')), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'lone surrogate'])
    throwsCoded(() => logger.logEvent(windowOpened({ roomId: 'r', agent: 'bot\uD800' }, 's')), 'ERR_UNKNOWN_AGENT', ['agent', 'lone surrogate'])
    assert.equal(logger.stats().accepted, 0)
    // A real U+FFFD, and a whole pair, are fine.
    logger.logEvent(windowOpened({ roomId: 'r\uFFFD😀' }, 's'))
    await logger.flush()
    assert.equal(JSON.parse(logger.records().at(-1).Message).roomId, 'r\uFFFD😀')
  }))

test('records({ clear: true }) loses nothing published while it runs', () =>
  withLogger({ lingerMs: 0, maxQueueEvents: 1_000_000, maxQueueBytes: 2 ** 30 }, async (logger) => {
    const total = 100_000
    let seen = 0
    for (let i = 0; i < total; i++) {
      logger.logEvent(windowOpened({ roomId: 'r' }, `s${i}`))
      if (i % 50 === 0) seen += logger.records({ clear: true }).length
    }
    await logger.flush()
    seen += logger.records({ clear: true }).length
    assert.equal(seen, total)
  }))
