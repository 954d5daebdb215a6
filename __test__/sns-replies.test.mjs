// Replies that moto never gives, from a scripted endpoint (support/fake-sns.mjs): a 200 that
// does not account for every entry, a 200 that is not an SNS response, an error that echoes
// the signed request, and no credentials at all. Every accepted event still arrives exactly
// once, nothing is wrongly dead-lettered, and no secret reaches onError or the disk.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, test } from 'node:test'

import { acceptAll, batchReply, errorReply, startFakeSns } from './support/fake-sns.mjs'
import { SITE_URL, SUPPORT, childEnv, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'

const require = createRequire(import.meta.url)
const { SnsLogger, windowOpened } = require('../index.js')

clearSnsLoggerEnv()
const ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx7example5token0Ab+Cd/Ef=='
Object.assign(process.env, {
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: SESSION_TOKEN,
  AWS_EC2_METADATA_DISABLED: 'true',
})
const tmp = tempDir('sns-logger-replies-')
const servers = []
after(() => Promise.all(servers.map((s) => s.stop())))

async function fakeSns(script) {
  const sns = await startFakeSns(script)
  servers.push(sns)
  return sns
}

/** A logger on the fake endpoint; `errors` collects onError. */
function loggerFor(sns, name, options = {}) {
  const errors = []
  const spoolDir = join(tmp, name)
  const logger = new SnsLogger({
    siteUrl: SITE_URL,
    dfConfig: dfConfig([SUPPORT]),
    sink: { kind: 'sns', endpoint: sns.endpoint, region: 'us-east-1', requestTimeoutMs: 3000 },
    spoolDir,
    lingerMs: 0,
    onError: (e) => errors.push({ code: e.code, events: e.events, message: e.message }),
    ...options,
  })
  return { logger, errors, spoolDir }
}

const events = (n) => Array.from({ length: n }, (_, i) => windowOpened({ roomId: 'r' }, `s${i}`))
const sessions = (entries) => entries.map((e) => JSON.parse(e.message).properties.session_id)

test('a 200 that does not account for every entry is no reply: every entry is retried, none counted as sent twice', async () => {
  const sns = await fakeSns([
    // Ids 1 and 2 missing, and a Failed id that matches nothing sent.
    (entries) => batchReply({ successful: [entries[0].id], failed: [{ id: '7', code: 'InternalError', senderFault: false }] }),
    // An empty result.
    () => batchReply({}),
  ])
  // A long linger: the three events go in one request when flush() asks, not as the
  // dispatcher happens to wake (with no linger, a busy machine sent the first one alone).
  const { logger, errors } = loggerFor(sns, 'partial', { lingerMs: 60_000 })
  for (const event of events(3)) logger.logEvent(event)
  const report = await logger.flush()
  assert.deepEqual(report, { sent: 3, deadLettered: 0, spooled: 0, dropped: 0 })
  assert.deepEqual(sessions(sns.accepted), ['s0', 's1', 's2'], 'each event published once, in order')
  assert.equal(sns.requests.length, 3)
  // The first reply confirmed s0 and SNS kept it: the retry with its dedup id lands once.
  assert.deepEqual(sns.requests.map((r) => r.length), [3, 3, 3], 'the whole batch is sent again after each such reply')
  assert.ok(
    errors.some((e) => e.code === 'UnreadableResponse' && e.events === 3 && /lists 2 results for the 3 entries sent/.test(e.message)),
    JSON.stringify(errors),
  )
  await logger.close()
})

test('a 200 cut short after its first entry confirms nothing: 20 events, all retried and all in SNS once', async () => {
  // The SDK's XML reader takes this as "entry 0 published"; SNS kept nothing.
  const cut = () => ({ status: 200, contentType: 'text/xml', body: '<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful><member><Id>0</Id' })
  const sns = await fakeSns([cut, cut, cut, cut])
  const { logger, errors } = loggerFor(sns, 'cut', { lingerMs: 60_000 })
  for (const event of events(20)) logger.logEvent(event)
  const report = await logger.flush()
  assert.deepEqual(report, { sent: 20, deadLettered: 0, spooled: 0, dropped: 0 })
  assert.deepEqual(sessions(sns.accepted), events(20).map((e) => e.properties.session_id), 'each event in SNS once, in order')
  assert.ok(errors.some((e) => e.code === 'UnreadableResponse'), JSON.stringify(errors))
  await logger.close()
})

test('a 200 that is not an SNS response is retried and reported, never dead-lettered', async () => {
  const page = () => ({ status: 200, contentType: 'text/html', body: '<html><body>Welcome to the proxy</body></html>' })
  const empty = () => ({ status: 200, contentType: 'text/xml', body: '' })
  const sns = await fakeSns([page, empty, acceptAll])
  const { logger, errors, spoolDir } = loggerFor(sns, 'not-sns')
  for (const event of events(4)) logger.logEvent(event)
  const report = await logger.flush()
  assert.deepEqual(report, { sent: 4, deadLettered: 0, spooled: 0, dropped: 0 })
  assert.deepEqual(sessions(sns.accepted), ['s0', 's1', 's2', 's3'])
  assert.equal(existsSync(join(spoolDir, 'dead-letter.jsonl')), false, 'nothing dead-lettered')
  assert.ok(errors.some((e) => e.code === 'UnreadableResponse' && /not an SNS response/.test(e.message)), JSON.stringify(errors))
  await logger.close()
})

test('an error that echoes the signed request: refused for good, with the credentials redacted', async () => {
  const echo = `The request signature we calculated does not match the signature you provided. The Canonical String for this request should have been 'POST\n/\n\nhost:127.0.0.1\nx-amz-security-token:${SESSION_TOKEN}\n' and Credential=${ACCESS_KEY_ID}/20260101/us-east-1/sns/aws4_request`
  const sns = await fakeSns([() => errorReply(403, 'SignatureDoesNotMatch', echo)])
  const { logger, errors, spoolDir } = loggerFor(sns, 'echo')
  logger.logEvent(events(1)[0])
  const report = await logger.flush()
  assert.equal(report.deadLettered, 1)
  const deadLetters = readFileSync(join(spoolDir, 'dead-letter.jsonl'), 'utf8')
  const texts = [deadLetters, JSON.stringify(errors), logger.stats().lastErrorCode]
  for (const text of texts) {
    assert.ok(!text.includes(SESSION_TOKEN.slice(0, 24)), `session token leaked: ${text}`)
    assert.ok(!text.includes(ACCESS_KEY_ID), `access key id leaked: ${text}`)
  }
  assert.match(JSON.parse(deadLetters.split('\n')[0]).errorMessage, /^The request signature we calculated does not match/)
  assert.equal(errors[0].code, 'SignatureDoesNotMatch')
  await logger.close()
})

test('without credentials, the error says which are missing', async () => {
  const sns = await fakeSns([])
  const home = tempDir('sns-logger-no-credentials-')
  const script = `
    const { SnsLogger, windowOpened } = require(${JSON.stringify(require.resolve('../index.js'))})
    const codes = []
    const logger = new SnsLogger({
      siteUrl: 'https://chat.example.com',
      dfConfig: ${JSON.stringify(dfConfig([SUPPORT]))},
      sink: { kind: 'sns', endpoint: ${JSON.stringify(sns.endpoint)}, region: 'us-east-1' },
      spoolDir: ${JSON.stringify(join(tmp, 'no-credentials'))},
      lingerMs: 0,
      retryBudgetMs: 300,
      onError: (e) => codes.push(e.code + ': ' + e.message),
    })
    logger.logEvent(windowOpened({ roomId: 'r' }, 's0'))
    logger.flush().then(async (report) => {
      await new Promise((r) => setTimeout(r, 100))
      console.log(JSON.stringify({ report, lastErrorCode: logger.stats().lastErrorCode, codes }))
      await logger.close()
    })`
  const env = childEnv({ HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none') })
  for (const name of Object.keys(env)) if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|WEB_IDENTITY|ROLE|CONTAINER)/.test(name)) delete env[name]
  const child = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 30_000 })
  assert.equal(child.status, 0, child.stderr)
  const out = JSON.parse(child.stdout.trim().split('\n').at(-1))
  assert.equal(out.report.spooled, 1, 'kept, not dropped or dead-lettered')
  assert.equal(out.lastErrorCode, 'CredentialsError')
  assert.ok(out.codes.some((c) => c.startsWith('CredentialsError:') && c.includes('no AWS credentials were found')), JSON.stringify(out.codes))
  assert.equal(sns.requests.length, 0, 'nothing was sent unsigned')
})
