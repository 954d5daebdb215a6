// sns-logger/widget: the livechat Widget's analytics events, logged by the page that embeds the
// Rocket.Chat livechat widget and posted to the relay (`sns-logger serve`, POST /v1/w). No
// dependencies besides the plan's constants and helpers, which the minified script bundles
// (widget/sns-logger-widget.min.js, global `SnsLoggerWidget`).
//
//   const analytics = SnsLoggerWidget.createWidgetLogger({ relayUrl: 'https://events.example.com' })
//   RocketChat(function () {
//     this.onChatStarted(async () => analytics.setRoomId(await roomIdFromMyServer()))
//   })
//   transcriptLink.addEventListener('click', () => analytics.transcriptDownloadSelected())
//
// Which widget callback becomes which plan event, and why, is documented in index.d.ts.

import { readRelayAnswer } from '../client/answer.mjs'
import { CloseMethod, chatSessionClosed, surveyLinkClicked, transcriptDownloadSelected, windowClosed, windowOpened } from '../plan/index.mjs'

/** The relay's widget route. */
const PATH = '/v1/w'
/** Events per request: the relay's limit. */
const MAX_BATCH_EVENTS = 50
/** The relay's limit per event. */
const MAX_EVENT_BYTES = 8 * 1024
// Bytes per request. The relay takes 64 KiB, but browsers give all keepalive fetches and beacons
// of a page one shared 64 KiB budget: half of it leaves room for a beacon beside a fetch.
const MAX_BODY_BYTES = 32 * 1024
/** Events held in memory (waiting for a room id or to be sent); more are dropped and reported. */
const MAX_EVENTS = 200
/** Attempts per request (network error, 408, 429, 5xx); the same messageIds every time. */
const MAX_ATTEMPTS = 4
const RETRY_BASE_MS = 500
const RETRY_MAX_MS = 30_000
/** sessionStorage keys: per tab, shared by the pages of one origin in that tab. */
const KEY = {
  tabId: 'sns-logger.widget.tabId',
  roomId: 'sns-logger.widget.roomId',
  carry: 'sns-logger.widget.carry',
}
const ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Creates the page's widget logger. Never throws: bad options are reported to `onError`
 * (code ERR_INVALID_OPTIONS) and the logger then logs nothing.
 * @param {import('./index.d.ts').WidgetLoggerOptions} options
 * @returns {import('./index.d.ts').WidgetLogger}
 */
export function createWidgetLogger(options) {
  const opts = options && typeof options === 'object' ? options : {}
  const onError = typeof opts.onError === 'function' ? opts.onError : null
  const notify = (code, message, events) => {
    try {
      onError?.({ code, message, events })
    } catch {
      // the page's handler must not break the logger
    }
  }

  const store = openStorage()
  const tabId = ensureTabId(store)
  // A random part per page load: the relay derives the dedup id from (tabId, messageId), and a
  // counter alone would repeat on the tab's next page within SNS's 5-minute dedup window.
  const pageId = randomId(10)
  let seq = 0

  const relayUrl = typeof opts.relayUrl === 'string' ? opts.relayUrl.replace(/\/+$/, '') : ''
  const batchMs = opts.batchMs === undefined ? 1000 : opts.batchMs
  const problem = !/^https?:\/\/[^/]/i.test(relayUrl)
    ? 'options.relayUrl must be the relay\'s http(s) base URL, e.g. "https://events.example.com"'
    : typeof batchMs !== 'number' || !(batchMs >= 0 && batchMs <= 60_000)
      ? 'options.batchMs must be a number of milliseconds from 0 to 60000'
      : opts.agent !== undefined && (typeof opts.agent !== 'string' || !opts.agent)
        ? 'options.agent must be a non-empty string (a bot username of df_config.json, or its agent_id)'
        : null
  if (problem) notify('ERR_INVALID_OPTIONS', problem, 0)
  const endpoint = relayUrl + PATH
  const agent = opts.agent

  let roomId = nonEmpty(opts.roomId) ? opts.roomId : nonEmpty(store.get(KEY.roomId)) ? store.get(KEY.roomId) : null
  if (nonEmpty(opts.roomId)) store.set(KEY.roomId, opts.roomId)
  // Whether the chat window is open on this page. Not carried to the tab's next page: the
  // livechat widget (checked with @rocket.chat/livechat 1.13.3) comes back closed on every page
  // load, without a callback, and the visitor's next click reports onChatMaximized again.
  let open = false
  let disabled = Boolean(problem)

  /** Records `{ event, seq }`: `waiting` have no room id yet, `queue` are ready to send. */
  let waiting = []
  let queue = []
  let inFlight = null // the batch being posted
  let retrying = null // the batch waiting to be posted again, and how to wake it
  let batchTimer = null
  let sending = false
  let departed = false // after pagehide, until the page is shown again from the back-forward cache
  const flushWaiters = []
  const counts = { logged: 0, sent: 0, rejected: 0, failed: 0, dropped: 0, retries: 0, beacons: 0 }

  // ---- taking events ---------------------------------------------------------------------

  function log(build) {
    if (disabled) return
    try {
      if (waiting.length + queue.length + (inFlight?.length ?? 0) >= MAX_EVENTS) {
        counts.dropped++
        notify('ERR_BUFFER_FULL', `${MAX_EVENTS} events are already waiting (no room id yet, or the relay is unreachable); this one was dropped`, 1)
        return
      }
      const ctx = { roomId: roomId ?? '', tabId, timestamp: new Date().toISOString() }
      if (agent !== undefined) ctx.agent = agent
      const event = build(ctx)
      event.messageId = `${pageId}-${(++seq).toString(36)}`
      counts.logged++
      const record = { event, seq }
      if (roomId) enqueue(record)
      else waiting.push(record)
      schedule()
    } catch (error) {
      notify('ERR_INTERNAL', `the event could not be logged: ${error?.message ?? error}`, 1)
    }
  }

  /** Into the send queue, unless the event is over the relay's per-event limit. */
  function enqueue(record) {
    const bytes = byteLength(JSON.stringify(record.event))
    if (bytes > MAX_EVENT_BYTES) {
      counts.dropped++
      notify('ERR_EVENT_TOO_LARGE', `the event is ${bytes} bytes; the relay takes at most ${MAX_EVENT_BYTES} per widget event`, 1)
      return
    }
    queue.push(record)
  }

  function setRoomId(id) {
    try {
      if (id === null || id === undefined) {
        roomId = null
        store.remove(KEY.roomId)
        return
      }
      if (!nonEmpty(id)) {
        notify('ERR_INVALID_ROOM_ID', 'setRoomId takes a non-empty string (or null to clear it)', 0)
        return
      }
      roomId = id
      store.set(KEY.roomId, id)
      const ready = waiting
      waiting = []
      for (const record of ready) {
        record.event.roomId = id
        enqueue(record)
      }
      schedule()
    } catch (error) {
      notify('ERR_INTERNAL', `setRoomId failed: ${error?.message ?? error}`, 0)
    }
  }

  // ---- sending ---------------------------------------------------------------------------

  function schedule() {
    if (disabled || sending || !queue.length) return
    if (queue.length >= MAX_BATCH_EVENTS) {
      clearTimeout(batchTimer)
      batchTimer = null
      void sendAll()
    } else if (batchTimer === null) {
      batchTimer = setTimeout(() => {
        batchTimer = null
        void sendAll()
      }, batchMs)
    }
  }

  /** One request at a time: keeps the order and stays within the keepalive budget. */
  async function sendAll() {
    if (sending) return
    sending = true
    try {
      while (queue.length && !disabled) {
        inFlight = takeBatch(queue)
        await deliver(inFlight)
        inFlight = null
        settleWaiters()
      }
    } catch (error) {
      notify('ERR_INTERNAL', `sending failed: ${error?.message ?? error}`, inFlight?.length ?? 0)
    } finally {
      inFlight = null
      sending = false
      settleWaiters()
    }
  }

  async function deliver(batch) {
    const body = JSON.stringify({ batch: batch.map((r) => r.event) })
    let unconfirmed = false
    for (let attempt = 1; ; attempt++) {
      let status = 0
      let text = ''
      let retryAfter = null
      try {
        // text/plain and no custom header: a "simple" request, no CORS preflight.
        const response = await fetch(endpoint, {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'text/plain' },
          keepalive: true,
          mode: 'cors',
          credentials: 'omit',
        })
        status = response.status
        retryAfter = response.headers.get('Retry-After')
        text = await response.text()
      } catch (error) {
        // A network error, or a refusal without CORS headers (a 403 for an origin that is not
        // on the relay's allow-list looks the same to a page).
        text = String(error?.message ?? error)
      }
      if (status === 200) {
        const answer = readRelayAnswer(text, batch.length)
        if (answer) return accepted(answer)
        // Not the relay's answer for this batch (a proxy's page, a body cut short): sent again,
        // with the same messageIds; reported once.
        if (!unconfirmed) {
          unconfirmed = true
          notify('ERR_UNCONFIRMED', `the relay answered 200 without accounting for each of the ${batch.length} events; the batch is sent again with the same messageIds`, batch.length)
        }
        if (attempt >= MAX_ATTEMPTS) {
          counts.failed += batch.length
          return
        }
      } else {
        const retryable = status === 0 || status === 408 || status === 429 || status >= 500
        if (!retryable || attempt >= MAX_ATTEMPTS) return failed(batch, status, text)
      }
      counts.retries++
      const handedOff = await pause(retryDelay(attempt, retryAfter), batch)
      if (handedOff) return // the page was hidden: a beacon took the batch
    }
  }

  /** Waits before a retry; resolves true early when the page is hidden and a beacon takes `batch`. */
  function pause(ms, batch) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        retrying = null
        resolve(false)
      }, ms)
      retrying = {
        batch,
        wake() {
          clearTimeout(timer)
          retrying = null
          resolve(true)
        },
      }
    })
  }

  function accepted({ accepted: sent, rejected }) {
    counts.sent += sent
    counts.rejected += rejected.length
    // One notice per code: the relay says why, and these must not be sent again.
    const byCode = new Map()
    for (const r of rejected) {
      const entry = byCode.get(r.code) ?? { message: r.message, events: 0 }
      entry.events++
      byCode.set(r.code, entry)
    }
    for (const [code, { message, events }] of byCode) notify(code, message, events)
  }

  function failed(batch, status, text) {
    counts.failed += batch.length
    let code = status === 0 ? 'ERR_NETWORK' : `HTTP_${status}`
    let message = status === 0 ? `the relay could not be reached (or refused this page's origin): ${text}` : text
    try {
      const answer = JSON.parse(text)
      if (typeof answer.code === 'string') code = answer.code
      if (typeof answer.message === 'string') message = answer.message
    } catch {
      // not the relay's JSON
    }
    notify(code, message, batch.length)
  }

  // ---- the page going away ---------------------------------------------------------------

  /**
   * Hands what is ready to navigator.sendBeacon (text/plain, no preflight, survives the page).
   * A batch already in a keepalive fetch is left to it; one waiting for a retry goes now.
   * What the browser does not take, and what still waits for a room id, is kept in
   * sessionStorage for the tab's next page.
   */
  function hide(final) {
    // Leaving fires pagehide, then visibilitychange: once gone, the snapshot stays as written.
    if (departed) return
    departed = final
    try {
      clearTimeout(batchTimer)
      batchTimer = null
      const records = []
      if (retrying) {
        records.push(...retrying.batch)
        retrying.wake()
      }
      records.push(...queue.splice(0))
      const left = beacon(records)
      queue = left
      const carry = [...waiting, ...left]
      if (carry.length) store.set(KEY.carry, JSON.stringify(carry.map((r) => r.event)))
      else store.remove(KEY.carry)
      if (final) {
        // Gone for good, or into the back-forward cache (pageshow brings them back).
        waiting = []
        queue = []
      }
      settleWaiters(true)
    } catch (error) {
      notify('ERR_INTERNAL', `sending on pagehide failed: ${error?.message ?? error}`, 0)
    }
  }

  /** Beacons `records` in batches; returns those the browser refused. */
  function beacon(records) {
    const rest = records.slice()
    while (rest.length) {
      const batch = takeBatch(rest)
      const body = JSON.stringify({ batch: batch.map((r) => r.event) })
      let queued = false
      try {
        const nav = typeof navigator !== 'undefined' ? navigator : null
        if (nav && typeof nav.sendBeacon === 'function') {
          // A string body goes as text/plain;charset=UTF-8: CORS-safelisted, no preflight.
          queued = nav.sendBeacon(endpoint, body)
        } else {
          void fetch(endpoint, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' }, keepalive: true, mode: 'cors', credentials: 'omit' }).catch(() => {})
          queued = true
        }
      } catch {
        queued = false
      }
      if (!queued) return [...batch, ...rest] // over the browser's budget: keep them for later
      counts.beacons++
      counts.sent += batch.length // handed to the browser; no answer comes back
    }
    return []
  }

  /** Events a previous page of this tab could not send; logged again with their own ids. */
  function restore() {
    const saved = store.get(KEY.carry)
    store.remove(KEY.carry)
    if (!saved) return
    try {
      const events = JSON.parse(saved)
      if (!Array.isArray(events)) return
      for (const event of events.slice(0, MAX_EVENTS)) {
        if (!event || typeof event !== 'object' || !ID.test(event.messageId ?? '')) continue
        const record = { event, seq: ++seq }
        if (nonEmpty(event.roomId)) enqueue(record)
        else if (roomId) {
          event.roomId = roomId
          enqueue(record)
        } else waiting.push(record)
      }
      schedule()
    } catch {
      // unreadable: nothing to restore
    }
  }

  function visible() {
    store.remove(KEY.carry) // memory holds them again
    schedule()
  }

  const listeners = []
  function listen(target, type, fn) {
    if (!target || typeof target.addEventListener !== 'function') return
    const guarded = (event) => {
      try {
        fn(event)
      } catch {
        // never into the page
      }
    }
    target.addEventListener(type, guarded)
    listeners.push(() => target.removeEventListener(type, guarded))
  }
  if (!disabled) {
    restore()
    const doc = typeof document !== 'undefined' ? document : null
    listen(globalThis, 'pagehide', () => hide(true))
    listen(globalThis, 'pageshow', (event) => {
      if (event.persisted) {
        departed = false
        restore()
        visible()
      }
    })
    // Mobile browsers may kill a hidden tab without a pagehide: send when it is hidden.
    listen(doc, 'visibilitychange', () => (doc.visibilityState === 'hidden' ? hide(false) : visible()))
  }

  // ---- flush, stats ----------------------------------------------------------------------

  /** Resolves the flushes whose events are all settled (or were handed to a beacon). */
  function settleWaiters(all = false) {
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const { mark, resolve } = flushWaiters[i]
      const busy = (records) => records?.some((r) => r.seq <= mark)
      if (all || !(busy(queue) || busy(inFlight))) {
        flushWaiters.splice(i, 1)
        resolve()
      }
    }
  }

  /** Sends what is ready now; resolves once the relay answered for it (retries included). */
  function flush() {
    return new Promise((resolve) => {
      try {
        if (disabled) return resolve()
        flushWaiters.push({ mark: seq, resolve })
        clearTimeout(batchTimer)
        batchTimer = null
        void sendAll() // a batch waiting to be retried keeps its backoff
        settleWaiters()
      } catch {
        resolve()
      }
    })
  }

  function stats() {
    return {
      ...counts,
      pending: queue.length + (inFlight?.length ?? 0),
      waitingForRoomId: waiting.length,
    }
  }

  function close() {
    if (disabled) return
    hide(true)
    for (const remove of listeners.splice(0)) remove()
    disabled = true
  }

  // ---- the plan's Widget events ----------------------------------------------------------

  function sessionIdFor(given) {
    if (nonEmpty(given)) return given
    const option = typeof opts.sessionId === 'function' ? safeCall(opts.sessionId) : opts.sessionId
    return nonEmpty(option) ? option : tabId
  }

  const logger = {
    tabId,
    setRoomId,
    windowOpened(sessionId) {
      if (open || disabled) return
      open = true
      log((ctx) => windowOpened(ctx, sessionIdFor(sessionId)))
    },
    windowClosed() {
      if (!open || disabled) return
      open = false
      log((ctx) => windowClosed(ctx))
    },
    transcriptDownloadSelected() {
      log((ctx) => transcriptDownloadSelected(ctx))
    },
    surveyLinkClicked() {
      log((ctx) => surveyLinkClicked(ctx))
    },
    chatClosedFromWindow() {
      log((ctx) => chatSessionClosed(ctx, CloseMethod.ChatWindow))
    },
    flush,
    stats,
    close,
  }
  for (const [name, fn] of Object.entries(logger)) {
    if (typeof fn === 'function' && name !== 'flush') logger[name] = guard(fn, notify)
  }

  if (!disabled && opts.livechat !== false) {
    let hooked = false
    try {
      hooked = hookLivechat(opts.livechat ?? globalThis.RocketChat, logger)
    } catch {
      // an embed that is not the one expected: reported below
    }
    if (!hooked) {
      notify('ERR_NO_LIVECHAT', 'the livechat embed (window.RocketChat) was not found: add this script after the embed snippet, or pass options.livechat', 0)
    }
  }
  return logger
}

/**
 * Registers the window callbacks on the livechat widget API. `RocketChat(fn)` works before the
 * embed has loaded (the snippet queues fn) and after (fn runs at once); `this` is the API.
 */
function hookLivechat(target, logger) {
  const register = (api) => {
    api.onChatMaximized(() => logger.windowOpened())
    api.onChatMinimized(() => logger.windowClosed())
  }
  if (typeof target === 'function') {
    target(function () {
      register(this)
    })
    return true
  }
  const api = target && typeof target.livechat === 'object' ? target.livechat : target
  if (api && typeof api.onChatMaximized === 'function' && typeof api.onChatMinimized === 'function') {
    register(api)
    return true
  }
  return false
}

// ---- helpers -------------------------------------------------------------------------------

/** Up to MAX_BATCH_EVENTS records from the head of `records` whose body fits MAX_BODY_BYTES. */
function takeBatch(records) {
  const batch = []
  let bytes = '{"batch":[]}'.length
  while (records.length && batch.length < MAX_BATCH_EVENTS) {
    const size = byteLength(JSON.stringify(records[0].event)) + 1
    if (batch.length && bytes + size > MAX_BODY_BYTES) break
    batch.push(records.shift())
    bytes += size
  }
  return batch
}

function byteLength(text) {
  return new TextEncoder().encode(text).length
}

function nonEmpty(value) {
  return typeof value === 'string' && value.length > 0
}

function safeCall(fn) {
  try {
    return fn()
  } catch {
    return undefined
  }
}

function guard(fn, notify) {
  return function (...args) {
    try {
      return fn.apply(this, args)
    } catch (error) {
      notify('ERR_INTERNAL', String(error?.message ?? error), 0)
      return undefined
    }
  }
}

/** Random [a-z0-9] characters (crypto when the browser has it). */
function randomId(length) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = new Uint8Array(length)
  try {
    globalThis.crypto.getRandomValues(bytes)
  } catch {
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256)
  }
  let id = ''
  for (const b of bytes) id += alphabet[b % alphabet.length]
  return id
}

/** The tab's id from sessionStorage, or a new one (kept in memory when storage is blocked). */
function ensureTabId(store) {
  const saved = store.get(KEY.tabId)
  if (saved && ID.test(saved)) return saved
  const id = `t-${randomId(16)}`
  store.set(KEY.tabId, id)
  return id
}

/** sessionStorage, or a Map when it is blocked (privacy settings, sandboxed frames). */
function openStorage() {
  const memory = new Map()
  let session = null
  try {
    session = globalThis.sessionStorage ?? null
    session?.setItem('sns-logger.widget.probe', '1')
    session?.removeItem('sns-logger.widget.probe')
  } catch {
    session = null
  }
  const attempt = (fn, fallback) => {
    try {
      return fn()
    } catch {
      return fallback()
    }
  }
  return {
    get: (key) => (session ? attempt(() => session.getItem(key), () => memory.get(key) ?? null) : (memory.get(key) ?? null)),
    set: (key, value) => (session ? attempt(() => session.setItem(key, value), () => memory.set(key, value)) : memory.set(key, value)),
    remove: (key) => (session ? attempt(() => session.removeItem(key), () => memory.delete(key)) : memory.delete(key)),
  }
}

/** Exponential backoff with jitter; a readable Retry-After (seconds) is honoured. */
function retryDelay(attempt, retryAfter) {
  const seconds = Number(retryAfter)
  if (retryAfter && Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, RETRY_MAX_MS)
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1))
  return ceiling / 2 + Math.random() * (ceiling / 2)
}
