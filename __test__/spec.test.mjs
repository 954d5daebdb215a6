// The tracking plan against the spec's own text (support/spec.mjs): every category, action,
// property and enum value the spec lists is in plan/tracking-plan.json, spelled and ordered
// as there, and the plan has nothing the spec does not list.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { SPEC_EVENT_TYPES, SPEC_EVENTS } from './support/spec.mjs'

const plan = JSON.parse(readFileSync(new URL('../plan/tracking-plan.json', import.meta.url), 'utf8'))

/** The plan in the fixture's shape. */
function planEvents() {
  return Object.fromEntries(
    plan.categories.map((category) => [
      category.category,
      Object.fromEntries(
        category.actions.map((action) => [
          action.action,
          Object.fromEntries(action.properties.map((p) => [p.property, p.type === 'enum' ? p.values.map((v) => v.value) : p.type])),
        ]),
      ),
    ]),
  )
}

test('the plan has exactly the spec\'s categories, actions, properties and values, in the spec\'s order', () => {
  const events = planEvents()
  assert.deepEqual(events, SPEC_EVENTS)
  // deepEqual ignores key order: the order of categories, actions and values is part of the contract.
  assert.deepEqual(Object.keys(events), Object.keys(SPEC_EVENTS))
  for (const [category, actions] of Object.entries(SPEC_EVENTS)) assert.deepEqual(Object.keys(events[category]), Object.keys(actions), category)
})

test('the plan has exactly the spec\'s two event types', () => {
  assert.deepEqual(Object.keys(plan.eventTypes).sort(), [...SPEC_EVENT_TYPES].sort())
})
