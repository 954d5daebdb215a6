// Start-up in a fresh process: `require` plus `init` (or, for the baseline, requiring
// client-sns and creating its client), and the RSS that added once the process is idle.
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { scenario } from '../support/child.mjs'

const require = createRequire(import.meta.url)

scenario(async ({ endpoint, which }) => {
  const spoolDir = mkdtempSync(join(tmpdir(), 'sns-logger-bench-'))
  globalThis.gc?.()
  const rss0 = process.memoryUsage.rss()
  const t0 = performance.now()
  let shutdown
  if (which === 'sns-logger') {
    const lib = require('../../index.js')
    lib.init({
      siteUrl: 'https://chat.example.com',
      dfConfig: { 'support.bot': { agent_id: 'a1', sns_arn_topic: 'arn:aws:sns:us-east-1:123456789012:t.fifo' } },
      sink: { kind: 'sns', endpoint, region: 'us-east-1' },
      spoolDir,
    })
    shutdown = () => lib.close()
  } else {
    const { SNSClient } = require('@aws-sdk/client-sns')
    const client = new SNSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } })
    shutdown = async () => client.destroy()
  }
  const loadInitMs = performance.now() - t0
  await sleep(200)
  globalThis.gc?.()
  const addedRssMb = (process.memoryUsage.rss() - rss0) / 2 ** 20
  await shutdown()
  rmSync(spoolDir, { recursive: true, force: true })
  return { which, loadInitMs, addedRssMb }
})
