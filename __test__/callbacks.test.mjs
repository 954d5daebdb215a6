// What docs/delivery.md promises of the in-process logger's callbacks and defaults, each in a child
// process where a broken promise would show (a throwing callback that escaped would kill it):
// onDelivery reports every delivered event once, per topic and group; a throwing onError or
// onDelivery is ignored; without a spoolDir the spool is `.sns-logger/` in the working directory.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import { SALES, SITE_URL, SUPPORT, childEnv, dfConfig, tempDir } from './support/fixtures.mjs'

const INDEX = fileURLToPath(new URL('../index.js', import.meta.url))
const dir = tempDir('sns-logger-callbacks-')

/** Runs `body` in a child Node process (with `lib` and `df` defined) in `cwd`; its last stdout line parsed. */
function child(body, cwd = dir, env = {}) {
  const script = `
    const lib = require(${JSON.stringify(INDEX)})
    const df = ${JSON.stringify(dfConfig([SUPPORT, SALES]))}
    let escaped = 0
    process.on('uncaughtException', () => escaped++)
    ;(async () => { ${body} })().then(
      (result) => console.log(JSON.stringify({ ...result, escaped })),
      (error) => { console.error(error); process.exit(3) },
    )`
  const result = spawnSync(process.execPath, ['-e', script], { cwd, env: childEnv(env), encoding: 'utf8', timeout: 60_000 })
  assert.equal(result.status, 0, `child: ${result.stderr}`)
  return JSON.parse(result.stdout.trim().split('\n').pop())
}

test('onDelivery reports each delivered event once, by topic and message group, in batches of at most 10', () => {
  const { deliveries, sent } = child(`
    const deliveries = []
    const logger = new lib.SnsLogger({ siteUrl: ${JSON.stringify(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' }, onDelivery: (d) => deliveries.push(d) })
    for (let i = 0; i < 25; i++) logger.logEvent(lib.surveyLinkClicked({ roomId: 'r' + i, agent: ${JSON.stringify(SUPPORT.username)} }))
    for (let i = 0; i < 7; i++) logger.logEvent(lib.surveyLinkClicked({ roomId: 's' + i, agent: ${JSON.stringify(SALES.username)} }))
    const { sent } = await logger.flush()
    await logger.close()
    // Callbacks run on the JavaScript thread after the delivery: give them their turn.
    await new Promise((resolve) => setImmediate(resolve))
    return { deliveries, sent }`)
  assert.equal(sent, 32)
  const total = new Map()
  for (const { topicArn, messageGroupId, events } of deliveries) {
    assert.equal(messageGroupId, SITE_URL)
    assert.ok(events >= 1 && events <= 10, `a batch of ${events}`)
    total.set(topicArn, (total.get(topicArn) ?? 0) + events)
  }
  assert.deepEqual(Object.fromEntries(total), { [SUPPORT.topic]: 25, [SALES.topic]: 7 })
})

test('a throwing onError or onDelivery is ignored: delivery goes on, nothing escapes to the process', { skip: !existsSync('/dev/full') && 'no /dev/full' }, () => {
  const result = child(`
    let errors = 0, deliveries = 0
    const failing = new lib.SnsLogger({
      siteUrl: ${JSON.stringify(SITE_URL)}, dfConfig: df, sink: { kind: 'file', path: '/dev/full' }, retryBudgetMs: 0,
      onError: () => { errors++; throw new Error('onError breaks') },
    })
    const working = new lib.SnsLogger({
      siteUrl: ${JSON.stringify(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' },
      onDelivery: () => { deliveries++; throw new Error('onDelivery breaks') },
    })
    for (let i = 0; i < 3; i++) failing.logEvent(lib.surveyLinkClicked({ roomId: 'f' + i, agent: ${JSON.stringify(SUPPORT.username)} }))
    for (let i = 0; i < 3; i++) working.logEvent(lib.surveyLinkClicked({ roomId: 'w' + i, agent: ${JSON.stringify(SUPPORT.username)} }))
    const worked = await working.flush()
    await failing.close({ timeoutMs: 1000 })
    await new Promise((resolve) => setImmediate(resolve))
    // Still working after its callback threw.
    working.logEvent(lib.surveyLinkClicked({ roomId: 'w3', agent: ${JSON.stringify(SUPPORT.username)} }))
    const again = await working.flush()
    await working.close()
    await new Promise((resolve) => setImmediate(resolve))
    return { errors, deliveries, sent: worked.sent + again.sent, records: working.records().length }`)
  assert.ok(result.errors >= 1, 'onError was called')
  assert.ok(result.deliveries >= 2, 'onDelivery was called after it threw')
  assert.equal(result.sent, 4)
  assert.equal(result.records, 4)
  assert.equal(result.escaped, 0, 'no exception reached the process')
})

test('with the sns sink and no spoolDir, the spool is .sns-logger/ in the working directory', () => {
  const cwd = join(dir, 'working-directory')
  mkdirSync(cwd, { recursive: true })
  writeFileSync(join(cwd, 'marker'), '')
  const { spooled } = child(`
    // SNS out of reach (nothing listens on the discard port): the events go to the spool.
    const sink = { kind: 'sns', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', connectTimeoutMs: 100 }
    const logger = new lib.SnsLogger({ siteUrl: ${JSON.stringify(SITE_URL)}, dfConfig: df, sink, retryBudgetMs: 0 })
    for (let i = 0; i < 3; i++) logger.logEvent(lib.surveyLinkClicked({ roomId: 'r' + i, agent: ${JSON.stringify(SUPPORT.username)} }))
    const { spooled } = await logger.close({ timeoutMs: 2000 })
    return { spooled }`, cwd, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' })
  assert.equal(spooled, 3)
  assert.ok(existsSync(join(cwd, '.sns-logger', 'spool.redb')), 'the spool file is in ./.sns-logger')
})
