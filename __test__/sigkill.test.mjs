// SIGKILL gives no exit hook: what was only in memory is lost, what reached the spool survives
// and the next start replays it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { SITE_URL, SUPPORT, childEnv, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'

const require = createRequire(import.meta.url)
const INDEX_JS = require.resolve('../index.js')
const { SnsLogger } = require(INDEX_JS)
clearSnsLoggerEnv()

test('after SIGKILL, every event that reached the spool is replayed by the next logger', async () => {
  const spoolDir = join(tempDir('sns-logger-sigkill-'), 'spool')
  // SNS unreachable (nothing listens on port 1), one event in memory: the rest overflows to disk.
  const script = `
    const { SnsLogger, windowOpened } = require(${JSON.stringify(INDEX_JS)})
    const logger = new SnsLogger({
      siteUrl: ${JSON.stringify(SITE_URL)},
      dfConfig: ${JSON.stringify(dfConfig([SUPPORT]))},
      sink: { kind: 'sns', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', connectTimeoutMs: 100 },
      spoolDir: ${JSON.stringify(spoolDir)},
      maxQueueEvents: 1,
      retryBudgetMs: 60000,
    })
    for (let i = 0; i < 200; i++) logger.logEvent(windowOpened({ roomId: 'r' }, 's' + i))
    const poll = setInterval(() => {
      const { spooled } = logger.stats()
      if (spooled >= 199) { clearInterval(poll); console.log(JSON.stringify({ spooled })); setInterval(() => {}, 1000) }
    }, 10)`
  const env = childEnv({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' })
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8')
  const spooled = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child never spooled: ${out}`)), 20_000)
    child.stdout.on('data', (chunk) => {
      out += chunk
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) {
        clearTimeout(timer)
        resolve(JSON.parse(line).spooled)
      }
    })
  })
  child.kill('SIGKILL')
  await new Promise((resolve) => child.on('exit', resolve))

  const next = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig([SUPPORT]), sink: { kind: 'memory' }, spoolDir, lingerMs: 0 })
  const deadline = Date.now() + 10_000
  while (next.records().length < spooled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const sessions = next.records().map((r) => JSON.parse(r.Message).properties.session_id)
  assert.ok(sessions.length >= spooled, `${sessions.length} replayed, ${spooled} were on disk`)
  assert.equal(new Set(sessions).size, sessions.length, 'none twice')
  const report = await next.close()
  assert.equal(report.leftInSpool, 0)
})
