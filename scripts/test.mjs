// `npm test`: installs what is missing, builds the addon, then runs every suite (Rust unit
// tests, TypeScript type tests, Node tests incl. end-to-end against moto) and ends with one
// line counting tests passed and failed.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { buildAddon, ensureInstalled, root, run } from './prepare.mjs'

const results = []

function sum(output, pattern) {
  return [...output.matchAll(pattern)].reduce((total, m) => total + Number(m[1]), 0)
}

if (!ensureInstalled()) process.exit(1)
if (!buildAddon()) {
  console.log('\ntests: 0 passed, 1 failed (the addon did not build)')
  process.exit(1)
}

const rust = run('cargo', ['test', '--workspace', '--exclude', 'sns-bench-endpoint', '--', '--test-threads=2'], { capture: true })
results.push({
  suite: 'rust',
  passed: sum(rust.output, /test result: \w+\. (\d+) passed/g),
  failed: sum(rust.output, /(\d+) failed;/g) || (rust.ok ? 0 : 1),
})

const types = run('npx', ['tsc', '-p', '.'])
results.push({ suite: 'typescript', passed: types.ok ? 1 : 0, failed: types.ok ? 0 : 1 })

const testFiles = readdirSync(join(root, '__test__'))
  .filter((f) => f.endsWith('.test.mjs'))
  .map((f) => join('__test__', f))
const node = run(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-reporter=spec', '--test-timeout=300000', ...testFiles],
  { capture: true },
)
results.push({
  suite: 'node',
  passed: sum(node.output, /ℹ pass (\d+)/g),
  failed: sum(node.output, /ℹ fail (\d+)/g) || (node.ok ? 0 : 1),
})

const passed = results.reduce((n, r) => n + r.passed, 0)
const failed = results.reduce((n, r) => n + r.failed, 0)
const detail = results.map((r) => `${r.suite} ${r.passed}/${r.passed + r.failed}`).join(', ')
console.log(`\ntests: ${passed} passed, ${failed} failed (${detail})`)
process.exit(failed === 0 ? 0 : 1)
