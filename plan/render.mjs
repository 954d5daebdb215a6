// Renders what is generated from a tracking plan: plan/index.js, plan/index.mjs, plan/index.d.ts,
// the README table (scripts/generate-plan.mjs writes them) and the plan part of an app's client
// (`sns-logger generate-client`, cli/generate-client.js). Shipped in the package for the latter.

export const HEADER = 'Generated from plan/tracking-plan.json by scripts/generate-plan.mjs; do not edit.';
export const README_START = '<!-- tracking-plan:start -->';
export const README_END = '<!-- tracking-plan:end -->';

// ---- naming and quoting ----------------------------------------------------

/** 'SF.app' -> 'SfApp', 'customerAction' -> 'CustomerAction', 'RC core' -> 'RcCore'. */
const pascal = (s) =>
  s
    .split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
    .join('');
const lowerFirst = (s) => s[0].toLowerCase() + s.slice(1);
const camel = (s) => lowerFirst(pascal(s));
const str = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : str(k));
const list = (xs) => xs.join(', ');
const code = (s) => `\`${s}\``;

/** A JSDoc block (single line when possible) at `indent`. */
function jsdoc(lines, indent = '') {
  const body = lines.map((l) => l.replace(/\*\//g, '*\\/'));
  if (body.length === 1) return `${indent}/** ${body[0]} */\n`;
  return `${indent}/**\n${body.map((l) => `${indent} *${l ? ' ' + l : ''}`).join('\n')}\n${indent} */\n`;
}

// ---- model -----------------------------------------------------------------

/** Sources of an action: its own, else the union of its enum values' sources in order. */
export function actionSources(action) {
  if (action.sources) return action.sources;
  const values = action.properties.flatMap((p) => p.values ?? []);
  return [...new Set(values.flatMap((v) => v.sources))];
}

/** `"a", "b" or "c"`, as the core lists allowed values (error::one_of). */
const oneOf = (values) => {
  const quoted = values.map((v) => JSON.stringify(v));
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : (quoted[0] ?? 'nothing');
};

/**
 * Per property type (the core's crates/core/src/plan/property/, one file each): its TypeScript
 * type, what a valid value is (`describe`, word for word the core's `PropertyType::describe`;
 * a test compares them), its JSDoc rule, its README cell, a sample value for examples and its
 * JSON Schema (`schema`: what the core's `check` lets into a message; render-schema.mjs).
 */
export const PROPERTY_TYPES = {
  enum: {
    ts: (p) => p.enum,
    describe: (p) => `one of ${oneOf(p.values.map((v) => v.value))}`,
    rule: (p) => `one of {@link ${p.enum}}`,
    cell: (p) => p.values.map(enumValueCell).join(', '),
    sample: (p) => `${p.enum}.${p.values[0].name}`,
    schema: (p) => ({ type: 'string', enum: p.values.map((v) => v.value) }),
  },
  string: {
    ts: () => 'string',
    describe: () => 'a non-empty string',
    cell: () => 'string',
    sample: () => "'abc'",
    schema: () => ({ type: 'string', minLength: 1 }),
  },
  number: {
    ts: () => 'number',
    describe: (p) => (p.minimum === undefined ? 'a finite number' : `a finite number >= ${p.minimum}`),
    cell: (p) => (p.minimum === undefined ? 'number' : `number ≥ ${p.minimum}`),
    sample: () => '42',
    schema: (p) => ({ type: 'number', ...(p.minimum === undefined ? {} : { minimum: p.minimum }) }),
  },
};

function property(p) {
  const t = PROPERTY_TYPES[p.type];
  if (!t) throw new Error(`unknown type ${JSON.stringify(p.type)} of property ${p.property}`);
  const doc = [p.description, (t.rule ?? t.describe)(p)].filter(Boolean).join('; ');
  return { ...p, param: camel(p.property), ts: t.ts(p), doc, sample: t.sample(p) };
}

/** One entry per event, with everything the renderers need. */
export function events(plan) {
  return plan.categories.flatMap((cat) =>
    cat.actions.map((act) => {
      const props = act.properties.map(property);
      const overrides = props.flatMap((p) =>
        (p.values ?? []).filter((v) => v.eventType && v.eventType !== act.eventType).map((v) => ({ p, v })),
      );
      const eventTypeText = [
        code(act.eventType),
        ...overrides.map(({ p, v }) => `(${code(v.eventType)} when ${p.property} is ${code(v.value)})`),
      ].join(' ');
      return {
        cat,
        act,
        props,
        eventTypeText,
        sources: actionSources(act),
        // the builder's second parameter: the single property's value, or all properties
        param: props.length === 1 ? props[0].param : props.length ? 'properties' : null,
        builder: lowerFirst(cat.name + act.name),
        iface: `${cat.name}${act.name}Event`,
      };
    }),
  );
}

const sourcesText = (sources) => (sources.length ? list(sources) : 'not decided');
const valueDoc = (v) => [
  `${code(v.value)}; sources: ${sourcesText(v.sources)}`,
  ...(v.eventType ? [`eventType: ${code(v.eventType)}`] : []),
  ...(v.note ? [`note: ${v.note}`] : []),
];

/**
 * The constant objects shared by index.js and index.d.ts:
 * `{ name, doc, members: [{ key, value, doc }] }`; a member's value is a string or nested members.
 */
export function constants(plan) {
  const enums = new Map();
  for (const p of plan.categories.flatMap((c) => c.actions.flatMap((a) => a.properties))) {
    if (p.type !== 'enum') continue;
    const seen = enums.get(p.enum);
    if (seen && JSON.stringify(seen.values) !== JSON.stringify(p.values)) throw new Error(`enum ${p.enum} is defined twice differently`);
    enums.set(p.enum, p);
  }
  const byKey = (obj) => Object.entries(obj).map(([value, desc]) => ({ key: pascal(value), value, doc: [`${code(value)}: ${desc}`] }));
  return [
    {
      name: 'Category',
      doc: ['Event categories of the tracking plan.'],
      members: plan.categories.map((c) => ({ key: c.name, value: c.category, doc: [`${code(c.category)}; actions: ${list(c.actions.map((a) => code(a.action)))}`] })),
    },
    {
      name: 'Action',
      doc: ['Actions of each category, keyed by category name.'],
      members: plan.categories.map((c) => ({
        key: c.name,
        doc: [`Actions of ${code(c.category)}.`],
        members: c.actions.map((a) => ({
          key: a.name,
          value: a.action,
          doc: [`${code(a.action)}; eventType: ${code(a.eventType)}; sources: ${sourcesText(actionSources(a))}`, ...(a.note ? [`note: ${a.note}`] : [])],
        })),
      })),
    },
    ...[...enums.values()].map((p) => ({
      name: p.enum,
      doc: [`Allowed values of the \`${p.property}\` property.`],
      members: p.values.map((v) => ({ key: v.name, value: v.value, doc: valueDoc(v) })),
    })),
    { name: 'EventType', doc: ['`eventType` of a message.'], members: byKey(plan.eventTypes) },
    { name: 'Source', doc: ['Apps that send events.'], members: byKey(plan.sources) },
  ];
}

/** `builder(ctx, x)`: x is `one(p)` of the single property, or `{ many(p), ... }` of several. */
function call(e, ctx, one, many) {
  const arg = e.props.length > 1 ? `{ ${list(e.props.map(many))} }` : e.props.length ? one(e.props[0]) : null;
  return `${e.builder}(${[ctx, arg].filter(Boolean).join(', ')})`;
}

function builderDoc(e) {
  const [one, many] = [e.props.length === 1, e.props.length > 1];
  return [
    `Builds the ${code(e.cat.category)} / ${code(e.act.action)} event.`,
    '',
    `eventType: ${e.eventTypeText}`,
    `sources: ${sourcesText(e.sources)}`,
    ...(e.act.note ? [`note: ${e.act.note}`] : []),
    '@param ctx roomId and optional agent, tabId, timestamp',
    ...(one ? [`@param ${e.props[0].param} \`${e.props[0].property}\`: ${e.props[0].doc}`] : []),
    ...(many ? ['@param properties the event properties', ...e.props.map((p) => `@param properties.${p.property} ${p.doc}`)] : []),
    `@example ${call(e, '{ roomId }', (p) => p.sample, (p) => `${key(p.property)}: ${p.sample}`)}`,
  ];
}

// ---- plan/index.js ------------------------------------------------------------

function jsObject(members, indent) {
  const inner = indent + '  ';
  const body = members
    .map((m) => jsdoc(m.doc, inner) + `${inner}${key(m.key)}: ${m.members ? jsObject(m.members, inner) : str(m.value)},\n`)
    .join('');
  return `Object.freeze({\n${body}${indent}})`;
}

/** How a module defines an export: CommonJS (plan/index.js) or ESM (plan/index.mjs). */
const MODULE_FORMATS = {
  cjs: { prologue: "'use strict';\n", define: (name) => `exports.${name} =`, plan: "require('./tracking-plan.json')" },
  // The ESM copy carries the plan inline: a JSON import needs import attributes, which not
  // every runtime and bundler an app or a page uses reads yet.
  // `@__PURE__` lets a bundler drop what a page does not use (the widget takes a few constants).
  esm: { prologue: '', define: (name) => `export const ${name} = /* @__PURE__ */`, plan: null },
};

function jsBuilder(e, format) {
  const props = e.props.length === 1 ? `{ ${key(e.props[0].property)}: ${e.param} }` : (e.param ?? '{}');
  const params = ['ctx', e.param].filter(Boolean).join(', ');
  return jsdoc(builderDoc(e)) + `${format.define(e.builder)} (${params}) => event(ctx, ${str(e.cat.category)}, ${str(e.act.action)}, ${props});\n`;
}

/** plan/index.js (`'cjs'`) or plan/index.mjs (`'esm'`): constants, helpers and the plan. */
export function renderPlanJs(plan, formatName = 'cjs') {
  const format = MODULE_FORMATS[formatName];
  const planValue = format.plan ?? JSON.stringify(plan);
  return `// ${HEADER}
${format.prologue}
function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function event(ctx, category, action, properties) {
  const e = { roomId: ctx.roomId, category, action, properties };
  if (ctx.agent !== undefined) e.agent = ctx.agent;
  if (ctx.tabId !== undefined) e.tabId = ctx.tabId;
  if (ctx.timestamp !== undefined) e.timestamp = ctx.timestamp;
  return e;
}

${jsdoc(['The tracking plan (plan/tracking-plan.json), deep-frozen.'])}${format.define('TRACKING_PLAN')} deepFreeze(${planValue});

${constants(plan)
  .map((c) => jsdoc(c.doc) + `${format.define(c.name)} ${jsObject(c.members, '')};\n`)
  .join('\n')}
${events(plan)
  .map((e) => jsBuilder(e, format))
  .join('\n')}`;
}

// ---- plan/index.d.ts -------------------------------------------------------

function dtsObject(members, indent) {
  const inner = indent + '  ';
  const body = members
    .map((m) => jsdoc(m.doc, inner) + `${inner}readonly ${key(m.key)}: ${m.members ? dtsObject(m.members, inner) : str(m.value)};\n`)
    .join('');
  return `{\n${body}${indent}}`;
}

function dtsConstant(c) {
  const decl = jsdoc(c.doc) + `export declare const ${c.name}: ${dtsObject(c.members, '')};\n`;
  if (c.name === 'Action') {
    const unions = c.members.map(
      (m) => jsdoc(m.doc) + `export type ${m.key}Action = ${m.members.map((a) => str(a.value)).join(' | ')};\n`,
    );
    return `${decl}${unions.join('')}${jsdoc(['Any action.'])}export type Action = ${c.members.map((m) => `${m.key}Action`).join(' | ')};\n`;
  }
  return `${decl}${jsdoc(c.doc)}export type ${c.name} = (typeof ${c.name})[keyof typeof ${c.name}];\n`;
}

function dtsEvent(e) {
  const props = e.props.length
    ? `properties: {\n${e.props.map((p) => jsdoc([p.doc], '    ') + `    ${key(p.property)}: ${p.ts};\n`).join('')}  };`
    : 'properties?: Record<string, never>;';
  return (
    jsdoc([`${code(e.cat.category)} / ${code(e.act.action)}; eventType: ${e.eventTypeText}; sources: ${sourcesText(e.sources)}`]) +
    `export interface ${e.iface} extends EventContext {\n  category: ${str(e.cat.category)};\n  action: ${str(e.act.action)};\n  ${props}\n}\n`
  );
}

function dtsBuilder(e) {
  const type = e.props.length === 1 ? e.props[0].ts : `${e.iface}['properties']`;
  const params = ['ctx: EventContext', ...(e.param ? [`${e.param}: ${type}`] : [])].join(', ');
  return jsdoc(builderDoc(e)) + `export declare function ${e.builder}(${params}): ${e.iface};\n`;
}

const PLAN_TYPES = `/** Shape of {@link TRACKING_PLAN} (plan/tracking-plan.json). */
export interface TrackingPlan {
  readonly $comment?: string;
  readonly sources: { readonly [S in Source]: string };
  readonly eventTypes: { readonly [T in EventType]: string };
  readonly categories: readonly TrackingPlanCategory[];
}
export interface TrackingPlanCategory {
  readonly category: Category;
  readonly name: keyof typeof Category;
  readonly actions: readonly TrackingPlanAction[];
}
export interface TrackingPlanAction {
  readonly action: Action;
  readonly name: string;
  readonly eventType: EventType;
  readonly sources?: readonly Source[];
  readonly note?: string;
  readonly properties: readonly TrackingPlanProperty[];
}
export type TrackingPlanProperty = { readonly property: string; readonly description?: string } & (
  | { readonly type: 'enum'; readonly enum: string; readonly values: readonly TrackingPlanEnumValue[] }
  | { readonly type: 'string' }
  | { readonly type: 'number'; readonly minimum?: number }
);
export interface TrackingPlanEnumValue {
  readonly value: string;
  readonly name: string;
  readonly sources: readonly Source[];
  readonly eventType?: EventType;
  readonly note?: string;
}
/** The tracking plan (plan/tracking-plan.json), deep-frozen. */
export declare const TRACKING_PLAN: TrackingPlan;
`;

export function renderPlanDts(plan) {
  const evs = events(plan);
  return `// ${HEADER}

${constants(plan).map(dtsConstant).join('\n')}
/** Who and when: the room, plus the agent, the widget tab and the time when known. */
export type EventContext = {
  roomId: string;
  agent?: string;
  tabId?: string;
  timestamp?: Date | string;
};

${evs.map(dtsEvent).join('\n')}
/** Any event of the tracking plan, discriminated by \`category\` and \`action\`. */
export type LogEvent =
${evs.map((e) => `  | ${e.iface}`).join('\n')};

${PLAN_TYPES}
${evs.map(dtsBuilder).join('\n')}`;
}

// ---- README table ----------------------------------------------------------

const cell = (s) => s.replace(/\|/g, '\\|');

function enumValueCell(v) {
  const extra = [sourcesText(v.sources), ...(v.eventType ? [`eventType ${v.eventType}`] : []), ...(v.note ? [v.note] : [])];
  return `${code(v.value)} (${extra.join('; ')})`;
}

const propertyCell = (p) => `${code(p.property)}: ${PROPERTY_TYPES[p.type].cell(p)}`;

export function renderReadmeTable(plan) {
  const rows = events(plan).map((e) => {
    return [
      e.cat.category,
      code(e.act.action),
      e.props.map(propertyCell).join('<br>') || '—',
      e.eventTypeText,
      sourcesText(e.sources) + (e.act.note ? ` (${e.act.note})` : ''),
      code(call(e, 'ctx', (p) => p.param, (p) => p.property)),
    ];
  });
  return [
    `<!-- ${HEADER} -->`,
    '',
    '| Category | Action | Properties | eventType | Sources | Helper |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** `readme` with the table between the markers replaced, or null when it has no markers. */
export function updateReadme(readme, plan) {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END, start);
  if (start < 0 || end < 0) return null;
  return `${readme.slice(0, start + README_START.length)}\n${renderReadmeTable(plan)}\n${readme.slice(end)}`;
}
