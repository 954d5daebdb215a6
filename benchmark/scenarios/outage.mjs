// `events` events logged while the endpoint answers 503, then the endpoint comes back:
// peak RSS of the whole process, and whether every event arrives.
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { scenario } from '../support/child.mjs'
import { snsLogger } from '../support/contenders.mjs'
import { endpointControl } from '../support/endpoint.mjs'

const CHUNK = 10_000

scenario(async ({ endpoint, events, groups, timeoutS }) => {
  const control = endpointControl(endpoint)
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20)
  // What the process held before the logger existed (Node.js, the addon, the fixtures).
  const startRss = peakRss

  await control.configure({ mode: 'unavailable' })
  // Default queue caps: the figure is about them. (The baselines' SDK is never loaded here.)
  const client = snsLogger({ endpoint, groups })
  const { logger } = client
  const t0 = performance.now()
  for (let i = 0; i < events; i += CHUNK) {
    for (let k = i; k < Math.min(events, i + CHUNK); k++) client.log(k)
    await nextTurn()
  }
  const loggedMs = performance.now() - t0
  // Stay down until the overflow has reached the disk (the spool count stops moving).
  let spooled = -1
  while (logger.stats().spooled !== spooled) {
    spooled = logger.stats().spooled
    await sleep(500)
  }
  const downMs = performance.now() - t0

  await control.configure({ mode: 'ok' })
  const recoveryStart = performance.now()
  const deadline = recoveryStart + timeoutS * 1000
  let seen = await control.stats()
  while (seen.messages < events && performance.now() < deadline) {
    await sleep(200)
    seen = await control.stats()
  }
  const recoveryMs = performance.now() - recoveryStart
  clearInterval(sampler)
  const stats = logger.stats()
  await client.close()
  return {
    events,
    loggedMs,
    downMs,
    recoveryMs,
    delivered: seen.messages,
    requests: seen.requests,
    rejectedRequests: seen.rejected_requests,
    orderViolations: seen.order_violations,
    spooled: stats.spooled,
    replayed: stats.replayed,
    sent: stats.sent,
    startRssMb: startRss / 2 ** 20,
    peakRssMb: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 2 ** 20,
  }
})
