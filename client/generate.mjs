// The app client as source files for an app's own folder (`sns-logger generate-client`): the
// Apps-Engine compiler bundles nothing from node_modules and the engine refuses any import but a
// few built-ins, so an app carries the client in its source, as Typewriter writes a client into a
// project. The files are this package's client/ and plan/ modules, word for word but for the
// import paths, plus a typed front:
//
//   index.ts     what `sns-logger/client` exports, typed (values from client.ts, types from types.ts)
//   types.ts     declarations only: the plan's and the client's (plan/index.d.ts, client/index.d.ts)
//   client.ts    client/index.mjs            (JavaScript: `// @ts-nocheck`, the types are index.ts's)
//   validate.ts  client/validate.mjs
//   answer.ts    client/answer.mjs
//   plan.ts      plan/index.mjs, rendered from the plan with the extension when one is given
//
// __test__/generate-client.test.mjs fails when a generated folder and `sns-logger/client` drift.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPlanDts, renderPlanJs } from '../plan/render.mjs';

const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path) => readFileSync(join(PACKAGE, path), 'utf8');

/** The generated files' module names (without `.ts`: the apps compiler resolves them so). */
export const CLIENT_FILES = ['index', 'types', 'client', 'validate', 'answer', 'plan'];

/** Each package module a generated file copies, and the import paths rewritten inside it. */
const COPIES = {
  client: { source: 'client/index.mjs', imports: { './answer.mjs': './answer', './validate.mjs': './validate', '../plan/index.mjs': './plan' } },
  validate: { source: 'client/validate.mjs', imports: { '../plan/index.mjs': './plan' } },
  answer: { source: 'client/answer.mjs', imports: {} },
};

/** Every `from '...'` / `import '...'` specifier of a module. */
const specifiers = (text) => [...text.matchAll(/(?:\bfrom|^import)\s+'([^']+)'/gm)].map((m) => m[1]);

/** `text` with its imports moved into the folder; throws on an import it does not know (self-contained or nothing). */
function relink(text, imports, origin) {
  for (const specifier of specifiers(text)) {
    if (!(specifier in imports)) throw new Error(`${origin} imports '${specifier}', which the generated client cannot carry`);
  }
  return text.replace(/((?:\bfrom|^import)\s+)'([^']+)'/gm, (_, keyword, specifier) => `${keyword}'${imports[specifier]}'`);
}

/** Drops a generated module's own first-line header (the folder's header replaces it). */
const withoutHeader = (text) => text.replace(/^\/\/ Generated from [^\n]*\n/, '');

/** The declarations of client/index.d.ts without its links to plan/ (types.ts holds both). */
function clientDeclarations() {
  const text = read('client/index.d.ts');
  const links = /^(?:import type \{[^}]*\} from '\.\.\/plan\/index\.js'|export \* from '\.\.\/plan\/index\.js');?\n/gm;
  const rest = text.replace(links, '');
  if (specifiers(rest).length) throw new Error(`client/index.d.ts imports ${specifiers(rest).join(', ')}: types.ts cannot carry it`);
  return rest;
}

/** Names types.ts exports: `{ values, types }` (a class or a constant with a type of its name is both). */
export function exportedNames(declarations) {
  const values = new Set();
  const types = new Set();
  for (const [, kind, name] of declarations.matchAll(/^export (?:declare )?(const|function|class|type|interface) (\w+)/gm)) {
    if (kind === 'const' || kind === 'function' || kind === 'class') values.add(name);
    if (kind === 'type' || kind === 'interface' || kind === 'class') types.add(name);
  }
  return { values: [...values], types: [...types] };
}

/** index.ts: each value of client.ts under its declared type, and every type of types.ts. */
function renderIndex(declarations) {
  const { values, types } = exportedNames(declarations);
  const typeOnly = types.filter((name) => !values.includes(name));
  const lines = [
    "import type * as api from './types';",
    "import * as js from './client';",
    '',
    "// client.ts is JavaScript: its exports get their types here, from types.ts.",
    'const runtime: Record<string, any> = js;',
    '',
    `export type { ${typeOnly.join(', ')} } from './types';`,
    '',
  ];
  for (const name of values) {
    lines.push(`export const ${name}: typeof api.${name} = runtime.${name};`);
    if (types.includes(name)) lines.push(`export type ${name} = api.${name};`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The files of a generated client: `[{ name, content }]`, `name` being a file of {@link CLIENT_FILES}
 * plus `.ts`. `plan` is the tracking plan to render (with its extension merged); `header` the
 * comment lines each file starts with (which package version wrote it, how to regenerate).
 */
export function renderClient({ plan, header }) {
  const top = `${header.map((line) => `// ${line}`.trimEnd()).join('\n')}\n`;
  const script = (content) => `// @ts-nocheck\n${top}${content}`;
  const declarations = `${withoutHeader(renderPlanDts(plan))}\n${clientDeclarations()}`;
  const files = {
    index: `${top}${renderIndex(declarations)}`,
    types: `${top}${declarations}`,
    plan: script(withoutHeader(renderPlanJs(plan, 'esm'))),
  };
  for (const [name, { source, imports }] of Object.entries(COPIES)) files[name] = script(relink(read(source), imports, source));
  return CLIENT_FILES.map((name) => ({ name: `${name}.ts`, content: files[name] }));
}

// ---- the plan and its extension ---------------------------------------------

/** 'chat window' -> 'ChatWindow': the generated names of extension entries that give none. */
const pascal = (s) =>
  s
    .split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
    .join('');

const named = (entry, text) => ({ ...entry, name: entry.name ?? pascal(text) });

function namedProperty(p) {
  if (p.type !== 'enum') return p;
  return { ...p, enum: p.enum ?? pascal(p.property), values: p.values.map((v) => named({ sources: [], ...v }, v.value)) };
}

const namedAction = (a) => named({ ...a, properties: (a.properties ?? []).map(namedProperty) }, a.action);

/**
 * The built-in plan with an extension's additions, in the shape the renderers read: new
 * categories, actions and enum values appended in the extension's order. The core's rules
 * (`TrackingPlan::with_extension`: nothing existing may change) are checked by the core before
 * this runs; here entries only get the names the renderers need.
 */
export function mergeExtension(plan, extension) {
  const merged = structuredClone(plan);
  merged.sources = { ...merged.sources, ...(extension.sources ?? {}) };
  for (const category of extension.categories ?? []) {
    const known = merged.categories.find((c) => c.category === category.category);
    if (!known) {
      merged.categories.push(named({ ...category, actions: category.actions.map(namedAction) }, category.category));
      continue;
    }
    for (const action of category.actions) {
      const knownAction = known.actions.find((a) => a.action === action.action);
      if (!knownAction) {
        known.actions.push(namedAction(action));
        continue;
      }
      for (const [i, property] of (action.properties ?? []).entries()) {
        const values = knownAction.properties[i].values;
        for (const value of namedProperty(property).values ?? []) {
          if (!values.some((v) => v.value === value.value)) values.push(value);
        }
      }
    }
  }
  return merged;
}
