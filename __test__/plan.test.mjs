// Tests for the generated plan/ artifacts: no drift, builders, constants, plain-JS loading.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  ROOT,
  actionSources,
  loadPlan,
  orphanSchemas,
  renderPlanDts,
  renderPlanJs,
  staleFiles,
  updateReadme,
} from '../scripts/generate-plan.mjs';
import { tempDir } from './support/fixtures.mjs';

const require = createRequire(import.meta.url);
const plan = loadPlan();
const lib = require('../plan/index.js');
const read = (file) => readFileSync(join(ROOT, file), 'utf8');
const events = plan.categories.flatMap((c) => c.actions.map((a) => ({ c, a })));

test('generated files match plan/tracking-plan.json (no drift)', () => {
  assert.equal(read('plan/index.js'), renderPlanJs(plan), 'plan/index.js is stale: run npm run generate');
  assert.equal(read('plan/index.d.ts'), renderPlanDts(plan), 'plan/index.d.ts is stale: run npm run generate');
  if (existsSync(join(ROOT, 'README.md'))) {
    const readme = read('README.md');
    const updated = updateReadme(readme, plan);
    if (updated !== null) assert.equal(readme, updated, 'README tracking-plan table is stale: run npm run generate');
  }
  assert.deepEqual(staleFiles(), []);
  assert.deepEqual(orphanSchemas(), []);
});

/** A copy of plan/ (generated files included) whose tracking plan `change` edits, without regenerating. */
function changedPlanRoot(change) {
  const root = tempDir('sns-logger-plan-drift-');
  cpSync(join(ROOT, 'plan'), join(root, 'plan'), { recursive: true });
  const edited = structuredClone(plan);
  change(edited);
  writeFileSync(join(root, 'plan/tracking-plan.json'), JSON.stringify(edited));
  return root;
}

test('a plan change without npm run generate leaves the JSON Schemas of what changed stale', () => {
  const root = changedPlanRoot((p) => {
    const failed = p.categories.find((c) => c.category === 'Escalation').actions.find((a) => a.action === 'failed');
    failed.properties[0].values.push({ value: 'queue full', name: 'QueueFull', sources: ['SF.app'] });
  });
  const stale = staleFiles(root).map(({ file }) => file.slice(root.length + 1));
  for (const file of ['plan/schema/escalation.failed.json', 'plan/schema/event.json', 'plan/index.js', 'plan/index.d.ts']) assert.ok(stale.includes(file), `${file} is not reported: ${stale.join(', ')}`);
  assert.ok(!stale.includes('plan/schema/survey.link-clicked.json'), 'an unchanged event keeps its schema');
  assert.deepEqual(orphanSchemas(root), []);
});

test('an event removed from the plan leaves its schema file behind as an orphan until npm run generate', () => {
  const root = changedPlanRoot((p) => {
    p.categories = p.categories.filter((c) => c.category !== 'Survey');
  });
  assert.deepEqual(orphanSchemas(root), [join(root, 'plan/schema/survey.link-clicked.json')]);
  assert.ok(staleFiles(root).some(({ file }) => file === join(root, 'plan/schema/event.json')));
});

test('generate-plan --check exits 0 when nothing drifted', () => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/generate-plan.mjs'), '--check'], { stdio: 'pipe' });
});

test('every event has a builder producing the right category, action and properties', () => {
  assert.equal(events.length, 11);
  for (const { c, a } of events) {
    const name = c.name[0].toLowerCase() + c.name.slice(1) + a.name;
    const build = lib[name];
    assert.equal(typeof build, 'function', `missing builder ${name}`);
    const sample = Object.fromEntries(
      a.properties.map((p) => [p.property, p.type === 'enum' ? p.values.at(-1).value : p.type === 'number' ? 7 : 'x']),
    );
    const args = a.properties.length === 1 ? [Object.values(sample)[0]] : a.properties.length ? [sample] : [];
    assert.deepEqual(build({ roomId: 'r1' }, ...args), { roomId: 'r1', category: c.category, action: a.action, properties: sample }, name);
  }
});

test('builders copy only the context fields that are present', () => {
  const timestamp = new Date(0);
  assert.deepEqual(lib.escalationFailed({ roomId: 'r', agent: 'a', tabId: 't', timestamp }, lib.FailureReason.NoAgentsAvailable), {
    roomId: 'r',
    category: 'Escalation',
    action: 'failed',
    properties: { failure_reason: 'no agents available' },
    agent: 'a',
    tabId: 't',
    timestamp,
  });
  const e = lib.windowClosed({ roomId: 'r', agent: undefined });
  assert.deepEqual(Object.keys(e), ['roomId', 'category', 'action', 'properties']);
  assert.deepEqual(e.properties, {});
});

test('constants match the JSON exactly', () => {
  const byName = (entries) => Object.fromEntries(entries);
  assert.deepEqual(lib.Category, byName(plan.categories.map((c) => [c.name, c.category])));
  assert.deepEqual(lib.Action, byName(plan.categories.map((c) => [c.name, byName(c.actions.map((a) => [a.name, a.action]))])));
  const enumProps = events.flatMap(({ a }) => a.properties.filter((p) => p.type === 'enum'));
  for (const p of enumProps) assert.deepEqual(lib[p.enum], byName(p.values.map((v) => [v.name, v.value])), p.enum);
  assert.deepEqual(lib.EventType, { CustomerAction: 'customerAction', Session: 'session' });
  assert.deepEqual(lib.Source, { SfApp: 'SF.app', DfApp: 'DF.app', Widget: 'Widget', RcCore: 'RC core' });
  assert.deepEqual(Object.values(lib.EventType).sort(), Object.keys(plan.eventTypes).sort());
  assert.deepEqual(Object.values(lib.Source), Object.keys(plan.sources));
  assert.deepEqual(lib.TRACKING_PLAN, plan);

  assert.equal(new Set(Object.values(lib.FailureReason)).size, 14);
  assert.equal(new Set(Object.values(lib.CloseMethod)).size, 8);
  assert.equal(Object.keys(lib.Category).length, 7);
  assert.equal(lib.Action.ChatSession.Closed, 'closed');
  assert.equal(lib.FailureReason.NoAgentsAvailable, 'no agents available');
  assert.deepEqual(actionSources(plan.categories[0].actions[0]), ['SF.app', 'Widget', 'RC core', 'DF.app']);
});

test('constants and the plan are deeply frozen', () => {
  for (const value of [lib.Category, lib.Action, lib.Action.Escalation, lib.FailureReason, lib.TRACKING_PLAN, lib.TRACKING_PLAN.categories[1].actions[1].properties[0].values[0]]) {
    assert.ok(Object.isFrozen(value));
  }
});

test('plan/index.js loads without native addons, from CommonJS and ESM', () => {
  const node = (...args) => execFileSync(process.execPath, ['--no-addons', ...args], { cwd: ROOT, encoding: 'utf8' }).trim();
  assert.equal(node('-e', "process.stdout.write(require('sns-logger/plan').FailureReason.NoAgentsAvailable)"), 'no agents available');
  assert.equal(
    node('--input-type=module', '-e', "import { FailureReason, escalationFailed } from './plan/index.js'; console.log(escalationFailed({ roomId: 'r' }, FailureReason.SalesforceError).properties.failure_reason)"),
    'salesforce error',
  );
  assert.equal(node('--input-type=module', '-e', "import { Category } from 'sns-logger/plan'; console.log(Category.ChatSession)"), 'Chat Session');
});
