// The client's JavaScript validation (client/validate.mjs) against the native core: for every
// input of a broad corpus, both accept, or both throw the same code with the same message. A
// change to the core's wording, a plan change the generated plan/index.mjs missed, or a reading
// rule that differs (dates, numbers, odd strings, getters) fails here.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { after, test } from 'node:test'

import { validateEvent } from '../client/index.mjs'
import { SITE_URL, SUPPORT, clearSnsLoggerEnv, dfConfig } from './support/fixtures.mjs'

const { SnsLogger } = createRequire(import.meta.url)('../index.js')
clearSnsLoggerEnv()
const native = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig([SUPPORT]), sink: { kind: 'memory' } })
after(() => native.close())

const LONG = 'x'.repeat(262145) // longer than any message: measured, not read
const ODD_STRINGS = [
  '', 'Chat', 'chat session', 'a"b\\c\n\t\r\0\'', '\u200b', '\u0301x', 'x\u0301', 'é', '😀', '\u00a0', '\ue000', '\u0378',
  '\u2028', '\u007f', 'x'.repeat(81), 'é'.repeat(90), '\ud800', 'a\udc00b', LONG,
]
const ODD_VALUES = [
  undefined, null, true, 0, -0, 1, -1, 0.1, 1e21, 1e-7, 5e-324, -1.5e300, NaN, Infinity, -Infinity, 10n, Symbol('s'),
  () => 1, [], {}, new Date(0), new Date(NaN), ...ODD_STRINGS,
]
const base = { roomId: 'room-1', category: 'Escalation', action: 'successful', properties: { queue_time: 3, sf_chat_key: 'k' } }

/** Every input: events that pass, and each field given each odd value. */
function corpus() {
  const inputs = [
    undefined, null, 1, 'event', [], () => 1, true, new Date(0),
    base,
    { roomId: 'r', category: 'Chat Session', action: 'closed', properties: { close_method: 'chat window' }, tabId: 't' },
    { roomId: 'r', category: 'Window', action: 'opened', properties: { session_id: 's' }, tabId: '', agent: SUPPORT.agentId },
    { roomId: 'r', category: 'Survey', action: 'link_clicked' },
    { roomId: 'r', category: 'Survey', action: 'link_clicked', properties: { x: undefined } },
  ]
  for (const field of ['roomId', 'tabId', 'category', 'action', 'timestamp']) {
    for (const value of ODD_VALUES) inputs.push({ ...base, [field]: value })
  }
  // Which agents exist is df_config.json's business, checked by the relay: only the values
  // that are not a non-empty string are the client's to refuse.
  for (const agent of [...ODD_VALUES.filter((v) => typeof v !== 'string' || v === '' || v === LONG), SUPPORT.agentId, SUPPORT.username]) {
    inputs.push({ ...base, agent })
  }
  for (const value of ODD_VALUES) {
    inputs.push({ ...base, properties: value })
    inputs.push({ ...base, properties: { ...base.properties, queue_time: value } })
    inputs.push({ ...base, properties: { ...base.properties, sf_chat_key: value } })
    inputs.push({ ...base, category: 'Escalation', action: 'failed', properties: { failure_reason: value } })
  }
  for (const key of ODD_STRINGS.filter((s) => s.length < 100)) inputs.push({ ...base, properties: { ...base.properties, [key]: 1 } })
  inputs.push({ ...base, category: 'Survey', action: 'link_clicked', properties: { url: 'x' } })
  inputs.push({ ...base, properties: { queue_time: 1 } })
  inputs.push({ ...base, properties: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])) })
  inputs.push({ ...base, properties: { [LONG]: 1 } })
  for (const timestamp of [
    '2022-09-26T17:50:47.225Z', '2022-09-26t17:50:47z', '2022-09-26 17:50:47Z', '2022-09-26T19:50:47.225+02:00',
    '2022-09-26T17:50:47+0200', '2022-09-26T17:50:47', '2022-09-26', '2022-02-29T00:00:00Z', '2024-02-29T00:00:00Z',
    '2022-09-26T24:00:00Z', '2022-09-26T23:60:00Z', '2016-12-31T23:59:60Z', '2016-12-31T23:59:60.5Z', '2022-09-26T12:00:60Z',
    '0000-01-01T00:00:00+01:00', '0000-01-01T00:00:00Z', '9999-12-31T23:30:00-01:00', '9999-12-31T23:59:59.999Z',
    '2022-09-26T17:50:47.1Z', '2022-09-26T17:50:47.123456789123Z', '2022-09-26T17:50:47.Z', ' 2022-09-26T17:50:47Z',
    '+10000-01-01T00:00:00Z', '2022-13-01T00:00:00Z', '2022-09-26T17:50:47+24:00', '2022-09-26T17:50:47+23:59',
    '2022-09-26T17:50:47-00:60', '1969-12-31T23:59:59.999Z', '22-09-26T17:50:47Z',
    new Date('2022-09-26T17:50:47.225Z'), new Date(-1e15), new Date(8.64e15), new Date(-8.64e15), new Date(253402300800000),
    new Date(-62167219200001), new Date(-62167219200000), 1664214647225, { toISOString: () => 'x' },
  ]) {
    inputs.push({ ...base, timestamp })
  }
  const throwing = { ...base }
  Object.defineProperty(throwing, 'roomId', { enumerable: true, get: () => { throw new Error('getter') } })
  inputs.push(throwing)
  inputs.push(new Proxy(base, { get: () => { throw new Error('trap') } }))
  inputs.push({ ...base, properties: new Proxy({}, { ownKeys: () => { throw new Error('keys') } }) })
  return inputs
}

const outcome = (fn) => {
  try {
    fn()
    return { ok: true }
  } catch (error) {
    return { ok: false, code: error.code, message: error.message, isError: error instanceof Error }
  }
}

test('the client validates every input as the native logEvent does: same acceptance, code and message', () => {
  const inputs = corpus()
  let accepted = 0
  const differences = []
  for (const [i, input] of inputs.entries()) {
    const expected = outcome(() => native.logEvent(input))
    const actual = outcome(() => validateEvent(input))
    if (expected.ok) accepted++
    try {
      assert.deepEqual(actual, expected)
    } catch {
      differences.push(`#${i}: native ${JSON.stringify(expected).slice(0, 300)}\n     client ${JSON.stringify(actual).slice(0, 300)}`)
    }
  }
  assert.deepEqual(differences, [], `${differences.length} of ${inputs.length} inputs differ:\n${differences.join('\n')}`)
  // The corpus exercises both sides: enough valid events and enough refusals.
  assert.ok(accepted >= 10 && inputs.length - accepted >= 200, `${accepted} accepted of ${inputs.length}`)
})

test('a valid event comes out as the relay takes it: properties in plan order, timestamp as ISO text', () => {
  const valid = validateEvent({
    roomId: 'r',
    agent: SUPPORT.agentId,
    category: 'Escalation',
    action: 'successful',
    properties: { sf_chat_key: 'k', queue_time: 2.5, ignored: undefined },
    timestamp: new Date('2022-09-26T17:50:47.225Z'),
  })
  assert.deepEqual(valid, {
    roomId: 'r',
    agent: SUPPORT.agentId,
    category: 'Escalation',
    action: 'successful',
    properties: { queue_time: 2.5, sf_chat_key: 'k' },
    timestamp: '2022-09-26T17:50:47.225Z',
  })
  assert.deepEqual(Object.keys(valid.properties), ['queue_time', 'sf_chat_key'])
  const before = Date.now()
  const stamped = Date.parse(validateEvent({ roomId: 'r', category: 'Survey', action: 'link_clicked' }).timestamp)
  assert.ok(stamped >= before - 1 && stamped <= Date.now() + 1, 'no timestamp: the time of the call')
})
