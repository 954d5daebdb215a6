// Test support: run moto (the AWS emulator) as a child process and talk to its
// SNS / SQS APIs with the AWS SDK for JavaScript (@aws-sdk/client-sns, @aws-sdk/client-sqs).
//
// Requires python3 (moto is installed on first use into <repo>/.venv by
// scripts/ensure-moto.mjs).
//
//   useMotoCredentials() // the addon's Rust SDK reads them from the environment
//   const moto = await startMoto()
//   const { topicArn, queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'events')
//   ... publish to topicArn ...
//   const msgs = await receiveAll(moto.endpoint, queueUrl, { expected: 3 })
//   await snsClient(moto.endpoint).send(new ListTopicsCommand({})) // any other call
//   await moto.stop()
//
// Set MOTO_DEBUG=1 to stream moto's own log output to this process's stderr.

import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns'
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs'

import { ensureMoto, VENV_PYTHON } from '../../scripts/ensure-moto.mjs'
import { assertFollowsPlan } from './plan-schema.mjs'
import { waitUntil } from './wait.mjs'

export const REGION = 'us-east-1'
export const ACCOUNT_ID = '123456789012'
export const ACCESS_KEY_ID = 'test'
export const SECRET_ACCESS_KEY = 'test'

const STDERR_TAIL_BYTES = 64 * 1024

// ---------------------------------------------------------------------------
// Process lifecycle
// ---------------------------------------------------------------------------

/** moto child processes started by this process and not yet exited. */
const live = new Set()
let exitHookInstalled = false

function installExitHook() {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Synchronous last chance: runs on normal exit, process.exit() and uncaught
  // exceptions. If this process is killed outright (SIGKILL, crash) the child
  // still exits: it watches its stdin pipe and quits on EOF (see WRAPPER).
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

// Runs moto's server entry point (the same `moto.server:main` the
// `moto_server` console script calls) behind a watchdog thread that exits as
// soon as stdin reaches EOF, i.e. as soon as the parent Node process is gone
// for whatever reason. This is what guarantees no orphaned moto servers, even
// when the test process is SIGKILLed or a test forgets to call stop().
const WRAPPER = `
import os, sys, threading

def _watch_parent():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except BaseException:
        pass
    os._exit(0)

threading.Thread(target=_watch_parent, name="parent-watchdog", daemon=True).start()

# The parent may already have died between fork and here.
expected_parent = os.environ.get("SNS_LOGGER_MOTO_PARENT_PID")
if expected_parent and str(os.getppid()) != expected_parent:
    os._exit(0)

# Always leave through os._exit: a normal interpreter shutdown would abort
# while the daemon watchdog thread is blocked reading stdin.
code = 1
try:
    from moto.server import main
    main(sys.argv[1:])
    code = 0
except SystemExit as e:  # moto's SIGTERM/SIGINT handler calls sys.exit(0)
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
except BaseException:
    import traceback
    traceback.print_exc()
finally:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
`

/** The environment of a child process (a relay) whose SNS is `endpoint`: moto, or a proxy in front of it. */
export function motoSnsEnv(endpoint) {
  return {
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_SNS: endpoint,
  }
}

/**
 * Find a free TCP port on 127.0.0.1 (bind to port 0, read it, close).
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/**
 * Start a moto server on a free loopback port and wait until it answers.
 *
 * The child is unref'ed: a forgotten stop() never keeps the test process
 * alive, and the child dies with this process in every case.
 *
 * @param {{ timeoutMs?: number }} [options] readiness timeout (default 30 s)
 * @returns {Promise<{ endpoint: string, port: number, pid: number, stop(): Promise<void>, output(): string }>}
 */
export async function startMoto(options = {}) {
  const timeoutMs = options.timeoutMs ?? 30_000
  await ensureMoto()
  // The port probe and moto's bind are not atomic; retry if someone else grabbed it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startMotoOnce(await freePort(), timeoutMs)
    } catch (err) {
      if (attempt < 3 && /address already in use/i.test(err.message)) continue
      throw err
    }
  }
}

async function startMotoOnce(port, timeoutMs) {
  installExitHook()
  const endpoint = `http://127.0.0.1:${port}`
  const child = spawn(VENV_PYTHON, ['-c', WRAPPER, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_DEFAULT_REGION: REGION,
      AWS_REGION: REGION,
      MOTO_ACCOUNT_ID: ACCOUNT_ID,
      PYTHONUNBUFFERED: '1',
      SNS_LOGGER_MOTO_PARENT_PID: String(process.pid),
    },
  })
  live.add(child)

  let output = ''
  const collect = (chunk) => {
    if (process.env.MOTO_DEBUG) process.stderr.write(chunk)
    output += chunk
    if (output.length > STDERR_TAIL_BYTES * 2) output = output.slice(-STDERR_TAIL_BYTES)
  }
  child.stdout.setEncoding('utf8').on('data', collect)
  child.stderr.setEncoding('utf8').on('data', collect)
  child.stdin.on('error', () => {}) // EPIPE if the child dies first

  let exitInfo = null
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`
      live.delete(child)
      resolve()
    })
  })
  let spawnError = null
  child.on('error', (err) => {
    spawnError = err
    live.delete(child)
  })

  // Don't let the server keep the event loop alive (see startMoto docs).
  child.unref()
  child.stdin.unref?.()
  child.stdout.unref?.()
  child.stderr.unref?.()

  let stopping = null
  const stop = () => {
    if (stopping) return stopping
    stopping = (async () => {
      if (exitInfo !== null || spawnError) return
      child.ref() // keep the loop alive until the child is really gone
      try {
        child.kill('SIGTERM')
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill('SIGKILL')
        } catch {
          // already gone
        }
      }, 3_000)
      await exited
      clearTimeout(timer)
    })().finally(() => forgetClients(endpoint))
    return stopping
  }

  const tail = () => {
    const text = output.trim()
    return text ? `\n--- moto output (tail) ---\n${text.slice(-8_000)}` : '\n(moto produced no output)'
  }

  const answers = async () => {
    if (spawnError) {
      throw new Error(`failed to spawn moto (${VENV_PYTHON}): ${spawnError.message}`)
    }
    if (exitInfo !== null) {
      throw new Error(`moto server exited during startup (${exitInfo}) on ${endpoint}${tail()}`)
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1_000) })
      await res.arrayBuffer()
      return res.ok
    } catch {
      return false // not listening yet
    }
  }
  try {
    await waitUntil(answers, `the moto server to answer on ${endpoint}`, { timeoutMs, intervalMs: 100, details: tail })
  } catch (error) {
    await stop() // nothing to do when it failed to spawn or exited
    throw error
  }

  return { endpoint, port, pid: child.pid, stop, output: () => output }
}

/**
 * Reset all moto state (topics, queues, messages).
 * @param {string} endpoint
 */
export async function resetMoto(endpoint) {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' })
  const text = await res.text()
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}: ${text}`)
}

/**
 * Fake credentials and region in this process's environment, for clients that read them from
 * there (the addon's Rust SDK); no instance metadata lookups.
 */
export function useMotoCredentials() {
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY
  process.env.AWS_REGION = REGION
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
}

// ---------------------------------------------------------------------------
// AWS SDK clients
// ---------------------------------------------------------------------------

// The SDK warns once per process that its releases after January 2027 need Node.js >= 22;
// that says nothing about these tests, so it is switched off (this variable only silences
// that warning; it is read when a client is created).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

/** Clients by endpoint, created on first use, destroyed by that moto's stop(). */
const clients = new Map()

function clientsFor(endpoint) {
  let pair = clients.get(endpoint)
  if (!pair) {
    // Endpoint, region and credentials explicit: the SDK needs none from the environment and
    // never probes the network (instance metadata) for them.
    const config = {
      endpoint,
      region: REGION,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    }
    pair = { sns: new SNSClient(config), sqs: new SQSClient(config) }
    clients.set(endpoint, pair)
  }
  return pair
}

function forgetClients(endpoint) {
  const pair = clients.get(endpoint)
  if (!pair) return
  clients.delete(endpoint)
  pair.sns.destroy()
  pair.sqs.destroy()
}

/**
 * The SNS client for a moto endpoint (one per endpoint, reused).
 * @param {string} endpoint
 * @returns {SNSClient}
 */
export function snsClient(endpoint) {
  return clientsFor(endpoint).sns
}

/**
 * The SQS client for a moto endpoint (one per endpoint, reused).
 * @param {string} endpoint
 * @returns {SQSClient}
 */
export function sqsClient(endpoint) {
  return clientsFor(endpoint).sqs
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

async function createTopicWithQueue(endpoint, topicName, queueName, topicAttributes, queueAttributes) {
  const { TopicArn: topicArn } = await snsClient(endpoint).send(new CreateTopicCommand({ Name: topicName, Attributes: topicAttributes }))
  if (!topicArn) throw new Error(`CreateTopic ${topicName} returned no TopicArn`)
  return { topicArn, ...(await subscribeNewQueue(endpoint, topicArn, queueName, { queueAttributes })) }
}

/**
 * Create queue `queueName` and subscribe it to `topicArn` (envelope delivery), with
 * `subscriptionAttributes` (e.g. `{ FilterPolicy, FilterPolicyScope }`). A FIFO queue's name
 * ends in `.fifo` and its `queueAttributes` hold `FifoQueue: 'true'`.
 *
 * @param {string} endpoint
 * @param {string} topicArn
 * @param {string} queueName
 * @param {{ queueAttributes?: Record<string,string>, subscriptionAttributes?: Record<string,string> }} [options]
 * @returns {Promise<{ queueUrl: string, queueArn: string, subscriptionArn: string }>}
 */
export async function subscribeNewQueue(endpoint, topicArn, queueName, options = {}) {
  const sqs = sqsClient(endpoint)
  const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: options.queueAttributes }))
  const { Attributes: attrs } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  )
  const queueArn = attrs.QueueArn

  // Not raw delivery: the SQS body is the SNS JSON envelope (Type, Subject, Message, ...).
  const { SubscriptionArn: subscriptionArn } = await snsClient(endpoint).send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: queueArn,
      Attributes: options.subscriptionAttributes,
      ReturnSubscriptionArn: true,
    }),
  )
  return { queueUrl, queueArn, subscriptionArn }
}

/**
 * Create FIFO topic `${name}.fifo` (FifoTopic=true, ContentBasedDeduplication
 * left off: publishers must send MessageDeduplicationId) and FIFO queue
 * `${name}-q.fifo`, and subscribe the queue to the topic (envelope delivery).
 *
 * @param {string} endpoint
 * @param {string} name base name, without `.fifo`
 * @param {{ topicAttributes?: Record<string,string>, queueAttributes?: Record<string,string> }} [options]
 * @returns {Promise<{ topicArn: string, queueUrl: string, queueArn: string, subscriptionArn: string }>}
 */
export function createFifoTopicWithQueue(endpoint, name, options = {}) {
  return createTopicWithQueue(
    endpoint,
    `${name}.fifo`,
    `${name}-q.fifo`,
    { FifoTopic: 'true', ...options.topicAttributes },
    { FifoQueue: 'true', ...options.queueAttributes },
  )
}

/**
 * Create standard topic `${name}` and standard queue `${name}-q`, subscribed
 * (envelope delivery).
 *
 * @param {string} endpoint
 * @param {string} name
 * @param {{ topicAttributes?: Record<string,string>, queueAttributes?: Record<string,string> }} [options]
 * @returns {Promise<{ topicArn: string, queueUrl: string, queueArn: string, subscriptionArn: string }>}
 */
export function createStandardTopicWithQueue(endpoint, name, options = {}) {
  return createTopicWithQueue(endpoint, name, `${name}-q`, { ...options.topicAttributes }, { ...options.queueAttributes })
}

// ---------------------------------------------------------------------------
// Receiving
// ---------------------------------------------------------------------------

/**
 * @typedef {object} ReceivedMessage
 * @property {string|undefined} subject            SNS Subject (from the envelope)
 * @property {string} message                      SNS Message (from the envelope; the raw body if it is not an envelope)
 * @property {string|undefined} messageGroupId     SQS system attribute
 * @property {string|undefined} messageDeduplicationId SQS system attribute
 * @property {string} body                         raw SQS body
 * @property {object|null} envelope                parsed SNS envelope
 * @property {Record<string,string>} attributes    all SQS system attributes
 * @property {string} sqsMessageId
 */

/**
 * One ReceiveMessage (waiting up to `waitSeconds`), then the deletion of what it got; the
 * messages in arrival order. Each SNS Message is checked against the plan's JSON Schema
 * (support/plan-schema.mjs) and a message that breaks it fails the test, unless `events` is
 * false (a test of moto itself, publishing messages that are not events). Every test reads
 * SQS through here.
 *
 * @param {string} endpoint
 * @param {string} queueUrl
 * @param {{ waitSeconds?: number, events?: boolean, abortSignal?: AbortSignal }} [options]
 * @returns {Promise<ReceivedMessage[]>}
 */
export async function receiveBatch(endpoint, queueUrl, { waitSeconds = 0, events = true, abortSignal } = {}) {
  const sqs = sqsClient(endpoint)
  const { Messages: batch = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
    { abortSignal },
  )
  const received = batch.map(toReceived)
  if (events) for (const m of received) assertFollowsPlan(m.message, `message ${m.sqsMessageId} read from ${queueUrl}`)
  if (batch.length) {
    const { Failed: failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
      { abortSignal },
    )
    if (failed.length) throw new Error(`DeleteMessageBatch failed: ${JSON.stringify(failed)}`)
  }
  return received
}

/**
 * Drain a queue: long-poll ReceiveMessage, delete each batch, return the
 * messages in arrival order (each checked against the plan's schema: see receiveBatch).
 *
 * Stops when `expected` messages have been received AND one further poll
 * (waiting `settleSeconds`) found nothing more, or at `timeoutMs`, whichever
 * comes first; it never throws for a short count, so assert on the length.
 * Without `expected`, stops at the first empty poll.
 *
 * @param {string} endpoint
 * @param {string} queueUrl
 * @param {{ expected?: number, timeoutMs?: number, settleSeconds?: number, events?: boolean }} [options]
 *   defaults: timeoutMs 10000, settleSeconds 1, events true
 * @returns {Promise<ReceivedMessage[]>}
 */
export async function receiveAll(endpoint, queueUrl, options = {}) {
  const { expected, timeoutMs = 10_000, settleSeconds = 1, events = true } = options
  const deadline = Date.now() + timeoutMs
  const out = []
  for (;;) {
    const remainingS = Math.floor((deadline - Date.now()) / 1000)
    if (remainingS < 0) break
    const satisfied = expected === undefined || out.length >= expected
    const wait = Math.max(0, Math.min(satisfied ? settleSeconds : 5, remainingS, 20))
    const batch = await receiveBatch(endpoint, queueUrl, { waitSeconds: wait, events })
    if (batch.length === 0) {
      if (satisfied) break
      if (wait === 0) await new Promise((r) => setTimeout(r, 100)) // last sub-second before the deadline
      continue
    }
    out.push(...batch)
  }
  return out
}

function toReceived(m) {
  let envelope = null
  try {
    const parsed = JSON.parse(m.Body)
    if (parsed && typeof parsed === 'object' && parsed.Type === 'Notification') envelope = parsed
  } catch {
    // raw delivery or a message not sent by SNS
  }
  const attributes = m.Attributes ?? {}
  return {
    subject: envelope?.Subject,
    message: envelope ? envelope.Message : m.Body,
    messageGroupId: attributes.MessageGroupId,
    messageDeduplicationId: attributes.MessageDeduplicationId,
    body: m.Body,
    envelope,
    attributes,
    sqsMessageId: m.MessageId,
  }
}
