// Checks an event against the tracking plan in plain JavaScript, with the codes and messages of
// the core (crates/core/src/plan/validate.rs, src/js_input.rs): an app in the sandbox gets the
// error at its call site that the native `logEvent` would throw. The plan comes from the
// generated plan/index.mjs; __test__/client-validate.test.mjs fails when the two disagree.
import { TRACKING_PLAN } from '../plan/index.mjs'

/** The core's limit for one SNS message; strings longer than this are measured, not quoted. */
const MAX_MESSAGE_BYTES = 262144
/** Properties objects with more keys than this are refused before any is read. */
const MAX_PROPERTY_KEYS = 64

/** An Error with a stable `code`, as the native package throws. */
export class RelayClientError extends Error {
  constructor(code, message) {
    super(message)
    this.name = 'RelayClientError'
    this.code = code
  }
}

const fail = (code, message) => {
  throw new RelayClientError(code, message)
}

// ---- text, as the core writes it ---------------------------------------------

/** UTF-8 length; a lone surrogate counts as U+FFFD (3 bytes), as N-API writes it. */
export function utf8Length(s) {
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i)
    if (unit < 0x80) bytes += 1
    else if (unit < 0x800) bytes += 2
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4
      i++
    } else bytes += 3
  }
  return bytes
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
// Rust's char::escape_debug: these escapes, else \u{..} for what Rust deems unprintable
// (categories Cc Cf Cs Co Cn Zl Zp Zs but the space) and for grapheme extenders.
const SIMPLE_ESCAPES = { '\0': '\\0', '\t': '\\t', '\r': '\\r', '\n': '\\n', '\\': '\\\\', '"': '\\"', "'": "\\'" }
const UNPRINTABLE = /^(?! )[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u
const GRAPHEME_EXTEND = /^\p{Grapheme_Extend}$/u

function escapeChar(c, escapeGraphemeExtend) {
  if (c in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[c]
  if (UNPRINTABLE.test(c) || (escapeGraphemeExtend && GRAPHEME_EXTEND.test(c))) {
    return `\\u{${c.codePointAt(0).toString(16)}}`
  }
  return c
}

/** Rust's str::escape_debug: a grapheme extender is escaped only as the first character. */
function escapeDebug(s) {
  return Array.from(s, (c, i) => escapeChar(c, i === 0)).join('')
}

/** The core's quote(): the value in quotes, cut after 80 characters with its byte length. */
export function quote(value) {
  const chars = Array.from(value)
  const shown = chars.slice(0, 80).map((c) => escapeChar(c, true)).join('')
  return chars.length > 80 ? `"${shown}"… (${utf8Length(value)} bytes)` : `"${shown}"`
}

/** `"a", "b" or "c"`, as the core lists allowed values. */
export function oneOf(values) {
  const quoted = values.map((v) => `"${v}"`)
  if (quoted.length === 0) return 'nothing'
  if (quoted.length === 1) return quoted[0]
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`
}

/** A number as Rust's Display writes an f64: shortest round-trip digits, never an exponent. */
export function rustNumber(n) {
  if (Number.isNaN(n)) return 'NaN'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  if (n === 0) return Object.is(n, -0) ? '-0' : '0'
  const [mantissa, exponentText] = Math.abs(n).toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const point = Number(exponentText) + 1 // digits before the decimal point
  let text
  if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`
  else if (point >= digits.length) text = digits + '0'.repeat(point - digits.length)
  else text = `${digits.slice(0, point)}.${digits.slice(point)}`
  return n < 0 ? `-${text}` : text
}

// ---- reading JavaScript values (src/js_input.rs) -----------------------------

const isDate = (v) => Object.prototype.toString.call(v) === '[object Date]'

/** What a value is, for messages: "null", "an array", "a boolean", ... */
function describeJs(v) {
  if (v === undefined) return 'undefined'
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean':
      return 'a boolean'
    case 'number':
      return 'a number'
    case 'string':
      return 'a string'
    case 'symbol':
      return 'a symbol'
    case 'function':
      return 'a function'
    case 'bigint':
      return 'a bigint'
  }
  if (Array.isArray(v)) return 'an array'
  return isDate(v) ? 'a Date' : 'an object'
}

// A read value: { string } | { number } | { epochMillis } | { tooLong } | { other }; undefined when absent.
function readString(s) {
  const length = utf8Length(s)
  if (length > MAX_MESSAGE_BYTES) return { tooLong: length }
  if (LONE_SURROGATE.test(s)) return { other: 'a string with a lone surrogate (half of a UTF-16 pair)' }
  return { string: s }
}

function readValue(v) {
  if (v === undefined) return undefined
  if (typeof v === 'number') return { number: v }
  if (typeof v === 'string') return readString(v)
  if (typeof v === 'object' && v !== null && isDate(v)) return { epochMillis: v.getTime() }
  return { other: describeJs(v) }
}

function readProperties(properties) {
  if (properties === undefined) return undefined
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties) || isDate(properties)) {
    return { other: describeJs(properties) }
  }
  const keys = Object.keys(properties)
  if (keys.length > MAX_PROPERTY_KEYS) return { other: 'an object with too many keys' }
  const entries = []
  for (const key of keys) {
    if (readString(key).string === undefined) {
      return { other: 'an object with an unreadable key (over-long, or with a lone surrogate)' }
    }
    const value = readValue(properties[key])
    if (value !== undefined) entries.push([key, value])
  }
  return { entries }
}

/** Every field of the event read out at once: a throwing getter or Proxy is one clear error. */
function readEvent(event) {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    fail('ERR_INVALID_EVENT', `logEvent expects an event object { roomId, category, action, properties? }, got ${describeJs(event)}`)
  }
  try {
    const { agent, roomId, tabId, category, action, properties, timestamp } = event
    return {
      agent: readValue(agent),
      roomId: readValue(roomId),
      tabId: readValue(tabId),
      category: readValue(category),
      action: readValue(action),
      properties: readProperties(properties),
      timestamp: readValue(timestamp),
    }
  } catch {
    return fail('ERR_INVALID_EVENT', 'reading the event threw: events must be plain data objects')
  }
}

// ---- the plan's checks (crates/core/src/plan/validate.rs) --------------------

function describe(value) {
  if (value.string !== undefined) return quote(value.string)
  if (value.number !== undefined) return `number ${rustNumber(value.number)}`
  if (value.epochMillis !== undefined) return 'a Date'
  if (value.tooLong !== undefined) return `a string of ${value.tooLong} bytes`
  return value.other
}

function tooLarge(field, length) {
  return fail('ERR_MESSAGE_TOO_LARGE', `${field} is a string of ${length} bytes; a whole message may be at most ${MAX_MESSAGE_BYTES} bytes`)
}

function requiredString(field, value, code) {
  if (value === undefined) fail(code, `${field} is required: a non-empty string`)
  if (value.tooLong !== undefined) tooLarge(field, value.tooLong)
  if (!value.string) fail(code, `${field} must be a non-empty string, got ${describe(value)}`)
  return value.string
}

/** Each property type of the plan: what it accepts and how the core words a refusal. */
const PROPERTY_TYPES = {
  enum: {
    describe: (spec) => `one of ${oneOf(spec.values.map((v) => v.value))}`,
    check: (spec, value) => {
      const allowed = spec.values.find((v) => v.value === value.string)
      return allowed && { value: allowed.value }
    },
    reject: (spec, field, shown, event) => `${field} ${shown} is not allowed for ${event}; allowed: ${oneOf(spec.values.map((v) => v.value))}`,
  },
  string: {
    describe: () => 'a non-empty string',
    check: (_spec, value) => (value.string ? { value: value.string } : undefined),
  },
  number: {
    describe: (spec) => (spec.minimum === undefined ? 'a finite number' : `a finite number >= ${rustNumber(spec.minimum)}`),
    check: (spec, value) =>
      Number.isFinite(value.number) && (spec.minimum === undefined || value.number >= spec.minimum) ? { value: value.number } : undefined,
  },
}

const rejectDefault = (type, spec, field, shown) => `${field} must be ${type.describe(spec)}, got ${shown}`

function checkProperties(given, action, eventName) {
  const entries = given === undefined ? [] : given.entries
  if (entries === undefined) fail('ERR_INVALID_PROPERTY', `properties must be an object, got ${given.other}`)
  const unknown = entries.find(([name]) => !action.properties.some((p) => p.property === name))
  if (unknown) {
    const allowed = action.properties.length === 0 ? 'it takes no properties' : `allowed: ${oneOf(action.properties.map((p) => p.property))}`
    fail('ERR_INVALID_PROPERTY', `properties.${escapeDebug(unknown[0])} is not a property of ${eventName()}; ${allowed}`)
  }
  const properties = {}
  for (const spec of action.properties) {
    const field = `properties.${spec.property}`
    const type = PROPERTY_TYPES[spec.type]
    const entry = entries.find(([name]) => name === spec.property)
    if (!entry) fail('ERR_INVALID_PROPERTY', `${field} is required for ${eventName()}: ${type.describe(spec)}`)
    const value = entry[1]
    if (value.tooLong !== undefined) tooLarge(field, value.tooLong)
    const checked = type.check(spec, value)
    if (!checked) {
      const shownValue = describe(value)
      fail('ERR_INVALID_PROPERTY', type.reject ? type.reject(spec, field, shownValue, eventName()) : rejectDefault(type, spec, field, shownValue))
    }
    properties[spec.property] = checked.value
  }
  return properties
}

// ---- timestamps (chrono's RFC 3339 parser and the core's year range) ---------

const ALLOWED_TIMES =
  'allowed: a valid Date or an ISO 8601 string with a time zone, e.g. "2022-09-26T17:50:47.225Z", from year 0000 to 9999'
const invalidTimestamp = (what) => fail('ERR_INVALID_TIMESTAMP', `timestamp ${what}; ${ALLOWED_TIMES}`)
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
/** chrono's date range, in years (its NaiveDate::MIN and MAX). */
const CHRONO_YEARS = [-262143, 262142]

const isLeap = (year) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const daysInMonth = (year, month) => [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
const pad = (n, width) => String(n).padStart(width, '0')

/** A UTC time as chrono writes it with milliseconds; years outside 0-9999 get a sign. */
function rfc3339Millis(ms) {
  const d = new Date(ms)
  const year = d.getUTCFullYear()
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 4)}`
  return `${yearText}-${d.toISOString().replace(/^[+-]?\d+-/, '')}`
}

/** Epoch milliseconds of an RFC 3339 string (as chrono parses it), or undefined. */
function parseRfc3339(text) {
  const m = RFC3339.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number)
  const offsetHours = m[8] ? 0 : Number(m[10])
  const offsetMinutes = m[8] ? 0 : Number(m[11])
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 60 || offsetHours > 23 || offsetMinutes > 59) return undefined
  const sign = m[9] === '-' ? -1 : 1
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
  const local = new Date(0)
  local.setUTCFullYear(year, month - 1, day)
  local.setUTCHours(hour, minute, Math.min(second, 59), millis)
  return { ms: local.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60000, leapSecond: second === 60 }
}

/** The timestamp to send: ISO 8601 text; the time of the call when none was given. */
function checkTimestamp(value) {
  if (value === undefined) return new Date().toISOString()
  let ms
  let text
  let leapSecond = false
  if (value.epochMillis !== undefined) {
    ms = value.epochMillis
    if (!Number.isFinite(ms)) invalidTimestamp('is an Invalid Date')
    if (!withinYears(ms, CHRONO_YEARS)) invalidTimestamp(`${rustNumber(ms)} ms is out of range`)
  } else if (value.string !== undefined) {
    const parsed = parseRfc3339(value.string)
    if (!parsed) invalidTimestamp(`${quote(value.string)} is not an ISO 8601 date-time`)
    ;({ ms, leapSecond } = parsed)
    text = value.string
  } else {
    invalidTimestamp(`must be a Date or a string, got ${describe(value)}`)
  }
  if (!withinYears(ms, [0, 9999])) invalidTimestamp(`${rfc3339Millis(ms)} is outside the years 0000 to 9999`)
  if (leapSecond) invalidTimestamp("is a leap second (:60), which JavaScript's Date cannot read")
  return text ?? new Date(ms).toISOString()
}

function withinYears(ms, [first, last]) {
  const year = new Date(ms).getUTCFullYear()
  return year >= first && year <= last
}

// ---- the whole event -----------------------------------------------------------

/**
 * Checks an event against the tracking plan; returns it as the relay takes it (properties in
 * plan order, timestamp as ISO text) or throws a RelayClientError with the core's code and message.
 */
export function validateEvent(event, plan = TRACKING_PLAN) {
  const input = readEvent(event)
  const roomId = requiredString('roomId', input.roomId, 'ERR_INVALID_EVENT')
  let tabId
  if (input.tabId !== undefined) {
    if (input.tabId.tooLong !== undefined) tooLarge('tabId', input.tabId.tooLong)
    if (input.tabId.string === undefined) {
      fail('ERR_INVALID_EVENT', `tabId must be a string (only widget events have one), got ${describe(input.tabId)}`)
    }
    tabId = input.tabId.string
  }
  const agent = input.agent === undefined ? undefined : requiredString('agent', input.agent, 'ERR_UNKNOWN_AGENT')

  const categoryName = requiredString('category', input.category, 'ERR_UNKNOWN_CATEGORY')
  const category = plan.categories.find((c) => c.category === categoryName)
  if (!category) {
    fail(
      'ERR_UNKNOWN_CATEGORY',
      `category ${quote(categoryName)} is not in the tracking plan; allowed: ${oneOf(plan.categories.map((c) => c.category))}`,
    )
  }
  const actionName = requiredString('action', input.action, 'ERR_UNKNOWN_ACTION')
  const action = category.actions.find((a) => a.action === actionName)
  if (!action) {
    fail(
      'ERR_UNKNOWN_ACTION',
      `action ${quote(actionName)} is not an action of category ${quote(category.category)}; allowed: ${oneOf(category.actions.map((a) => a.action))}`,
    )
  }
  const eventName = () => `${quote(category.category)} / ${quote(action.action)}`
  const properties = checkProperties(input.properties, action, eventName)
  const timestamp = checkTimestamp(input.timestamp)

  const valid = { roomId, category: category.category, action: action.action, properties, timestamp }
  if (agent !== undefined) valid.agent = agent
  if (tabId !== undefined) valid.tabId = tabId
  return valid
}
