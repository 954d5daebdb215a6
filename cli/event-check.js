'use strict'
// Checks an SNS Message against the tracking plan's JSON Schemas (plan/render-schema.mjs) with
// ajv, and its keys against the documented order, which no JSON Schema keyword can state.
// `sns-logger tail` flags what breaks them; the end-to-end tests check every message they read
// back from SQS with it (__test__/support/moto.mjs).

const Ajv2020 = require('ajv/dist/2020')
const addFormats = require('ajv-formats')

/** Joined with the category: the key of an event. */
const SEPARATOR = '\u0000'

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value)

/** `"a", "b" or "c"`, as the core lists allowed values. */
function oneOf(values) {
  const quoted = values.map((v) => JSON.stringify(v))
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? 'nothing')
}

/** An ajv error as `{ instancePath, keyword, message }`, the message completed with what ajv keeps in `params`. */
function problem({ instancePath, keyword, message, params }) {
  const detail = {
    additionalProperties: () => `: ${JSON.stringify(params.additionalProperty)}`,
    enum: () => `: ${oneOf(params.allowedValues)}`,
    const: () => `: ${JSON.stringify(params.allowedValue)}`,
  }[keyword]
  return { instancePath, keyword, message: `${message}${detail ? detail() : ''}` }
}

/**
 * A checker of messages against `anyEventSchema` (the plan's event.json, which bundles every
 * event's schema). `check(text)` returns `{ message, problems }`: the parsed message (undefined
 * when the text is not JSON) and what breaks the plan, each `{ instancePath, keyword, message }`
 * (ajv's instance path and keyword; `keyword` is also `json`, `event` or `order` for what
 * this adds), none for a valid message.
 */
function eventChecker(anyEventSchema) {
  const ajv = new Ajv2020({ allErrors: true, strict: true })
  addFormats(ajv)
  const validateAny = ajv.compile(anyEventSchema)
  const events = new Map()
  const actions = new Map()
  for (const schema of Object.values(anyEventSchema.$defs)) {
    const { category, action } = schema.properties
    events.set(category.const + SEPARATOR + action.const, { validate: ajv.getSchema(schema.$id), order: schema.required })
    actions.set(category.const, [...(actions.get(category.const) ?? []), action.const])
  }

  /** Why a message names no event of the plan. */
  function unknownEvent({ category, action }) {
    if (!actions.has(category)) {
      return { instancePath: '/category', keyword: 'event', message: `${JSON.stringify(category)} is not a category of the plan; allowed: ${oneOf([...actions.keys()])}` }
    }
    const allowed = actions.get(category)
    return { instancePath: '/action', keyword: 'event', message: `${JSON.stringify(action)} is not an action of ${JSON.stringify(category)}; allowed: ${oneOf(allowed)}` }
  }

  return function check(text) {
    let message
    try {
      message = JSON.parse(text)
    } catch (error) {
      return { message: undefined, problems: [{ instancePath: '', keyword: 'json', message: `is not JSON (${error.message})` }] }
    }
    if (!isObject(message)) return { message, problems: [{ instancePath: '', keyword: 'type', message: 'must be object' }] }
    const event = events.get(message.category + SEPARATOR + message.action)
    if (validateAny(message)) {
      const keys = Object.keys(message)
      if (keys.join() === event.order.join()) return { message, problems: [] }
      return { message, problems: [{ instancePath: '', keyword: 'order', message: `keys must come in the order ${event.order.join(', ')}; they come as ${keys.join(', ')}` }] }
    }
    if (!event) return { message, problems: [unknownEvent(message)] }
    event.validate(message)
    // An if/then/else error only repeats the one its branch reports.
    return { message, problems: event.validate.errors.filter((e) => e.keyword !== 'if').map(problem) }
  }
}

module.exports = { eventChecker }
