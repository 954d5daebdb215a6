// Type tests for the package entry (index.d.ts): checked by `npx tsc -p .`, never run.
import {
  CloseMethod,
  FailureReason,
  SnsLogger,
  chatSessionClosed,
  close,
  escalationFailed,
  escalationSuccessful,
  flush,
  init,
  logCustomEvent,
  logEvent,
  records,
  stats,
  windowOpened,
} from '../index';
import type {
  CloseOptions,
  CloseReport,
  CustomLogEvent,
  DfConfig,
  ErrorCode,
  FlushReport,
  LogEvent,
  LoggerOptions,
  LoggerStats,
  PublishRecord,
  SinkOptions,
  SnsLoggerError,
} from '../index';

const dfConfig: DfConfig = {
  'support.bot': {
    agent_id: 'b5983b72-cac6-4f85-b9d0-be61e543dfe6',
    sns_arn_topic: 'arn:aws:sns:us-east-1:123456789012:rc-events.fifo',
    private_key: '-----BEGIN PRIVATE KEY-----',
    project_id: 'p',
  },
};

// ---- valid usages ----
const memory: SinkOptions = { kind: 'memory' };
const options: LoggerOptions = { siteUrl: 'https://chat.example.com', dfConfig, sink: memory, lingerMs: 5, maxQueueEvents: 1000, maxQueueBytes: 1 << 20 };
const fromFiles: LoggerOptions = { dfConfig: '/etc/rc/df_config.json', sink: { kind: 'file', path: '/tmp/events.jsonl' }, planExtension: '/etc/rc/plan.json' };
const sns: LoggerOptions = { sink: { kind: 'sns', region: 'us-east-1', endpoint: 'http://localhost:4566' }, planExtension: { categories: [] } };

const logger = new SnsLogger({ siteUrl: 'https://chat.example.com', dfConfig, sink: { kind: 'memory' } });
const fromEnv = new SnsLogger();
const withOptions = new SnsLogger(options);

logger.logEvent(chatSessionClosed({ roomId: 'r1', agent: 'support.bot', timestamp: new Date() }, CloseMethod.ChatWindow));
logger.logEvent({ roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: FailureReason.NoAgentsAvailable } });
logger.logCustomEvent({ roomId: 'r1', category: 'Bot', action: 'greeted', properties: { attempt: 1, target: 'x' } }); // a plan-extension event
logEvent(escalationSuccessful({ roomId: 'r1', tabId: 't1', timestamp: '2022-09-26T17:50:47.225Z' }, { queue_time: 42, sf_chat_key: 'k' }));
logEvent({ roomId: 'r1', category: 'Survey', action: 'link_clicked' });
logEvent({ roomId: 'r1', category: 'Window', action: 'opened', properties: { session_id: 's' }, agent: 'support.bot', tabId: 't' });
logEvent(windowOpened({ roomId: 'r1' }, 'session-1'));
logCustomEvent({ roomId: 'r1', category: 'Bot', action: 'greeted' });
logCustomEvent({ roomId: 'r1', category: 'Bot', action: 'handover', properties: { target: 'billing', attempt: 2 }, timestamp: new Date(), agent: 'a', tabId: 't' });
const custom: CustomLogEvent = escalationFailed({ roomId: 'r1' }, 'salesforce error');
logCustomEvent(custom);
init();
init(options);

async function usage(): Promise<void> {
  const report: FlushReport = await logger.flush();
  const total: number = report.sent + report.deadLettered + report.spooled + report.dropped;
  const closed: CloseReport = await logger.close({ timeoutMs: 1000 });
  const timedOut: boolean = closed.timedOut;
  const closedToo: CloseReport = await close();
  const flushed: FlushReport = await flush();
  const closeOptions: CloseOptions = {};
  await fromEnv.close(closeOptions);
  const s: LoggerStats = logger.stats();
  const counters: number[] = [s.accepted, s.sent, s.retried, s.deadLettered, s.spooled, s.replayed, s.dropped, s.queueEvents, s.queueBytes, s.inFlightBatches, s.requests];
  const lastError: string | undefined = stats().lastErrorCode;
  const recorded: PublishRecord[] = logger.records();
  const cleared: PublishRecord[] = records({ clear: true });
  const first = recorded[0];
  if (first) {
    const subject: 'RC' = first.Subject;
    const group: string | undefined = first.MessageGroupId;
    const dedup: string | undefined = first.MessageDeduplicationId;
    const text: string = first.Message + first.TopicArn;
    const category: string | undefined = first.MessageAttributes?.category.StringValue;
    const dataType: 'String' | undefined = first.MessageAttributes?.eventType.DataType;
    void [subject, group, dedup, text, category, dataType];
  }
  const isClosed: boolean = withOptions.closed;
  void [total, timedOut, closedToo, flushed, counters, lastError, cleared, isClosed];
}

function handle(error: unknown): ErrorCode | undefined {
  const e = error as SnsLoggerError;
  if (e instanceof Error && e.code === 'ERR_INVALID_PROPERTY') return e.code;
  return undefined;
}

// SnsLogger#logEvent takes only plan events (plan-extension events go to logCustomEvent).
// @ts-expect-error misspelled failure_reason on an instance
logger.logEvent({ roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'no agent available' } });

// ---- invalid usages ----

// wrong enum value (the spec's typo)
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'no agent available' } });
// unknown category
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Tab', action: 'opened', properties: { session_id: 's' } });
// action of another category
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Survey', action: 'opened' });
// missing roomId
// @ts-expect-error
logEvent({ category: 'Survey', action: 'link_clicked' });
// roomId of the wrong type
// @ts-expect-error
logEvent({ roomId: 42, category: 'Survey', action: 'link_clicked' });
// missing required properties
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Chat Session', action: 'closed' });
// queue_time as a string
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Escalation', action: 'successful', properties: { queue_time: '42', sf_chat_key: 'k' } });
// a property on an event without properties
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Survey', action: 'link_clicked', properties: { url: 'x' } });
// timestamp as epoch milliseconds
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Survey', action: 'link_clicked', timestamp: 1664214647225 });
// tabId of the wrong type
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Survey', action: 'link_clicked', tabId: 5 });
// not an event at all
// @ts-expect-error
logEvent('Survey/link_clicked');
// no event
// @ts-expect-error
logEvent();
// a plan-extension event needs logCustomEvent
// @ts-expect-error
logEvent({ roomId: 'r1', category: 'Bot', action: 'greeted' });

// custom events still need roomId, category and action, and plain property values
// @ts-expect-error
logCustomEvent({ roomId: 'r1', category: 'Bot' });
// @ts-expect-error
logCustomEvent({ roomId: 'r1', category: 'Bot', action: 'greeted', properties: { ok: true } });

// file sink without its path
// @ts-expect-error
new SnsLogger({ siteUrl: 'https://chat.example.com', dfConfig, sink: { kind: 'file' } });
// siteUrl must be a string
// @ts-expect-error
new SnsLogger({ siteUrl: 5, dfConfig, sink: { kind: 'memory' } });
// unknown option key in an object literal
// @ts-expect-error
new SnsLogger({ siteURL: 'https://chat.example.com', dfConfig });
// unknown sink kind
// @ts-expect-error
init({ sink: { kind: 'kafka' } });
// a path on the memory sink
// @ts-expect-error
init({ sink: { kind: 'memory', path: '/tmp/x' } });
// lingerMs as a string
// @ts-expect-error
init({ lingerMs: '5' });
// dfConfig entry without sns_arn_topic
// @ts-expect-error
init({ dfConfig: { bot: { agent_id: 'a' } } });
// dfConfig as a number
// @ts-expect-error
init({ dfConfig: 5 });

async function invalidCalls(): Promise<void> {
  // wrong close option name
  // @ts-expect-error
  await logger.close({ timeout: 1000 });
  // timeoutMs as a string
  // @ts-expect-error
  await close({ timeoutMs: '1000' });
  // a bare number instead of the options object
  // @ts-expect-error
  await logger.close(1000);
  // flush takes no options and its report has no timedOut
  // @ts-expect-error
  const t: boolean = (await logger.flush()).timedOut;
  // records options
  // @ts-expect-error
  records({ clear: 'yes' });
  // stats are read-only numbers, not strings
  // @ts-expect-error
  const accepted: string = stats().accepted;
  // closed is read-only
  // @ts-expect-error
  logger.closed = true;
  // unknown error codes are not ErrorCodes
  // @ts-expect-error
  const code: ErrorCode = 'ERR_SOMETHING_ELSE';
  // the memory sink records Subject 'RC' only
  // @ts-expect-error
  const record: PublishRecord = { TopicArn: 't', Subject: 'Other', Message: '{}' };
  // message attributes are String attributes
  const attributed: PublishRecord = {
    TopicArn: 't',
    Subject: 'RC',
    Message: '{}',
    // @ts-expect-error
    MessageAttributes: { category: { DataType: 'Number', StringValue: '1' }, action: { DataType: 'String', StringValue: 'a' }, eventType: { DataType: 'String', StringValue: 'session' } },
  };
  void [t, accepted, code, record, attributed];
}

const events: LogEvent[] = [];
export { fromFiles, sns, usage, handle, invalidCalls, events };

// serve(): typed options and handle.
import { serve, type Relay, type RelayErrorCode } from '../index.js'
const relay: Relay = serve({ port: 0, tokens: { 'SF.app': ['a-token-of-16-chars'] }, widgetOrigins: ['https://www.example.com'], logger: { siteUrl: 'https://x' } })
const url: string = relay.address.url
const code: RelayErrorCode = 'ERR_RATE_LIMITED'
void relay.close().then((report) => report.leftInSpool)
// @ts-expect-error: a source that posts with a token is one of the plan's (not the widget)
serve({ tokens: { Widget: ['x'] } })
// @ts-expect-error: widgetOrigins is a list
serve({ widgetOrigins: 'https://www.example.com' })
void url
void code
