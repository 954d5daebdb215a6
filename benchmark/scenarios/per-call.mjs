// What one call costs at the call site: sns-logger's logEvent() (validation, message, enqueue)
// against @segment/analytics-node's track() (enqueue only). tinybench; each sample is a run of
// BURST calls, so the timer's own cost stays out of the median. Between samples, untimed, the
// bench lets delivery catch up while more than CATCH_UP events are queued: a tight loop logs
// several times faster than any SNS takes events, and the figure is the steady-state call, not
// the cost of growing the heap by the whole run.
import { Analytics } from '@segment/analytics-node'
import { setTimeout as sleep } from 'node:timers/promises'
import { Bench } from 'tinybench'
import { scenario } from '../support/child.mjs'
import { snsLogger } from '../support/contenders.mjs'
import { eventPool } from '../support/fixtures.mjs'

const BURST = 100
const CATCH_UP = 5_000

scenario(async ({ endpoint, groups, timeMs, options }) => {
  const client = snsLogger({ endpoint, groups, options })
  const segment = new Analytics({ writeKey: 'bench', host: endpoint, path: '/v1/batch', maxEventsInBatch: 15 })
  const pool = eventPool(groups)
  const segmentEvents = pool.map((e) => ({
    userId: e.roomId,
    event: `${e.category} ${e.action}`,
    properties: { ...e.properties, agent: e.agent, tabId: e.tabId ?? '' },
  }))
  let i = 0
  let j = 0
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(500, timeMs / 2) })
  const catchUp = async () => {
    while (client.logger.stats().queueEvents > CATCH_UP) await sleep(1)
  }
  bench
    .add(
      'sns-logger logEvent',
      () => {
        for (let k = 0; k < BURST; k++) client.log(i++)
      },
      { afterEach: catchUp },
    )
    .add('segment track', () => {
      for (let k = 0; k < BURST; k++) segment.track(segmentEvents[j++ % segmentEvents.length])
    })
  await bench.run()
  const [ours, theirs] = bench.tasks.map((task) => ({
    name: task.name,
    medianNs: (task.result.latency.p50 * 1e6) / BURST,
    meanNs: (task.result.latency.mean * 1e6) / BURST,
    p99Ns: (task.result.latency.p99 * 1e6) / BURST,
    samples: task.result.latency.samplesCount ?? task.result.latency.samples?.length,
    calls: i,
  }))
  await Promise.all([client.drain(), segment.closeAndFlush({ timeout: 30_000 })])
  await client.close()
  return { burst: BURST, snsLogger: { ...ours, calls: i }, segment: { ...theirs, calls: j } }
})
