// Not part of npm test's count (it asserts the test harness, not the product): run it with
// `npm run test:harness` after changing __test__/support/moto.mjs.
//
// Proves the moto end-to-end harness in __test__/support/moto.mjs works:
// moto starts, FIFO SNS -> FIFO SQS fan-out delivers SNS envelopes in order,
// and moto processes never outlive their owner.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { ListTopicsCommand, PublishBatchCommand, PublishCommand } from '@aws-sdk/client-sns'

import {
  createFifoTopicWithQueue,
  createStandardTopicWithQueue,
  receiveAll,
  resetMoto,
  snsClient,
  startMoto,
} from '../support/moto.mjs'
import { waitUntil } from '../support/wait.mjs'

/**
 * PublishBatch through client-sns. Returns the HTTP status and the entries; a request moto
 * rejects as a whole (HTTP 4xx/5xx) comes back as `error`, with no entries.
 * @returns {Promise<{ status: number, error?: Error,
 *   successful: {id: string, messageId: string, sequenceNumber?: string}[],
 *   failed: {id: string, code: string, message: string, senderFault: boolean}[] }>}
 */
async function publishBatch(endpoint, topicArn, entries) {
  const command = new PublishBatchCommand({
    TopicArn: topicArn,
    PublishBatchRequestEntries: entries.map((e) => ({
      Id: e.id,
      Message: e.message,
      Subject: e.subject,
      MessageGroupId: e.groupId,
      MessageDeduplicationId: e.dedupId,
    })),
  })
  let output
  try {
    output = await snsClient(endpoint).send(command)
  } catch (error) {
    const status = error.$metadata?.httpStatusCode
    if (status === undefined) throw error // no answer from moto at all
    return { status, error, successful: [], failed: [] }
  }
  return {
    status: output.$metadata.httpStatusCode,
    successful: (output.Successful ?? []).map((s) => ({
      id: s.Id,
      messageId: s.MessageId,
      ...(s.SequenceNumber !== undefined && { sequenceNumber: s.SequenceNumber }),
    })),
    failed: (output.Failed ?? []).map((f) => ({ id: f.Id, code: f.Code, message: f.Message, senderFault: f.SenderFault })),
  }
}

async function topicArns(endpoint) {
  const { Topics = [] } = await snsClient(endpoint).send(new ListTopicsCommand({}))
  return Topics.map((t) => t.TopicArn)
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // An orphan that exited but was not reaped (PID 1 in some containers doesn't reap) is a zombie: not running.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true // no procfs (macOS)
  }
}

describe('moto harness', () => {
  /** @type {Awaited<ReturnType<typeof startMoto>>} */
  let moto

  before(async () => {
    moto = await startMoto()
  })

  after(async () => {
    await moto?.stop()
  })

  test('FIFO topic -> FIFO queue delivers a PublishBatch in order as SNS envelopes', async () => {
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'harness')
    assert.equal(topicArn, 'arn:aws:sns:us-east-1:123456789012:harness.fifo')
    assert.match(queueUrl, /\/123456789012\/harness-q\.fifo$/)

    const messages = [
      JSON.stringify({ event: 'room_created', n: 1 }),
      JSON.stringify({ event: 'message_sent', n: 2, text: 'héllo & <goodbye> ✓' }),
      JSON.stringify({ event: 'room_closed', n: 3 }),
    ]
    const { status, error, ...parsed } = await publishBatch(
      moto.endpoint,
      topicArn,
      messages.map((message, i) => ({
        id: `e${i}`,
        message,
        subject: 'RC',
        groupId: 'room-42',
        dedupId: `dedup-${i}`,
      })),
    )
    assert.equal(status, 200, error?.message)
    assert.deepEqual(
      parsed.successful.map((s) => s.id),
      ['e0', 'e1', 'e2'],
    )
    assert.deepEqual(parsed.failed, [])

    const received = await receiveAll(moto.endpoint, queueUrl, { events: false, expected: 3, timeoutMs: 10_000 })
    assert.equal(received.length, 3)
    assert.deepEqual(
      received.map((r) => r.message),
      messages,
    )
    for (const [i, r] of received.entries()) {
      assert.equal(r.subject, 'RC')
      assert.equal(r.messageGroupId, 'room-42')
      assert.equal(r.messageDeduplicationId, `dedup-${i}`)
      assert.equal(r.envelope.Type, 'Notification')
      assert.equal(r.envelope.TopicArn, topicArn)
      assert.equal(r.envelope.MessageId, parsed.successful[i].messageId)
    }

    // The queue really is drained.
    assert.deepEqual(await receiveAll(moto.endpoint, queueUrl, { events: false, timeoutMs: 2_000 }), [])
  })

  test('standard topic -> standard queue delivers envelopes', async () => {
    const { topicArn, queueUrl } = await createStandardTopicWithQueue(moto.endpoint, 'harness-std')
    await snsClient(moto.endpoint).send(new PublishCommand({ TopicArn: topicArn, Message: 'plain', Subject: 'RC' }))
    const received = await receiveAll(moto.endpoint, queueUrl, { events: false, expected: 1 })
    assert.equal(received.length, 1)
    assert.equal(received[0].subject, 'RC')
    assert.equal(received[0].message, 'plain')
    assert.equal(received[0].messageGroupId, undefined)
  })

  test('resetMoto wipes all state', async () => {
    await createFifoTopicWithQueue(moto.endpoint, 'to-be-reset')
    assert.ok((await topicArns(moto.endpoint)).length > 0)
    await resetMoto(moto.endpoint)
    assert.deepEqual(await topicArns(moto.endpoint), [])
  })

  // Observations only (reported via diagnostics, not asserted): how moto treats
  // batch-limit violations, entry-level failures and FIFO deduplication.
  test('report: moto quirks', async (t) => {
    await resetMoto(moto.endpoint)
    const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'quirks')
    const entry = (i, extra = {}) => ({
      id: `e${i}`,
      message: `m${i}`,
      subject: 'RC',
      groupId: 'g',
      dedupId: `d${i}`,
      ...extra,
    })
    const show = (label, { status, error, ...p }) => {
      const err = error ? ` error=${error.name}: ${error.message}` : ''
      t.diagnostic(
        `${label}: HTTP ${status}${err} successful=${JSON.stringify(p.successful.map((s) => s.id))} failed=${JSON.stringify(p.failed)}`,
      )
    }

    show(
      'PublishBatch with 11 entries',
      await publishBatch(moto.endpoint, topicArn, Array.from({ length: 11 }, (_, i) => entry(i))),
    )
    show(
      'entry without MessageDeduplicationId',
      await publishBatch(moto.endpoint, topicArn, [entry(100), entry(101, { dedupId: undefined })]),
    )
    show(
      'entry without MessageGroupId',
      await publishBatch(moto.endpoint, topicArn, [entry(200), entry(201, { groupId: undefined })]),
    )
    show('duplicate entry Ids', await publishBatch(moto.endpoint, topicArn, [entry(300), entry(300, { dedupId: 'x' })]))
    t.diagnostic(`queue now holds ${(await receiveAll(moto.endpoint, queueUrl, { events: false, settleSeconds: 0 })).length} message(s)`)

    // Dedup: same MessageDeduplicationId twice while the first is still queued, then again after it was deleted.
    const dup = await publishBatch(moto.endpoint, topicArn, [entry(1), entry(2, { dedupId: 'd1' })])
    show('two entries sharing MessageDeduplicationId', dup)
    const afterDup = await receiveAll(moto.endpoint, queueUrl, { events: false, settleSeconds: 0 })
    t.diagnostic(`  -> delivered to the FIFO queue: ${JSON.stringify(afterDup.map((r) => r.message))}`)
    await publishBatch(moto.endpoint, topicArn, [entry(3, { dedupId: 'd1' })])
    const afterDelete = await receiveAll(moto.endpoint, queueUrl, { events: false, settleSeconds: 0 })
    t.diagnostic(
      `  -> same id re-published after the first was deleted: ${JSON.stringify(afterDelete.map((r) => r.message))}`,
    )
    if (afterDup[0]) {
      t.diagnostic(`SQS system attributes: ${JSON.stringify(afterDup[0].attributes)}`)
      t.diagnostic(`SNS envelope keys: ${JSON.stringify(Object.keys(afterDup[0].envelope ?? {}))}`)
    }
  })

  test('stop() terminates moto', async () => {
    const other = await startMoto()
    assert.ok(isAlive(other.pid))
    await other.stop()
    assert.equal(isAlive(other.pid), false)
    await other.stop() // idempotent
  })

  test('moto dies with its owner even when the owner is SIGKILLed', async () => {
    const supportUrl = new URL('../support/moto.mjs', import.meta.url).href
    const owner = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { startMoto } = await import(${JSON.stringify(supportUrl)});
         const m = await startMoto();
         console.log(m.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('../..', import.meta.url)) },
    )
    let out = ''
    owner.stdout.setEncoding('utf8').on('data', (d) => (out += d))
    try {
      await waitUntil(() => /^\d+\n/.test(out), 'the owner to report the moto pid', 30_000)
    } catch (err) {
      owner.kill('SIGKILL')
      throw err
    }
    const motoPid = Number.parseInt(out, 10)
    assert.ok(isAlive(motoPid))
    owner.kill('SIGKILL')
    await waitUntil(() => !isAlive(motoPid), `moto pid ${motoPid} to exit after its owner was SIGKILLed`, 5_000)
  })
})
