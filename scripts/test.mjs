// `npm test`: installs what is missing, builds the addon, then runs every suite (Rust unit
// tests, TypeScript type tests, Node tests incl. end-to-end against moto) and ends with one
// line counting tests passed and failed.
//
// The totals come from machine-readable reports, not from the human output: nextest's JUnit
// file for Rust, scripts/count-reporter.mjs for Node. A runner that exits non-zero always
// counts at least one failure, and one whose report is missing counts as one failure. Each
// Node test file and Rust test binary must run at least its committed number of tests
// (__test__/minimum-tests.json), and as root (CI) no test may be skipped. The last line:
// "tests: N passed, M failed, K skipped".
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildClients } from './build-clients.mjs'
import { ensureExamplesInstalled } from './package-examples.mjs'
import { buildAddon, ensureInstalled, root, run } from './prepare.mjs'

const results = []

/** Records a suite's totals; a runner that failed without reporting a failure counts one. */
function record(suite, ok, counts) {
  if (!counts) {
    results.push({ suite, passed: 0, failed: 1, skipped: 0, todo: 0 })
    return
  }
  const { passed, failed, skipped = 0, todo = 0 } = counts
  results.push({ suite, passed, failed: failed || (ok ? 0 : 1), skipped, todo })
}

/**
 * The committed least number of tests each Node test file and each Rust test binary runs
 * (__test__/minimum-tests.json): a file that silently stops running its cases, or a new file
 * without an entry, is a failure. Returns the problems, one line each.
 */
function belowMinimum(ran) {
  const minimums = JSON.parse(readFileSync(join(root, '__test__', 'minimum-tests.json'), 'utf8'))
  const problems = []
  for (const [runner, counts] of Object.entries(ran)) {
    const expected = minimums[runner] ?? {}
    for (const [name, count] of Object.entries(counts)) {
      if (expected[name] === undefined) problems.push(`${runner} ${name}: ran ${count} tests and has no entry in __test__/minimum-tests.json`)
      else if (count < expected[name]) problems.push(`${runner} ${name}: ran ${count} tests, fewer than its minimum of ${expected[name]}`)
    }
    for (const name of Object.keys(expected)) {
      if (counts[name] === undefined) problems.push(`${runner} ${name}: ran no test (its minimum is ${expected[name]})`)
    }
  }
  return problems
}

function warn(message) {
  console.error(`\nnpm test: ${message}`)
}

/** cargo-nextest runs the Rust tests; installed like the npm packages when missing. */
function ensureNextest() {
  const probe = spawnSync('cargo', ['nextest', '--version'], { cwd: root, stdio: 'ignore' })
  if (probe.status === 0) return true
  warn('cargo-nextest is missing; installing it (a few minutes, once)')
  return run('cargo', ['install', '--locked', 'cargo-nextest']).ok
}

/** Totals of a nextest JUnit report: the attributes of its <testsuites> root element. */
function junitCounts(path) {
  let xml
  try {
    xml = readFileSync(path, 'utf8')
  } catch {
    warn(`no JUnit report at ${path}`)
    return null
  }
  const rootTag = xml.match(/<testsuites\b[^>]*>/)?.[0]
  if (!rootTag) {
    warn(`${path} has no <testsuites> element`)
    return null
  }
  // A count attribute of the root element (0 when absent).
  const attribute = (name) => Number(rootTag.match(new RegExp(`\\s${name}="(\\d+)"`))?.[1] ?? 0)
  if (!/\stests="\d+"/.test(rootTag)) {
    warn(`${path}: <testsuites> has no tests count`)
    return null
  }
  const tests = attribute('tests')
  const failed = attribute('failures') + attribute('errors')
  const skipped = attribute('skipped')
  // Tests run per binary (<testsuite name="crate">), for the minimums.
  const suites = Object.fromEntries(
    [...xml.matchAll(/<testsuite\b[^>]*\bname="([^"]+)"[^>]*\btests="(\d+)"[^>]*\bskipped="(\d+)"/g)].map(([, name, count, skip]) => [name, Number(count) - Number(skip)]),
  )
  return { passed: Math.max(0, tests - failed - skipped), failed, skipped, suites }
}

/** examples/<name>/ directories that have a tsconfig.json. */
function exampleProjects() {
  const examples = join(root, 'examples')
  return readdirSync(examples, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(examples, entry.name, 'tsconfig.json')))
    .map((entry) => join('examples', entry.name))
}

/** The JSON line scripts/count-reporter.mjs writes at the end of a run. */
function nodeCounts(path) {
  try {
    const counts = JSON.parse(readFileSync(path, 'utf8'))
    if (Number.isInteger(counts.passed) && Number.isInteger(counts.failed)) return counts
    warn(`${path}: unexpected content`)
  } catch {
    warn(`no test counts in ${path}: the Node test runner ended before reporting`)
  }
  return null
}

if (!ensureInstalled() || !ensureExamplesInstalled()) process.exit(1)
if (!buildAddon() || !(await buildClients())) {
  console.log('\ntests: 0 passed, 1 failed (the addon or the JavaScript clients did not build)')
  process.exit(1)
}

let rustSuites = {}
if (ensureNextest()) {
  // Settings of the `ci` profile (threads, JUnit path): .config/nextest.toml.
  // nextest keeps its reports under the workspace's target/, even when CARGO_TARGET_DIR
  // moves cargo's build output elsewhere.
  const junit = join(root, 'target', 'nextest', 'ci', 'junit.xml')
  rmSync(junit, { force: true }) // never read the report of an earlier run
  const rust = run('cargo', ['nextest', 'run', '--workspace', '--profile', 'ci'])
  const rustTotals = junitCounts(junit)
  rustSuites = rustTotals?.suites ?? {}
  record('rust', rust.ok, rustTotals)
} else {
  record('rust', false, null)
}

// The package's declarations and type tests, then each example against its real dependencies' types.
const typeChecks = ['.', ...exampleProjects()].map((project) => run('npx', ['tsc', '-p', project]).ok)
const typeFailures = typeChecks.filter((ok) => !ok).length
record('typescript', typeFailures === 0, { passed: typeChecks.length - typeFailures, failed: typeFailures })

const testFiles = readdirSync(join(root, '__test__'))
  .filter((f) => f.endsWith('.test.mjs'))
  .map((f) => join('__test__', f))
const reports = mkdtempSync(join(tmpdir(), 'sns-logger-test-'))
const countsFile = join(reports, 'node-counts.json')
// The AWS SDK's notice that its 2027 releases need Node.js >= 22 says nothing about these tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
const node = run(process.execPath, [
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/count-reporter.mjs',
  `--test-reporter-destination=${countsFile}`,
  ...testFiles,
])
const nodeTotals = nodeCounts(countsFile)
const nodeFiles = nodeTotals?.files ?? {}
record('node', node.ok, nodeTotals)
rmSync(reports, { recursive: true, force: true })

// The tests each file and binary ran (passed or failed), against the committed minimums.
const ran = {
  rust: rustSuites,
  node: Object.fromEntries(Object.entries(nodeFiles).map(([file, c]) => [file, c.passed + c.failed])),
}
const problems = belowMinimum(ran)
for (const problem of problems) warn(problem)
record('minimums', problems.length === 0, { passed: 0, failed: problems.length })

const sum = (key) => results.reduce((n, r) => n + r[key], 0)
const [passed, failed, skipped, todo] = ['passed', 'failed', 'skipped', 'todo'].map(sum)
// As root (CI) every test must run: a skip there hides what it was meant to show.
const asRoot = process.getuid?.() === 0
if (asRoot && skipped > 0) warn(`${skipped} tests were skipped although this runs as root, where every test can run`)
const detail = results
  .filter((r) => r.suite !== 'minimums' || r.failed > 0)
  .map((r) => `${r.suite} ${r.passed}/${r.passed + r.failed}${r.skipped ? ` (${r.skipped} skipped)` : ''}${r.todo ? ` (${r.todo} todo)` : ''}`)
  .join(', ')
console.log(`\n${detail}${todo ? `; ${todo} todo` : ''}`)
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
process.exit(failed === 0 && !(asRoot && skipped > 0) ? 0 : 1)
