// Every event of the tracking plan, logged through the native addon with the memory sink, must
// come out as the exact SNS request: topic of the chosen agent, Subject, FIFO fields and the
// exact Message string (keys in the order of the spec).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { AGENTS, NO_OUTCOMES, SALES, SITE_URL, SUPPORT, clearSnsLoggerEnv, dfConfig, j } from './support/fixtures.mjs';
import { SPEC_EVENTS } from './support/spec.mjs';

const require = createRequire(import.meta.url);
const lib = require('../index.js');
const { SnsLogger, TRACKING_PLAN, CloseMethod } = lib;

clearSnsLoggerEnv();

function newLogger(overrides = {}) {
  return new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' }, ...overrides });
}

/** Runs `fn` with a fresh memory-sink logger and closes it afterwards. */
async function withLogger(fn, overrides) {
  const logger = newLogger(overrides);
  try {
    return await fn(logger);
  } finally {
    await logger.close({ timeoutMs: 1000 });
  }
}

/** The exact `Message` string, written key by key in the order of the spec. */
function expectedMessage({ agentId, roomId, tabId = '', category, action, properties = [], eventType, timestamp }) {
  const props = `{${properties.map(([name, value]) => `${j(name)}:${j(value)}`).join(',')}}`;
  return (
    `{"dialogflowAgentId":${j(agentId)},"roomId":${j(roomId)},"tabId":${j(tabId)},` +
    `"category":${j(category)},"action":${j(action)},"properties":${props},` +
    `"eventType":${j(eventType)},"timestamp":${j(timestamp)}}`
  );
}

// Every MessageDeduplicationId seen by this file: each must be new.
const seenDedupIds = new Set();

function checkDedupId(id) {
  assert.equal(typeof id, 'string', 'MessageDeduplicationId is a string');
  assert.ok(id.length >= 1 && id.length <= 128, `MessageDeduplicationId ${j(id)} has 1-128 characters`);
  assert.match(id, /^[\x21-\x7e]+$/, 'MessageDeduplicationId holds printable ASCII only');
  assert.ok(!seenDedupIds.has(id), `MessageDeduplicationId ${id} is unique`);
  seenDedupIds.add(id);
}

/** The single request recorded since the last read; asserts it is the expected FIFO request. */
function assertOneFifoRecord(logger, agent, message) {
  const records = logger.records({ clear: true });
  assert.equal(records.length, 1, `exactly one request: ${j(records)}`);
  const [record] = records;
  checkDedupId(record.MessageDeduplicationId);
  assert.deepEqual(record, {
    TopicArn: agent.topic,
    Subject: 'RC',
    MessageGroupId: SITE_URL,
    MessageDeduplicationId: record.MessageDeduplicationId,
    Message: message,
  });
  assert.deepEqual(logger.records(), [], 'records({ clear: true }) emptied the sink');
  return record;
}

// ---- the cases: every event of the plan, and every value of every enum property ----

const builderName = (category, action) => category.name[0].toLowerCase() + category.name.slice(1) + action.name;

function sampleValue(property) {
  if (property.type === 'number') return 42;
  if (property.type === 'string') return `${property.property}-5733b9d3-a8b0`;
  throw new Error(`no sample for ${property.type}`);
}

// eventType per the spec, written out independently of the plan: what the visitor did is a
// customerAction, everything else is a session event.
const CUSTOMER_ACTIONS = new Set(['Transcript Download/selected', 'Survey/link_clicked', 'Window/opened', 'Window/closed']);
function specEventType(category, action, properties) {
  if (category === 'Chat Session' && action === 'closed') {
    return properties.close_method === 'chat window' ? 'customerAction' : 'session';
  }
  return CUSTOMER_ACTIONS.has(`${category}/${action}`) ? 'customerAction' : 'session';
}

const cases = [];
for (const category of TRACKING_PLAN.categories) {
  for (const action of category.actions) {
    const build = lib[builderName(category, action)];
    const base = { category: category.category, action: action.action, build, widget: (action.sources ?? []).includes('Widget') };
    const enumProperty = action.properties.find((p) => p.type === 'enum');
    if (enumProperty) {
      assert.equal(action.properties.length, 1, 'enum events have one property');
      for (const value of enumProperty.values) {
        cases.push({
          ...base,
          label: `${category.category} / ${action.action} (${enumProperty.property}: ${value.value})`,
          args: [value.value],
          properties: [[enumProperty.property, value.value]],
          eventType: value.eventType ?? action.eventType,
          widget: base.widget || value.sources.includes('Widget'),
        });
      }
    } else if (action.properties.length === 1) {
      const [property] = action.properties;
      const value = sampleValue(property);
      cases.push({ ...base, label: `${category.category} / ${action.action}`, args: [value], properties: [[property.property, value]], eventType: action.eventType });
    } else if (action.properties.length > 1) {
      const properties = action.properties.map((p) => [p.property, sampleValue(p)]);
      // Given in reverse order: the message lists them in plan order.
      const arg = Object.fromEntries([...properties].reverse());
      cases.push({ ...base, label: `${category.category} / ${action.action}`, args: [arg], properties, eventType: action.eventType });
    } else {
      cases.push({ ...base, label: `${category.category} / ${action.action}`, args: [], properties: [], eventType: action.eventType });
    }
  }
}

test('the cases cover the 11 events and every close_method and failure_reason', () => {
  assert.equal(new Set(cases.map((c) => `${c.category}/${c.action}`)).size, 11);
  for (const c of cases) assert.equal(typeof c.build, 'function', `builder for ${c.label}`);
  const used = (name) => new Set(cases.flatMap((c) => c.properties.filter(([p]) => p === name).map(([, v]) => v)));
  // Against the spec's own text, not the plan the cases were built from.
  assert.deepEqual(used('close_method'), new Set(SPEC_EVENTS['Chat Session'].closed.close_method));
  assert.deepEqual(used('failure_reason'), new Set(SPEC_EVENTS.Escalation.failed.failure_reason));
  assert.deepEqual(new Set(cases.map((c) => `${c.category}/${c.action}`)), new Set(Object.entries(SPEC_EVENTS).flatMap(([category, actions]) => Object.keys(actions).map((a) => `${category}/${a}`))));
  assert.equal(used('close_method').size, 8);
  assert.equal(used('failure_reason').size, 14);
  for (const c of cases) {
    assert.equal(c.eventType, specEventType(c.category, c.action, Object.fromEntries(c.properties)), `eventType of ${c.label}`);
  }
});

const BASE_TIME = Date.UTC(2022, 8, 26, 17, 50, 47, 225);

cases.forEach((c, i) => {
  const agent = AGENTS[i % 2];
  const at = BASE_TIME + i * 61_001; // distinct seconds and milliseconds per case
  const expectedTimestamp = new Date(at).toISOString();
  const roomId = `be61e543dfe6:wqbFXoeX2kdSZhS${String(i).padStart(2, '0')}`;

  test(`${c.label}: Date timestamp, agent by bot username, no tabId`, () =>
    withLogger(async (logger) => {
      const event = c.build({ roomId, agent: agent.username, timestamp: new Date(at) }, ...c.args);
      assert.equal(event.category, c.category);
      assert.equal(event.action, c.action);
      logger.logEvent(event);
      assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 1 });
      assertOneFifoRecord(
        logger,
        agent,
        expectedMessage({ agentId: agent.agentId, roomId, category: c.category, action: c.action, properties: c.properties, eventType: c.eventType, timestamp: expectedTimestamp }),
      );
    }));

  test(`${c.label}: ISO string timestamp with +02:00, agent by agent_id${c.widget ? ', tabId' : ''}`, () =>
    withLogger(async (logger) => {
      const local = new Date(at + 2 * 3600_000).toISOString().replace('Z', '+02:00');
      const tabId = c.widget ? `tab-${i}` : undefined;
      logger.logEvent(c.build({ roomId, agent: agent.agentId, tabId, timestamp: local }, ...c.args));
      assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 1 });
      assertOneFifoRecord(
        logger,
        agent,
        expectedMessage({ agentId: agent.agentId, roomId, tabId, category: c.category, action: c.action, properties: c.properties, eventType: c.eventType, timestamp: expectedTimestamp }),
      );
    }));
});

test('the example of the spec, as a literal string', () =>
  withLogger(async (logger) => {
    logger.logEvent(
      lib.escalationSuccessful(
        { roomId: 'be61e543dfe6:wqbFXoeX2kdSZhSyi', agent: SUPPORT.username, timestamp: '2022-09-26T17:50:47.225Z' },
        { sf_chat_key: '5733b9d3-a8b0', queue_time: 42 },
      ),
    );
    await logger.flush();
    assertOneFifoRecord(
      logger,
      SUPPORT,
      '{"dialogflowAgentId":"b5983b72-cac6-4f85-b9d0-be61e543dfe6","roomId":"be61e543dfe6:wqbFXoeX2kdSZhSyi","tabId":"","category":"Escalation","action":"successful","properties":{"queue_time":42,"sf_chat_key":"5733b9d3-a8b0"},"eventType":"session","timestamp":"2022-09-26T17:50:47.225Z"}',
    );
    logger.logEvent(
      lib.chatSessionClosed({ roomId: 'r1', agent: SALES.username, tabId: 'tab-9', timestamp: new Date(Date.UTC(2022, 8, 26, 17, 50, 47)) }, CloseMethod.ChatWindow),
    );
    await logger.flush();
    assertOneFifoRecord(
      logger,
      SALES,
      '{"dialogflowAgentId":"c0ffee00-1d2e-4f3a-8b9c-0d1e2f3a4b5c","roomId":"r1","tabId":"tab-9","category":"Chat Session","action":"closed","properties":{"close_method":"chat window"},"eventType":"customerAction","timestamp":"2022-09-26T17:50:47.000Z"}',
    );
  }));

test('timestamps in other ISO 8601 forms come out in UTC with milliseconds', () =>
  withLogger(async (logger) => {
    const forms = [
      ['2022-09-26T19:50:47.225+02:00', '2022-09-26T17:50:47.225Z'],
      ['2022-09-26T12:20:47.225-05:30', '2022-09-26T17:50:47.225Z'],
      ['2022-09-26T17:50:47Z', '2022-09-26T17:50:47.000Z'],
      ['2022-09-26T17:50:47.5Z', '2022-09-26T17:50:47.500Z'],
      ['2022-09-27T01:50:47.225+08:00', '2022-09-26T17:50:47.225Z'],
      ['2023-01-01T00:30:00.000+01:00', '2022-12-31T23:30:00.000Z'],
    ];
    for (const [given, expected] of forms) {
      logger.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: SUPPORT.username, timestamp: given }));
      await logger.flush();
      const [record] = logger.records({ clear: true });
      assert.equal(JSON.parse(record.Message).timestamp, expected, given);
    }
    for (const date of [new Date(0), new Date(-1), new Date(Date.UTC(2038, 0, 19, 3, 14, 8, 999))]) {
      logger.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: SUPPORT.username, timestamp: date }));
      await logger.flush();
      const [record] = logger.records({ clear: true });
      assert.equal(JSON.parse(record.Message).timestamp, date.toISOString());
    }
  }));

test('strings are escaped exactly like JSON.stringify', () =>
  withLogger(async (logger) => {
    const roomId = 'room "quoted" \\ back/slash\n\t\u0001 ünïcødé 🚀 \u2028';
    const sessionId = '{"not":"json"}';
    const timestamp = '2022-09-26T17:50:47.225Z';
    logger.logEvent(lib.windowOpened({ roomId, agent: SALES.username, tabId: 'tab "1"', timestamp }, sessionId));
    await logger.flush();
    assertOneFifoRecord(
      logger,
      SALES,
      expectedMessage({ agentId: SALES.agentId, roomId, tabId: 'tab "1"', category: 'Window', action: 'opened', properties: [['session_id', sessionId]], eventType: 'customerAction', timestamp }),
    );
  }));

test('the agent is chosen by bot username or by agent_id', () =>
  withLogger(async (logger) => {
    const names = [SUPPORT.username, SUPPORT.agentId, SALES.username, SALES.agentId];
    names.forEach((agent, i) => logger.logEvent(lib.escalationAttempted({ roomId: `r${i}`, agent })));
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 4 });
    const records = logger.records({ clear: true });
    assert.equal(records.length, 4);
    for (const [i, name] of names.entries()) {
      const agent = AGENTS.find((a) => a.username === name || a.agentId === name);
      const record = records.find((r) => JSON.parse(r.Message).roomId === `r${i}`);
      assert.equal(record.TopicArn, agent.topic, name);
      assert.equal(record.MessageGroupId, SITE_URL);
      assert.equal(JSON.parse(record.Message).dialogflowAgentId, agent.agentId, name);
    }
  }));

test('the agent may be omitted with one agent, not with two', async () => {
  const single = new SnsLogger({ siteUrl: SITE_URL, dfConfig: { [SALES.username]: dfConfig()[SALES.username] }, sink: { kind: 'memory' } });
  single.logEvent(lib.agentTransferSuccessful({ roomId: 'r1', timestamp: '2022-09-26T17:50:47.225Z' }));
  await single.flush();
  assertOneFifoRecord(
    single,
    SALES,
    expectedMessage({ agentId: SALES.agentId, roomId: 'r1', category: 'Agent Transfer', action: 'successful', eventType: 'session', timestamp: '2022-09-26T17:50:47.225Z' }),
  );
  await single.close();

  await withLogger(async (logger) => {
    assert.throws(
      () => logger.logEvent(lib.agentTransferSuccessful({ roomId: 'r1' })),
      (error) =>
        error instanceof Error &&
        error.code === 'ERR_UNKNOWN_AGENT' &&
        error.message.includes('agent') &&
        error.message.includes(`"${SUPPORT.username}"`) &&
        error.message.includes(`"${SALES.username}"`),
    );
    assert.equal(logger.stats().accepted, 0);
    await logger.flush();
    assert.deepEqual(logger.records(), []);
  });
});

test('a standard (non-FIFO) topic gets no MessageGroupId nor MessageDeduplicationId', async () => {
  const standardTopic = 'arn:aws:sns:us-east-1:123456789012:rc-standard-events';
  const config = dfConfig();
  config[SALES.username].sns_arn_topic = standardTopic;
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: config, sink: { kind: 'memory' } });
  const timestamp = '2022-09-26T17:50:47.225Z';
  logger.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: SALES.username, timestamp }));
  logger.logEvent(lib.surveyLinkClicked({ roomId: 'r2', agent: SUPPORT.username, timestamp }));
  assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 2 });
  const records = logger.records();
  const standard = records.find((r) => r.TopicArn === standardTopic);
  assert.deepEqual(standard, {
    TopicArn: standardTopic,
    Subject: 'RC',
    Message: expectedMessage({ agentId: SALES.agentId, roomId: 'r1', category: 'Survey', action: 'link_clicked', eventType: 'customerAction', timestamp }),
  });
  assert.ok(!('MessageGroupId' in standard) && !('MessageDeduplicationId' in standard));
  const fifo = records.find((r) => r.TopicArn === SUPPORT.topic);
  assert.equal(fifo.MessageGroupId, SITE_URL, 'the FIFO agent of the same logger still gets its group');
  checkDedupId(fifo.MessageDeduplicationId);
  await logger.close();
});

test('queue_time serialises as given: 42 as 42, 1.5 as 1.5, 0 as 0; properties in plan order', () =>
  withLogger(async (logger) => {
    const timestamp = '2022-09-26T17:50:47.225Z';
    for (const [queueTime, written] of [
      [42, '42'],
      [1.5, '1.5'],
      [0, '0'],
      [3600, '3600'],
      [0.25, '0.25'],
    ]) {
      logger.logEvent({
        roomId: 'r1',
        agent: SUPPORT.username,
        category: 'Escalation',
        action: 'successful',
        properties: { sf_chat_key: 'k1', queue_time: queueTime },
        timestamp,
      });
      await logger.flush();
      const [record] = logger.records({ clear: true });
      assert.equal(
        record.Message,
        `{"dialogflowAgentId":"${SUPPORT.agentId}","roomId":"r1","tabId":"","category":"Escalation","action":"successful","properties":{"queue_time":${written},"sf_chat_key":"k1"},"eventType":"session","timestamp":"${timestamp}"}`,
      );
    }
  }));

test('properties: {} is written for events without properties, whether given or not', () =>
  withLogger(async (logger) => {
    const timestamp = '2022-09-26T17:50:47.225Z';
    for (const properties of [undefined, {}]) {
      const event = { roomId: 'r1', agent: SUPPORT.username, category: 'Chat Session', action: 'started', timestamp };
      if (properties) event.properties = properties;
      logger.logEvent(event);
      await logger.flush();
      assertOneFifoRecord(
        logger,
        SUPPORT,
        expectedMessage({ agentId: SUPPORT.agentId, roomId: 'r1', category: 'Chat Session', action: 'started', eventType: 'session', timestamp }),
      );
    }
  }));

test('the default timestamp is now, in UTC with milliseconds', () =>
  withLogger(async (logger) => {
    const before = Date.now();
    logger.logEvent(lib.chatSessionStarted({ roomId: 'r1', agent: SUPPORT.username }));
    const after = Date.now();
    await logger.flush();
    const [record] = logger.records({ clear: true });
    const { timestamp } = JSON.parse(record.Message);
    assert.match(timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const ms = Date.parse(timestamp);
    assert.ok(ms >= before - 1 && ms <= after + 1, `${timestamp} is between ${new Date(before).toISOString()} and ${new Date(after).toISOString()}`);
  }));

test('log order is preserved across 25 events (per agent topic)', () =>
  withLogger(async (logger) => {
    const rooms = Array.from({ length: 25 }, (_, i) => `room-${String(i).padStart(2, '0')}`);
    for (const roomId of rooms) logger.logEvent(lib.surveyLinkClicked({ roomId, agent: SUPPORT.username }));
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 25 });
    const records = logger.records({ clear: true });
    assert.deepEqual(
      records.map((r) => JSON.parse(r.Message).roomId),
      rooms,
    );
    for (const r of records) checkDedupId(r.MessageDeduplicationId);

    // Interleaved over two agents: each topic keeps its own order.
    rooms.forEach((roomId, i) => logger.logEvent(lib.windowClosed({ roomId, agent: AGENTS[i % 3 === 0 ? 1 : 0].username })));
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 25 });
    const mixed = logger.records({ clear: true });
    for (const [k, agent] of AGENTS.entries()) {
      const expected = rooms.filter((_, i) => (i % 3 === 0 ? 1 : 0) === k);
      assert.deepEqual(
        mixed.filter((r) => r.TopicArn === agent.topic).map((r) => JSON.parse(r.Message).roomId),
        expected,
        agent.username,
      );
    }
  }));

test('flush reports count the events each flush waited for', () =>
  withLogger(async (logger) => {
    assert.deepEqual(await logger.flush(), NO_OUTCOMES, 'nothing logged yet');
    for (let i = 0; i < 3; i++) logger.logEvent(lib.escalationAttempted({ roomId: `r${i}`, agent: SUPPORT.username }));
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 3 });
    assert.deepEqual(await logger.flush(), NO_OUTCOMES, 'already reported');
    for (let i = 0; i < 12; i++) logger.logEvent(lib.escalationAttempted({ roomId: `r${i}`, agent: AGENTS[i % 2].username }));
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 12 });
    // Two flushes at once, nothing logged between them: together they report every event once.
    for (let i = 0; i < 5; i++) logger.logEvent(lib.escalationAttempted({ roomId: `r${i}`, agent: SALES.username }));
    const [a, b] = await Promise.all([logger.flush(), logger.flush()]);
    assert.equal(a.sent + b.sent, 5);
    assert.equal(logger.records({ clear: true }).length, 20);
  }));

// Regression test (fixed in bc44136): flush() once captured its epoch on the runtime thread
// after returning, so events logged right after it were counted in its report ('3/2', '4/1',
// ~15% of iterations); and with two flushes pending, whichever ran first took the tallies of
// all older epochs, so the earlier flush could resolve with nothing ('0/5', ~3%). 500
// iterations catch either reliably.
test('a flush reports exactly the events logged before it was called', async () => {
  const mismatches = [];
  for (let i = 0; i < 500; i++) {
    const logger = newLogger();
    logger.logEvent(lib.surveyLinkClicked({ roomId: 'before-1', agent: SUPPORT.username }));
    logger.logEvent(lib.surveyLinkClicked({ roomId: 'before-2', agent: SUPPORT.username }));
    const first = logger.flush();
    for (let k = 0; k < 3; k++) logger.logEvent(lib.surveyLinkClicked({ roomId: `after-${k}`, agent: SUPPORT.username }));
    const second = logger.flush();
    const [a, b] = await Promise.all([first, second]);
    if (a.sent !== 2 || b.sent !== 3) mismatches.push(`${a.sent}/${b.sent}`);
    await logger.close();
  }
  assert.deepEqual(mismatches, [], 'first/second flush reported sent counts other than 2/3');
});

test('stats counters follow accepted, sent and rejected events', () =>
  withLogger(async (logger) => {
    const zero = {
      accepted: 0,
      sent: 0,
      retried: 0,
      deadLettered: 0,
      spooled: 0,
      replayed: 0,
      dropped: 0,
      queueEvents: 0,
      queueBytes: 0,
      inFlightBatches: 0,
      requests: 0,
    };
    assert.deepEqual(logger.stats(), zero);
    for (let i = 0; i < 25; i++) logger.logEvent(lib.transcriptDownloadSelected({ roomId: `r${i}`, agent: SUPPORT.username }));
    const queued = logger.stats();
    assert.equal(queued.accepted, 25);
    assert.equal(queued.sent + queued.queueEvents, 25, 'every accepted event is sent or held');
    assert.throws(() => logger.logEvent(lib.transcriptDownloadSelected({ roomId: '' })), { code: 'ERR_INVALID_EVENT' });
    assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 25 });
    const { requests, ...rest } = logger.stats();
    const { requests: _none, ...zeroRest } = zero;
    assert.deepEqual(rest, { ...zeroRest, accepted: 25, sent: 25 }, 'rejected events are not counted; nothing is left queued');
    assert.ok(requests >= 3 && requests <= 25, `25 events of one group need 3 to 25 requests, made ${requests}`);

    logger.logEvent(lib.transcriptDownloadSelected({ roomId: 'r', agent: SALES.username }));
    await logger.flush();
    const after = logger.stats();
    assert.equal(after.accepted, 26);
    assert.equal(after.sent, 26);
    assert.equal(after.requests, requests + 1, 'one more request for one more event');
    assert.equal(after.lastErrorCode, undefined);
  }));

test("each logger names actions by its own plan: an extension's event is one logger's, not another's", async () => {
  const feedback = { categories: [{ category: 'Feedback', actions: [{ action: 'rated', eventType: 'customerAction' }] }] };
  const event = { agent: SALES.username, roomId: 'r1', category: 'Feedback', action: 'rated', timestamp: '2022-09-26T17:50:47.225Z' };
  const extended = newLogger({ planExtension: feedback });
  try {
    await withLogger(async (plain) => {
      assert.throws(() => plain.logEvent(event), (error) => error.code === 'ERR_UNKNOWN_CATEGORY' && error.message.includes('"Feedback"'));
      extended.logEvent(event);
      // A built-in event after the extension's, in both: each logger's indexes are its own.
      const built = lib.agentTransferSuccessful({ agent: SALES.username, roomId: 'r2', timestamp: '2022-09-26T17:50:47.225Z' });
      plain.logEvent(built);
      extended.logEvent(built);
      await Promise.all([plain.flush(), extended.flush()]);
      const transfer = expectedMessage({ ...built, properties: [], agentId: SALES.agentId, eventType: 'session' });
      assert.deepEqual(
        plain.records().map((r) => r.Message),
        [transfer],
      );
      assert.deepEqual(
        extended.records().map((r) => r.Message),
        [expectedMessage({ ...event, agentId: SALES.agentId, eventType: 'customerAction' }), transfer],
      );
    });
  } finally {
    await extended.close({ timeoutMs: 1000 });
  }
});
