// sns-logger/client: plain JavaScript for code that cannot load the native addon (Rocket.Chat
// apps in the Apps-Engine sandbox, any Node or Deno process without it). It validates each
// event against the tracking plan at the call site and posts batches to a relay
// (`sns-logger serve`), which does the rest.
import type { LogEvent } from '../plan/index.js'

export * from '../plan/index.js'

/** Codes `logEvent` throws with: the same codes, and the same messages, as the native `logEvent`. */
export type ClientErrorCode =
  | 'ERR_INVALID_EVENT'
  | 'ERR_UNKNOWN_AGENT'
  | 'ERR_UNKNOWN_CATEGORY'
  | 'ERR_UNKNOWN_ACTION'
  | 'ERR_INVALID_PROPERTY'
  | 'ERR_INVALID_TIMESTAMP'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_CLOSED'
  | 'ERR_INVALID_OPTIONS'

/** What `logEvent`, `validateEvent` and `createRelayClient` throw. */
export declare class RelayClientError extends Error {
  constructor(code: ClientErrorCode, message: string)
  readonly code: ClientErrorCode
}

/**
 * The part of the Apps-Engine `IHttp` accessor the client uses: `post()` resolves for every
 * HTTP status and rejects only on network errors and timeouts.
 */
export interface HttpAccessor {
  /** Called as `post(url, { data, headers, timeout })`, `data` being `{ batch: [...] }` (sent as JSON). */
  post(
    url: string,
    options?: { data?: any; headers?: { [key: string]: string }; timeout?: number },
  ): Promise<{ statusCode: number; headers?: { [key: string]: string }; content?: string; data?: any }>
}

/** Something that went wrong after `logEvent` returned: events the relay refused or that were lost. */
export interface RelayClientNotice {
  /**
   * A relay code (`ERR_UNAUTHORIZED`, `ERR_TOO_LARGE`, ...), a core code for an event the relay
   * refused (`ERR_UNKNOWN_AGENT`, ...), `ERR_BUFFER_FULL` for events dropped because the buffer
   * was full, `ERR_CLOSED` for events still buffered when `close()` gave up, `ERR_UNCONFIRMED`
   * for a batch whose 2xx answer did not account for each of its events (not the relay's answer:
   * sent again), `ERR_TRANSPORT` for a transport that answered something other than a response
   * (sent again), or (from `takeNotices()` only) `ERR_NOTICES_DROPPED` for notices not kept.
   * `ERR_UNCONFIRMED` and `ERR_TRANSPORT` come once per batch, however often it is sent again.
   */
  code: string
  message: string
  /** How many events this notice is about. */
  events: number
}

export interface RelayClientOptions {
  /** The relay's base URL, e.g. `http://relay.internal:8787`; the client posts to `${url}/v1/batch`. */
  url: string
  /** This app's relay token (`Authorization: Bearer`); never shown in errors or notices. */
  token: string
  /** The Apps-Engine `IHttp` accessor (`this.getAccessors().http` in an App). Takes precedence over `fetch`. */
  http?: HttpAccessor
  /** A `fetch` implementation; defaults to the global `fetch` when no `http` is given. */
  fetch?: (input: string, init?: any) => Promise<any>
  /** Events per request, 1 to 50 (default 50). */
  batchSize?: number
  /** How long an event may wait for others before a request goes (ms, default 200). */
  lingerMs?: number
  /** Per-request timeout (ms, default 5000, at most 25000: Apps-Engine kills a handler after 30 s). */
  timeoutMs?: number
  /** Events kept while the relay is slow or down (default 10000); beyond it new events are dropped and counted. */
  maxBufferEvents?: number
  /** The longest wait between retries (ms, default 30000); waits grow from 250 ms with full jitter. */
  maxRetryDelayMs?: number
  /** Called for events that will not arrive or were refused; never throws into the client. */
  onError?: (notice: RelayClientNotice) => void
}

/** Counters since the client was created. */
export interface RelayClientStats {
  /** Events `logEvent` accepted. */
  logged: number
  /** Events the relay accepted. */
  sent: number
  /** Events the relay refused (the reason went to `onError`). */
  rejected: number
  /** Events lost after a response that must not be retried (401, 403, 413, ...). */
  failed: number
  /** Events dropped because the buffer was full, or left when `close()` gave up. */
  dropped: number
  /** Requests sent again after a timeout, network error, 408, 429 or 5xx. */
  retries: number
  /** Events buffered or in flight. */
  pending: number
}

/** The outcome of `flush()` / `close()`. */
export interface FlushResult {
  /** True when every event logged before the call got the relay's answer. */
  complete: boolean
  /** Events still buffered or in flight when the call returned. */
  pending: number
}

export interface RelayClient {
  /**
   * Validates the event against the tracking plan and queues it; throws a {@link RelayClientError}
   * on bad input, exactly as the native `logEvent` does. Never waits on the network.
   */
  logEvent(event: LogEvent): void
  /**
   * Sends what is buffered; resolves once the relay answered for it, or after `timeoutMs` (a whole
   * number of ms from 0 to 86400000; default the client's `timeoutMs`). Never rejects; throws
   * `ERR_INVALID_OPTIONS` at the call for a bad `timeoutMs`.
   */
  flush(options?: { timeoutMs?: number }): Promise<FlushResult>
  /**
   * Stops taking events, flushes within `timeoutMs` (as `flush`), then stops every timer. Never
   * rejects; throws `ERR_INVALID_OPTIONS` at the call for a bad `timeoutMs`, leaving the client open.
   */
  close(options?: { timeoutMs?: number }): Promise<FlushResult>
  stats(): RelayClientStats
  /**
   * The notices since the last call (those `onError` got too), oldest first, and forgets them;
   * at most 100 are kept in between (then the first is `ERR_NOTICES_DROPPED`, counting the events
   * of those not kept). For hosts where a background callback cannot report: an Apps-Engine app's
   * logger records only while a handler runs, so an app writes these from its next handler.
   */
  takeNotices(): RelayClientNotice[]
}

/** A client for a relay (`sns-logger serve`). */
export declare function createRelayClient(options: RelayClientOptions): RelayClient

/**
 * Checks an event against the tracking plan without sending it; returns the event as it would
 * be sent (timestamp as an ISO string, properties in plan order) or throws a {@link RelayClientError}.
 */
export declare function validateEvent(event: LogEvent): {
  agent?: string
  roomId: string
  tabId?: string
  category: string
  action: string
  properties: { [property: string]: string | number }
  timestamp: string
}
