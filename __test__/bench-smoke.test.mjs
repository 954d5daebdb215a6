// `npm run bench -- --smoke`: every benchmark scenario once, tiny, on the debug builds, so that
// the harness (scenarios, baselines, endpoint, load generator, figures, table) cannot rot while
// only this runs in CI. The figures of so small a run on debug builds mean nothing; what is
// checked is that the run completes in bounded time, that every figure and every row of the
// table holds a finite number, that no target is judged, that a real run's results are left
// alone, and that the output is clean (no warning from any process the benchmark starts).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import { root, run } from '../scripts/prepare.mjs'

// Alone it takes under a minute on 2 cores; beside another test file, about twice that.
const TIME_LIMIT_MS = 200_000

// Every figure of results.json.
const FIGURES = [
  'log_event_ns',
  'log_event_ns_delivering',
  'js_thread_us_per_event',
  'event_loop_p99_ms',
  'cpu_us_per_event',
  'cpu_us_per_event_disk',
  'cpu_disk_vs_memory',
  'js_thread_us_per_event_disk',
  'throughput_eps_0ms_disk',
  'throughput_eps_0ms',
  'throughput_eps_20ms',
  'single_group_eps_20ms',
  'requests_per_1000_events',
  'queued_event_bytes',
  'queued_message_bytes',
  'outage_added_rss_mb',
  'outage_peak_rss_mb',
  'outage_delivered',
  'load_init_ms',
  'idle_rss_mb',
  'relay_eps',
  'relay_cpu_us_per_event',
  'relay_p99_ms',
  'relay_rss_mb_idle',
  'relay_rss_mb_load',
  ...['queued', 'spooled', 'spooled_fsync', 'published'].flatMap((mode) => [`relay_eps_${mode}`, `relay_accept_eps_${mode}`, `relay_cpu_us_per_event_${mode}`, `relay_p99_ms_${mode}`]),
  'relay_p99_ms_spooled_at_queued_half',
]

// Every row of the table: figure, baseline (null: none). Their targets are the benchmark's own
// (benchmark/run.mjs): a smoke run judges none, so this test does not repeat them.
const ROWS = [
  ['log_event_ns', '(c) segment track()'],
  ['log_event_ns_delivering', '(c) segment track()'],
  ['js_thread_us_per_event', '(a) per event'],
  ['js_thread_us_per_event', '(b) batched'],
  ['event_loop_p99_ms', 'no logging (floor)'],
  ['event_loop_p99_ms', '(b) batched'],
  ['cpu_us_per_event', '(a) per event'],
  ['cpu_us_per_event', '(b) batched'],
  ['cpu_us_per_event_disk', "durability 'memory'"],
  ['throughput_eps_0ms', '(a) per event'],
  ['throughput_eps_0ms', '(b) batched'],
  ['throughput_eps_20ms', 'bound: groups x 10 / mean hold'],
  ['throughput_eps_20ms', '(a) per event'],
  ['throughput_eps_20ms', '(b) batched'],
  ['single_group_eps_20ms', '(b) batched'],
  ['requests_per_1000_events', '(a) per event'],
  ['queued_event_bytes', null],
  ['queued_message_bytes', null],
  ['outage_added_rss_mb', null],
  ['outage_peak_rss_mb', null],
  ['outage_delivered', null],
  ['load_init_ms', '(a) client-sns'],
  ['idle_rss_mb', '(a) client-sns'],
  ['relay_eps', '(r1) http+client-sns'],
  ['relay_eps', '(r2) http+logEvent'],
  ['relay_cpu_us_per_event', '(r1) http+client-sns'],
  ['relay_cpu_us_per_event', '(r2) http+logEvent'],
  ['relay_eps_queued', '(r2) http+logEvent'],
  ['relay_eps_spooled', '--ack queued'],
  ['relay_eps_spooled_fsync', '--ack queued'],
  ['relay_eps_published', '--ack queued'],
  ['relay_accept_eps_spooled', '--ack queued'],
  ['relay_p99_ms_queued', null],
  ['relay_p99_ms_spooled', null],
  ['relay_p99_ms_spooled_at_queued_half', null],
  ['relay_p99_ms_spooled_fsync', null],
  ['relay_p99_ms_published', null],
  ['relay_rss_mb_idle', '(r2) http+logEvent'],
  ['relay_rss_mb_load', null],
]

const finite = (x, what) => assert.ok(typeof x === 'number' && Number.isFinite(x), `${what} is ${x}, not a finite number`)

/** The state of a file: its modification time, or null when missing. */
const fileState = (path) => (existsSync(path) ? statSync(path).mtimeMs : null)

test('npm run bench -- --smoke: every scenario runs, every figure and row is a number, the output is clean', { timeout: TIME_LIMIT_MS + 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sns-logger-bench-smoke-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'results.json')
  const realResults = join(root, 'benchmark', 'results.json')
  const realBefore = fileState(realResults)
  // Built first, outside the time limit (a fresh clone compiles them here; the run's own
  // `cargo build` then finds nothing to do).
  assert.ok(run('cargo', ['build', '-p', 'sns-bench-endpoint', '-p', 'sns-bench-loadgen'], { quiet: true }).ok, 'the endpoint and load generator build')

  // The run must be quiet by itself, not because `npm test` switched the SDK's notice off.
  const env = { ...process.env }
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
  // `npm test` has just built the debug addon that other test files have loaded: keep it.
  const child = spawn(process.execPath, [join(root, 'benchmark', 'run.mjs'), '--smoke', '--no-addon-build', '--out', out], {
    cwd: root,
    env,
    // A process group of its own, so that a run over time is stopped whole.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
  let overTime = false
  const timer = setTimeout(() => {
    overTime = true
    process.kill(-child.pid, 'SIGKILL')
  }, TIME_LIMIT_MS)
  const started = performance.now()
  const [code, signal] = await once(child, 'close')
  clearTimeout(timer)
  const seconds = (performance.now() - started) / 1000
  t.diagnostic(`smoke run: ${seconds.toFixed(0)} s`)
  const output = `--- stdout\n${stdout}\n--- stderr\n${stderr}`

  assert.ok(!overTime, `the smoke run took over ${TIME_LIMIT_MS / 1000} s and was stopped\n${output}`)
  assert.equal(code, 0, `the smoke run exited with ${code ?? signal}\n${output}`)

  // Clean: nothing warns, neither Node.js (`(node:PID) Warning: ...`, the AWS SDK's notice among
  // them) nor any server the benchmark starts.
  const noisy = `${stdout}\n${stderr}`.split('\n').filter((line) => /warn|^\(node:\d+\)|deprecat/i.test(line))
  assert.deepEqual(noisy, [], `warning lines in the output\n${output}`)

  const results = JSON.parse(readFileSync(out, 'utf8'))
  assert.equal(results.mode, 'smoke')
  for (const figure of FIGURES) finite(results[figure], figure)
  finite(results.relay_rss_mb?.idle, 'relay_rss_mb.idle')
  finite(results.relay_rss_mb?.load, 'relay_rss_mb.load')
  assert.equal(results.outage_delivered, results.sizes.outage, 'every event of the outage is delivered after recovery')
  const { queued } = results.raw
  assert.equal(queued.stats.queueEvents, queued.events + queued.groups * 10, 'the queued scenario held every event in memory')
  assert.equal(queued.stats.sent + queued.stats.spooled + queued.stats.dropped, 0, 'nothing left the queue while it was measured')

  // The relay ran once per --ack mode (and --fsync commit), the default mode being the one of
  // the unsuffixed figures; every run of sns-logger kept per-group order (the run would have
  // failed otherwise).
  const modes = results.raw.relayModes
  assert.deepEqual(
    Object.entries(modes).map(([name, r]) => [name, r.ack, r.fsync]),
    [
      ['queued', 'queued', 'none'],
      ['spooled', 'spooled', 'none'],
      ['spooled_fsync', 'spooled', 'commit'],
      ['published', 'published', 'none'],
    ],
  )
  assert.equal(results.relay_eps, results.relay_eps_spooled, 'relay_eps is the default mode, spooled')
  assert.ok(results.order.checked.length >= 10, 'every run of sns-logger has its order checked')
  for (const check of results.order.checked) assert.equal(check.violations, 0, `${check.run}: order violations`)

  // Every row, in order, with numbers, and no verdict: a smoke run reports.
  assert.deepEqual(
    results.comparisons.map((c) => [c.figure, c.baseline]),
    ROWS.map(([figure, baseline]) => [figure, baseline]),
  )
  results.comparisons.forEach((c, i) => {
    const [figure] = ROWS[i]
    const what = `row ${i} (${figure} vs ${c.baseline ?? '-'})`
    assert.ok(typeof c.target === 'string' && c.target.length > 0, `${what} has a target`)
    finite(c.value, `${what}: sns-logger`)
    if (c.baseline !== null) {
      finite(c.base, `${what}: the baseline`)
      finite(c.compared, `${what}: the comparison`)
    }
    assert.equal(c.met, null, `${what} is judged in a smoke run`)
  })

  // The printed table has the same rows, each with a number for sns-logger and no verdict.
  const printed = stdout.split('\n').filter((line) => /^│ \d+ /.test(line))
  assert.equal(printed.length, ROWS.length, `the printed table has ${printed.length} rows\n${stdout}`)
  printed.forEach((line, i) => {
    const cells = line.split('│').slice(1, -1).map((cell) => cell.trim())
    assert.equal(cells[1], `'${ROWS[i][0]}'`, `printed row ${i}`)
    assert.match(cells[2], /^'-?[\d,]+(\.\d+)?'$/, `printed row ${i}: the sns-logger cell`)
    assert.equal(cells[6], "''", `printed row ${i}: the met cell`)
  })

  assert.equal(fileState(realResults), realBefore, 'benchmark/results.json of a real run is left alone')
})
