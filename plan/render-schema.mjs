// The JSON Schemas (draft 2020-12) of a tracking plan's messages: one per event (category /
// action) describing the whole SNS `Message` the core writes (crates/core/src/message.rs), and
// one for any event of the plan. scripts/generate-plan.mjs writes the built-in plan's into
// plan/schema/ (exported as sns-logger/schema/<file>.json); `sns-logger schema` writes those of
// the plan with an extension; `sns-logger tail` checks what it reads against them. Shipped in
// the package for the latter two. docs/reading-the-events.md explains the $ids.
import { PROPERTY_TYPES, events } from './render.mjs';

export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/**
 * `$id`s are names, not addresses: `urn:sns-logger:schema:<name>`. The schemas travel in the
 * package and are loaded from it; an https $id on a domain the project does not hold would
 * invite validators to fetch it from someone else. No version in it: the $id of an event
 * stays the same while the plan grows (a new enum value), as the event itself does.
 */
export const SCHEMA_ID_PREFIX = 'urn:sns-logger:schema:';

/** The schema of any event of the plan (a `oneOf` over the events' schemas, bundled in it). */
export const ANY_EVENT_NAME = 'event';

/** The keys of every message, in the order the core writes them (the spec's). */
export const MESSAGE_KEYS = ['dialogflowAgentId', 'roomId', 'tabId', 'category', 'action', 'properties', 'eventType', 'timestamp'];

/** `2022-09-26T17:50:47.225Z`: UTC, milliseconds, as JavaScript's `toISOString()` writes it. */
export const TIMESTAMP_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$';

/** 'Chat Session' -> 'chat-session', 'link_clicked' -> 'link-clicked'. */
const slug = (s) =>
  s
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .join('-');

/** An event's schema name, its file name without `.json`: `chat-session.closed`. */
export const schemaName = (category, action) => `${slug(category)}.${slug(action)}`;

export const schemaId = (name) => `${SCHEMA_ID_PREFIX}${name}`;

/** A schema as its file holds it. */
export const schemaText = (schema) => `${JSON.stringify(schema, null, 2)}\n`;

const list = (xs) => xs.map((x) => `\`${x}\``).join(', ');

/** The fields every message has, whatever the event. */
const COMMON_FIELDS = {
  dialogflowAgentId: { type: 'string', minLength: 1, description: 'agent_id in df_config.json of the bot whose topic carries the event' },
  roomId: { type: 'string', minLength: 1, description: 'the Rocket.Chat room' },
  tabId: { type: 'string', description: 'the browser tab of a widget event; empty for every other event' },
};

const TIMESTAMP = {
  type: 'string',
  format: 'date-time',
  pattern: TIMESTAMP_PATTERN,
  description: 'when it happened: UTC with milliseconds, as JavaScript toISOString() writes it',
};

/**
 * `eventType`: the action's, unless an enum value it carries says otherwise (close_method
 * "chat window" is the visitor's). The core takes the last such property in plan order
 * (plan/validate.rs), so the last one is asked first here: an if/then/else chain ending in the
 * action's own type. Null when no value overrides it.
 */
function eventTypeRule(act) {
  let rule = null;
  for (const p of act.properties) {
    const byType = new Map();
    for (const v of (p.values ?? []).filter((v) => v.eventType)) byType.set(v.eventType, [...(byType.get(v.eventType) ?? []), v]);
    for (const [type, values] of byType) {
      const carries = {
        properties: { properties: { type: 'object', properties: { [p.property]: { enum: values.map((v) => v.value) } }, required: [p.property] } },
        required: ['properties'],
      };
      rule = { if: carries, then: { properties: { eventType: { const: type } } }, else: rule ?? { properties: { eventType: { const: act.eventType } } } };
    }
  }
  return rule;
}

function possibleTypes(act) {
  return [...new Set([act.eventType, ...act.properties.flatMap((p) => (p.values ?? []).map((v) => v.eventType).filter(Boolean))])];
}

function eventSchema(e, header) {
  const { cat, act } = e;
  const name = schemaName(cat.category, act.action);
  const properties = Object.fromEntries(
    act.properties.map((p) => {
      const type = PROPERTY_TYPES[p.type];
      const description = [p.description, type.describe(p)].filter(Boolean).join('; ');
      return [p.property, { ...type.schema(p), description }];
    }),
  );
  const rule = eventTypeRule(act);
  const types = possibleTypes(act);
  return {
    $schema: SCHEMA_DIALECT,
    $id: schemaId(name),
    $comment: header,
    title: `${cat.category} / ${act.action}`,
    description: [
      `The SNS Message of the ${cat.category} / ${act.action} event: a JSON object whose keys come in this order: ${list(MESSAGE_KEYS)}.`,
      `eventType: ${e.eventTypeText.replaceAll('`', '')}.`,
      `Sources: ${e.sources.length ? e.sources.join(', ') : 'not decided'}.`,
      ...(act.note ? [`Note: ${act.note}.`] : []),
    ].join(' '),
    type: 'object',
    properties: {
      ...COMMON_FIELDS,
      category: { const: cat.category },
      action: { const: act.action },
      properties: { type: 'object', properties, required: act.properties.map((p) => p.property), additionalProperties: false },
      eventType: types.length === 1 ? { const: types[0] } : { enum: types },
      timestamp: TIMESTAMP,
    },
    required: MESSAGE_KEYS,
    additionalProperties: false,
    ...(rule ?? {}),
  };
}

/**
 * The schemas of `plan` (the built-in plan, or one with an extension merged): `[{ name,
 * schema }]`, one per event in plan order, then {@link ANY_EVENT_NAME}, which bundles them
 * (each under `$defs`, keeping its `$id`) so that it alone validates any event. `header` goes
 * into each `$comment`. Throws when two events would get one name.
 */
export function renderSchemas(plan, header) {
  const perEvent = events(plan).map((e) => ({ name: schemaName(e.cat.category, e.act.action), schema: eventSchema(e, header), e }));
  const seen = new Map();
  for (const { name, e } of perEvent) {
    const other = seen.get(name);
    if (other) throw new Error(`the events ${JSON.stringify(`${other.cat.category} / ${other.act.action}`)} and ${JSON.stringify(`${e.cat.category} / ${e.act.action}`)} would share the schema name ${name}`);
    seen.set(name, e);
  }
  // An embedded schema resource keeps its $id; $schema stays at the document's root.
  const bundled = Object.fromEntries(perEvent.map(({ name, schema: { $schema, $comment, ...schema } }) => [name, schema]));
  const anyEvent = {
    $schema: SCHEMA_DIALECT,
    $id: schemaId(ANY_EVENT_NAME),
    $comment: header,
    title: 'Any event of the tracking plan',
    description: `The SNS Message of any event of the tracking plan: exactly one of the events' schemas (bundled under $defs, each with its own $id) matches. Keys in this order: ${list(MESSAGE_KEYS)}.`,
    oneOf: perEvent.map(({ name }) => ({ $ref: schemaId(name) })),
    $defs: bundled,
  };
  return [...perEvent.map(({ name, schema }) => ({ name, schema })), { name: ANY_EVENT_NAME, schema: anyEvent }];
}
