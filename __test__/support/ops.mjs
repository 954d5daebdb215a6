// Helpers of the operator commands' tests: run the CLI as a child process, and fill a spool
// directory the way a logger does during an outage.

import { spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

import { childEnv, SITE_URL } from './fixtures.mjs'

const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url))
const { SnsLogger } = createRequire(import.meta.url)('../../index.js')

/** Runs `sns-logger ...args`; returns { status, stdout, stderr, json } (json: stdout parsed, if it is). */
export function cli(args, env = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: childEnv({ AWS_EC2_METADATA_DISABLED: 'true', ...env }),
    encoding: 'utf8',
    timeout: 120_000,
  })
  let json
  try {
    json = JSON.parse(result.stdout)
  } catch {
    json = undefined
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, json }
}

/** An event of the plan for `agent` at `timestamp`. */
export function event(agent, n, timestamp = new Date().toISOString()) {
  return { agent, roomId: `room-${n}`, category: 'Survey', action: 'link_clicked', timestamp }
}

/**
 * Logs `events` with SNS unreachable (a loopback port held by this process that drops every
 * connection, so nothing else can take it meanwhile): with no retry budget they go to the spool
 * of `spoolDir`, as during an outage. Returns the close() report.
 */
export async function spoolWhileSnsIsDown(spoolDir, dfConfig, events) {
  const down = createServer((socket) => socket.destroy())
  await new Promise((resolve) => down.listen(0, '127.0.0.1', resolve))
  const { port } = down.address()
  const logger = new SnsLogger({
    siteUrl: SITE_URL,
    dfConfig,
    spoolDir,
    retryBudgetMs: 0,
    sink: { kind: 'sns', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, connectTimeoutMs: 500 },
  })
  for (const e of events) logger.logEvent(e)
  try {
    return await logger.close({ timeoutMs: 10_000 })
  } finally {
    await new Promise((resolve) => down.close(resolve))
  }
}
