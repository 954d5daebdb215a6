// The plan's JSON Schema as the tests apply it: every message read back from SQS
// (support/moto.mjs) is checked with ajv against plan/schema/event.json, the file the package
// ships as sns-logger/schema/event.json, and its keys against the documented order.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { eventChecker } = require('../../cli/event-check.js')

export const ANY_EVENT_SCHEMA = JSON.parse(readFileSync(new URL('../../plan/schema/event.json', import.meta.url), 'utf8'))

/** `check(text)`: `{ message, problems }` (cli/event-check.js). */
export const checkMessage = eventChecker(ANY_EVENT_SCHEMA)

/** Fails unless `text` is a message of the plan that its schema accepts; `where` names it. */
export function assertFollowsPlan(text, where) {
  const { problems } = checkMessage(text)
  if (problems.length === 0) return
  const broken = problems.map(({ instancePath, keyword, message }) => `${instancePath || '(message)'} ${message} [${keyword}]`).join('\n  ')
  assert.fail(`${where}: a message breaks the plan's JSON Schema (plan/schema/event.json):\n  ${broken}\nmessage: ${text}`)
}
