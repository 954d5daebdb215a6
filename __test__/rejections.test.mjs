// Every rejection path: a thrown Error with a stable `code` and a message naming the field,
// the bad value and what is allowed; nothing of a rejected event is accepted or recorded, and
// no input brings the process down.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { FAKE_KEY_BODY, FAKE_PRIVATE_KEY, NO_OUTCOMES, SALES, SITE_URL, SUPPORT, TS, childEnv, clearSnsLoggerEnv, dfConfig, j, tempDir } from './support/fixtures.mjs';

const require = createRequire(import.meta.url);
const INDEX = fileURLToPath(new URL('../index.js', import.meta.url));
const lib = require(INDEX);
const { SnsLogger } = lib;

clearSnsLoggerEnv();

const MAX_MESSAGE_BYTES = 256 * 1024;

const options = (overrides = {}) => ({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' }, ...overrides });

const tmp = tempDir('sns-logger-rejections-');

const CODES = new Set([
  'ERR_NOT_INITIALIZED',
  'ERR_ALREADY_INITIALIZED',
  'ERR_INVALID_CONFIG',
  'ERR_INVALID_OPTIONS',
  'ERR_INVALID_PLAN',
  'ERR_INVALID_EVENT',
  'ERR_UNKNOWN_AGENT',
  'ERR_UNKNOWN_CATEGORY',
  'ERR_UNKNOWN_ACTION',
  'ERR_INVALID_PROPERTY',
  'ERR_INVALID_TIMESTAMP',
  'ERR_MESSAGE_TOO_LARGE',
  'ERR_CLOSED',
]);

/** Asserts `fn` throws an Error with `code` whose message contains every string of `includes`. */
function rejects(fn, code, includes = [], excludes = []) {
  let caught;
  assert.throws(fn, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof Error, `an Error, got ${typeof caught}`);
  assert.equal(caught.code, code, `code of ${j(caught.message)}`);
  assert.ok(caught.message.length > 0 && caught.message.length < 2000, 'a short message');
  for (const part of includes) assert.ok(caught.message.includes(part), `${j(caught.message)} should mention ${j(part)}`);
  for (const part of excludes) assert.ok(!caught.message.includes(part), `${j(caught.message)} must not contain ${j(part)}`);
  return caught;
}

/** After rejects only: nothing accepted, nothing held, nothing recorded. */
async function assertNothingAccepted(logger) {
  assert.deepEqual(await logger.flush(), NO_OUTCOMES);
  const stats = logger.stats();
  assert.equal(stats.accepted, 0, 'no event accepted');
  assert.equal(stats.queueEvents, 0);
  assert.equal(stats.queueBytes, 0);
  assert.equal(stats.sent, 0);
  assert.equal(stats.requests, 0);
  assert.deepEqual(logger.records(), []);
}

async function withLogger(fn, overrides) {
  const logger = new SnsLogger(options(overrides));
  try {
    await fn(logger);
    await assertNothingAccepted(logger);
  } finally {
    await logger.close({ timeoutMs: 1000 });
  }
}

/** Runs a CommonJS script in a fresh Node.js process (no SNS_LOGGER_* from this one). */
function runNode(script, { env = {}, timeout = 15_000, args = [] } = {}) {
  const result = spawnSync(process.execPath, [...args, '-e', script], { env: childEnv(env), encoding: 'utf8', timeout });
  assert.equal(result.error, undefined, `child process failed to run: ${result.error}`);
  assert.equal(result.status, 0, `child exited with ${result.status} ${result.signal ?? ''}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

const childPrelude = `
  const lib = require(${j(INDEX)});
  const capture = (fn) => { try { const r = fn(); return { ok: true, value: r }; } catch (e) { return { ok: false, isError: e instanceof Error, code: e.code, message: e.message }; } };
  const df = ${j(dfConfig())};
`;

function assertCaptured(captured, code, includes = []) {
  assert.equal(captured.ok, false, `expected a throw with ${code}`);
  assert.equal(captured.isError, true);
  assert.equal(captured.code, code, captured.message);
  for (const part of includes) assert.ok(captured.message.includes(part), `${j(captured.message)} should mention ${j(part)}`);
}

// ---- process-wide logger (child processes: it is shared state) ----

test('ERR_NOT_INITIALIZED: every top-level function before init()', () => {
  const { stdout } = runNode(`${childPrelude}
    const event = lib.surveyLinkClicked({ roomId: 'r1' });
    console.log(JSON.stringify({
      logEvent: capture(() => lib.logEvent(event)),
      logCustomEvent: capture(() => lib.logCustomEvent(event)),
      flush: capture(() => lib.flush()),
      close: capture(() => lib.close()),
      stats: capture(() => lib.stats()),
      records: capture(() => lib.records()),
    }));
  `);
  const results = JSON.parse(stdout);
  for (const [name, captured] of Object.entries(results)) {
    assert.equal(captured.code, 'ERR_NOT_INITIALIZED', name);
    assertCaptured(captured, 'ERR_NOT_INITIALIZED', ['init()']);
  }
});

test('ERR_NOT_INITIALIZED also after a failed init(); ERR_ALREADY_INITIALIZED while open; init() again after close()', () => {
  const { stdout } = runNode(`${childPrelude}
    (async () => {
      const out = {};
      out.badInit = capture(() => lib.init({ siteUrl: 'has space', dfConfig: df, sink: { kind: 'memory' } }));
      out.afterBadInit = capture(() => lib.stats());
      out.init = capture(() => lib.init({ siteUrl: ${j(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' } }));
      out.again = capture(() => lib.init({ siteUrl: ${j(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' } }));
      out.log = capture(() => lib.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: 'support.bot' })));
      out.flush = await lib.flush();
      out.records = lib.records({ clear: true }).length;
      out.close = await lib.close();
      out.afterClose = capture(() => lib.logEvent(lib.surveyLinkClicked({ roomId: 'r2', agent: 'support.bot' })));
      out.reinit = capture(() => lib.init({ siteUrl: ${j(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' } }));
      out.stats = lib.stats();
      // close() not awaited: init() right after it must work.
      out.immediate = [];
      for (let i = 0; i < 20; i++) {
        const closing = lib.close();
        out.immediate.push(capture(() => lib.init({ siteUrl: ${j(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' } })));
        await closing;
      }
      await lib.close();
      console.log(JSON.stringify(out));
    })();
  `);
  const out = JSON.parse(stdout);
  assertCaptured(out.badInit, 'ERR_INVALID_OPTIONS', ['siteUrl', '"has space"']);
  assertCaptured(out.afterBadInit, 'ERR_NOT_INITIALIZED');
  assert.equal(out.init.ok, true);
  assertCaptured(out.again, 'ERR_ALREADY_INITIALIZED', ['already', 'close()']);
  assert.equal(out.log.ok, true);
  assert.deepEqual(out.flush, { ...NO_OUTCOMES, sent: 1 });
  assert.equal(out.records, 1, 'the second init() did not replace the open logger');
  assert.deepEqual(out.close, { ...NO_OUTCOMES, sent: 0, timedOut: false, leftInSpool: 0 });
  assertCaptured(out.afterClose, 'ERR_CLOSED');
  assert.equal(out.reinit.ok, true, 'init() is allowed again once closed');
  assert.equal(out.stats.accepted, 0, 'a new logger starts from zero');
  assert.deepEqual(out.immediate.filter((r) => !r.ok), [], 'init() right after a non-awaited close()');
});

// ---- options ----

test('ERR_INVALID_OPTIONS: unknown option key', () => {
  rejects(() => new SnsLogger(options({ siteURL: 'https://typo.example.com' })), 'ERR_INVALID_OPTIONS', ['unknown option', '"siteURL"', 'allowed', '"siteUrl"', '"dfConfig"', '"sink"']);
  rejects(() => new SnsLogger(options({ region: 'us-east-1' })), 'ERR_INVALID_OPTIONS', ['"region"', 'allowed']);
  rejects(() => new SnsLogger(options({ lingerMs: -1 })), 'ERR_INVALID_OPTIONS', ['lingerMs', '-1', 'allowed', '0 to 60000']);
  rejects(() => new SnsLogger(options({ maxQueueEvents: 'many' })), 'ERR_INVALID_OPTIONS', ['maxQueueEvents', 'whole number']);
});

// Regression test: index.js's SnsLogger wrapper once did `const { onError, onDelivery,
// ...rest } = options ?? {}`, so new SnsLogger('memory') threw 'unknown option "0"' and
// new SnsLogger(5) / (true) / ([]) were silently treated as {} (constructing a logger from
// SNS_LOGGER_* when set).
test('ERR_INVALID_OPTIONS: options that are not an object are refused as such', () => {
  for (const bad of ['memory', 5, true, []]) {
    rejects(() => new SnsLogger(bad), 'ERR_INVALID_OPTIONS', ['options must be an object']);
  }
});

test('ERR_INVALID_OPTIONS: bad siteUrl', () => {
  rejects(() => new SnsLogger(options({ siteUrl: 'https://chat.example.com/has space' })), 'ERR_INVALID_OPTIONS', ['siteUrl', '"https://chat.example.com/has space"', 'allowed', '128']);
  rejects(() => new SnsLogger(options({ siteUrl: '' })), 'ERR_INVALID_OPTIONS', ['siteUrl', '""', 'allowed']);
  rejects(() => new SnsLogger(options({ siteUrl: `https://${'x'.repeat(130)}.com` })), 'ERR_INVALID_OPTIONS', ['siteUrl', 'allowed', '1 to 128']);
  rejects(() => new SnsLogger(options({ siteUrl: 'https://chät.example.com' })), 'ERR_INVALID_OPTIONS', ['siteUrl', '"https://chät.example.com"', 'ASCII']);
  rejects(() => new SnsLogger(options({ siteUrl: 5 })), 'ERR_INVALID_OPTIONS', ['siteUrl', 'string']);
  rejects(() => new SnsLogger(options({ siteUrl: undefined })), 'ERR_INVALID_OPTIONS', ['siteUrl is required', 'SNS_LOGGER_SITE_URL']);
  rejects(() => new SnsLogger({ dfConfig: dfConfig(), sink: { kind: 'memory' } }), 'ERR_INVALID_OPTIONS', ['siteUrl is required']);
});

test('ERR_INVALID_OPTIONS: bad sink', () => {
  rejects(() => new SnsLogger(options({ sink: 'memory' })), 'ERR_INVALID_OPTIONS', ['sink must be an object', "{ kind: 'memory' }"]);
  rejects(() => new SnsLogger(options({ sink: { kind: 'kafka' } })), 'ERR_INVALID_OPTIONS', ['sink.kind', '"kafka"', 'allowed', '"sns", "file" or "memory"']);
  rejects(() => new SnsLogger(options({ sink: { kind: 'file' } })), 'ERR_INVALID_OPTIONS', ['sink.path is required']);
  rejects(() => new SnsLogger(options({ sink: { kind: 'file', path: '' } })), 'ERR_INVALID_OPTIONS', ['sink.path is required']);
  rejects(() => new SnsLogger(options({ sink: { kind: 'memory', path: '/tmp/x' } })), 'ERR_INVALID_OPTIONS', ['sink.path', 'allowed', '"kind"']);
  rejects(() => new SnsLogger(options({ sink: { kind: 5 } })), 'ERR_INVALID_OPTIONS', ['sink.kind', 'string']);
  const unwritable = join(tmp, 'not-a-dir');
  writeFileSync(unwritable, 'a file, not a directory');
  rejects(() => new SnsLogger(options({ sink: { kind: 'file', path: join(unwritable, 'events.jsonl') } })), 'ERR_INVALID_OPTIONS', ['sink.path', j(join(unwritable, 'events.jsonl'))]);
});

// ---- df_config.json ----

test('ERR_INVALID_CONFIG: dfConfig missing', () => {
  rejects(() => new SnsLogger({ siteUrl: SITE_URL, sink: { kind: 'memory' } }), 'ERR_INVALID_CONFIG', ['dfConfig is required', 'SNS_LOGGER_DF_CONFIG']);
  rejects(() => new SnsLogger(options({ dfConfig: {} })), 'ERR_INVALID_CONFIG', ['dfConfig', 'no agents']);
});

test('ERR_INVALID_CONFIG: dfConfig file that cannot be read', () => {
  const missing = join(tmp, 'nowhere', 'df_config.json');
  rejects(() => new SnsLogger(options({ dfConfig: missing })), 'ERR_INVALID_CONFIG', ['dfConfig', j(missing)]);
  rejects(() => new SnsLogger(options({ dfConfig: tmp })), 'ERR_INVALID_CONFIG', ['dfConfig', j(tmp)], ['private']);
});

test('ERR_INVALID_CONFIG: malformed df_config.json never echoes the private key', () => {
  const path = join(tmp, 'df_config.broken.json');
  // Truncated mid-key, as a bad copy-paste would leave it.
  writeFileSync(path, `{\n  "support.bot": {\n    "agent_id": "${SUPPORT.agentId}",\n    "private_key": ${j(FAKE_PRIVATE_KEY).slice(0, 60)}`);
  const error = rejects(() => new SnsLogger(options({ dfConfig: path })), 'ERR_INVALID_CONFIG', ['dfConfig', j(path), 'not valid JSON'], ['PRIVATE KEY', FAKE_KEY_BODY.slice(0, 12), 'BEGIN']);
  assert.ok(!error.stack.includes(FAKE_KEY_BODY.slice(0, 12)));

  const wrongShape = join(tmp, 'df_config.wrong.json');
  writeFileSync(wrongShape, j({ 'support.bot': { agent_id: { private_key: FAKE_PRIVATE_KEY }, sns_arn_topic: SUPPORT.topic } }));
  rejects(() => new SnsLogger(options({ dfConfig: wrongShape })), 'ERR_INVALID_CONFIG', ['dfConfig["support.bot"].agent_id', 'non-empty string'], [FAKE_KEY_BODY.slice(0, 12), 'PRIVATE KEY']);
});

test('ERR_INVALID_CONFIG: bad sns_arn_topic and bad agent entries', () => {
  const withTopic = (topic) => ({ ...dfConfig(), 'sales.bot': { agent_id: SALES.agentId, sns_arn_topic: topic, private_key: FAKE_PRIVATE_KEY } });
  for (const topic of ['arn:aws:s3:::my-bucket', 'rc-events.fifo', 'arn:aws:sns:us-east-1:123456789012:has space.fifo', 'arn:aws:sns::123456789012:t.fifo']) {
    rejects(
      () => new SnsLogger(options({ dfConfig: withTopic(topic) })),
      'ERR_INVALID_CONFIG',
      ['dfConfig["sales.bot"].sns_arn_topic', j(topic), 'expected arn:aws:sns:<region>:<account>:<topic>[.fifo]'],
      [FAKE_KEY_BODY.slice(0, 12)],
    );
  }
  rejects(() => new SnsLogger(options({ dfConfig: withTopic('') })), 'ERR_INVALID_CONFIG', ['sns_arn_topic', 'non-empty string']);
  rejects(() => new SnsLogger(options({ dfConfig: withTopic(5) })), 'ERR_INVALID_CONFIG', ['sns_arn_topic', 'non-empty string']);
  rejects(() => new SnsLogger(options({ dfConfig: { bot: { sns_arn_topic: SUPPORT.topic } } })), 'ERR_INVALID_CONFIG', ['dfConfig["bot"].agent_id is missing']);
  rejects(() => new SnsLogger(options({ dfConfig: { bot: 'x' } })), 'ERR_INVALID_CONFIG', ['dfConfig["bot"]', 'agent_id and sns_arn_topic']);
  rejects(() => new SnsLogger(options({ dfConfig: 5 })), 'ERR_INVALID_OPTIONS', ['dfConfig must be a path']);
});

// ---- plan extension ----

test('ERR_INVALID_PLAN: bad planExtension', () => {
  rejects(() => new SnsLogger(options({ planExtension: { categories: 5 } })), 'ERR_INVALID_PLAN', ['planExtension', 'not a valid tracking plan']);
  rejects(
    () => new SnsLogger(options({ planExtension: { categories: [{ category: 'Bot', actions: [{ action: 'x', eventType: 'visitor' }] }] } })),
    'ERR_INVALID_PLAN',
    ['planExtension', 'visitor'],
  );
  rejects(
    () => new SnsLogger(options({ planExtension: { categories: [{ category: 'Survey', actions: [{ action: 'link_clicked', eventType: 'session' }] }] } })),
    'ERR_INVALID_PLAN',
    ['"Survey" / "link_clicked"', 'eventType'],
  );
  rejects(
    () =>
      new SnsLogger(
        options({
          planExtension: {
            categories: [{ category: 'Escalation', actions: [{ action: 'successful', eventType: 'session', properties: [{ property: 'queue_time', type: 'string' }, { property: 'sf_chat_key', type: 'string' }] }] }],
          },
        }),
      ),
    'ERR_INVALID_PLAN',
    ['queue_time'],
  );
  const missing = join(tmp, 'no-such-plan.json');
  rejects(() => new SnsLogger(options({ planExtension: missing })), 'ERR_INVALID_PLAN', ['planExtension', j(missing)]);
  const broken = join(tmp, 'broken-plan.json');
  writeFileSync(broken, '{"categories": [');
  rejects(() => new SnsLogger(options({ planExtension: broken })), 'ERR_INVALID_PLAN', [broken]);
  rejects(() => new SnsLogger(options({ planExtension: 5 })), 'ERR_INVALID_OPTIONS', ['planExtension']);
});

const EXTENSION = {
  categories: [
    {
      category: 'Bot',
      actions: [
        {
          action: 'handover',
          eventType: 'session',
          properties: [
            { property: 'target', type: 'string' },
            { property: 'attempt', type: 'number', minimum: 1 },
          ],
        },
      ],
    },
    { category: 'Escalation', actions: [{ action: 'failed', eventType: 'session', properties: [{ property: 'failure_reason', type: 'enum', values: [{ value: 'queue full' }] }] }] },
    {
      category: 'Chat Session',
      actions: [{ action: 'closed', eventType: 'session', properties: [{ property: 'close_method', type: 'enum', values: [{ value: 'visitor_left_page', eventType: 'customerAction' }] }] }],
    },
  ],
};
const msg = (agentId, category, action, properties, eventType) =>
  `{"dialogflowAgentId":"${agentId}","roomId":"r1","tabId":"","category":"${category}","action":"${action}","properties":${properties},"eventType":"${eventType}","timestamp":"${TS}"}`;

test('a planExtension adds an event and enum values that then log fine', async () => {
  const planPath = join(tmp, 'plan-extension.json');
  writeFileSync(planPath, j(EXTENSION));
  for (const planExtension of [EXTENSION, planPath]) {
    const logger = new SnsLogger(options({ planExtension }));
    logger.logEvent({ roomId: 'r1', agent: SUPPORT.username, category: 'Bot', action: 'handover', properties: { attempt: 2, target: 'billing' }, timestamp: TS });
    logger.logEvent(lib.escalationFailed({ roomId: 'r1', agent: SUPPORT.username, timestamp: TS }, 'queue full'));
    logger.logEvent(lib.chatSessionClosed({ roomId: 'r1', agent: SUPPORT.username, timestamp: TS }, 'visitor_left_page'));
    logger.logEvent(lib.escalationFailed({ roomId: 'r1', agent: SUPPORT.username, timestamp: TS }, 'no agents available'));
    rejects(
      () => logger.logEvent({ roomId: 'r1', agent: SUPPORT.username, category: 'Bot', action: 'handover', properties: { attempt: 0, target: 'billing' } }),
      'ERR_INVALID_PROPERTY',
      ['properties.attempt', 'number 0', '>= 1'],
    );
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 4 });
    assert.deepEqual(
      logger.records().map((r) => r.Message),
      [
        msg(SUPPORT.agentId, 'Bot', 'handover', '{"target":"billing","attempt":2}', 'session'),
        msg(SUPPORT.agentId, 'Escalation', 'failed', '{"failure_reason":"queue full"}', 'session'),
        msg(SUPPORT.agentId, 'Chat Session', 'closed', '{"close_method":"visitor_left_page"}', 'customerAction'),
        msg(SUPPORT.agentId, 'Escalation', 'failed', '{"failure_reason":"no agents available"}', 'session'),
      ],
    );
    await logger.close();
  }

  // Without the extension the same events are refused.
  await withLogger(async (logger) => {
    rejects(() => logger.logEvent({ roomId: 'r1', agent: SUPPORT.username, category: 'Bot', action: 'handover', properties: { attempt: 2, target: 'b' } }), 'ERR_UNKNOWN_CATEGORY', ['"Bot"']);
    rejects(() => logger.logEvent(lib.escalationFailed({ roomId: 'r1', agent: SUPPORT.username }, 'queue full')), 'ERR_INVALID_PROPERTY', ['"queue full"']);
  });
});

test('logCustomEvent logs an event of the plan extension on the process-wide logger', () => {
  const { stdout } = runNode(`${childPrelude}
    (async () => {
      lib.init({ siteUrl: ${j(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' }, planExtension: ${j(EXTENSION)} });
      lib.logCustomEvent({ roomId: 'r1', agent: 'sales.bot', category: 'Bot', action: 'handover', properties: { target: 'billing', attempt: 1 }, timestamp: ${j(TS)} });
      lib.logCustomEvent({ roomId: 'r1', agent: 'sales.bot', category: 'Chat Session', action: 'closed', properties: { close_method: 'visitor_left_page' }, timestamp: ${j(TS)} });
      const bad = capture(() => lib.logCustomEvent({ roomId: 'r1', agent: 'sales.bot', category: 'Bot', action: 'waved' }));
      const flush = await lib.flush();
      console.log(JSON.stringify({ flush, bad, records: lib.records(), stats: lib.stats() }));
      await lib.close();
    })();
  `);
  const out = JSON.parse(stdout);
  assert.deepEqual(out.flush, { ...NO_OUTCOMES, sent: 2 });
  assertCaptured(out.bad, 'ERR_UNKNOWN_ACTION', ['"waved"', '"Bot"', '"handover"']);
  assert.equal(out.stats.accepted, 2);
  assert.deepEqual(
    out.records.map(({ MessageDeduplicationId, ...rest }) => rest),
    [
      { TopicArn: SALES.topic, Subject: 'RC', MessageGroupId: SITE_URL, Message: msg(SALES.agentId, 'Bot', 'handover', '{"target":"billing","attempt":1}', 'session') },
      { TopicArn: SALES.topic, Subject: 'RC', MessageGroupId: SITE_URL, Message: msg(SALES.agentId, 'Chat Session', 'closed', '{"close_method":"visitor_left_page"}', 'customerAction') },
    ],
  );
});

// ---- events ----

const ev = (overrides = {}) => ({ roomId: 'r1', agent: SUPPORT.username, category: 'Survey', action: 'link_clicked', ...overrides });

test('ERR_UNKNOWN_AGENT', () =>
  withLogger((logger) => {
    rejects(() => logger.logEvent(ev({ agent: 'nobody.bot' })), 'ERR_UNKNOWN_AGENT', ['agent', '"nobody.bot"', 'allowed', '"support.bot" or "sales.bot"']);
    rejects(() => logger.logEvent(ev({ agent: undefined })), 'ERR_UNKNOWN_AGENT', ['agent is required', '2 agents', '"support.bot" or "sales.bot"']);
    rejects(() => logger.logEvent(ev({ agent: '' })), 'ERR_UNKNOWN_AGENT', ['agent', '""', 'non-empty string']);
    rejects(() => logger.logEvent(ev({ agent: null })), 'ERR_UNKNOWN_AGENT', ['agent', 'null', 'non-empty string']);
    rejects(() => logger.logEvent(ev({ agent: 7 })), 'ERR_UNKNOWN_AGENT', ['agent', 'number 7']);
    rejects(() => logger.logEvent(ev({ agent: 'SUPPORT.BOT' })), 'ERR_UNKNOWN_AGENT', ['"SUPPORT.BOT"'], []);
  }));

test('ERR_UNKNOWN_CATEGORY', () =>
  withLogger((logger) => {
    rejects(() => logger.logEvent(ev({ category: 'Chat' })), 'ERR_UNKNOWN_CATEGORY', ['category', '"Chat"', 'allowed', '"Chat Session"', '"Window"']);
    rejects(() => logger.logEvent(ev({ category: 'survey' })), 'ERR_UNKNOWN_CATEGORY', ['"survey"', '"Survey"']);
    rejects(() => logger.logEvent(ev({ category: undefined })), 'ERR_UNKNOWN_CATEGORY', ['category is required']);
    rejects(() => logger.logEvent(ev({ category: 5 })), 'ERR_UNKNOWN_CATEGORY', ['category', 'number 5']);
    rejects(() => logger.logEvent(ev({ category: null })), 'ERR_UNKNOWN_CATEGORY', ['category', 'null']);
  }));

test('ERR_UNKNOWN_ACTION', () =>
  withLogger((logger) => {
    rejects(() => logger.logEvent(ev({ category: 'Escalation', action: 'closed' })), 'ERR_UNKNOWN_ACTION', ['action', '"closed"', '"Escalation"', 'allowed', '"attempted", "failed" or "successful"']);
    rejects(() => logger.logEvent(ev({ category: 'Window', action: 'minimized' })), 'ERR_UNKNOWN_ACTION', ['"minimized"', '"opened" or "closed"']);
    rejects(() => logger.logEvent(ev({ action: undefined })), 'ERR_UNKNOWN_ACTION', ['action is required']);
    rejects(() => logger.logEvent(ev({ action: ['link_clicked'] })), 'ERR_UNKNOWN_ACTION', ['action', 'an array']);
  }));

test('ERR_INVALID_PROPERTY: missing, unknown, wrong enum value', () =>
  withLogger((logger) => {
    const failed = (properties) => ev({ category: 'Escalation', action: 'failed', properties });
    rejects(() => logger.logEvent(failed(undefined)), 'ERR_INVALID_PROPERTY', ['properties.failure_reason is required', '"Escalation" / "failed"', '"no agents available"']);
    rejects(() => logger.logEvent(failed({})), 'ERR_INVALID_PROPERTY', ['properties.failure_reason is required']);
    rejects(
      () => logger.logEvent(ev({ category: 'Escalation', action: 'successful', properties: { queue_time: 3 } })),
      'ERR_INVALID_PROPERTY',
      ['properties.sf_chat_key is required', 'non-empty string'],
    );
    rejects(() => logger.logEvent(ev({ properties: { url: 'https://survey.example.com' } })), 'ERR_INVALID_PROPERTY', ['properties.url', '"Survey" / "link_clicked"', 'takes no properties']);
    rejects(
      () => logger.logEvent(ev({ category: 'Window', action: 'opened', properties: { session_id: 's', sessionId: 's' } })),
      'ERR_INVALID_PROPERTY',
      ['properties.sessionId', 'allowed', '"session_id"'],
    );
    // The spec's own typo: "no agent available".
    rejects(() => logger.logEvent(failed({ failure_reason: 'no agent available' })), 'ERR_INVALID_PROPERTY', [
      'properties.failure_reason',
      '"no agent available"',
      'allowed',
      '"no agents available"',
      '"salesforce chat API not found"',
    ]);
    rejects(() => logger.logEvent(ev({ category: 'Chat Session', action: 'closed', properties: { close_method: 'Agent' } })), 'ERR_INVALID_PROPERTY', [
      'properties.close_method',
      '"Agent"',
      '"agent", "chat window"',
    ]);
    rejects(() => logger.logEvent(failed({ failure_reason: 'agent' })), 'ERR_INVALID_PROPERTY', ['"agent"', 'allowed']);
  }));

test('ERR_INVALID_PROPERTY: wrong types', () =>
  withLogger((logger) => {
    const opened = (session_id) => ev({ category: 'Window', action: 'opened', properties: { session_id } });
    const closed = (close_method) => ev({ category: 'Chat Session', action: 'closed', properties: { close_method } });
    const successful = (queue_time, sf_chat_key = 'k1') => ev({ category: 'Escalation', action: 'successful', properties: { queue_time, sf_chat_key } });
    rejects(() => logger.logEvent(opened(5)), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'non-empty string', 'number 5']);
    rejects(() => logger.logEvent(opened(null)), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'null']);
    rejects(() => logger.logEvent(opened(['s1'])), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'an array']);
    rejects(() => logger.logEvent(opened({ id: 's1' })), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'an object']);
    rejects(() => logger.logEvent(opened(true)), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'a boolean']);
    rejects(() => logger.logEvent(opened('')), 'ERR_INVALID_PROPERTY', ['properties.session_id', 'non-empty string', '""']);
    rejects(() => logger.logEvent(closed(5)), 'ERR_INVALID_PROPERTY', ['properties.close_method', 'number 5', 'allowed']);
    rejects(() => logger.logEvent(closed(null)), 'ERR_INVALID_PROPERTY', ['properties.close_method', 'null', 'allowed']);
    rejects(() => logger.logEvent(closed(['agent'])), 'ERR_INVALID_PROPERTY', ['properties.close_method', 'an array']);
    rejects(() => logger.logEvent(closed({ value: 'agent' })), 'ERR_INVALID_PROPERTY', ['properties.close_method', 'an object']);
    for (const [bad, shown] of [
      [-1, 'number -1'],
      [-0.001, 'number -0.001'],
      [NaN, 'NaN'],
      [Infinity, 'number'],
      [-Infinity, 'number'],
      ['42', '"42"'],
      [null, 'null'],
      [[42], 'an array'],
      [{ seconds: 42 }, 'an object'],
      [42n, 'a bigint'],
    ]) {
      rejects(() => logger.logEvent(successful(bad)), 'ERR_INVALID_PROPERTY', ['properties.queue_time', 'a finite number >= 0', shown]);
    }
    rejects(() => logger.logEvent(successful(1, '')), 'ERR_INVALID_PROPERTY', ['properties.sf_chat_key', 'non-empty string', '""']);
    rejects(() => logger.logEvent(successful(1, 42)), 'ERR_INVALID_PROPERTY', ['properties.sf_chat_key', 'number 42']);
    rejects(() => logger.logEvent(ev({ properties: null })), 'ERR_INVALID_PROPERTY', ['properties must be an object', 'null']);
    rejects(() => logger.logEvent(ev({ properties: [] })), 'ERR_INVALID_PROPERTY', ['properties must be an object', 'an array']);
    rejects(() => logger.logEvent(ev({ properties: 'close_method=agent' })), 'ERR_INVALID_PROPERTY', ['properties must be an object', 'a string']);
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, i]));
    rejects(() => logger.logEvent(ev({ properties: many })), 'ERR_INVALID_PROPERTY', ['properties must be an object']);
  }));

test('ERR_INVALID_TIMESTAMP', () =>
  withLogger((logger) => {
    const allowed = 'ISO 8601';
    rejects(() => logger.logEvent(ev({ timestamp: new Date('not a date') })), 'ERR_INVALID_TIMESTAMP', ['timestamp', 'Invalid Date', allowed]);
    rejects(() => logger.logEvent(ev({ timestamp: 'yesterday' })), 'ERR_INVALID_TIMESTAMP', ['timestamp', '"yesterday"', allowed]);
    rejects(() => logger.logEvent(ev({ timestamp: '2022-09-26' })), 'ERR_INVALID_TIMESTAMP', ['timestamp', '"2022-09-26"', allowed, 'time zone']);
    rejects(() => logger.logEvent(ev({ timestamp: '2022-09-26T17:50:47.225' })), 'ERR_INVALID_TIMESTAMP', ['"2022-09-26T17:50:47.225"', 'time zone']);
    rejects(() => logger.logEvent(ev({ timestamp: '2022-13-26T17:50:47.225Z' })), 'ERR_INVALID_TIMESTAMP', ['"2022-13-26T17:50:47.225Z"']);
    rejects(() => logger.logEvent(ev({ timestamp: 1664214647225 })), 'ERR_INVALID_TIMESTAMP', ['timestamp', 'number 1664214647225', 'a valid Date']);
    rejects(() => logger.logEvent(ev({ timestamp: '' })), 'ERR_INVALID_TIMESTAMP', ['timestamp', '""']);
    rejects(() => logger.logEvent(ev({ timestamp: null })), 'ERR_INVALID_TIMESTAMP', ['timestamp', 'null']);
    rejects(() => logger.logEvent(ev({ timestamp: { iso: '2022-09-26T17:50:47.225Z' } })), 'ERR_INVALID_TIMESTAMP', ['timestamp', 'an object']);
  }));

test('ERR_MESSAGE_TOO_LARGE: one huge field, and a total over 256 KiB', () =>
  withLogger((logger) => {
    rejects(() => logger.logEvent(ev({ roomId: 'r'.repeat(300 * 1024) })), 'ERR_MESSAGE_TOO_LARGE', ['roomId', `${300 * 1024} bytes`, String(MAX_MESSAGE_BYTES)]);
    rejects(
      () =>
        logger.logEvent(
          ev({ roomId: 'r'.repeat(200 * 1024), category: 'Escalation', action: 'successful', properties: { queue_time: 1, sf_chat_key: 'k'.repeat(100 * 1024) } }),
        ),
      'ERR_MESSAGE_TOO_LARGE',
      ['bytes', String(MAX_MESSAGE_BYTES)],
    );
    // Multi-byte characters count as UTF-8 bytes: 100 Ki × 3 bytes.
    rejects(() => logger.logEvent(ev({ roomId: '€'.repeat(100 * 1024) })), 'ERR_MESSAGE_TOO_LARGE', [String(MAX_MESSAGE_BYTES)]);
    // Escaping counts too: each control character becomes 6 bytes of JSON.
    rejects(() => logger.logEvent(ev({ roomId: '\u0001'.repeat(50 * 1024) })), 'ERR_MESSAGE_TOO_LARGE', [String(MAX_MESSAGE_BYTES)]);
  }));

test('a message of exactly 256 KiB is accepted, one byte more is not', async () => {
  const logger = new SnsLogger(options());
  const base = (roomId) =>
    `{"dialogflowAgentId":"${SUPPORT.agentId}","roomId":"${roomId}","tabId":"","category":"Survey","action":"link_clicked","properties":{},"eventType":"customerAction","timestamp":"${TS}"}`;
  const roomId = 'r'.repeat(MAX_MESSAGE_BYTES - base('').length);
  assert.equal(base(roomId).length, MAX_MESSAGE_BYTES);
  rejects(() => logger.logEvent(ev({ roomId: `${roomId}r`, timestamp: TS })), 'ERR_MESSAGE_TOO_LARGE', [String(MAX_MESSAGE_BYTES + 1)]);
  logger.logEvent(ev({ roomId, timestamp: TS }));
  assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 1 });
  assert.equal(logger.records()[0].Message, base(roomId));
  await logger.close();
});

test('ERR_INVALID_EVENT', () =>
  withLogger((logger) => {
    const expects = 'logEvent expects an event object';
    rejects(() => logger.logEvent(null), 'ERR_INVALID_EVENT', [expects, 'null']);
    rejects(() => logger.logEvent(undefined), 'ERR_INVALID_EVENT', [expects, 'undefined']);
    rejects(() => logger.logEvent(), 'ERR_INVALID_EVENT', [expects, 'undefined']);
    rejects(() => logger.logEvent([ev()]), 'ERR_INVALID_EVENT', [expects, 'an array']);
    rejects(() => logger.logEvent(JSON.stringify(ev())), 'ERR_INVALID_EVENT', [expects, 'a string']);
    rejects(() => logger.logEvent(42), 'ERR_INVALID_EVENT', [expects, 'a number']);
    rejects(() => logger.logEvent(() => ev()), 'ERR_INVALID_EVENT', [expects, 'a function']);
    rejects(() => logger.logEvent(ev({ roomId: undefined })), 'ERR_INVALID_EVENT', ['roomId is required', 'non-empty string']);
    rejects(() => logger.logEvent(ev({ roomId: 42 })), 'ERR_INVALID_EVENT', ['roomId', 'non-empty string', 'number 42']);
    rejects(() => logger.logEvent(ev({ roomId: '' })), 'ERR_INVALID_EVENT', ['roomId', '""']);
    rejects(() => logger.logEvent(ev({ roomId: Symbol('r1') })), 'ERR_INVALID_EVENT', ['roomId', 'a symbol']);
    rejects(() => logger.logEvent(ev({ tabId: 3 })), 'ERR_INVALID_EVENT', ['tabId', 'must be a string', 'number 3']);
    const throwing = {
      ...ev(),
      get roomId() {
        throw new Error('getter exploded');
      },
    };
    rejects(() => logger.logEvent(throwing), 'ERR_INVALID_EVENT', ['threw', 'plain data']);
    const throwingProperties = ev({
      category: 'Window',
      action: 'opened',
      properties: {
        get session_id() {
          throw new TypeError('nope');
        },
      },
    });
    rejects(() => logger.logEvent(throwingProperties), 'ERR_INVALID_EVENT', ['threw']);
    const trap = new Proxy(ev(), {
      get() {
        throw new Error('trap');
      },
    });
    rejects(() => logger.logEvent(trap), 'ERR_INVALID_EVENT', ['threw', 'plain data']);
    const ownKeysTrap = ev({
      properties: new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('ownKeys trap');
          },
        },
      ),
    });
    rejects(() => logger.logEvent(ownKeysTrap), 'ERR_INVALID_EVENT', ['threw']);
    const { proxy, revoke } = Proxy.revocable(ev(), {});
    revoke();
    rejects(() => logger.logEvent(proxy), 'ERR_INVALID_EVENT', ['threw']);
    // The thrown exception was cleared: JavaScript keeps working normally.
    assert.equal([1, 2, 3].map((x) => x * 2).join(), '2,4,6');
  }));

test('ERR_CLOSED after close()', async () => {
  const logger = new SnsLogger(options());
  assert.equal(logger.closed, false);
  assert.deepEqual(await logger.close(), { ...NO_OUTCOMES, timedOut: false, leftInSpool: 0 });
  assert.equal(logger.closed, true);
  rejects(() => logger.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: SUPPORT.username })), 'ERR_CLOSED', ['closed', 'close()']);
  rejects(() => logger.logEvent(lib.escalationFailed({ roomId: 'r2', agent: SALES.agentId, timestamp: new Date() }, 'salesforce error')), 'ERR_CLOSED');
  await assertNothingAccepted(logger);
  assert.deepEqual(await logger.close(), { ...NO_OUTCOMES, timedOut: false, leftInSpool: 0 }, 'a second close() resolves too');
});

// Regression test: close() used to set the "closed" flag inside the task it spawned on the
// addon's runtime, so right after a non-awaited close() `closed` was still false and logEvent()
// still accepted events (and init() right after it threw ERR_ALREADY_INITIALIZED).
test('close() stops accepting events synchronously', async () => {
  let notClosed = 0;
  let accepted = 0;
  for (let i = 0; i < 200; i++) {
    const logger = new SnsLogger(options());
    const closing = logger.close();
    if (!logger.closed) notClosed++;
    try {
      logger.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: SUPPORT.username }));
      accepted++;
    } catch (error) {
      assert.equal(error.code, 'ERR_CLOSED');
    }
    await closing;
  }
  assert.deepEqual({ notClosed, accepted }, { notClosed: 0, accepted: 0 });
});

// ---- robustness ----

test('a 50 MB string is rejected in every field with a message that does not echo it, without crashing', () =>
  withLogger((logger) => {
    const huge = 'x'.repeat(50 * 1024 * 1024);
    const cases = [
      [ev({ roomId: huge }), 'ERR_MESSAGE_TOO_LARGE', 'roomId'],
      [ev({ tabId: huge }), 'ERR_MESSAGE_TOO_LARGE', 'tabId'],
      [ev({ agent: huge }), 'ERR_MESSAGE_TOO_LARGE', 'agent'],
      [ev({ category: huge }), 'ERR_MESSAGE_TOO_LARGE', 'category'],
      [ev({ action: huge }), 'ERR_MESSAGE_TOO_LARGE', 'action'],
      [ev({ category: 'Window', action: 'opened', properties: { session_id: huge } }), 'ERR_MESSAGE_TOO_LARGE', 'properties.session_id'],
      [ev({ category: 'Chat Session', action: 'closed', properties: { close_method: huge } }), 'ERR_MESSAGE_TOO_LARGE', 'properties.close_method'],
      [ev({ properties: { [huge]: 1 } }), 'ERR_INVALID_PROPERTY', 'properties'],
      [ev({ timestamp: huge }), 'ERR_INVALID_TIMESTAMP', 'timestamp'],
    ];
    for (const [event, code, field] of cases) {
      // (How fast is no verdict for a shared machine: the per-call cost lives in npm run bench.)
      const error = rejects(() => logger.logEvent(event), code, [field]);
      assert.ok(error.message.length < 1000, `${field}: the error does not echo the string (${error.message.length} chars)`);
    }
  }));

test('no panic ever crosses: odd inputs only ever throw coded errors, and the process stays alive', () => {
  const { stdout } = runNode(`${childPrelude}
    (async () => {
      const logger = new lib.SnsLogger({ siteUrl: ${j(SITE_URL)}, dfConfig: df, sink: { kind: 'memory' } });
      const base = { roomId: 'r1', agent: 'support.bot', category: 'Survey', action: 'link_clicked' };
      const odd = [
        Symbol('x'), 10n, -0, NaN, Infinity, true, '', '\\u0000', '\\ud800', 'é'.repeat(1000), [], [1, 2], {}, Object.create(null),
        new Date(NaN), new Date(8.64e15), new Date(-8.64e15), new Map([[1, 2]]), new Set([1]), /re/, new Uint8Array(4), () => 1,
        new Proxy({}, {}), new Proxy({}, { get() { throw 1; } }), Object.freeze({ a: 1 }), { toString() { throw new Error('x'); } },
        new String('boxed'), new Number(5), Promise.resolve(1), new Error('e'), globalThis,
      ];
      const fields = ['roomId', 'agent', 'tabId', 'category', 'action', 'properties', 'timestamp'];
      const outcomes = {};
      const note = (r) => { outcomes[r] = (outcomes[r] || 0) + 1; };
      const attempt = (event) => {
        try { logger.logEvent(event); note('accepted'); }
        catch (e) { note(e instanceof Error && typeof e.code === 'string' ? e.code : 'UNCODED:' + String(e && e.message)); }
      };
      for (const value of odd) {
        attempt(value);
        for (const field of fields) attempt({ ...base, [field]: value });
        attempt({ ...base, category: 'Window', action: 'opened', properties: { session_id: value } });
        attempt({ ...base, category: 'Escalation', action: 'successful', properties: { queue_time: value, sf_chat_key: value } });
        attempt({ ...base, category: 'Chat Session', action: 'closed', properties: { close_method: value } });
      }
      const flush = await logger.flush();
      logger.logEvent({ ...base, roomId: 'still-alive' });
      const after = await logger.flush();
      console.log(JSON.stringify({ outcomes, flush, after, accepted: logger.stats().accepted }));
      await logger.close();
    })();
  `);
  const out = JSON.parse(stdout);
  for (const code of Object.keys(out.outcomes)) assert.ok(code === 'accepted' || CODES.has(code), `unexpected outcome ${code}`);
  assert.equal(out.after.sent, 1, 'the logger still works');
  assert.equal(out.accepted, (out.outcomes.accepted ?? 0) + 1);
});
