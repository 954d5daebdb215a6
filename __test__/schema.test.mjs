// The JSON Schemas of the messages (plan/schema/, sns-logger/schema/<file>.json): they compile
// under ajv's strict mode (draft 2020-12), accept every message the core writes, reject each
// way a message can break the plan (with ajv's path and rule), and `sns-logger schema` writes
// the same with a plan extension. That every message the end-to-end tests read back from SQS
// passes them is support/moto.mjs's doing (receiveBatch); the last test keeps it the only reader.

import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { ANY_EVENT_NAME, MESSAGE_KEYS, SCHEMA_ID_PREFIX, loadPlan, renderSchemas, schemaName } from '../scripts/generate-plan.mjs'
import { SITE_URL, SUPPORT, TS, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'
import { cli } from './support/ops.mjs'
import { ANY_EVENT_SCHEMA, checkMessage } from './support/plan-schema.mjs'

const require = createRequire(import.meta.url)
const { SnsLogger } = require('../index.js')
const { eventChecker } = require('../cli/event-check.js')
const Ajv2020 = require('ajv/dist/2020')
const addFormats = require('ajv-formats')

clearSnsLoggerEnv()
const plan = loadPlan()
const dir = tempDir('sns-logger-schema-')
const SCHEMA_DIR = new URL('../plan/schema/', import.meta.url)
const shipped = (file) => JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8'))

/** ajv in strict mode whose warnings fail the test instead of going to the console. */
function strictAjv() {
  const warnings = []
  const logger = { log: (...a) => warnings.push(a.join(' ')), warn: (...a) => warnings.push(a.join(' ')), error: (...a) => warnings.push(a.join(' ')) }
  const ajv = new Ajv2020({ strict: true, allErrors: true, logger })
  addFormats(ajv)
  return { ajv, warnings }
}

/** A sample value of each property: the last enum value, 7 for numbers, 'x' for strings. */
const sample = (p) => (p.type === 'enum' ? p.values.at(-1).value : p.type === 'number' ? 7 : 'x')

/** The message the core writes for each event of the plan (memory sink), plus a widget event with a tab. */
async function coreMessages(planExtension, extra = []) {
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig([SUPPORT]), sink: { kind: 'memory' }, planExtension })
  const events = plan.categories.flatMap((c) =>
    c.actions.map((a) => ({ roomId: `room-${schemaName(c.category, a.action)}`, category: c.category, action: a.action, properties: Object.fromEntries(a.properties.map((p) => [p.property, sample(p)])), timestamp: TS })),
  )
  events.push({ roomId: 'room-w', tabId: 'tab-1', category: 'Chat Session', action: 'closed', properties: { close_method: 'chat window' } })
  events.push({ roomId: 'room-q', category: 'Escalation', action: 'successful', properties: { queue_time: 0.25, sf_chat_key: 'k' } })
  for (const e of [...events, ...extra]) logger.logCustomEvent(e)
  await logger.flush()
  const messages = logger.records().map((r) => r.Message)
  await logger.close()
  assert.equal(messages.length, events.length + extra.length)
  return messages
}

test('one schema file per event of the plan and event.json, each $id its file name under urn:sns-logger:schema:', () => {
  const names = plan.categories.flatMap((c) => c.actions.map((a) => schemaName(c.category, a.action)))
  assert.equal(names.length, 11)
  assert.ok(names.includes('chat-session.closed') && names.includes('survey.link-clicked'), names.join())
  assert.deepEqual(readdirSync(SCHEMA_DIR).sort(), [...names, ANY_EVENT_NAME].map((n) => `${n}.json`).sort())
  for (const name of [...names, ANY_EVENT_NAME]) {
    const schema = shipped(`${name}.json`)
    assert.equal(schema.$id, `${SCHEMA_ID_PREFIX}${name}`)
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema')
  }
  // What a reader imports: sns-logger/schema/<file>.json is plan/schema/<file>.json.
  assert.equal(require.resolve('sns-logger/schema/event.json'), join(new URL(SCHEMA_DIR).pathname, 'event.json'))
  assert.equal(require('sns-logger/schema/escalation.failed.json').$id, 'urn:sns-logger:schema:escalation.failed')
})

test('every schema compiles under ajv strict mode, alone and bundled in event.json, without a warning', () => {
  const { ajv, warnings } = strictAjv()
  ajv.compile(ANY_EVENT_SCHEMA)
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f !== 'event.json')) {
    const alone = strictAjv()
    alone.ajv.compile(shipped(file))
    assert.deepEqual(alone.warnings, [], file)
    // event.json bundles the same schema (its $schema stays at the document's root).
    const { $schema, $comment, ...bundled } = shipped(file)
    assert.deepEqual(ANY_EVENT_SCHEMA.$defs[file.replace(/\.json$/, '')], bundled, file)
  }
  assert.deepEqual(warnings, [])
  assert.deepEqual(
    ANY_EVENT_SCHEMA.oneOf.map((s) => s.$ref),
    Object.values(ANY_EVENT_SCHEMA.$defs).map((s) => s.$id),
  )
})

test('every message the core writes passes its event schema and event.json, keys in the documented order', async () => {
  const { ajv } = strictAjv()
  const any = ajv.compile(ANY_EVENT_SCHEMA)
  const messages = await coreMessages()
  for (const text of messages) {
    const message = JSON.parse(text)
    assert.deepEqual(Object.keys(message), MESSAGE_KEYS)
    assert.ok(any(message), `${text}: ${JSON.stringify(any.errors)}`)
    const own = strictAjv().ajv.compile(shipped(`${schemaName(message.category, message.action)}.json`))
    assert.ok(own(message), `${text}: ${JSON.stringify(own.errors)}`)
    assert.deepEqual(checkMessage(text).problems, [])
  }
  const byRoom = Object.fromEntries(messages.map((t) => JSON.parse(t)).map((m) => [m.roomId, m]))
  assert.equal(byRoom['room-w'].eventType, 'customerAction', 'close_method "chat window" is the visitor\'s')
  assert.equal(byRoom['room-chat-session.closed'].eventType, 'session', 'close_method "escalation_failure" is not')
})

/** A valid message of `category` / `action`, then changed by `change`. */
function broken(change, base = { category: 'Escalation', action: 'successful', properties: { queue_time: 42, sf_chat_key: 'k' }, eventType: 'session' }) {
  const message = { dialogflowAgentId: SUPPORT.agentId, roomId: 'r1', tabId: '', category: base.category, action: base.action, properties: base.properties, eventType: base.eventType, timestamp: TS }
  return change(message) ?? message
}

const closed = (closeMethod, eventType) => ({ category: 'Chat Session', action: 'closed', properties: { close_method: closeMethod }, eventType })

test('a message that breaks the plan fails the schema, naming the path and the rule', () => {
  const cases = [
    ['a property of the wrong type', broken((m) => void (m.properties.queue_time = '42')), '/properties/queue_time', 'type', 'must be number'],
    ['a number below the minimum', broken((m) => void (m.properties.queue_time = -1)), '/properties/queue_time', 'minimum', 'must be >= 0'],
    ['an empty string property', broken((m) => void (m.properties.sf_chat_key = '')), '/properties/sf_chat_key', 'minLength', 'must NOT have fewer than 1 characters'],
    ['an unknown property', broken((m) => void (m.properties.extra = 1)), '/properties', 'additionalProperties', 'must NOT have additional properties: "extra"'],
    ['a missing property', broken((m) => void delete m.properties.sf_chat_key), '/properties', 'required', "must have required property 'sf_chat_key'"],
    ['an enum value not in the plan', broken(() => {}, closed('by magic', 'session')), '/properties/close_method', 'enum', 'must be equal to one of the allowed values: "agent", "chat window"'],
    ['an unknown key', broken((m) => void (m.agent = 'support.bot')), '', 'additionalProperties', 'must NOT have additional properties: "agent"'],
    ['a renamed key', broken((m) => ({ ...m, room_id: m.roomId, roomId: undefined })), '', 'additionalProperties', 'must NOT have additional properties: "room_id"'],
    ['a missing key', broken((m) => void delete m.tabId), '', 'required', "must have required property 'tabId'"],
    ['an empty roomId', broken((m) => void (m.roomId = '')), '/roomId', 'minLength', 'must NOT have fewer than 1 characters'],
    ['a timestamp without milliseconds', broken((m) => void (m.timestamp = '2022-09-26T17:50:47Z')), '/timestamp', 'pattern', 'must match pattern'],
    ['a timestamp with an offset', broken((m) => void (m.timestamp = '2022-09-26T19:50:47.225+02:00')), '/timestamp', 'pattern', 'must match pattern'],
    ['a timestamp that is no date', broken((m) => void (m.timestamp = '2022-02-30T17:50:47.225Z')), '/timestamp', 'format', 'must match format "date-time"'],
    ['the wrong eventType', broken((m) => void (m.eventType = 'customerAction')), '/eventType', 'const', 'must be equal to constant: "session"'],
    ['an eventType an enum value overrides', broken(() => {}, closed('chat window', 'session')), '/eventType', 'const', 'must be equal to constant: "customerAction"'],
    ['an override where there is none', broken(() => {}, closed('agent', 'customerAction')), '/eventType', 'const', 'must be equal to constant: "session"'],
    ['an unknown category', broken((m) => void (m.category = 'Nope')), '/category', 'event', '"Nope" is not a category of the plan; allowed: "Chat Session"'],
    ['an unknown action', broken((m) => void (m.action = 'cancelled')), '/action', 'event', '"cancelled" is not an action of "Escalation"; allowed: "attempted", "failed" or "successful"'],
  ]
  const { ajv } = strictAjv()
  const any = ajv.compile(ANY_EVENT_SCHEMA)
  for (const [what, message, instancePath, keyword, text] of cases) {
    const json = JSON.parse(JSON.stringify(message))
    assert.equal(any(json), false, `${what}: event.json accepts ${JSON.stringify(json)}`)
    const { problems } = checkMessage(JSON.stringify(json))
    const found = problems.find((p) => p.instancePath === instancePath && p.keyword === keyword)
    assert.ok(found, `${what}: ${JSON.stringify(problems)}`)
    assert.ok(found.message.startsWith(text), `${what}: ${JSON.stringify(found.message)} does not start with ${JSON.stringify(text)}`)
  }
  // What no schema keyword can say: the keys' order; and text that is not a JSON object.
  const reordered = broken((m) => ({ roomId: m.roomId, ...m }))
  assert.ok(any(reordered), 'the schema cannot see the order')
  assert.deepEqual(checkMessage(JSON.stringify(reordered)).problems.map((p) => p.keyword), ['order'])
  assert.match(checkMessage(JSON.stringify(reordered)).problems[0].message, /^keys must come in the order dialogflowAgentId, roomId, tabId, category, action, properties, eventType, timestamp; they come as roomId, dialogflowAgentId/)
  assert.deepEqual(checkMessage('{"roomId": ').problems.map((p) => p.keyword), ['json'])
  assert.deepEqual(checkMessage('[1]').problems.map((p) => p.keyword), ['type'])
})

const EXTENSION = {
  categories: [
    { category: 'Escalation', actions: [{ action: 'failed', eventType: 'session', properties: [{ property: 'failure_reason', type: 'enum', values: [{ value: 'queue full' }] }] }] },
    { category: 'Bot Handover', actions: [{ action: 'requested', eventType: 'customerAction', properties: [{ property: 'reason', type: 'string' }, { property: 'wait_s', type: 'number', minimum: 1 }] }] },
  ],
}

test('sns-logger schema --out DIR writes the plan\'s schemas; with --plan-extension, the extension\'s events and values too', async () => {
  const plain = join(dir, 'plain')
  const run = cli(['schema', '--out', plain])
  assert.equal(run.status, 0, run.stderr)
  assert.match(run.stdout, /^wrote 12 schemas into .*plain: chat-session\.closed\.json, .* event\.json\n$/)
  for (const file of readdirSync(SCHEMA_DIR)) {
    const { $comment, ...written } = JSON.parse(readFileSync(join(plain, file), 'utf8'))
    const { $comment: shippedComment, ...expected } = shipped(file)
    assert.deepEqual(written, expected, file)
    assert.match($comment, /^Generated by sns-logger \d+\.\d+\.\d+ from its tracking plan \(sns-logger schema\); do not edit\.$/)
  }

  const extensionFile = join(dir, 'extension.json')
  writeFileSync(extensionFile, JSON.stringify(EXTENSION))
  const out = join(dir, 'extended')
  const extended = cli(['schema', '--out', out, '--plan-extension', extensionFile, '--json'])
  assert.equal(extended.status, 0, extended.stderr)
  assert.equal(extended.json.files.length, 13)
  assert.ok(extended.json.files.at(-2).endsWith('bot-handover.requested.json'), extended.json.files.join())
  const anyExtended = JSON.parse(readFileSync(join(out, 'event.json'), 'utf8'))
  assert.deepEqual(anyExtended, renderSchemas(
    (await import('../client/generate.mjs')).mergeExtension(plan, EXTENSION),
    anyExtended.$comment,
  ).at(-1).schema)

  // Messages the core writes with the same extension pass the extended schemas, and the
  // extension's events and values break the built-in plan's.
  const extra = [
    { roomId: 'room-ext-1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'queue full' } },
    { roomId: 'room-ext-2', category: 'Bot Handover', action: 'requested', properties: { reason: 'asked', wait_s: 3 } },
  ]
  const messages = await coreMessages(EXTENSION, extra)
  const checkExtended = eventChecker(anyExtended)
  for (const text of messages) assert.deepEqual(checkExtended(text).problems, [], text)
  const [queueFull, handover] = messages.slice(-2)
  assert.deepEqual(checkMessage(queueFull).problems.map((p) => [p.instancePath, p.keyword]), [['/properties/failure_reason', 'enum']])
  assert.deepEqual(checkMessage(handover).problems.map((p) => [p.instancePath, p.keyword]), [['/category', 'event']])
})

test('sns-logger schema: a bad extension exits 2 with ERR_INVALID_PLAN, an out dir that cannot be written 1 with ERR_IO', () => {
  const changesType = join(dir, 'changes-type.json')
  writeFileSync(changesType, JSON.stringify({ categories: [{ category: 'Survey', actions: [{ action: 'link_clicked', eventType: 'session' }] }] }))
  const refused = cli(['schema', '--out', join(dir, 'never'), '--plan-extension', changesType])
  assert.equal(refused.status, 2)
  assert.match(refused.stderr, /^sns-logger: ERR_INVALID_PLAN: .*"Survey" \/ "link_clicked" already exists; .*eventType/m)
  const missing = cli(['schema', '--out', join(dir, 'never'), '--plan-extension', join(dir, 'missing.json'), '--json'])
  assert.equal(missing.status, 2)
  assert.equal(missing.json.error.code, 'ERR_INVALID_PLAN')
  assert.match(missing.json.error.message, /--plan-extension: cannot read ".*missing\.json": no such file/)

  const aFile = join(dir, 'a-file')
  writeFileSync(aFile, 'not a folder')
  const underFile = cli(['schema', '--out', join(aFile, 'schemas')])
  assert.equal(underFile.status, 1)
  assert.match(underFile.stderr, /^sns-logger: ERR_IO: --out: cannot write the schemas into ".*a-file\/schemas": ENOTDIR/m)
  if (process.getuid?.() !== 0) {
    // root writes anywhere; a read-only folder stops everyone else
    const readOnly = join(dir, 'read-only')
    mkdirSync(readOnly)
    chmodSync(readOnly, 0o500)
    const denied = cli(['schema', '--out', readOnly])
    assert.equal(denied.status, 1)
    assert.match(denied.stderr, /ERR_IO: --out: cannot write the schemas into ".*read-only": EACCES/)
  }
  const usage = cli(['schema'])
  assert.equal(usage.status, 2)
  assert.match(usage.stderr, /schema needs --out DIR/)
})

test('every test reads SQS through support/moto.mjs, which checks each message against the schema', () => {
  const root = new URL('./', import.meta.url)
  const files = readdirSync(root, { recursive: true }).filter((f) => /\.(mjs|js|ts)$/.test(f) && !f.includes('node_modules'))
  const receive = new RegExp(`\\b${'Receive'}MessageCommand\\b`) // spelled so that this file does not match
  const readers = files.filter((f) => receive.test(readFileSync(new URL(f, root), 'utf8')))
  assert.deepEqual(readers, ['support/moto.mjs'])
  assert.match(readFileSync(new URL('support/moto.mjs', root), 'utf8'), /if \(events\) for \(const m of received\) assertFollowsPlan\(/)
})
