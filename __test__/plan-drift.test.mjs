// The generator's text for each property type is the core's, word for word: what the README
// and the TypeScript docs say a value must be is what logEvent's errors say.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'

import { PROPERTY_TYPES } from '../scripts/generate-plan.mjs'
import { SITE_URL, SUPPORT, clearSnsLoggerEnv, dfConfig } from './support/fixtures.mjs'

const { SnsLogger } = createRequire(import.meta.url)('../index.js')
clearSnsLoggerEnv()

/** One property of each type, and each variant of a type's declaration. */
const PROPERTIES = [
  { property: 'reason', type: 'enum', enum: 'Reason', values: [{ value: 'a', name: 'A', sources: [] }, { value: 'b c', name: 'BC', sources: [] }] },
  { property: 'only', type: 'enum', enum: 'Only', values: [{ value: 'x', name: 'X', sources: [] }] },
  { property: 'label', type: 'string' },
  { property: 'count', type: 'number' },
  { property: 'seconds', type: 'number', minimum: 0.5 },
]

test('every property type of the generator is covered here', () => {
  assert.deepEqual(new Set(PROPERTIES.map((p) => p.type)), new Set(Object.keys(PROPERTY_TYPES)))
})

test("the generator describes each property type as the core's errors do", async () => {
  const actions = PROPERTIES.map((p, i) => ({ action: `a${i}`, name: `A${i}`, eventType: 'session', properties: [p] }))
  const logger = new SnsLogger({
    siteUrl: SITE_URL,
    dfConfig: dfConfig([SUPPORT]),
    sink: { kind: 'memory' },
    planExtension: { categories: [{ category: 'Drift', name: 'Drift', actions }] },
  })
  try {
    PROPERTIES.forEach((p, i) => {
      const expected = PROPERTY_TYPES[p.type].describe(p)
      assert.throws(
        () => logger.logEvent({ roomId: 'r', category: 'Drift', action: `a${i}`, properties: {} }),
        (error) => {
          assert.equal(error.code, 'ERR_INVALID_PROPERTY')
          assert.ok(error.message.endsWith(`: ${expected}`), `${p.property}: ${JSON.stringify(error.message)} does not end with ${JSON.stringify(expected)}`)
          return true
        },
      )
    })
  } finally {
    await logger.close()
  }
})
