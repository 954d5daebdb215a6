// Writes plan/index.js, plan/index.mjs, plan/index.d.ts, the JSON Schemas in plan/schema/ and
// the README tracking-plan table from plan/tracking-plan.json. `--check` writes nothing and
// exits 1 when a file is stale (or plan/schema/ holds a file the plan no longer has).
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HEADER, renderPlanDts, renderPlanJs, updateReadme } from '../plan/render.mjs';
import { renderSchemas, schemaText } from '../plan/render-schema.mjs';

// The renderers live in plan/render.mjs and plan/render-schema.mjs (shipped: `sns-logger
// generate-client` and `sns-logger schema` use them too).
export * from '../plan/render.mjs';
export * from '../plan/render-schema.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function loadPlan(root = ROOT) {
  return JSON.parse(readFileSync(join(root, 'plan/tracking-plan.json'), 'utf8'));
}

// ---- files and CLI ---------------------------------------------------------

/** `[{ file, content }]`: what the generator writes (README only when it has markers). */
export function generatedFiles(root = ROOT, plan = loadPlan(root)) {
  const files = [
    { file: join(root, 'plan/index.js'), content: renderPlanJs(plan, 'cjs') },
    { file: join(root, 'plan/index.mjs'), content: renderPlanJs(plan, 'esm') },
    { file: join(root, 'plan/index.d.ts'), content: renderPlanDts(plan) },
    ...renderSchemas(plan, HEADER).map(({ name, schema }) => ({ file: join(root, 'plan/schema', `${name}.json`), content: schemaText(schema) })),
  ];
  const readmePath = join(root, 'README.md');
  const readme = existsSync(readmePath) ? updateReadme(readFileSync(readmePath, 'utf8'), plan) : null;
  if (readme !== null) files.push({ file: readmePath, content: readme });
  return files;
}

/** Files whose content on disk differs from what would be generated. */
export function staleFiles(root = ROOT) {
  return generatedFiles(root).filter(({ file, content }) => !existsSync(file) || readFileSync(file, 'utf8') !== content);
}

/** Files in plan/schema/ that the plan no longer generates (an event removed or renamed). */
export function orphanSchemas(root = ROOT) {
  const dir = join(root, 'plan/schema');
  if (!existsSync(dir)) return [];
  const generated = new Set(generatedFiles(root).map(({ file }) => file));
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((file) => !generated.has(file));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    const orphans = orphanSchemas();
    for (const { file } of stale) console.error(`out of date: ${relative(ROOT, file)} (run npm run generate)`);
    for (const file of orphans) console.error(`not generated from the plan: ${relative(ROOT, file)} (run npm run generate)`);
    process.exitCode = stale.length || orphans.length ? 1 : 0;
  } else {
    for (const file of orphanSchemas()) {
      rmSync(file);
      console.log(`removed ${relative(ROOT, file)}`);
    }
    mkdirSync(join(ROOT, 'plan/schema'), { recursive: true });
    for (const { file, content } of generatedFiles()) {
      writeFileSync(file, content);
      console.log(`wrote ${relative(ROOT, file)}`);
    }
  }
}
