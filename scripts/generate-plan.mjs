// Writes plan/index.js, plan/index.mjs, plan/index.d.ts and the README tracking-plan table from
// plan/tracking-plan.json. `--check` writes nothing and exits 1 when a file is stale.
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPlanDts, renderPlanJs, updateReadme } from '../plan/render.mjs';

// The renderers live in plan/render.mjs (shipped: `sns-logger generate-client` uses them too).
export * from '../plan/render.mjs';

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

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    for (const { file } of stale) console.error(`out of date: ${relative(ROOT, file)} (run npm run generate)`);
    process.exitCode = stale.length ? 1 : 0;
  } else {
    for (const { file, content } of generatedFiles()) {
      writeFileSync(file, content);
      console.log(`wrote ${relative(ROOT, file)}`);
    }
  }
}
