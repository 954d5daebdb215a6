// `node benchmark/relay-only.mjs ROUNDS MODE...`: the relay scenario alone, as `run.mjs` runs
// it for one `measure('relay', ...)` (6,000 requests of 50 events over 32 connections as fast
// as the server answers, 3,000 for `published`; 100 warm-up; 100 groups), ROUNDS times each
// MODE in turn, then the median of each figure per mode. For A/B runs of a change on the shared
// cores without the whole `npm run bench`: alternate two checkouts run by run. Takes the builds
// as they are: the addon (`npm run build`), and `cargo build --release -p sns-bench-endpoint -p
// sns-bench-loadgen`.
//
// MODE: queued | spooled | spooled_fsync | published (the relay's `--ack`, `--fsync none`
// except spooled_fsync) | log-event (r2: Node http + logEvent()) | client-sns (r1).
import { runScenario } from './support/child.mjs'
import { endpointControl, startEndpoint } from './support/endpoint.mjs'

const [roundsArg, ...modes] = process.argv.slice(2)
const rounds = Number(roundsArg)
const RELAY_MODES = ['queued', 'spooled', 'spooled_fsync', 'published']
const unknown = modes.filter((mode) => !RELAY_MODES.includes(mode) && mode !== 'log-event' && mode !== 'client-sns')
if (!(rounds >= 1) || modes.length === 0 || unknown.length > 0) {
  console.error(`usage: node benchmark/relay-only.mjs ROUNDS MODE... (MODE: ${[...RELAY_MODES, 'log-event', 'client-sns'].join(', ')})`)
  process.exit(2)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const endpoint = await startEndpoint({ profile: 'release' })
const control = endpointControl(endpoint.url)
const runs = {}
try {
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      await control.reset()
      await control.configure({ latencyMs: 0, mode: 'ok' })
      const relay = RELAY_MODES.includes(mode)
      const result = await runScenario('relay', {
        endpoint: endpoint.url,
        groups: 100,
        profile: 'release',
        contender: relay ? 'relay' : mode,
        requests: mode === 'published' ? 3_000 : 6_000,
        warmupRequests: 100,
        maxSeconds: 60,
        ...(relay ? { ack: mode === 'spooled_fsync' ? 'spooled' : mode, fsync: mode === 'spooled_fsync' ? 'commit' : 'none' } : {}),
      })
      const run = {
        mode,
        deliveredEps: Math.round(result.max.eps),
        answeredEps: Math.round(result.max.events_per_s),
        cpuUsPerEvent: Number(result.max.cpuUsPerEvent.toFixed(2)),
        throughSpool: result.max.relay?.events_spooled ?? null,
        orderViolations: result.orderViolations,
      }
      console.log(JSON.stringify(run))
      ;(runs[mode] ??= []).push(run)
    }
  }
} finally {
  await endpoint.stop()
}
for (const [mode, list] of Object.entries(runs)) {
  const of = (field) => median(list.map((run) => run[field]))
  console.log(`median of ${list.length}, ${mode}: delivered ${of('deliveredEps')} events/s, answered ${of('answeredEps')}, CPU ${of('cpuUsPerEvent').toFixed(2)} µs/event`)
}
