// The file sink's line format, configuration from the environment, close(), process exit,
// and the package entry (re-exports, ESM named imports, plain-JS plan loading).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { NO_OUTCOMES, SALES as FIFO_SALES, SITE_URL, SUPPORT, TS, childEnv, clearSnsLoggerEnv, dfConfig as dfConfigOf, j, tempDir } from './support/fixtures.mjs';
import { waitUntil } from './support/wait.mjs';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INDEX = join(ROOT, 'index.js');
const PLAN = join(ROOT, 'plan', 'index.js');
const lib = require(INDEX);
const plan = require(PLAN);
const { SnsLogger } = lib;

clearSnsLoggerEnv();

// Here the sales bot publishes to a standard (non-FIFO) topic: the sinks write both kinds of request.
const SALES = { ...FIFO_SALES, topic: 'arn:aws:sns:eu-west-1:210987654321:rc-sales-events' };
const dfConfig = () => dfConfigOf([SUPPORT, SALES]);
const FIFO_KEYS = ['TopicArn', 'Subject', 'MessageGroupId', 'MessageDeduplicationId', 'Message'];

const tmp = tempDir('sns-logger-sinks-');
let fileCounter = 0;
const tmpFile = (name) => join(tmp, `${fileCounter++}-${name}`);

const message = (agentId, roomId, category = 'Survey', action = 'link_clicked', properties = '{}', eventType = 'customerAction', tabId = '') =>
  `{"dialogflowAgentId":"${agentId}","roomId":"${roomId}","tabId":"${tabId}","category":"${category}","action":"${action}","properties":${properties},"eventType":"${eventType}","timestamp":"${TS}"}`;

function readLines(path) {
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the file ends with a newline');
  return text.split('\n').slice(0, -1);
}

function runNode(args, { env = {}, timeout = 15_000, cwd = ROOT } = {}) {
  return spawnSync(process.execPath, args, { env: childEnv(env), encoding: 'utf8', timeout, cwd });
}

/** `promise`, or a failure naming `what` if it has not settled after `ms` (a hang, not a slow machine). */
function within(ms, what, promise) {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle in ${ms} ms`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

function assertExitedCleanly(result) {
  assert.equal(result.error, undefined, `child: ${result.error}`);
  assert.equal(result.signal, null, `child was killed by ${result.signal} (did not exit by itself)\nstderr: ${result.stderr}`);
  assert.equal(result.status, 0, `child exited with ${result.status}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

// ---- file sink ----

test('the file sink appends one JSON request per line, keys in SNS order, Message the exact string', async () => {
  const path = join(tmp, 'nested', 'dir', 'events.jsonl'); // missing directories are created
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'file', path } });
  logger.logEvent(plan.surveyLinkClicked({ roomId: 'r1', agent: SUPPORT.username, tabId: 'tab-1', timestamp: TS }));
  logger.logEvent(plan.escalationSuccessful({ roomId: 'r2', agent: SUPPORT.agentId, timestamp: '2022-09-26T19:50:47.225+02:00' }, { queue_time: 1.5, sf_chat_key: 'k"1' }));
  logger.logEvent(plan.windowClosed({ roomId: 'r3', agent: SALES.username, timestamp: new Date(TS) }));
  assert.deepEqual(await logger.flush(), { ...NO_OUTCOMES, sent: 3 });
  assert.throws(() => logger.records(), { code: 'ERR_INVALID_OPTIONS', message: /memory sink/ });

  const lines = readLines(path);
  assert.equal(lines.length, 3);
  const requests = lines.map((line) => JSON.parse(line));
  for (const [i, line] of lines.entries()) assert.equal(line, JSON.stringify(requests[i]), 'compact JSON, one object per line');

  const fifo = requests.filter((r) => r.TopicArn === SUPPORT.topic);
  assert.equal(fifo.length, 2);
  for (const r of fifo) {
    assert.deepEqual(Object.keys(r), FIFO_KEYS);
    assert.equal(typeof r.MessageDeduplicationId, 'string');
    assert.ok(r.MessageDeduplicationId.length > 0 && r.MessageDeduplicationId.length <= 128);
  }
  assert.notEqual(fifo[0].MessageDeduplicationId, fifo[1].MessageDeduplicationId);
  assert.deepEqual(fifo[0], {
    TopicArn: SUPPORT.topic,
    Subject: 'RC',
    MessageGroupId: SITE_URL,
    MessageDeduplicationId: fifo[0].MessageDeduplicationId,
    Message: message(SUPPORT.agentId, 'r1', 'Survey', 'link_clicked', '{}', 'customerAction', 'tab-1'),
  });
  assert.deepEqual(fifo[1], {
    TopicArn: SUPPORT.topic,
    Subject: 'RC',
    MessageGroupId: SITE_URL,
    MessageDeduplicationId: fifo[1].MessageDeduplicationId,
    Message: message(SUPPORT.agentId, 'r2', 'Escalation', 'successful', '{"queue_time":1.5,"sf_chat_key":"k\\"1"}', 'session'),
  });
  // A standard topic: no FIFO fields at all.
  const standard = requests.find((r) => r.TopicArn === SALES.topic);
  assert.deepEqual(Object.keys(standard), ['TopicArn', 'Subject', 'Message']);
  assert.deepEqual(standard, { TopicArn: SALES.topic, Subject: 'RC', Message: message(SALES.agentId, 'r3', 'Window', 'closed') });

  // Appends: a second logger on the same file keeps what is there.
  await logger.close();
  const second = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'file', path } });
  second.logEvent(plan.chatSessionStarted({ roomId: 'r4', agent: SUPPORT.username, timestamp: TS }));
  assert.deepEqual(await second.close(), { ...NO_OUTCOMES, sent: 1, timedOut: false, leftInSpool: 0 });
  const all = readLines(path);
  assert.deepEqual(all.slice(0, 3), lines);
  assert.equal(JSON.parse(all[3]).Message, message(SUPPORT.agentId, 'r4', 'Chat Session', 'started', '{}', 'session'));
});

test('the file sink survives two loggers appending to the same file', async () => {
  const path = tmpFile('shared.jsonl');
  writeFileSync(path, `${j({ existing: true })}\n`);
  const a = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'file', path }, lingerMs: 0 });
  const b = new SnsLogger({ siteUrl: 'https://other.example.com', dfConfig: dfConfig(), sink: { kind: 'file', path }, lingerMs: 0 });
  const count = 300;
  for (let i = 0; i < count; i++) {
    a.logEvent(plan.surveyLinkClicked({ roomId: `a-${i}`, agent: SUPPORT.username, timestamp: TS }));
    b.logEvent(plan.surveyLinkClicked({ roomId: `b-${i}`, agent: SUPPORT.username, timestamp: TS }));
    if (i % 50 === 0) await new Promise(setImmediate); // let batches go out while logging continues
  }
  const [ra, rb] = await Promise.all([a.close(), b.close()]);
  assert.deepEqual(ra, { ...NO_OUTCOMES, sent: count, timedOut: false, leftInSpool: 0 });
  assert.deepEqual(rb, { ...NO_OUTCOMES, sent: count, timedOut: false, leftInSpool: 0 });
  const lines = readLines(path);
  assert.equal(lines.length, 1 + 2 * count);
  assert.deepEqual(JSON.parse(lines[0]), { existing: true });
  const requests = lines.slice(1).map((line) => JSON.parse(line)); // a torn line would throw here
  for (const r of requests) assert.deepEqual(Object.keys(r), FIFO_KEYS);
  const rooms = (group) => requests.filter((r) => r.MessageGroupId === group).map((r) => JSON.parse(r.Message).roomId);
  assert.deepEqual(rooms(SITE_URL), Array.from({ length: count }, (_, i) => `a-${i}`), 'logger a kept its order');
  assert.deepEqual(rooms('https://other.example.com'), Array.from({ length: count }, (_, i) => `b-${i}`), 'logger b kept its order');
  assert.equal(new Set(requests.map((r) => r.MessageDeduplicationId)).size, 2 * count);
});

test('the file sink survives two processes appending to the same file', async () => {
  const path = tmpFile('two-processes.jsonl');
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, j(dfConfig()));
  const count = 400;
  const writer = (name) =>
    new Promise((resolve, reject) => {
      const script = `
        const lib = require(${j(INDEX)});
        lib.init();
        for (let i = 0; i < ${count}; i++) lib.logEvent(lib.windowOpened({ roomId: '${name}-' + i, agent: 'support.bot', timestamp: ${j(TS)} }, 'session-' + i));
        lib.close().then((report) => console.log(JSON.stringify(report)));
      `;
      const child = spawn(process.execPath, ['-e', script], {
        env: childEnv({ SNS_LOGGER_SITE_URL: `https://${name}.example.com`, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: `file:${path}` }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(JSON.parse(stdout));
        else reject(new Error(`${name} exited with ${code ?? signal}: ${stderr}`));
      });
    });
  const reports = await Promise.all([writer('p1'), writer('p2')]);
  for (const report of reports) assert.deepEqual(report, { ...NO_OUTCOMES, sent: count, timedOut: false, leftInSpool: 0 });
  const requests = readLines(path).map((line) => JSON.parse(line));
  assert.equal(requests.length, 2 * count);
  for (const name of ['p1', 'p2']) {
    const mine = requests.filter((r) => r.MessageGroupId === `https://${name}.example.com`).map((r) => JSON.parse(r.Message));
    assert.deepEqual(
      mine.map((m) => m.roomId),
      Array.from({ length: count }, (_, i) => `${name}-${i}`),
    );
    assert.ok(mine.every((m, i) => m.properties.session_id === `session-${i}`));
  }
});

// ---- environment ----

test('init() from the environment only: file sink', () => {
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, JSON.stringify(dfConfig(), null, 2));
  const out = join(tmp, `env-${fileCounter++}`, 'events.jsonl');
  const result = runNode(
    [
      '-e',
      `const lib = require(${j(INDEX)});
       lib.init();
       lib.logEvent(lib.escalationFailed({ roomId: 'env-room', agent: 'support.bot', timestamp: '2022-09-26T19:50:47.225+02:00' }, lib.FailureReason.NoAgentsAvailable));
       lib.close().then((report) => console.log(JSON.stringify(report)));`,
    ],
    { env: { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: `file:${out}` } },
  );
  assertExitedCleanly(result);
  assert.deepEqual(JSON.parse(result.stdout), { ...NO_OUTCOMES, sent: 1, timedOut: false, leftInSpool: 0 });
  const [line, ...rest] = readLines(out);
  assert.deepEqual(rest, []);
  const request = JSON.parse(line);
  assert.deepEqual(Object.keys(request), FIFO_KEYS);
  assert.deepEqual(request, {
    TopicArn: SUPPORT.topic,
    Subject: 'RC',
    MessageGroupId: SITE_URL,
    MessageDeduplicationId: request.MessageDeduplicationId,
    Message: message(SUPPORT.agentId, 'env-room', 'Escalation', 'failed', '{"failure_reason":"no agents available"}', 'session'),
  });
});

test('init() from the environment only: memory sink, plan extension; options override the environment', () => {
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, j(dfConfig()));
  const extPath = tmpFile('plan-extension.json');
  writeFileSync(extPath, j({ categories: [{ category: 'Bot', actions: [{ action: 'greeted', eventType: 'session' }] }] }));
  const result = runNode(
    [
      '-e',
      `const lib = require(${j(INDEX)});
       (async () => {
         lib.init();
         lib.logEvent(lib.surveyLinkClicked({ roomId: 'env-room', agent: 'sales.bot', timestamp: ${j(TS)} }));
         lib.logCustomEvent({ roomId: 'env-room', agent: 'sales.bot', category: 'Bot', action: 'greeted', timestamp: ${j(TS)} });
         const flush = await lib.flush();
         const records = lib.records({ clear: true });
         await lib.close();
         lib.init({ siteUrl: 'https://override.example.com' });
         lib.logEvent(lib.surveyLinkClicked({ roomId: 'r2', agent: 'support.bot', timestamp: ${j(TS)} }));
         await lib.flush();
         const overridden = lib.records();
         await lib.close();
         console.log(JSON.stringify({ flush, records, overridden }));
       })();`,
    ],
    { env: { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'memory', SNS_LOGGER_PLAN_EXTENSION: extPath } },
  );
  assertExitedCleanly(result);
  const out = JSON.parse(result.stdout);
  assert.deepEqual(out.flush, { ...NO_OUTCOMES, sent: 2 });
  assert.deepEqual(out.records, [
    { TopicArn: SALES.topic, Subject: 'RC', Message: message(SALES.agentId, 'env-room') },
    { TopicArn: SALES.topic, Subject: 'RC', Message: message(SALES.agentId, 'env-room', 'Bot', 'greeted', '{}', 'session') },
  ]);
  assert.equal(out.overridden.length, 1);
  assert.equal(out.overridden[0].MessageGroupId, 'https://override.example.com');
});

test('bad environment values are rejected with the variable named', () => {
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, j(dfConfig()));
  const script = `const lib = require(${j(INDEX)});
    try { lib.init(); console.log(JSON.stringify({ ok: true })); lib.close(); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const cases = [
    [{ SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'kafka' }, 'ERR_INVALID_OPTIONS', ['SNS_LOGGER_SINK', '"kafka"', '"file:PATH"']],
    [{ SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'file:' }, 'ERR_INVALID_OPTIONS', ['SNS_LOGGER_SINK', '"file:"']],
    [{ SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: join(tmp, 'missing.json'), SNS_LOGGER_SINK: 'memory' }, 'ERR_INVALID_CONFIG', ['missing.json']],
    [{ SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'memory' }, 'ERR_INVALID_OPTIONS', ['SNS_LOGGER_SITE_URL']],
    [{ SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_SINK: 'memory' }, 'ERR_INVALID_CONFIG', ['SNS_LOGGER_DF_CONFIG']],
    [{ SNS_LOGGER_SITE_URL: 'not a url with spaces', SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'memory' }, 'ERR_INVALID_OPTIONS', ['"not a url with spaces"']],
    [{ SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'memory', SNS_LOGGER_PLAN_EXTENSION: join(tmp, 'nope.json') }, 'ERR_INVALID_PLAN', ['nope.json']],
  ];
  for (const [env, code, includes] of cases) {
    const result = runNode(['-e', script], { env });
    assertExitedCleanly(result);
    const out = JSON.parse(result.stdout);
    assert.equal(out.code, code, `${j(env)}: ${out.message}`);
    for (const part of includes) assert.ok(out.message.includes(part), `${j(out.message)} should mention ${j(part)}`);
  }
});

// ---- close() and process exit ----

test('close() resolves with { sent, deadLettered, spooled, dropped, timedOut, leftInSpool }', async () => {
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' }, lingerMs: 60_000 });
  for (let i = 0; i < 3; i++) logger.logEvent(plan.agentDisconnectTriggered({ roomId: `r${i}`, agent: SUPPORT.username, timestamp: TS }));
  assert.equal(logger.closed, false);
  const report = await logger.close({ timeoutMs: 2000 });
  assert.deepEqual(Object.keys(report).sort(), ['deadLettered', 'dropped', 'leftInSpool', 'sent', 'spooled', 'timedOut']);
  assert.deepEqual(report, { sent: 3, deadLettered: 0, spooled: 0, dropped: 0, timedOut: false, leftInSpool: 0 }, 'close() sends what lingers');
  assert.equal(logger.closed, true);
  assert.equal(logger.records().length, 3);
  assert.deepEqual(logger.stats().queueEvents, 0);
});

const failingFile = '/dev/full'; // every write fails with ENOSPC: the sink keeps retrying

test('close() never hangs past timeoutMs when the sink keeps failing', { skip: !existsSync(failingFile) && 'no /dev/full' }, async () => {
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'file', path: failingFile } });
  for (let i = 0; i < 3; i++) logger.logEvent(plan.agentDisconnectTriggered({ roomId: `r${i}`, agent: SUPPORT.username }));
  // Failing and retrying: wait until each event was retried (the bound only catches a hang).
  const retrying = Date.now() + 10_000;
  while (logger.stats().retried < 3 && Date.now() < retrying) await new Promise((resolve) => setTimeout(resolve, 10));
  const failing = logger.stats();
  assert.equal(failing.sent, 0);
  assert.ok(failing.retried >= 3, `retried ${failing.retried}`);
  assert.equal(failing.lastErrorCode, 'FileWriteError');
  // It gives up at its deadline (timedOut); how soon after is the Rust test's and the bench's
  // (close_resolves_soon_after_its_deadline_whatever_the_queue_holds): here only a hang fails.
  const report = await within(30_000, 'close()', logger.close({ timeoutMs: 300 }));
  assert.equal(report.timedOut, true);
  assert.equal(report.sent, 0);
  assert.equal(report.sent + report.deadLettered + report.spooled + report.dropped, 3, 'every event is accounted for');
  assert.equal(logger.stats().queueEvents, 0);
});

test('with a spoolDir, close() spools what is left at its deadline; the next logger replays it in order', { skip: !existsSync(failingFile) && 'no /dev/full' }, async () => {
  const spoolDir = join(tmp, `spool-${fileCounter++}`);
  const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'file', path: failingFile }, spoolDir });
  for (let i = 0; i < 3; i++) logger.logEvent(plan.agentDisconnectTriggered({ roomId: `r${i}`, agent: SUPPORT.username, timestamp: TS }));
  const report = await within(30_000, 'close()', logger.close({ timeoutMs: 200 }));
  assert.deepEqual(report, { sent: 0, deadLettered: 0, spooled: 3, dropped: 0, timedOut: true, leftInSpool: 3 });
  assert.equal(logger.stats().spooled, 3);

  const next = new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' }, spoolDir });
  await waitUntil(() => next.records().length >= 3, 'the next logger to replay the 3 spooled events', { timeoutMs: 5000, failOnTimeout: false });
  await next.flush();
  const records = next.records();
  assert.deepEqual(
    records.map(({ MessageDeduplicationId, ...rest }) => rest),
    [0, 1, 2].map((i) => ({
      TopicArn: SUPPORT.topic,
      Subject: 'RC',
      MessageGroupId: SITE_URL,
      Message: message(SUPPORT.agentId, `r${i}`, 'Agent Disconnect', 'triggered', '{}', 'session'),
    })),
  );
  assert.equal(next.stats().replayed, 3);
  await next.close();
});

test("durability 'disk': flush() resolves once the events are in the spool; SIGKILL after it loses none, the next start sends them in order", () => {
  const spoolDir = join(tmp, `disk-${fileCounter++}`);
  const options = { siteUrl: SITE_URL, dfConfig: dfConfig(), spoolDir, durability: 'disk', retryBudgetMs: 200 };
  // The sink cannot write (/dev/full): nothing is sent before the kill.
  const first = runNode(
    [
      '-e',
      `const lib = require(${j(INDEX)});
       const logger = new lib.SnsLogger({ ...${j(options)}, sink: { kind: 'file', path: ${j(failingFile)} } });
       for (let i = 0; i < 50; i++) logger.logEvent(lib.surveyLinkClicked({ roomId: 'disk-' + i, agent: 'sales.bot', timestamp: ${j(TS)} }));
       logger.flush().then((report) => { console.log(JSON.stringify(report)); process.kill(process.pid, 'SIGKILL'); });`,
    ],
    { timeout: 20_000 },
  );
  assert.equal(first.signal, 'SIGKILL', first.stderr);
  assert.deepEqual(JSON.parse(first.stdout), { ...NO_OUTCOMES, spooled: 50 });
  const next = runNode(
    [
      '-e',
      `const lib = require(${j(INDEX)});
       const logger = new lib.SnsLogger({ ...${j(options)}, sink: { kind: 'memory' } });
       (async () => {
         const deadline = Date.now() + 10000;
         while (logger.records().length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
         await logger.flush();
         console.log(JSON.stringify(logger.records().map((r) => JSON.parse(r.Message).roomId)));
         await logger.close();
       })();`,
    ],
    { timeout: 20_000 },
  );
  assertExitedCleanly(next);
  assert.deepEqual(JSON.parse(next.stdout), Array.from({ length: 50 }, (_, i) => `disk-${i}`));
});

test("durability 'disk' needs a spool directory, and a bad durability, fsync or maxSpoolBytes is named", () => {
  const base = { siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' } };
  assert.throws(() => new SnsLogger({ ...base, durability: 'disk' }), { code: 'ERR_INVALID_OPTIONS', message: /durability "disk" needs a spool directory/ });
  assert.throws(() => new SnsLogger({ ...base, durability: 'ssd' }), { code: 'ERR_INVALID_OPTIONS', message: /durability.*ssd.*memory.*disk/s });
  assert.throws(() => new SnsLogger({ ...base, fsync: 'always' }), { code: 'ERR_INVALID_OPTIONS', message: /fsync.*always.*none.*commit/s });
  assert.throws(() => new SnsLogger({ ...base, maxSpoolBytes: 10 }), { code: 'ERR_INVALID_OPTIONS', message: /maxSpoolBytes/ });
  const file = tmpFile('not-a-dir');
  writeFileSync(file, '');
  assert.throws(() => new SnsLogger({ ...base, durability: 'disk', spoolDir: file }), {
    code: 'ERR_INVALID_OPTIONS',
    message: new RegExp(`spoolDir "${file}" cannot be used: it is a file, not a directory`),
  });
});

test('the logger does not keep the process alive: a child that never closes exits promptly with 0', () => {
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, j(dfConfig()));
  const script = `const lib = require(${j(INDEX)});
    lib.init();
    lib.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: 'support.bot' }));
    const other = new lib.SnsLogger({ siteUrl: 'x', dfConfig: ${j(dfConfig())}, sink: { kind: 'memory' }, lingerMs: 60000 });
    other.logEvent(lib.surveyLinkClicked({ roomId: 'r1', agent: 'sales.bot' }));
    console.log('logged');`;
  for (const sink of ['memory', `file:${tmpFile('never-closed.jsonl')}`]) {
    const result = runNode(['-e', script], { env: { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: sink }, timeout: 30_000 });
    // A child kept alive would be killed at the timeout: assertExitedCleanly sees the signal.
    assertExitedCleanly(result);
    assert.equal(result.stdout.trim(), 'logged');
  }
});

test('a child that never closes spools what it holds at exit (spoolDir), and the next start replays it', () => {
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, j(dfConfig()));
  const spoolDir = join(tmp, `exit-spool-${fileCounter++}`);
  const env = { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: 'memory', SNS_LOGGER_SPOOL_DIR: spoolDir };
  const first = runNode(
    ['-e', `const lib = require(${j(INDEX)}); lib.init({ lingerMs: 60000 }); for (let i = 0; i < 3; i++) lib.logEvent(lib.surveyLinkClicked({ roomId: 'exit-' + i, agent: 'sales.bot', timestamp: ${j(TS)} }));`],
    { env, timeout: 5000 },
  );
  assertExitedCleanly(first);
  const second = runNode(
    [
      '-e',
      `const lib = require(${j(INDEX)});
       lib.init();
       (async () => {
         const deadline = Date.now() + 5000;
         while (lib.records().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
         console.log(JSON.stringify({ records: lib.records(), replayed: lib.stats().replayed }));
         await lib.close();
       })();`,
    ],
    { env, timeout: 10_000 },
  );
  assertExitedCleanly(second);
  const out = JSON.parse(second.stdout);
  assert.equal(out.replayed, 3);
  assert.deepEqual(
    out.records.map((r) => r.Message),
    [0, 1, 2].map((i) => message(SALES.agentId, `exit-${i}`)),
  );
});

test('a child that closes exits promptly with 0 once close() resolves, everything written', () => {
  const dfPath = tmpFile('df_config.json');
  writeFileSync(dfPath, j(dfConfig()));
  const out = tmpFile('closed.jsonl');
  const script = `const lib = require(${j(INDEX)});
    lib.init();
    for (let i = 0; i < 25; i++) lib.logEvent(lib.surveyLinkClicked({ roomId: 'r' + i, agent: 'support.bot', timestamp: ${j(TS)} }));
    lib.close({ timeoutMs: 2000 }).then((report) => console.log(JSON.stringify(report)));`;
  const result = runNode(['-e', script], { env: { SNS_LOGGER_SITE_URL: SITE_URL, SNS_LOGGER_DF_CONFIG: dfPath, SNS_LOGGER_SINK: `file:${out}` }, timeout: 5000 });
  assertExitedCleanly(result);
  assert.deepEqual(JSON.parse(result.stdout), { ...NO_OUTCOMES, sent: 25, timedOut: false, leftInSpool: 0 });
  assert.deepEqual(
    readLines(out).map((line) => JSON.parse(JSON.parse(line).Message).roomId),
    Array.from({ length: 25 }, (_, i) => `r${i}`),
  );
});

// ---- the package entry ----

test('index.js re-exports every export of plan/index.js, unchanged', () => {
  const planKeys = Object.keys(plan).sort();
  const ownKeys = ['SnsLogger', 'close', 'flush', 'init', 'logCustomEvent', 'logEvent', 'records', 'serve', 'stats'];
  assert.deepEqual(Object.keys(lib).sort(), [...planKeys, ...ownKeys].sort());
  for (const key of planKeys) assert.equal(lib[key], plan[key], key);
  assert.ok(planKeys.length >= 18, `plan exports ${planKeys.length} names`);
});

test('ESM named imports from the package entry work for every export', () => {
  const names = Object.keys(lib);
  const script = `
    import { ${names.join(', ')} } from ${j(INDEX)};
    import * as all from ${j(INDEX)};
    import { FailureReason as F2, windowOpened as w2 } from 'sns-logger/plan';
    import { init as init2 } from 'sns-logger';
    const got = { ${names.map((n) => `${j(n)}: typeof ${n}`).join(', ')} };
    console.log(JSON.stringify({ got, all: Object.keys(all).filter((k) => k !== 'default').sort(), reason: FailureReason.SalesforceError, same: F2 === FailureReason && typeof w2 === 'function' && init2 === init }));
  `;
  const result = runNode(['--input-type=module', '-e', script]);
  assertExitedCleanly(result);
  const out = JSON.parse(result.stdout);
  for (const name of names) assert.equal(out.got[name], typeof lib[name], name);
  assert.deepEqual(out.all, [...names].sort());
  assert.equal(out.reason, 'salesforce error');
  assert.equal(out.same, true);

  const minimal = runNode(['--input-type=module', '-e', `import { init, FailureReason } from ${j(INDEX)}; console.log(typeof init, FailureReason.NoAgentsAvailable);`]);
  assertExitedCleanly(minimal);
  assert.equal(minimal.stdout.trim(), 'function no agents available');
});

test('plan/index.js loads with --no-addons (plain JavaScript)', () => {
  const result = runNode([
    '--no-addons',
    '-e',
    `const plan = require(${j(PLAN)});
     const event = plan.escalationFailed({ roomId: 'r1' }, plan.FailureReason.SalesforceError);
     console.log(JSON.stringify({ event, categories: plan.TRACKING_PLAN.categories.length, frozen: Object.isFrozen(plan.TRACKING_PLAN) }));`,
  ]);
  assertExitedCleanly(result);
  assert.deepEqual(JSON.parse(result.stdout), {
    event: { roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'salesforce error' } },
    categories: 7,
    frozen: true,
  });
  const viaExports = runNode(['--no-addons', '-e', `const p = require('sns-logger/plan'); console.log(typeof p.windowOpened);`]);
  assertExitedCleanly(viaExports);
  assert.equal(viaExports.stdout.trim(), 'function');
});

test("an in-process logger leaves a core to the host where cores are few: one delivery thread on 2 cores, two on more; the relay keeps two", () => {
  // In children: the runtime is one per process, started by the first front door.
  const threadsOf = (script) => {
    const result = runNode(['-e', script]);
    assertExitedCleanly(result);
    return JSON.parse(result.stdout);
  };
  const listThreads = `require('node:fs').readdirSync('/proc/self/task').map((task) => require('node:fs').readFileSync('/proc/self/task/' + task + '/comm', 'utf8').trim()).filter((name) => name === 'sns-logger').length`;
  const inProcess = threadsOf(
    `const { SnsLogger } = require(${j(INDEX)});
     const cores = require('node:os').availableParallelism();
     const logger = new SnsLogger({ siteUrl: ${j(SITE_URL)}, dfConfig: ${j(dfConfig())}, sink: { kind: 'memory' } });
     logger.logEvent({ agent: 'support.bot', roomId: 'r1', category: 'Survey', action: 'link_clicked' });
     logger.flush().then(async () => {
       const threads = ${listThreads};
       await logger.close();
       console.log(JSON.stringify({ cores, threads }));
     });`,
  );
  assert.equal(inProcess.threads, inProcess.cores <= 2 ? 1 : 2, `delivery threads on ${inProcess.cores} cores`);
  const relay = threadsOf(
    `const { serve } = require(${j(INDEX)});
     const relay = serve({ port: 0, adminPort: 0, logger: { siteUrl: ${j(SITE_URL)}, dfConfig: ${j(dfConfig())}, sink: { kind: 'memory' } } });
     setTimeout(async () => {
       const threads = ${listThreads};
       await relay.close();
       console.log(JSON.stringify({ threads }));
     }, 200);`,
  );
  assert.equal(relay.threads, 2, "the relay's runtime threads");
});
