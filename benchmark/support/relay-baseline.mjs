// The relay's two baselines, each a Node `http` server taking the relay's POST /v1/batch
// (same bearer token, same body, same 200 answer `{"accepted": n, "rejected": [...]}`):
//
//   client-sns: what a user writes today: parse the body, build each message as sns-logger
//     would (agent id and topic from df_config, eventType from the plan), PublishBatch of up
//     to 10 per topic with @aws-sdk/client-sns, answer once SNS acknowledged them all.
//   log-event: this addon's logEvent() per event, answer at once (delivery is the logger's).
//
// Run as `node relay-baseline.mjs '{"kind", "endpoint", "dfConfig", "tokens", "spoolDir"}'`;
// prints `listening on http://127.0.0.1:PORT` and exits 0 on SIGTERM once closed.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'

import { eventTypeOf, messageJson } from './baseline-message.mjs'

const require = createRequire(import.meta.url)
const { kind, endpoint, dfConfig: dfConfigPath, tokens: tokensPath, spoolDir } = JSON.parse(process.argv[2])
const SITE_URL = 'https://chat.example.com'
const REGION = 'us-east-1'
const dfConfig = JSON.parse(readFileSync(dfConfigPath, 'utf8'))
const allowed = new Set(Object.values(JSON.parse(readFileSync(tokensPath, 'utf8'))).flat().map((t) => `Bearer ${t}`))

/** The handler for one parsed batch: resolves to `{ accepted, rejected }`. */
let handleBatch
let shutdown

if (kind === 'client-sns') {
  const { Agent } = http
  const { SNSClient, PublishBatchCommand } = require('@aws-sdk/client-sns')
  // The plan as JSON only: the user's server does not load the addon.
  const plan = JSON.parse(readFileSync(new URL('../../plan/tracking-plan.json', import.meta.url), 'utf8'))
  const client = new SNSClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench-secret' },
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: 128 }) },
  })
  let nextId = 0
  handleBatch = async (batch) => {
    const rejected = []
    const byTopic = new Map()
    batch.forEach((event, index) => {
      const bot = dfConfig[event?.agent]
      const eventType = bot && eventTypeOf(plan, event)
      if (!eventType) {
        rejected.push({ index, code: 'ERR_INVALID_EVENT', message: 'unknown agent, category or action' })
        return
      }
      const message = messageJson(bot, event, eventType)
      let entries = byTopic.get(bot.sns_arn_topic)
      if (!entries) byTopic.set(bot.sns_arn_topic, (entries = []))
      entries.push({
        Id: String(entries.length % 10),
        Subject: 'RC',
        Message: message,
        MessageGroupId: SITE_URL,
        MessageDeduplicationId: String(nextId++).padStart(16, '0'),
      })
    })
    const sends = []
    for (const [topic, entries] of byTopic) {
      for (let i = 0; i < entries.length; i += 10) {
        const input = { TopicArn: topic, PublishBatchRequestEntries: entries.slice(i, i + 10) }
        sends.push(client.send(new PublishBatchCommand(input)))
      }
    }
    for (const output of await Promise.all(sends)) {
      if (output.Failed?.length) throw new Error(`${output.Failed.length} entries failed: ${output.Failed[0].Code}`)
    }
    return { accepted: batch.length - rejected.length, rejected }
  }
  shutdown = async () => client.destroy()
} else if (kind === 'log-event') {
  const lib = require('../../index.js')
  lib.init({ siteUrl: SITE_URL, dfConfig: dfConfigPath, sink: { kind: 'sns', endpoint, region: REGION }, spoolDir })
  handleBatch = async (batch) => {
    const rejected = []
    for (let index = 0; index < batch.length; index++) {
      try {
        lib.logEvent(batch[index])
      } catch (error) {
        rejected.push({ index, code: error.code, message: error.message })
      }
    }
    return { accepted: batch.length - rejected.length, rejected }
  }
  shutdown = async () => {
    const report = await lib.close()
    if (report.deadLettered || report.dropped) throw new Error(`log-event baseline lost events: ${JSON.stringify(report)}`)
  }
} else {
  throw new Error(`unknown baseline kind ${kind}`)
}

const answer = (response, status, value) => {
  const body = JSON.stringify(value)
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  response.end(body)
}

const server = http.createServer((request, response) => {
  if (request.method !== 'POST' || request.url !== '/v1/batch') return answer(response, 404, { error: 'not found' })
  if (!allowed.has(request.headers.authorization)) return answer(response, 401, { error: 'unauthorized' })
  const chunks = []
  request.on('data', (chunk) => chunks.push(chunk))
  request.on('end', () => {
    let batch
    try {
      batch = JSON.parse(Buffer.concat(chunks).toString('utf8')).batch
      if (!Array.isArray(batch)) throw new Error('no batch')
    } catch {
      return answer(response, 400, { error: 'the body must be {"batch": [event, ...]}' })
    }
    handleBatch(batch).then(
      (result) => answer(response, 200, result),
      (error) => answer(response, 502, { error: String(error?.message ?? error) }),
    )
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`)
})
process.once('SIGTERM', () => {
  server.close()
  server.closeIdleConnections()
  shutdown().then(
    () => process.exit(0),
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
})
