// Logs a steady `rate` events/s for `seconds` and records how late the event loop ran
// (perf_hooks monitorEventLoopDelay): what every other request of the app would feel.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { scenario } from '../support/child.mjs'
import { contenders } from '../support/contenders.mjs'
import { endpointControl } from '../support/endpoint.mjs'

const TICK_MS = 5
// monitorEventLoopDelay records the whole interval between its timer's runs; the delay is
// what exceeds the timer's resolution.
const RESOLUTION_MS = 10

scenario(async ({ endpoint, contender, rate, seconds, groups, options }) => {
  const client = contenders[contender]({ endpoint, groups, options })
  for (let i = 0; i < groups * 4; i++) client.log(i)
  await client.drain()

  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  delay.enable()
  const start = performance.now()
  let logged = 0
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start
      const due = Math.min(rate * seconds, Math.floor((rate * elapsed) / 1000))
      while (logged < due) client.log(logged++)
      if (elapsed >= seconds * 1000) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  delay.disable()
  // Bounded: a contender that fell behind is reported, not waited for forever.
  const drained = await Promise.race([client.drain().then(() => true), sleep(60_000).then(() => false)])
  await client.close()
  const seen = await endpointControl(endpoint).stats()
  return {
    contender,
    rate,
    seconds,
    logged,
    drained,
    // The endpoint's per-group order check over the warm-up and the run.
    orderViolations: seen.order_violations,
    p50Ms: Math.max(0, delay.percentile(50) / 1e6 - RESOLUTION_MS),
    p99Ms: Math.max(0, delay.percentile(99) / 1e6 - RESOLUTION_MS),
    maxMs: Math.max(0, delay.max / 1e6 - RESOLUTION_MS),
  }
})
