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

/** init() options; each falls back to its environment variable (if it has one), then to its default. */
export interface LoggerOptions {
  // settings:logger:start
  // Generated from the settings table (crates/core/src/config/settings/mod.rs, crates/relay/src/config.rs) by scripts/generate-settings-docs.mjs; do not edit.
  /** The Rocket.Chat site URL; becomes MessageGroupId (1-128 printable ASCII characters). Env: `SNS_LOGGER_SITE_URL`. Default: required. */
  siteUrl?: string
  /** The agents and their SNS topics: the path to df_config.json, or its parsed object; the environment variable is a path. Env: `SNS_LOGGER_DF_CONFIG`. Default: required. */
  dfConfig?: string | DfConfig
  /** Where events go: { kind: 'sns', region?, endpoint? }, { kind: 'file', path } or { kind: 'memory' }; the environment variable is sns, file:PATH or memory. Env: `SNS_LOGGER_SINK`. Default: `sns`. */
  sink?: SinkOptions
  /** Extra events or enum values: a plan file shaped like plan/tracking-plan.json, its path or its object; the environment variable is a path. Env: `SNS_LOGGER_PLAN_EXTENSION`. Default: none. */
  planExtension?: string | object
  /** How long an event may wait for batch mates before it is sent (0 to 60000). Default: `5`. */
  lingerMs?: number
  /** Events held in memory before new ones overflow (1 to 4294967296). Default: `100000`. */
  maxQueueEvents?: number
  /** Bytes of events held in memory before new ones overflow (1 MiB to 1 TiB). Default: `64 MiB`. */
  maxQueueBytes?: number
  /** How long a message group keeps retrying before its events go to the spool (0 to 86400000). Default: `30000`. */
  retryBudgetMs?: number
  /** What happens to events that do not fit in memory: spool, or drop (counted, reported to onError). Default: `spool`. */
  onOverflow?: 'spool' | 'drop'
  /** Where the spool and the dead-letter file live (files 0600). Env: `SNS_LOGGER_SPOOL_DIR`. Default: .sns-logger for the sns sink, none for the others. */
  spoolDir?: string
  /** Where an accepted event is kept until SNS has it: memory (the spool takes what memory cannot hold and what is left at close or exit), or disk (a background thread writes every event to the spool, the write-ahead log, before it counts as accepted, and deletes it once SNS has it: a crash loses nothing logged before the last write; logEvent stays synchronous, flush() waits for the writes; needs a spool directory). Default: `memory`. */
  durability?: 'memory' | 'disk'
  /** Whether a spool write waits for stable storage: none, it reaches the file (safe from a crash of the process); commit, it is also flushed to stable storage (safe from power loss), slower. Default: `none`. */
  fsync?: 'none' | 'commit'
  /** Also send each event's category, action and eventType as SNS String message attributes, which subscription filter policies read; their bytes count towards SNS's 256 KiB per message (docs/message-attributes.md). Env: `SNS_LOGGER_MESSAGE_ATTRIBUTES`. Default: `false`. */
  messageAttributes?: boolean
  /** The most bytes of events the spool holds; past it new events are refused (counted drops with onError in process, 503 at the relay) (1 MiB to 1 PiB). Default: `4 GiB`. */
  maxSpoolBytes?: number
  // settings:logger:end
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
  /** serve(): an address could not be bound (in use, or not this machine's). */
  | 'ERR_LISTEN'

/** `code` of a relay event rejection (in a 200 answer): the logEvent codes, and one of the widget route. */
export type RelayRejectionCode = ErrorCode | 'ERR_NOT_A_WIDGET_EVENT'

/** `code` of a relay error answer (any status but 200). */
export type RelayErrorCode =
  | 'ERR_BAD_JSON'
  | 'ERR_BAD_BATCH'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_ORIGIN_NOT_ALLOWED'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_RATE_LIMITED'
  | 'ERR_UNAVAILABLE'

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

/** A request as the memory sink recorded it. `MessageGroupId` and `MessageDeduplicationId` only for FIFO topics, `MessageAttributes` only with `messageAttributes` on. */
export interface PublishRecord {
  TopicArn: string
  Subject: 'RC'
  MessageGroupId?: string
  MessageDeduplicationId?: string
  Message: string
  MessageAttributes?: MessageAttributes
}

/** An SNS `String` message attribute. */
export interface StringAttribute {
  DataType: 'String'
  StringValue: string
}

/** The message attributes of a request (`messageAttributes: true`): what subscription filter policies read. */
export interface MessageAttributes {
  category: StringAttribute
  action: StringAttribute
  eventType: StringAttribute
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

/** The tokens file: each source that posts to `/v1/batch` and its tokens (two allow rotation). */
export type RelayTokens = Partial<Record<'SF.app' | 'DF.app' | 'RC core', string[]>>

/** serve() options; each falls back to its environment variable, then to its default. */
export interface RelayOptions {
  // settings:relay:start
  // Generated from the settings table (crates/core/src/config/settings/mod.rs, crates/relay/src/config.rs) by scripts/generate-settings-docs.mjs; do not edit.
  /** Public port; 0 picks a free one (0 to 65535). Env: `SNS_LOGGER_PORT`. Default: `8787`. */
  port?: number
  /** Public address. Env: `SNS_LOGGER_HOST`. Default: `127.0.0.1`. */
  host?: string
  /** Port of /metrics (0 to 65535). Env: `SNS_LOGGER_ADMIN_PORT`. Default: `8788`. */
  adminPort?: number
  /** Address of /metrics. Env: `SNS_LOGGER_ADMIN_HOST`. Default: `127.0.0.1`. */
  adminHost?: string
  /** The tokens file, mapping a source to its tokens, such as {"SF.app": ["<token>"], "DF.app": ["<token>", "<next token>"]}: its path, or its object. Env: `SNS_LOGGER_TOKENS`. Default: none: every /v1/batch request gets 401. */
  tokens?: string | RelayTokens
  /** Sites allowed to post widget events to /v1/w, such as https://www.example.com ("*" is refused); the flag is repeated for more, the environment variable is comma-separated. Env: `SNS_LOGGER_WIDGET_ORIGINS`. Default: none: every /v1/w request gets 403. */
  widgetOrigins?: string[]
  /** Widget requests per second per client address, burst twice that (1 to 1000000). Env: `SNS_LOGGER_WIDGET_RATE`. Default: `10`. */
  widgetRate?: number
  /** How long draining and the final flush may take (0 to 3600000). Env: `SNS_LOGGER_SHUTDOWN_TIMEOUT_MS`. Default: `10000`. */
  shutdownTimeoutMs?: number
  /** How long a request body may take to arrive before 408 (1 to 600000). Env: `SNS_LOGGER_BODY_TIMEOUT_MS`. Default: `10000`. */
  bodyTimeoutMs?: number
  /** How long a request head may take from its first byte to its end; a slower one has its connection closed (1 to 3600000). Env: `SNS_LOGGER_HEADER_TIMEOUT_MS`. Default: `10000`. */
  headerTimeoutMs?: number
  /** How long a connection may stay quiet between requests (or before its first) before it is closed (1 to 3600000). Env: `SNS_LOGGER_IDLE_TIMEOUT_MS`. Default: `60000`. */
  idleTimeoutMs?: number
  /** Connections served at once on each listener; past it a new one waits to be accepted until another closes (1 to 1000000). Env: `SNS_LOGGER_MAX_CONNECTIONS`. Default: `4096`. */
  maxConnections?: number
  /** Behind a proxy: rate-limit by the address the proxy appends to X-Forwarded-For. Env: `SNS_LOGGER_TRUST_FORWARDED_FOR`. Default: `false`. */
  trustForwardedFor?: boolean
  /** When a request gets 200: spooled, once its events are in the spool (the write-ahead log); published, once SNS accepted every event (else 503 after publishTimeoutMs; keeps nothing on disk, for replicas without disks); queued, once its events are queued in memory (a crash loses them). Env: `SNS_LOGGER_ACK`. Default: spooled with a spool directory, else queued. */
  ack?: 'spooled' | 'published' | 'queued'
  /** The spool's fsync (the logger's, set for the relay): none, a spool write reaches the file (safe from a crash); commit, it is also flushed to stable storage (safe from power loss). Env: `SNS_LOGGER_FSYNC`. Default: logger.fsync, none unless set. */
  fsync?: 'none' | 'commit'
  /** With ack published: how long a request waits for SNS before 503 (1 to 3600000). Env: `SNS_LOGGER_PUBLISH_TIMEOUT_MS`. Default: `4000`. */
  publishTimeoutMs?: number
  /** The relay's logger, configured as init() is (the same environment fallbacks). Default: init()'s environment variables. */
  logger?: LoggerOptions
  // settings:relay:end
}

/** Where a listener is; as a string, its `url`. */
export interface RelayAddress {
  host: string
  port: number
  /** `http://host:port` */
  url: string
  toString(): string
}

export interface RelayStats {
  /** Requests answered on the public listener. */
  requests: number
  /** Events queued from requests. */
  eventsAccepted: number
  /** Events refused in 200 answers. */
  eventsRejected: number
  /** True once close() began. */
  draining: boolean
  logger: LoggerStats
}

/** A running relay. Like a Node server, it keeps the process alive until close(). */
export interface Relay {
  readonly address: RelayAddress
  /** The admin listener, which serves `/metrics`. */
  readonly adminAddress: RelayAddress
  /** What the relay refuses by its configuration (no tokens file, no widget origin, ...). */
  readonly warnings: string[]
  stats(): RelayStats
  /**
   * Drains (new requests and `/readyz` get 503, requests in flight finish), stops listening and
   * closes the logger within `shutdownTimeoutMs`; what it could not send is in the spool.
   * Never rejects; a second call returns the same promise.
   */
  close(): Promise<CloseReport>
}

/** Starts the HTTP relay (`sns-logger serve` from code). Throws `ERR_INVALID_OPTIONS`, `ERR_INVALID_CONFIG` or `ERR_LISTEN`. */
export declare function serve(options?: RelayOptions): Relay
