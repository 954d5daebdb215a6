// `npm run bench [-- --quick]`: builds the addon and the benchmark endpoint in release mode,
// runs every scenario in a process of its own against the same local SNS endpoint, prints
// one table (figure, sns-logger, baseline, ratio, target) and writes benchmark/results.json.
//
// Baselines, same endpoint, same events: (a) client-sns, one PublishCommand per event;
// (b) client-sns, PublishBatch of 10 by hand, one batch in flight per group; (c) Segment's
// analytics-node track(), for the per-call cost only. The relay (`sns-logger serve`, POST
// /v1/batch of 50 events over 32 connections from benchmark/loadgen) against Node `http`
// servers taking the same requests: (r1) client-sns PublishBatch of 10 by hand; (r2) this
// addon's logEvent() per event.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { buildAddon, ensureInstalled, root, run } from '../scripts/prepare.mjs'
import { runScenario } from './support/child.mjs'
import { endpointControl, startEndpoint } from './support/endpoint.mjs'

const quick = process.argv.includes('--quick')
const GROUPS = 100
const sizes = quick
  ? { events0: 30_000, events20: 10_000, single: 1_000, loopSeconds: 3, outage: 200_000, perCallMs: 400, startups: 3 }
  : { events0: 200_000, events20: 50_000, single: 3_000, loopSeconds: 10, outage: 1_000_000, perCallMs: 1_500, startups: 7 }
// Relay runs: requests of 50 events (r1, far slower, sends fewer); each run stops by itself
// after its requests or `maxSeconds`.
const relaySizes = quick
  ? { requests: 3_000, r1Requests: 300, warmup: 40, pacedSeconds: 2, maxSeconds: 20 }
  : { requests: 6_000, r1Requests: 1_500, warmup: 100, pacedSeconds: 10, maxSeconds: 60 }
const RELAY_CONNECTIONS = 32
// Room for a whole run in memory, so that throughput measures delivery, not the spool.
const BULK_OPTIONS = { maxQueueEvents: 1_000_000, maxQueueBytes: 512 * 2 ** 20 }
// The outage runs with the default caps: the figure is about them.
const DEFAULT_QUEUE_BYTES = 64 * 2 ** 20

const started = performance.now()
const step = (text) => console.log(`\n[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}`)

step('installing and building in release mode (cached after the first run)')
if (!ensureInstalled({ quiet: true }) || !buildAddon({ release: true, quiet: true })) process.exit(1)
if (!run('cargo', ['build', '--release', '-p', 'sns-bench-endpoint', '-p', 'sns-bench-loadgen'], { quiet: true }).ok) process.exit(1)

const { checkSameMessages } = await import('./support/fixtures.mjs')
console.log(`baselines send the same ${await checkSameMessages(GROUPS)} messages as sns-logger (timestamps aside)`)

const endpoint = await startEndpoint()
const control = endpointControl(endpoint.url)
const raw = {}

/** Runs one scenario with the endpoint reset and set to `latencyMs`. */
async function measure(name, args, latencyMs = 0) {
  await control.reset()
  await control.configure({ latencyMs, mode: 'ok' })
  return runScenario(name, { endpoint: endpoint.url, groups: GROUPS, ...args })
}

try {
  step(`per call: logEvent (quiet sink, then SNS) vs Segment track(), ${sizes.perCallMs} ms each`)
  raw.perCall = await measure('per-call', { timeMs: sizes.perCallMs, options: BULK_OPTIONS })

  raw.delivery = {}
  for (const [latencyMs, events] of [
    [0, sizes.events0],
    [20, sizes.events20],
  ]) {
    for (const contender of ['sns-logger', 'client-sns-batched', 'client-sns-per-event']) {
      step(`delivery: ${contender}, ${events} events, ${GROUPS} groups, endpoint +${latencyMs} ms`)
      const result = await measure('delivery', { contender, events, options: BULK_OPTIONS }, latencyMs)
      raw.delivery[`${contender}@${latencyMs}ms`] = result
    }
  }

  raw.singleGroup = {}
  for (const contender of ['sns-logger', 'client-sns-batched']) {
    step(`one group: ${contender}, ${sizes.single} events, endpoint +20 ms`)
    raw.singleGroup[contender] = await measure('delivery', { contender, events: sizes.single, groups: 1 }, 20)
  }

  raw.loopDelay = {}
  for (const contender of ['sns-logger', 'client-sns-batched', 'no-logging']) {
    step(`event-loop delay: ${contender}, 10,000 events/s for ${sizes.loopSeconds} s, endpoint +20 ms`)
    raw.loopDelay[contender] = await measure('loop-delay', { contender, rate: 10_000, seconds: sizes.loopSeconds }, 20)
  }

  step(`outage: ${sizes.outage} events while the endpoint answers 503, then recovery`)
  raw.outage = await measure('outage', { events: sizes.outage, timeoutS: 300 })

  step(`start-up: ${sizes.startups} fresh processes each`)
  raw.startup = {}
  for (const which of ['sns-logger', 'client-sns']) {
    const runs = []
    for (let i = 0; i < sizes.startups; i++) runs.push(await measure('startup', { which }))
    raw.startup[which] = runs
  }

  raw.relay = {}
  for (const [contender, requests, label] of [
    ['relay', relaySizes.requests, 'sns-logger serve'],
    ['client-sns', relaySizes.r1Requests, '(r1) Node http + client-sns PublishBatch by hand'],
    ['log-event', relaySizes.requests, '(r2) Node http + logEvent()'],
  ]) {
    const paced = contender === 'relay' ? `, then ${relaySizes.pacedSeconds} s at half that rate` : ''
    step(`relay: ${label}, ${requests} requests of 50 events, ${RELAY_CONNECTIONS} connections, as fast as it answers${paced}`)
    raw.relay[contender] = await measure('relay', {
      contender,
      requests,
      warmupRequests: relaySizes.warmup,
      maxSeconds: relaySizes.maxSeconds,
      ...(contender === 'relay' ? { pacedFraction: 0.5, pacedSeconds: relaySizes.pacedSeconds } : {}),
    })
  }
} finally {
  await endpoint.stop()
}

// ---- figures ----
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const d = (key) => raw.delivery[key]
const perEvent = (r, field) => (r[field] * 1000) / r.events
const eps = (r) => r.events / (r.wallMs / 1000)
const startupMedian = (which, field) => median(raw.startup[which].map((r) => r[field]))

const ours0 = d('sns-logger@0ms')
const a0 = d('client-sns-per-event@0ms')
const b0 = d('client-sns-batched@0ms')
const ours20 = d('sns-logger@20ms')
const a20 = d('client-sns-per-event@20ms')
const b20 = d('client-sns-batched@20ms')

const figures = {
  log_event_ns: raw.perCall.snsLogger.medianNs,
  log_event_ns_delivering: raw.perCall.snsLoggerDelivering.medianNs,
  js_thread_us_per_event: perEvent(ours0, 'eluActiveMs'),
  event_loop_p99_ms: raw.loopDelay['sns-logger'].p99Ms,
  cpu_us_per_event: ours0.cpuUs / ours0.events,
  throughput_eps_0ms: eps(ours0),
  throughput_eps_20ms: eps(ours20),
  single_group_eps_20ms: eps(raw.singleGroup['sns-logger']),
  requests_per_1000_events: (ours0.requests * 1000) / ours0.events,
  outage_peak_rss_mb: raw.outage.peakRssMb,
  outage_added_rss_mb: raw.outage.peakRssMb - raw.outage.startRssMb,
  outage_delivered: raw.outage.delivered,
  load_init_ms: startupMedian('sns-logger', 'loadInitMs'),
  idle_rss_mb: startupMedian('sns-logger', 'addedRssMb'),
  relay_eps: raw.relay.relay.max.eps,
  relay_cpu_us_per_event: raw.relay.relay.max.cpuUsPerEvent,
  relay_p99_ms: raw.relay.relay.paced.latency_ms.p99,
  relay_rss_mb_idle: raw.relay.relay.idleRssMb,
  relay_rss_mb_load: raw.relay.relay.paced.rss.peakMb,
  // The name for the pair above.
  relay_rss_mb: { idle: raw.relay.relay.idleRssMb, load: raw.relay.relay.paced.rss.peakMb },
}
const r1 = raw.relay['client-sns']
const r2 = raw.relay['log-event']

const lower = 'lower'
const higher = 'higher'
// [figure, baseline name, baseline value, better, target description, met]
const rows = [
  ['log_event_ns', '(c) segment track()', raw.perCall.segment.medianNs, lower, '<= 1500', figures.log_event_ns <= 1500],
  ['log_event_ns_delivering', '(c) segment track()', raw.perCall.segment.medianNs, lower, '', null],
  ['js_thread_us_per_event', '(a) per event', perEvent(a0, 'eluActiveMs'), lower, '<= (a)/20', figures.js_thread_us_per_event <= perEvent(a0, 'eluActiveMs') / 20],
  ['js_thread_us_per_event', '(b) batched', perEvent(b0, 'eluActiveMs'), lower, '<= (b)/5', figures.js_thread_us_per_event <= perEvent(b0, 'eluActiveMs') / 5],
  ['event_loop_p99_ms', '(b) batched', raw.loopDelay['client-sns-batched'].p99Ms, lower, '<= 2', figures.event_loop_p99_ms <= 2],
  ['event_loop_p99_ms', 'no logging (floor)', raw.loopDelay['no-logging'].p99Ms, lower, '', null],
  ['cpu_us_per_event', '(a) per event', a0.cpuUs / a0.events, lower, '<= (a)/10', figures.cpu_us_per_event <= a0.cpuUs / a0.events / 10],
  ['cpu_us_per_event', '(b) batched', b0.cpuUs / b0.events, lower, '<= (b)/3', figures.cpu_us_per_event <= b0.cpuUs / b0.events / 3],
  ['throughput_eps_0ms', '(a) per event', eps(a0), higher, '>= 100000', figures.throughput_eps_0ms >= 100_000],
  ['throughput_eps_0ms', '(b) batched', eps(b0), higher, '', null],
  ['throughput_eps_20ms', '(a) per event', eps(a20), higher, '>= 20 x (a)', figures.throughput_eps_20ms >= 20 * eps(a20)],
  ['throughput_eps_20ms', '(b) batched', eps(b20), higher, '', null],
  ['single_group_eps_20ms', '(b) batched', eps(raw.singleGroup['client-sns-batched']), higher, 'report (bound 500)', null],
  ['requests_per_1000_events', '(a) per event', (a0.requests * 1000) / a0.events, lower, '<= 110', figures.requests_per_1000_events <= 110],
  ['outage_peak_rss_mb', '-', null, lower, `<= ${DEFAULT_QUEUE_BYTES / 2 ** 20} + 64`, figures.outage_peak_rss_mb <= DEFAULT_QUEUE_BYTES / 2 ** 20 + 64],
  ['outage_added_rss_mb', '-', null, lower, `<= ${DEFAULT_QUEUE_BYTES / 2 ** 20} + 64 (above Node+addon)`, figures.outage_added_rss_mb <= DEFAULT_QUEUE_BYTES / 2 ** 20 + 64],
  ['outage_delivered', '-', null, higher, `= ${sizes.outage}`, figures.outage_delivered === sizes.outage],
  ['load_init_ms', '(a) client-sns', startupMedian('client-sns', 'loadInitMs'), lower, '<= 50', figures.load_init_ms <= 50],
  ['idle_rss_mb', '(a) client-sns', startupMedian('client-sns', 'addedRssMb'), lower, 'report', null],
  ['relay_eps', '(r1) http+client-sns', r1.max.eps, higher, '>= 3 x (r1)', figures.relay_eps >= 3 * r1.max.eps],
  ['relay_eps', '(r2) http+logEvent', r2.max.eps, higher, '>= (r2)', figures.relay_eps >= r2.max.eps],
  ['relay_cpu_us_per_event', '(r1) http+client-sns', r1.max.cpuUsPerEvent, lower, '', null],
  ['relay_cpu_us_per_event', '(r2) http+logEvent', r2.max.cpuUsPerEvent, lower, '< (r2)', figures.relay_cpu_us_per_event < r2.max.cpuUsPerEvent],
  ['relay_p99_ms', '-', null, lower, '<= 5 (at 50% of relay_eps)', figures.relay_p99_ms <= 5],
  ['relay_rss_mb_idle', '(r2) http+logEvent', r2.idleRssMb, lower, 'report', null],
  ['relay_rss_mb_load', '-', null, lower, 'report (peak, at 50% of relay_eps)', null],
]

const fmt = (x) => (x === null || x === undefined ? '-' : Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2))
const table = rows.map(([figure, baseline, base, better, target, met]) => {
  const ours = figures[figure]
  const ratio = base === null ? null : better === lower ? base / ours : ours / base
  return {
    figure,
    'sns-logger': fmt(ours),
    baseline: base === null ? '-' : `${fmt(base)} ${baseline}`,
    'ratio (x better)': ratio === null ? '-' : `${ratio.toFixed(1)}x`,
    target,
    met: met === null ? '' : met ? 'yes' : 'NO',
  }
})

const rustc = execFileSync('rustc', ['--version'], { encoding: 'utf8' }).trim()
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
const machine = {
  cores: os.availableParallelism(),
  cpu: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  node: process.version,
  rust: rustc,
}
const results = {
  ...figures,
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  commit,
  durationS: Math.round((performance.now() - started) / 1000),
  machine,
  table,
  raw,
}
writeFileSync(join(root, 'benchmark', 'results.json'), `${JSON.stringify(results, null, 2)}\n`)

step(`done (${quick ? 'quick' : 'full'} run): ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.rust}`)
console.table(table)
console.log(
  `ratio: how many times sns-logger is ahead (baseline/ours for costs, ours/baseline for rates).\n` +
    `outage: ${raw.outage.delivered} of ${sizes.outage} delivered after recovery (${(raw.outage.recoveryMs / 1000).toFixed(1)} s), ` +
    `${raw.outage.orderViolations} order violations; single group: ${raw.singleGroup['sns-logger'].orderViolations} order violations.\n` +
    `relay: ${fmt(figures.relay_eps)} events/s at most (r1 ${fmt(r1.max.eps)}, r2 ${fmt(r2.max.eps)}); at ${fmt(raw.relay.relay.paced.targetEps)} events/s ` +
    `p50 ${fmt(raw.relay.relay.paced.latency_ms.p50)} / p99 ${fmt(figures.relay_p99_ms)} ms; load generator CPU ${fmt((raw.relay.relay.max.cpu_ms * 1000) / raw.relay.relay.max.events)} µs/event; ` +
    `peak RSS at the max rate: relay ${fmt(raw.relay.relay.max.rss.peakMb)} MB, r1 ${fmt(r1.max.rss.peakMb)} MB, r2 ${fmt(r2.max.rss.peakMb)} MB.\n` +
    `written to benchmark/results.json`,
)
