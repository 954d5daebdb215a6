// sns-logger/client: logs events through a relay (`sns-logger serve`) from code that cannot load
// the native addon, above all Rocket.Chat apps in the Apps-Engine sandbox. Plain JavaScript,
// no dependencies, nothing from Node: it runs in Deno, Node and bundlers alike.
//
// logEvent() validates against the plan and buffers; one request at a time carries up to 50
// events to `${url}/v1/batch`, so the relay sees them in order. Each event has a messageId, so a
// retried batch is delivered once. Retried: timeouts, network errors, 408, 429, 5xx, a 2xx that
// does not account for every event, and a transport answer that is not a response.
import { readRelayAnswer } from './answer.mjs'
import { RelayClientError, utf8Length, validateEvent } from './validate.mjs'

export * from '../plan/index.mjs'
export { RelayClientError, validateEvent }

/**
 * What one request of this client carries: the body and event sizes of the relay's /v1/batch
 * (crates/relay/src/batch.rs, APP_LIMITS), and at most 50 events, fewer than the 500 it takes.
 */
const REQUEST_LIMITS = { events: 50, bodyBytes: 512 * 1024, eventBytes: 32 * 1024 }
const FIRST_RETRY_DELAY_MS = 250
/** Notices takeNotices() keeps between two calls; beyond, the oldest are counted, not kept. */
const KEPT_NOTICES = 100
/** Apps-Engine kills an app's handler after 30 s; a request must end well before. */
const MAX_TIMEOUT_MS = 25_000

const DEFAULTS = { batchSize: 50, lingerMs: 200, timeoutMs: 5000, maxBufferEvents: 10_000, maxRetryDelayMs: 30_000 }
const RANGES = {
  batchSize: [1, REQUEST_LIMITS.events],
  lingerMs: [0, 60_000],
  timeoutMs: [1, MAX_TIMEOUT_MS],
  maxBufferEvents: [1, 10_000_000],
  maxRetryDelayMs: [1, 3_600_000],
}

/** What flush() and close() take as timeoutMs: the native close()'s range. */
const DEADLINE_MS = [0, 24 * 3600 * 1000]

const invalidOptions = (message) => {
  throw new RelayClientError('ERR_INVALID_OPTIONS', message)
}
const shown = (value) => (typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value))

/** Options with defaults applied; each bad one named with its value and what is allowed. */
function readOptions(options) {
  if (typeof options !== 'object' || options === null) invalidOptions('createRelayClient expects an options object { url, token, ... }')
  const { url, token, http, fetch: fetchOption, onError } = options
  let base
  try {
    base = new URL(url)
  } catch {
    invalidOptions(`url ${shown(url)} is not a URL; allowed: the relay's base URL, e.g. "http://relay.internal:8787"`)
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    invalidOptions(`url ${shown(url)} must use http or https`)
  }
  // A token is a secret: its value is never part of a message.
  if (typeof token !== 'string' || token.length === 0) invalidOptions('token is required: the relay token of this app (a non-empty string)')
  if (http !== undefined && typeof http?.post !== 'function') invalidOptions('http must be the Apps-Engine IHttp accessor (an object with post())')
  // A bare `fetch`, not `globalThis.fetch`: app code runs with `globalThis` shadowed.
  const fetchImpl = fetchOption ?? (http === undefined && typeof fetch === 'function' ? fetch : undefined)
  if (http === undefined && typeof fetchImpl !== 'function') invalidOptions('give http (the Apps-Engine IHttp accessor) or fetch: no global fetch here')
  if (onError !== undefined && typeof onError !== 'function') invalidOptions('onError must be a function')
  const resolved = { endpoint: `${base.href.replace(/\/+$/, '')}/v1/batch`, token, http, fetch: fetchImpl, onError }
  for (const [name, [min, max]] of Object.entries(RANGES)) {
    const value = options[name] ?? DEFAULTS[name]
    if (!Number.isInteger(value) || value < min || value > max) {
      invalidOptions(`${name} ${shown(value)} is not allowed; allowed: a whole number from ${min} to ${max}`)
    }
    resolved[name] = value
  }
  return resolved
}

/** `{ timeoutMs }` of flush() or close(), checked at the call site; `fallback` when not given. */
function deadline(call, options, fallback) {
  if (options !== undefined && (typeof options !== 'object' || options === null)) invalidOptions(`${call} takes an options object such as { timeoutMs: 2000 }`)
  const value = options?.timeoutMs ?? fallback
  const [min, max] = DEADLINE_MS
  if (!Number.isInteger(value) || value < min || value > max) {
    invalidOptions(`${call}: timeoutMs ${shown(value)} is not allowed; allowed: a whole number from ${min} to ${max}`)
  }
  return value
}

/** A random prefix per client plus a counter: ids unique across apps and restarts. */
function messageIds() {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
  const random = new Uint8Array(16)
  if (typeof crypto !== 'undefined' && typeof crypto.getRandomValues === 'function') crypto.getRandomValues(random)
  else for (let i = 0; i < random.length; i++) random[i] = Math.floor(Math.random() * 256)
  const prefix = Array.from(random, (b) => ALPHABET[b & 63]).join('')
  let counter = 0
  return () => `${prefix}-${(++counter).toString(36)}`
}

function header(headers, name) {
  if (!headers) return undefined
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : String(headers[key])
}

/** Retry-After in ms (seconds or an HTTP date), or 0. */
function retryAfterMs(value) {
  if (value === undefined) return 0
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 0
}

/** Resolves with `promise`, or with `onTimeout()` after `ms`: no request outlives its timeout. */
function withTimeout(promise, ms, onTimeout) {
  let timer
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/**
 * One POST of a batch (`{ body, data }`: its JSON text, and the same as an object for the IHttp
 * accessor, which sends an object `data` as JSON): `{ status, retryAfter, text }`, or `{ error }`
 * for a network error or timeout.
 */
function transport({ endpoint, token, http, fetch, timeoutMs }) {
  const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }
  const timedOut = () => ({ error: `no answer within ${timeoutMs} ms` })
  const networkError = (error) => ({ error: `network error: ${String(error?.message ?? error).slice(0, 200)}` })
  if (http) {
    return ({ data }) =>
      withTimeout(
        Promise.resolve()
          .then(() => http.post(endpoint, { data, headers, timeout: timeoutMs }))
          .then((res) => {
            // The accessor's contract is a response for every status; anything else is a failed attempt.
            if (typeof res !== 'object' || res === null || !Number.isInteger(res.statusCode)) {
              return { error: `the IHttp accessor's post() resolved ${res === null ? 'null' : typeof res}, not a response`, code: 'ERR_TRANSPORT' }
            }
            return { status: res.statusCode, retryAfter: header(res.headers, 'retry-after'), text: res.content ?? res.data }
          }, networkError),
        timeoutMs,
        timedOut,
      )
  }
  return ({ body }) => {
    const abort = typeof AbortController === 'function' ? new AbortController() : undefined
    const request = Promise.resolve()
      .then(() => fetch(endpoint, { method: 'POST', body, headers, signal: abort?.signal }))
      .then(async (res) => ({ status: res.status, retryAfter: header(res.headers, 'retry-after'), text: await res.text() }), networkError)
    return withTimeout(request, timeoutMs, () => {
      abort?.abort()
      return timedOut()
    })
  }
}

const isRetryable = (status) => status === 408 || status === 429 || status >= 500

function parseJson(text) {
  try {
    return typeof text === 'string' ? JSON.parse(text) : text
  } catch {
    return undefined
  }
}

/** A client for a relay; see client/index.d.ts. */
export function createRelayClient(options) {
  const config = readOptions(options)
  const post = transport(config)
  const nextMessageId = messageIds()
  const counts = { logged: 0, sent: 0, rejected: 0, failed: 0, dropped: 0, retries: 0 }

  /** Events waiting to be sent, in order: `{ event, json, bytes }`. */
  let buffer = []
  /** The batch on the wire or waiting to be retried. */
  let inFlight = null
  let attempt = 0
  let timer = null
  let closed = false
  let stopped = false
  let overflowing = false
  // FIFO bookkeeping for flush(): events enqueued so far, and how many of them are done.
  let enqueued = 0
  let finished = 0
  const waiters = []

  /** Notices since the last takeNotices(), and how many did not fit. */
  let kept = []
  let notKept = 0

  const notify = (code, message, events) => {
    if (kept.length === KEPT_NOTICES) {
      notKept += kept.shift().events
    }
    kept.push({ code, message, events })
    try {
      if (config.onError) config.onError({ code, message, events })
      else if (typeof console !== 'undefined') console.warn(`sns-logger/client: ${code}: ${message} (${events} event(s))`)
    } catch {
      // A throwing handler must not break delivery.
    }
  }

  const pending = () => buffer.length + (inFlight ? inFlight.events.length : 0)
  const urgent = () => closed || waiters.some((w) => w.target > finished)

  function settleWaiters() {
    for (const waiter of waiters.slice()) {
      if (finished >= waiter.target) waiter.settle({ complete: true, pending: pending() })
    }
  }

  function schedule() {
    if (stopped || inFlight || timer || buffer.length === 0) return
    if (buffer.length >= config.batchSize || urgent()) sendNext()
    // Even with no linger, events logged in one synchronous run go out together.
    else timer = setTimeout(sendNext, config.lingerMs)
  }

  function takeBatch() {
    let bytes = '{"batch":[]}'.length
    let count = 0
    while (count < buffer.length && count < config.batchSize && bytes + buffer[count].bytes + 1 <= REQUEST_LIMITS.bodyBytes) {
      bytes += buffer[count].bytes + 1
      count++
    }
    const events = buffer.slice(0, count)
    buffer = buffer.slice(count)
    return {
      events,
      body: `{"batch":[${events.map((e) => e.json).join(',')}]}`,
      data: { batch: events.map((e) => e.event) },
    }
  }

  function sendNext() {
    timer = null
    if (stopped) return
    if (!inFlight) {
      inFlight = takeBatch()
      attempt = 0
    }
    const batch = inFlight
    post(batch)
      // A transport that throws is a failed attempt like any other, never an unhandled rejection.
      .catch((error) => ({ error: `the transport failed: ${String(error?.message ?? error).slice(0, 200)}`, code: 'ERR_TRANSPORT' }))
      .then((answer) => {
        if (!stopped && inFlight === batch) settle(batch, answer)
      })
  }

  function done(batch) {
    inFlight = null
    finished += batch.events.length
    settleWaiters()
    schedule()
  }

  /** Reports a failed attempt's cause once per batch (the attempts that follow repeat it). */
  function reportOnce(batch, code, message) {
    if (batch.reported) return
    batch.reported = true
    notify(code, `${message}; the batch is sent again with the same messageIds`, batch.events.length)
  }

  function retry(batch, retryAfter) {
    counts.retries++
    const backoff = Math.random() * Math.min(config.maxRetryDelayMs, FIRST_RETRY_DELAY_MS * 2 ** attempt)
    attempt = Math.min(attempt + 1, 30)
    timer = setTimeout(sendNext, Math.min(config.maxRetryDelayMs, Math.max(retryAfterMs(retryAfter), backoff)))
  }

  function settle(batch, { status, retryAfter, text, error, code }) {
    const events = batch.events.length
    if (error !== undefined || isRetryable(status)) {
      // Network errors and timeouts are the relay being away: retried quietly (stats().retries).
      if (code) reportOnce(batch, code, error)
      return retry(batch, retryAfter)
    }
    if (status >= 200 && status < 300) {
      const answer = readRelayAnswer(text, events)
      if (!answer) {
        reportOnce(batch, 'ERR_UNCONFIRMED', `the relay answered ${status} without accounting for each of the ${events} events (not the relay's answer, or cut short)`)
        return retry(batch, retryAfter)
      }
      counts.sent += answer.accepted
      counts.rejected += answer.rejected.length
      // One notice per code, with the first message: a burst of bad events is one line.
      const byCode = new Map()
      for (const r of answer.rejected) {
        const entry = byCode.get(r.code) ?? { message: r.message, events: 0 }
        entry.events++
        byCode.set(r.code, entry)
      }
      for (const [refusal, { message, events: n }] of byCode) notify(refusal, `the relay refused an event: ${message}`, n)
    } else {
      const answer = parseJson(text)
      counts.failed += events
      const refusal = typeof answer?.code === 'string' ? answer.code : `HTTP_${status}`
      const reason = typeof answer?.message === 'string' ? answer.message : `the relay answered ${status}`
      notify(refusal, `a batch was refused and will not be retried: ${reason}`, events)
    }
    done(batch)
  }

  /** The end of close(): every timer stopped; what is left is counted as dropped and reported. */
  function stop(timeoutMs, result) {
    if (!stopped) {
      stopped = true
      clearTimeout(timer)
      timer = null
      const left = pending()
      if (left > 0) {
        counts.dropped += left
        notify('ERR_CLOSED', `close() gave up after ${timeoutMs} ms with events not yet acknowledged by the relay`, left)
      }
      buffer = []
      inFlight = null
    }
    return result
  }

  const client = {
    logEvent(event) {
      if (closed) throw new RelayClientError('ERR_CLOSED', 'the client is closed: logEvent() after close()')
      const valid = validateEvent(event)
      valid.messageId = nextMessageId()
      const json = JSON.stringify(valid)
      const bytes = utf8Length(json)
      if (bytes > REQUEST_LIMITS.eventBytes) {
        throw new RelayClientError(
          'ERR_MESSAGE_TOO_LARGE',
          `the event is ${bytes} bytes as JSON; the relay takes at most ${REQUEST_LIMITS.eventBytes} bytes per event`,
        )
      }
      counts.logged++
      if (pending() >= config.maxBufferEvents) {
        counts.dropped++
        if (!overflowing) {
          overflowing = true
          notify('ERR_BUFFER_FULL', `${config.maxBufferEvents} events (maxBufferEvents) are waiting for the relay; new events are dropped until they drain`, 1)
        }
        return
      }
      overflowing = false
      buffer.push({ event: valid, json, bytes })
      enqueued++
      schedule()
    },

    flush(options) {
      const timeoutMs = deadline('flush()', options, config.timeoutMs)
      const target = enqueued
      if (finished >= target || stopped) return Promise.resolve({ complete: finished >= target, pending: pending() })
      return new Promise((resolve) => {
        const waiter = {
          target,
          settle(result) {
            clearTimeout(waiter.timer)
            waiters.splice(waiters.indexOf(waiter), 1)
            resolve(result)
          },
        }
        waiter.timer = setTimeout(() => waiter.settle({ complete: false, pending: pending() }), timeoutMs)
        waiters.push(waiter)
        // Send now rather than after the linger.
        if (timer && !inFlight) {
          clearTimeout(timer)
          timer = null
        }
        schedule()
      })
    },

    close(options) {
      // Checked before anything happens: bad options leave the client open.
      const timeoutMs = deadline('close()', options, config.timeoutMs)
      closed = true
      return client.flush({ timeoutMs }).then((result) => stop(timeoutMs, result))
    },

    stats() {
      return { ...counts, pending: pending() }
    },

    takeNotices() {
      const notices = kept
      if (notKept > 0) {
        notices.unshift({ code: 'ERR_NOTICES_DROPPED', message: `older notices about ${notKept} event(s) were not kept (at most ${KEPT_NOTICES} are)`, events: notKept })
      }
      kept = []
      notKept = 0
      return notices
    },
  }
  return client
}
