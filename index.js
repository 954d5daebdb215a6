'use strict'
// The package entry: the native logger plus everything from `sns-logger/plan`.
// `init()`/`logEvent()`/... act on one process-wide logger; `SnsLogger` makes others.

const native = require('./binding.js')
const plan = require('./plan/index.js')

let processLogger = null

/**
 * A logger. `onError(error)` and `onDelivery(delivery)` are optional; they run on the
 * JavaScript thread, never keep the process alive, and a callback that throws does not
 * disturb delivery.
 */
class SnsLogger extends native.SnsLogger {
  /** category → action → the index logAction takes: one number crosses instead of two strings. */
  #actionIndexes = new Map()
  /** The native logger for native.logAction / native.logFields (see handle() in src/logger.rs). */
  #handle

  constructor(options) {
    // Anything but a plain object goes to the native side untouched, which names the problem.
    const isObject = typeof options === 'object' && options !== null && !Array.isArray(options)
    let onError, onDelivery, rest
    try {
      ;({ onError, onDelivery, ...rest } = isObject ? options : {})
    } catch {
      throw codedError('ERR_INVALID_OPTIONS', 'reading the options threw: options must be plain data objects')
    }
    checkPlainData(rest, 'options')
    try {
      super(isObject ? rest : options, noticeHandler(onError, onDelivery), onDelivery !== undefined)
    } catch (error) {
      throw coded(error, 'ERR_INVALID_OPTIONS', 'options could not be read')
    }
    this.#handle = this.handle()
    for (const { category, action, index } of this.actionIndexes()) {
      let actions = this.#actionIndexes.get(category)
      if (!actions) this.#actionIndexes.set(category, (actions = new Map()))
      actions.set(action, index)
    }
  }

  /**
   * Stops accepting events, flushes until `timeoutMs` (default 5000), then spools what is
   * left. Throws ERR_INVALID_OPTIONS on bad options (the logger stays open); never rejects.
   */
  close(options) {
    checkPlainData(options, 'close options')
    try {
      return super.close(options)
    } catch (error) {
      throw coded(error, 'ERR_INVALID_OPTIONS', 'close options could not be read')
    }
  }

  /** Validates the event and queues it; throws on bad input. Never blocks on I/O. */
  logEvent(event) {
    // The fields are read here, where V8 does it far faster than N-API, and passed in the
    // order of js_input::FIELDS (logAction: the action's index in place of category and
    // action). A throwing getter or Proxy becomes a coded error, as natively.
    let isEvent, agent, roomId, tabId, category, action, properties, timestamp, keys
    try {
      isEvent = typeof event === 'object' && event !== null && !Array.isArray(event)
      if (isEvent) ({ agent, roomId, tabId, category, action, properties, timestamp } = event)
      if (typeof properties === 'object' && properties !== null) keys = Object.keys(properties)
    } catch {
      throw codedError('ERR_INVALID_EVENT', 'reading the event threw: events must be plain data objects')
    }
    if (!isEvent) return super.logEvent(event) // throws, naming what was given
    // Anything not in the plan (or not strings) goes by name, to be named in the error.
    const index = this.#actionIndexes.get(category)?.get(action)
    if (index !== undefined) native.logAction(this.#handle, index, agent, roomId, tabId, properties, timestamp, keys)
    else native.logFields(this.#handle, agent, roomId, tabId, category, action, properties, timestamp, keys)
  }

  /** logEvent for plan-extension events: the same checks at runtime, loose types. */
  logCustomEvent(event) {
    this.logEvent(event)
  }
}

// On exit (natural end or process.exit()), events still in memory go to the spool
// synchronously. SIGKILL or a crash of the process loses what was only in memory.
process.once('exit', () => {
  native.spoolPendingOnExit()
})

/**
 * The native side's notice callback for `onError` / `onDelivery` (checked to be functions),
 * or undefined when neither is given.
 */
function noticeHandler(onError, onDelivery, path = '') {
  const callbacks = { error: onError, delivery: onDelivery }
  for (const [kind, callback] of Object.entries(callbacks)) {
    if (callback !== undefined && typeof callback !== 'function') {
      throw codedError('ERR_INVALID_OPTIONS', `${path}on${kind[0].toUpperCase()}${kind.slice(1)} must be a function`)
    }
  }
  if (!onError && !onDelivery) return undefined
  return (notice) => {
    try {
      if (notice.kind === 'error') {
        onError?.(Object.assign(new Error(notice.message), { code: notice.code, events: notice.events }))
      } else {
        onDelivery?.({ topicArn: notice.topicArn, messageGroupId: notice.messageGroupId, events: notice.events })
      }
    } catch {
      // A failing callback must not break delivery or crash the host.
    }
  }
}

/**
 * A running relay (from `serve()`). Like a Node server, it keeps the process alive until
 * `close()`.
 */
class Relay {
  #native
  #keepAlive
  #closing = null

  constructor(nativeRelay) {
    this.#native = nativeRelay
    this.#keepAlive = setInterval(() => {}, 2 ** 30)
  }

  /** The public listener: `{ host, port, url }`; as a string, its `url`. */
  get address() {
    return withUrlString(this.#native.address)
  }

  /** The admin listener, which serves `/metrics`: `{ host, port, url }`; as a string, its `url`. */
  get adminAddress() {
    return withUrlString(this.#native.adminAddress)
  }

  /** What the relay refuses by its configuration (no tokens file, no widget origin, ...). */
  get warnings() {
    return this.#native.warnings
  }

  stats() {
    return this.#native.stats()
  }

  /**
   * Drains (new requests and /readyz get 503, requests in flight finish), stops listening and
   * closes the logger within the shutdown timeout; what it could not send is in the spool.
   * Never rejects; calling it again returns the same promise.
   */
  close() {
    this.#closing ??= this.#native.close().finally(() => clearInterval(this.#keepAlive))
    return this.#closing
  }
}

/** `${relay.address}` and `new URL(relay.address)` give the listener's URL. */
function withUrlString(address) {
  Object.defineProperty(address, 'toString', { value: () => address.url })
  return address
}

/**
 * Starts the HTTP relay (`sns-logger serve` from code). `options.logger` configures its
 * logger as `init()` is configured (including `onError` / `onDelivery`); every other option
 * falls back to its environment variable. Throws ERR_INVALID_OPTIONS / ERR_INVALID_CONFIG on
 * bad options and ERR_LISTEN when an address cannot be bound.
 */
function serve(options) {
  const isObject = typeof options === 'object' && options !== null && !Array.isArray(options)
  let rest = options
  let onNotice, deliveries
  if (isObject && typeof options.logger === 'object' && options.logger !== null) {
    let onError, onDelivery, logger
    try {
      ;({ onError, onDelivery, ...logger } = options.logger)
    } catch {
      throw codedError('ERR_INVALID_OPTIONS', 'reading the options threw: options must be plain data objects')
    }
    onNotice = noticeHandler(onError, onDelivery, 'logger.')
    deliveries = onDelivery !== undefined
    rest = { ...options, logger }
  }
  checkPlainData(rest, 'options')
  try {
    return new Relay(native.serve(rest, onNotice, deliveries))
  } catch (error) {
    throw coded(error, 'ERR_INVALID_OPTIONS', 'options could not be read')
  }
}

function codedError(code, message) {
  const error = new Error(message)
  error.code = code
  return error
}

/** `error` when it has one of our codes, else a coded error saying `what` failed. */
function coded(error, code, what) {
  if (typeof error?.code === 'string' && error.code.startsWith('ERR_')) return error
  return codedError(code, `${what}: ${error?.message ?? String(error)}`)
}

const MAX_OPTIONS_DEPTH = 32

/**
 * Options cross to Rust as JSON: refuses, by path, what JSON cannot carry (functions,
 * symbols, BigInts, NaN, Infinity, cycles, very deep nesting, getters that throw).
 */
function checkPlainData(value, path) {
  const seen = new Set()
  let problem = null
  const visit = (v, at, depth) => {
    if (problem) return
    if (typeof v === 'number' && !Number.isFinite(v)) problem = `${at} is ${v}, which JSON cannot carry`
    else if (['function', 'symbol', 'bigint'].includes(typeof v)) problem = `${at} is a ${typeof v}, which JSON cannot carry`
    else if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) problem = `${at} refers back to an enclosing object (a cycle)`
      else if (depth > MAX_OPTIONS_DEPTH) problem = `${at} is nested deeper than ${MAX_OPTIONS_DEPTH} levels`
      else {
        seen.add(v)
        for (const key of Object.keys(v)) visit(v[key], `${at}.${key}`, depth + 1)
        seen.delete(v)
      }
    }
  }
  try {
    visit(value, path, 0)
  } catch {
    problem = `reading ${path} threw`
  }
  if (problem) throw codedError('ERR_INVALID_OPTIONS', `${problem}; options must be plain data (strings, numbers, booleans, arrays, objects)`)
}

function current() {
  if (processLogger === null) {
    throw codedError('ERR_NOT_INITIALIZED', 'sns-logger is not initialised: call init() first')
  }
  return processLogger
}

exports.SnsLogger = SnsLogger
exports.serve = serve

/** Starts the process-wide logger; with no options, everything comes from the environment. */
exports.init = function init(options) {
  if (processLogger !== null && !processLogger.closed) {
    throw codedError('ERR_ALREADY_INITIALIZED', 'sns-logger is already initialised: close() it before calling init() again')
  }
  processLogger = new SnsLogger(options)
}
exports.logEvent = function logEvent(event) {
  current().logEvent(event)
}
exports.logCustomEvent = function logCustomEvent(event) {
  current().logEvent(event)
}
exports.flush = function flush() {
  return current().flush()
}
exports.close = function close(options) {
  return current().close(options)
}
exports.stats = function stats() {
  return current().stats()
}
exports.records = function records(options) {
  return current().records(options)
}

// Re-exported one by one so that ESM named imports work (cjs-module-lexer); a test checks
// that none is missing.
exports.TRACKING_PLAN = plan.TRACKING_PLAN
exports.Category = plan.Category
exports.Action = plan.Action
exports.CloseMethod = plan.CloseMethod
exports.FailureReason = plan.FailureReason
exports.EventType = plan.EventType
exports.Source = plan.Source
exports.chatSessionClosed = plan.chatSessionClosed
exports.chatSessionStarted = plan.chatSessionStarted
exports.escalationAttempted = plan.escalationAttempted
exports.escalationFailed = plan.escalationFailed
exports.escalationSuccessful = plan.escalationSuccessful
exports.agentTransferSuccessful = plan.agentTransferSuccessful
exports.agentDisconnectTriggered = plan.agentDisconnectTriggered
exports.transcriptDownloadSelected = plan.transcriptDownloadSelected
exports.surveyLinkClicked = plan.surveyLinkClicked
exports.windowOpened = plan.windowOpened
exports.windowClosed = plan.windowClosed
