// What one call costs at the call site: sns-logger's logEvent() (validation, message, enqueue)
// against @segment/analytics-node's track() (enqueue only). tinybench; each sample is a run of
// BURST calls, so the timer's own cost stays out of the median. Between samples, untimed, the
// bench lets delivery catch up while more than CATCH_UP events are queued: a tight loop logs
// several times faster than any SNS takes events, and the figure is the steady-state call, not
// the cost of growing the heap by the whole run.
//
// logEvent is measured twice: with the file sink writing to the null device (the call's own
// cost: delivery threads nearly idle), and with the SNS sink delivering to the endpoint, whose
// work shares the same 2 cores with the calling thread.
import { Analytics } from '@segment/analytics-node'
import { devNull } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { Bench } from 'tinybench'
import { scenario } from '../support/child.mjs'
import { snsLogger } from '../support/contenders.mjs'
import { eventPool } from '../support/fixtures.mjs'

const BURST = 100
const CATCH_UP = 5_000

scenario(async ({ endpoint, groups, timeMs, options }) => {
  const quiet = snsLogger({ endpoint, groups, options: { ...options, sink: { kind: 'file', path: devNull } } })
  const delivering = snsLogger({ endpoint, groups, options })
  const segment = new Analytics({ writeKey: 'bench', host: endpoint, path: '/v1/batch', maxEventsInBatch: 15 })
  const pool = eventPool(groups)
  const segmentEvents = pool.map((e) => ({
    userId: e.roomId,
    event: `${e.category} ${e.action}`,
    properties: { ...e.properties, agent: e.agent, tabId: e.tabId ?? '' },
  }))
  const calls = new Map()
  const task = (name, call, client) => {
    calls.set(name, 0)
    const run = () => {
      let n = calls.get(name)
      for (let k = 0; k < BURST; k++) call(n++)
      calls.set(name, n)
    }
    const catchUp = async () => {
      while (client && client.logger.stats().queueEvents > CATCH_UP) await sleep(1)
    }
    bench.add(name, run, { afterEach: catchUp })
  }
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(500, timeMs / 2) })
  task('logEvent, file sink to the null device', quiet.log, quiet)
  task('logEvent, SNS sink delivering on the same cores', delivering.log, delivering)
  task('segment track', (n) => segment.track(segmentEvents[n % segmentEvents.length]))
  await bench.run()
  const [ours, oursDelivering, theirs] = bench.tasks.map((t) => ({
    name: t.name,
    medianNs: (t.result.latency.p50 * 1e6) / BURST,
    meanNs: (t.result.latency.mean * 1e6) / BURST,
    p99Ns: (t.result.latency.p99 * 1e6) / BURST,
    samples: t.result.latency.samplesCount,
    calls: calls.get(t.name),
  }))
  await Promise.all([quiet.drain(), delivering.drain(), segment.closeAndFlush({ timeout: 30_000 })])
  await Promise.all([quiet.close(), delivering.close()])
  return { burst: BURST, snsLogger: ours, snsLoggerDelivering: oursDelivering, segment: theirs }
})
