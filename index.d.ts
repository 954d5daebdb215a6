// Hand-written types for the package entry. The tracking-plan types and helpers come from
// `sns-logger/plan` (generated from plan/tracking-plan.json) and are re-exported here.

import type { LogEvent } from './plan'

export * from './plan'

/** One bot entry of df_config.json. Other Dialogflow settings may sit beside these; they are ignored. */
export interface DfConfigEntry {
  /** Becomes `dialogflowAgentId` in every message. */
  agent_id: string
  /** The SNS topic of this agent's events; FIFO topics end in `.fifo`. */
  sns_arn_topic: string
  [setting: string]: unknown
}

/** df_config.json: bot entries keyed by bot username. */
export type DfConfig = Record<string, DfConfigEntry>

export type SinkOptions =
  /** AWS SNS (the default). Region, credentials and endpoint come from the standard AWS chains unless given. */
  | { kind: 'sns'; region?: string; endpoint?: string; connectTimeoutMs?: number; requestTimeoutMs?: number }
  /** Appends one JSON request per line: `{ TopicArn, Subject, MessageGroupId, MessageDeduplicationId, Message }`. */
  | { kind: 'file'; path: string }
  /** Keeps requests in memory; read them with `records()`. For tests. */
  | { kind: 'memory' }

export interface LoggerOptions {
  /** The Rocket.Chat site URL; becomes `MessageGroupId` (1-128 printable ASCII characters). Env: `SNS_LOGGER_SITE_URL`. */
  siteUrl?: string
  /** Path to df_config.json, or its parsed object. Env: `SNS_LOGGER_DF_CONFIG` (a path). */
  dfConfig?: string | DfConfig
  /** Where events go. Env: `SNS_LOGGER_SINK` = `sns` | `file:PATH` | `memory`. Default: sns. */
  sink?: SinkOptions
  /** Extra events or enum values, as a path or an object shaped like plan/tracking-plan.json. Env: `SNS_LOGGER_PLAN_EXTENSION`. */
  planExtension?: string | object
  /** How long an event may wait for batch mates before it is sent. Default 5. */
  lingerMs?: number
  /** Events held in memory before new ones overflow. Default 100000. */
  maxQueueEvents?: number
  /** Bytes held in memory before new events overflow. Default 64 MiB. */
  maxQueueBytes?: number
  /** How long a message group keeps retrying before its events go to the spool. Default 30000. */
  retryBudgetMs?: number
  /** Where the spool (redb) and dead-letter.jsonl live. Env: `SNS_LOGGER_SPOOL_DIR`. Default `.sns-logger` for the sns sink, none otherwise. */
  spoolDir?: string
  /** What happens to events that do not fit in memory: `'spool'` (default) or `'drop'` (counted, reported). */
  onOverflow?: 'spool' | 'drop'
  /** Failures: dead letters, drops, spool trouble, retry budget spent. `code` is the SNS error code or SpoolError, SpoolCorrupt, SpoolNotice, QueueFull. Never keeps the process alive; exceptions are ignored. */
  onError?: (error: Error & { code: string; events: number }) => void
  /** A batch was acknowledged by SNS. Never keeps the process alive; exceptions are ignored. */
  onDelivery?: (delivery: { topicArn: string; messageGroupId: string; events: number }) => void
}

/** Stable `error.code` values. */
export type ErrorCode =
  | 'ERR_NOT_INITIALIZED'
  | 'ERR_ALREADY_INITIALIZED'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_INVALID_PLAN'
  | 'ERR_INVALID_EVENT'
  | 'ERR_UNKNOWN_AGENT'
  | 'ERR_UNKNOWN_CATEGORY'
  | 'ERR_UNKNOWN_ACTION'
  | 'ERR_INVALID_PROPERTY'
  | 'ERR_INVALID_TIMESTAMP'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_CLOSED'

/** Every error the logger throws. */
export interface SnsLoggerError extends Error {
  code: ErrorCode
}

/** An event of a plan extension: checked at runtime only. */
export interface CustomLogEvent {
  agent?: string
  roomId: string
  tabId?: string
  category: string
  action: string
  properties?: Record<string, string | number>
  timestamp?: Date | string
}

/** Outcomes of the events a flush waited for (those not reported by an earlier flush). */
export interface FlushReport {
  /** Acknowledged by SNS (or written by the file / memory sink). */
  sent: number
  /** Refused by SNS for good; written to the dead-letter file with the error code. */
  deadLettered: number
  /** Written to the on-disk spool; replayed when SNS is reachable again or at the next start. */
  spooled: number
  /** Dropped: only with a drop policy you chose. */
  dropped: number
}

export interface CloseReport extends FlushReport {
  /** True when the deadline passed before every event settled (replayed ones included). */
  timedOut: boolean
  /**
   * Events the spool holds once closed, of this run and earlier ones: what the next start
   * replays. (`spooled` counts only this logger's events not reported by an earlier flush.)
   */
  leftInSpool: number
}

export interface CloseOptions {
  /** How long close() may take before spooling what is left. Default 5000. */
  timeoutMs?: number
}

export interface LoggerStats {
  accepted: number
  sent: number
  retried: number
  deadLettered: number
  spooled: number
  replayed: number
  dropped: number
  /** Events held in memory (queued or in flight). */
  queueEvents: number
  queueBytes: number
  inFlightBatches: number
  /** SNS requests made (a batch of up to 10 events is one request). */
  requests: number
  lastErrorCode?: string
}

/** A request as the memory sink recorded it. `MessageGroupId` and `MessageDeduplicationId` only for FIFO topics. */
export interface PublishRecord {
  TopicArn: string
  Subject: 'RC'
  MessageGroupId?: string
  MessageDeduplicationId?: string
  Message: string
}

/** A logger with its own queue and sink. */
export declare class SnsLogger {
  /** Throws `ERR_INVALID_OPTIONS`, `ERR_INVALID_CONFIG` or `ERR_INVALID_PLAN`; fields not given come from the environment. */
  constructor(options?: LoggerOptions)
  /** Validates the event against the tracking plan and queues it. Throws a {@link SnsLoggerError} on bad input; never blocks on I/O. */
  logEvent(event: LogEvent): void
  /** Like logEvent, for events of a plan extension (not known to the types). */
  logCustomEvent(event: CustomLogEvent): void
  /** Resolves when every event logged before the call is sent, dead-lettered or spooled. Never rejects. */
  flush(): Promise<FlushReport>
  /**
   * Stops accepting events at once, flushes until the deadline, then spools what is left (or
   * drops it, counted, when there is no spool directory: file and memory sinks without
   * `spoolDir`). Never rejects; resolves at the deadline plus the time to write the spool.
   */
  close(options?: CloseOptions): Promise<CloseReport>
  stats(): LoggerStats
  /** The memory sink's requests so far; `{ clear: true }` empties it. Throws for other sinks. */
  records(options?: { clear?: boolean }): PublishRecord[]
  /** True once close() was called. */
  readonly closed: boolean
}

/** Starts the process-wide logger. Throws `ERR_ALREADY_INITIALIZED` if one is open. */
export declare function init(options?: LoggerOptions): void
/** Validates and queues an event on the process-wide logger. */
export declare function logEvent(event: LogEvent): void
/** Like logEvent, for events of a plan extension. */
export declare function logCustomEvent(event: CustomLogEvent): void
export declare function flush(): Promise<FlushReport>
export declare function close(options?: CloseOptions): Promise<CloseReport>
export declare function stats(): LoggerStats
export declare function records(options?: { clear?: boolean }): PublishRecord[]
