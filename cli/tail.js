'use strict'
// `sns-logger tail --queue-url URL`: what a developer runs to see their events arrive. Reads an
// SQS queue subscribed to a topic (the native QueueReader: long polling, deletion on --delete),
// unwraps the SNS envelope, checks each message against the plan's JSON Schema
// (cli/event-check.js) and prints one line per event, flagging those that break the plan.

const { parse, loggerOptions, native, planWithExtension, coded, UsageError, COMMON_FLAGS } = require('./common.js')
const { painter } = require('./format.js')

const TAIL_USAGE = `Usage: sns-logger tail --queue-url URL [--delete] [--json] [--plan-extension FILE] [--config FILE]

Reads an SQS queue subscribed to an agent's topic, waiting for messages (long polling), and
prints one line per event as it arrives: its time, room, category / action, properties and
eventType, and the message attributes when the SNS message has any. Each message is checked
against the tracking plan's JSON Schema; one that breaks it is flagged with what breaks it
(the JSON path and the rule). Runs until Ctrl-C (SIGINT) or SIGTERM, then exits 0.

Without --delete the messages stay in the queue: each is printed once, and other readers get
it again once its visibility timeout ends. On a FIFO queue SQS hands out a message group's
later messages only once the earlier ones are deleted: to follow a FIFO queue, subscribe a
queue of its own to the topic and tail it with --delete.

Flags:
  --queue-url URL        the queue, as SQS gives its URL
  --delete               delete each message once it is printed
  --json                 print each message as it is (the SNS Message, one per line); what
                         breaks the plan goes to stderr
  --plan-extension FILE  check against the plan with this extension (the relay's and init()'s)
  --config FILE          a JSON file of init() options: the region and timeouts of its sink
  -h, --help             this text

AWS: the credentials and region of the AWS environment (AWS_REGION, AWS_PROFILE, ...), or the
region of --config's sink; the SQS endpoint of AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL.

Exit codes: 0 stopped by SIGINT or SIGTERM, 1 SQS could not be read (ERR_QUEUE_NOT_FOUND,
ERR_QUEUE_ACCESS, ERR_QUEUE_UNREACHABLE, ERR_CREDENTIALS), 2 bad flags, options or plan
extension.
`

/** The longest long poll SQS allows, in seconds. */
const WAIT_SECONDS = 20
/** Message ids remembered without --delete, so that a message seen again is not printed again. */
const SEEN_LIMIT = 100_000

/** The value of a native promise's `{ value } | { error }`, or its error thrown with its code. */
async function settled(promise) {
  const { value, error } = await promise
  if (error) throw coded(error.code, error.message)
  return value
}

/**
 * What an SQS message carries: the SNS Message and MessageAttributes of the envelope, or the
 * body itself when the subscription delivers raw messages.
 */
function unwrap(body) {
  try {
    const envelope = JSON.parse(body)
    if (envelope?.Type === 'Notification' && typeof envelope.Message === 'string') {
      return { text: envelope.Message, attributes: envelope.MessageAttributes ?? {} }
    }
  } catch {
    // not an SNS envelope: raw delivery, or a message someone sent to the queue
  }
  return { text: body, attributes: {} }
}

const field = (message, key) => {
  const value = message?.[key]
  return typeof value === 'string' && value !== '' ? value : '-'
}

/** The SNS message attributes as `{"name":"value"}` (String, Number or Binary: SNS gives each value as text). */
const attributesText = (attributes) => JSON.stringify(Object.fromEntries(Object.entries(attributes).map(([name, a]) => [name, a?.Value])))

/** A problem as one clause: `/properties/queue_time must be number`. */
const problemText = ({ instancePath, message }) => `${instancePath || '(message)'} ${message}`

/** The line of one message: time, room, category / action, properties, eventType, attributes, problems. */
function eventLine({ message, problems }, attributes, paint) {
  const properties = message?.properties === undefined ? '-' : JSON.stringify(message.properties)
  const parts = [field(message, 'timestamp'), field(message, 'roomId'), `${field(message, 'category')} / ${field(message, 'action')}`, properties, field(message, 'eventType')]
  if (Object.keys(attributes).length) parts.push(`attributes: ${attributesText(attributes)}`)
  if (problems.length) parts.push(paint('red', `BREAKS THE PLAN: ${problems.map(problemText).join('; ')}`))
  return parts.join('  ')
}

/** Exits 0 on SIGINT and SIGTERM at once, even mid-poll: a message received and not yet printed stays in the queue. */
function stopOnSignals() {
  const stop = () => {
    setTimeout(() => process.exit(0), 1_000).unref()
    process.stdout.write('', () => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  // `tail | head`: the reader went away.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0)
  })
}

async function follow({ queueUrl, remove, json, extension, options }) {
  const reader = new (native().QueueReader)(options, queueUrl)
  const { renderSchemas, ANY_EVENT_NAME } = await import('../plan/render-schema.mjs')
  const { eventChecker } = require('./event-check.js')
  const schemas = renderSchemas(await planWithExtension(extension), 'sns-logger tail')
  const check = eventChecker(schemas.find(({ name }) => name === ANY_EVENT_NAME).schema)
  const paint = painter(process.stdout)
  const seen = new Set()
  stopOnSignals()
  if (process.stderr.isTTY) process.stderr.write(`reading ${queueUrl}${remove ? ', deleting what is printed' : ''} (Ctrl-C to stop)\n`)
  for (;;) {
    const batch = await settled(reader.receive(WAIT_SECONDS))
    for (const received of batch) {
      if (!remove) {
        if (seen.has(received.messageId)) continue
        seen.add(received.messageId)
        if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value)
      }
      const { text, attributes } = unwrap(received.body)
      const checked = check(text)
      if (json) {
        process.stdout.write(`${text}\n`)
        if (checked.problems.length) process.stderr.write(`sns-logger tail: message ${received.messageId} breaks the plan: ${checked.problems.map(problemText).join('; ')}\n`)
      } else {
        process.stdout.write(`${eventLine(checked, attributes, paint)}\n`)
      }
    }
    if (remove && batch.length) {
      const report = await settled(reader.delete(batch.map((m) => m.receiptHandle)))
      for (const failure of report.failed) process.stderr.write(`sns-logger tail: a message was printed but not deleted: ${failure.code}: ${failure.message}\n`)
    }
  }
}

function tailCommand(argv) {
  const { values } = parse(argv, {
    ...COMMON_FLAGS,
    'queue-url': { type: 'string' },
    delete: { type: 'boolean' },
    'plan-extension': { type: 'string' },
  })
  if (values.help) {
    process.stdout.write(TAIL_USAGE)
    return 0
  }
  if (!values['queue-url']) throw new UsageError('tail needs --queue-url URL: the SQS queue subscribed to the topic')
  return follow({
    queueUrl: values['queue-url'],
    remove: values.delete === true,
    json: values.json === true,
    extension: values['plan-extension'],
    options: loggerOptions(values.config),
  })
}

module.exports = { tailCommand, TAIL_USAGE }
