// The benchmark endpoint (benchmark/endpoint) must speak SNS the way both measured clients do,
// or every figure of `npm run bench` is meaningless: sns-logger (aws-sdk-sns, Rust) and
// @aws-sdk/client-sns (JavaScript) publish to it here, and its counters must match exactly.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { after, before, test } from 'node:test'
import { endpointControl, startEndpoint } from '../benchmark/support/endpoint.mjs'
import { snsLogger } from '../benchmark/support/contenders.mjs'
import { CREDENTIALS, REGION, dfConfig } from '../benchmark/support/fixtures.mjs'
import { run } from '../scripts/prepare.mjs'

const { PublishBatchCommand, PublishCommand, SNSClient } = createRequire(import.meta.url)('@aws-sdk/client-sns')

let endpoint
let control
before(async () => {
  assert.ok(run('cargo', ['build', '-p', 'sns-bench-endpoint'], { quiet: true }).ok, 'the endpoint builds')
  endpoint = await startEndpoint({ profile: 'debug' })
  control = endpointControl(endpoint.url)
})
after(() => endpoint?.stop())

test('sns-logger through aws-sdk-sns: every event counted once, in order, batched', async () => {
  await control.reset()
  const client = snsLogger({ endpoint: endpoint.url, groups: 2 })
  for (let i = 0; i < 50; i++) client.log(i)
  const report = await client.close()
  assert.deepEqual(report, { sent: 50, deadLettered: 0, spooled: 0, dropped: 0, timedOut: false, leftInSpool: 0 })
  const stats = await control.stats()
  assert.equal(stats.messages, 50)
  assert.equal(stats.publish_requests, 0)
  assert.ok(stats.batch_requests >= 6 && stats.batch_requests <= 50, `${stats.batch_requests} PublishBatch requests`)
  assert.equal(stats.groups, 2)
  assert.equal(stats.order_violations, 0)
  assert.equal(stats.rejected_requests, 0)
})

test('client-sns: Publish and PublishBatch parsed, an outage surfaces as ServiceUnavailable', async () => {
  await control.reset()
  const client = new SNSClient({ region: REGION, endpoint: endpoint.url, credentials: CREDENTIALS, maxAttempts: 1 })
  const topic = dfConfig(1)['bot-0'].sns_arn_topic
  const one = await client.send(new PublishCommand({ TopicArn: topic, Message: 'm', MessageGroupId: 'g', MessageDeduplicationId: '00' }))
  assert.ok(one.MessageId)
  const entries = Array.from({ length: 10 }, (_, i) => ({ Id: `e<${i}>`, Message: `m${i}`, MessageGroupId: 'g', MessageDeduplicationId: String(i + 1).padStart(2, '0') }))
  const batch = await client.send(new PublishBatchCommand({ TopicArn: topic, PublishBatchRequestEntries: entries }))
  assert.deepEqual(batch.Successful.map((s) => s.Id), entries.map((e) => e.Id))
  assert.deepEqual(batch.Failed ?? [], [])

  await control.configure({ mode: 'unavailable' })
  await assert.rejects(client.send(new PublishCommand({ TopicArn: topic, Message: 'm', MessageGroupId: 'g', MessageDeduplicationId: '99' })), { name: 'ServiceUnavailable' })
  await control.configure({ mode: 'ok' })
  client.destroy()

  assert.deepEqual(await control.stats(), {
    requests: 3,
    publish_requests: 1,
    batch_requests: 1,
    segment_requests: 0,
    messages: 11,
    message_bytes: 1 + 20,
    rejected_requests: 1,
    order_violations: 0,
    groups: 1,
  })
})
