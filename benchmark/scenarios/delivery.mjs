// Delivers `events` events over `groups` streams with one contender and measures what it cost
// the process: event-loop active time, CPU time of all threads, wall time until every event
// is acknowledged, and the SNS requests the endpoint saw.
import { performance } from 'node:perf_hooks'
import { scenario } from '../support/child.mjs'
import { contenders } from '../support/contenders.mjs'
import { endpointControl } from '../support/endpoint.mjs'

scenario(async ({ endpoint, contender, events, groups, options }) => {
  const control = endpointControl(endpoint)
  const client = contenders[contender]({ endpoint, groups, options })

  // Warm up: JIT, connections to every stream, the SDK client.
  for (let i = 0; i < groups * 4; i++) client.log(i)
  await client.drain()
  await control.reset()

  const elu0 = performance.eventLoopUtilization()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let i = 0; i < events; i++) client.log(i)
  const logged = performance.now()
  await client.drain()
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const elu = performance.eventLoopUtilization(elu0)

  const seen = await control.stats()
  const delays = await control.delays()
  await client.close()
  if (seen.messages !== events) throw new Error(`${contender}: the endpoint acknowledged ${seen.messages} of ${events} events`)
  return {
    contender,
    events,
    groups,
    wallMs: wall,
    logLoopMs: logged - t0,
    eluActiveMs: elu.active,
    cpuUs: cpu.user + cpu.system,
    requests: seen.requests,
    messages: seen.messages,
    orderViolations: seen.order_violations,
    // How long the endpoint held each request on average (its latency and its timer's lag).
    meanDelayMs: delays.mean_ms,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }
})
