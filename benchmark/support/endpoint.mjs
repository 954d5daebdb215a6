// The benchmark SNS endpoint (benchmark/endpoint, a Rust binary): start it, steer it, read
// its counters.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { cargoTargetDir } from '../../scripts/prepare.mjs'

/** Where cargo puts the endpoint: `release` for the benchmarks, `debug` for the tests and the smoke run. */
export const endpointBinary = (profile = 'release') => join(cargoTargetDir(), profile, 'sns-bench-endpoint')

/** Starts the endpoint on a loopback port; it exits when our stdin closes, so it never outlives us. */
export async function startEndpoint({ threads = 1, profile = 'release' } = {}) {
  const child = spawn(endpointBinary(profile), ['--threads', String(threads)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const [first] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the benchmark endpoint exited with ${code} before listening`)
    }),
  ])
  const { port } = JSON.parse(first)
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.stdin.end()
      if (child.exitCode === null) await once(child, 'exit')
    },
  }
}

/**
 * Control calls, usable from any process that knows the URL. Plain node:http rather than
 * fetch, whose first use compiles WebAssembly in the background of the measured process.
 */
export function endpointControl(url) {
  const call = (method, path) =>
    new Promise((resolve, reject) => {
      const request = http.request(url + path, { method, agent: false }, (response) => {
        let body = ''
        response.setEncoding('utf8').on('data', (chunk) => (body += chunk))
        response.on('end', () => {
          if (response.statusCode === 200) resolve(JSON.parse(body))
          else reject(new Error(`${method} ${path}: HTTP ${response.statusCode} ${body}`))
        })
      })
      request.on('error', reject).end()
    })
  return {
    stats: () => call('GET', '/__stats'),
    /** `{ requests, mean_ms }`: the requests held for the latency, and how long on average. */
    delays: () => call('GET', '/__delays'),
    reset: () => call('POST', '/__reset'),
    configure: ({ latencyMs, mode }) => {
      const query = new URLSearchParams()
      if (latencyMs !== undefined) query.set('latency_ms', String(latencyMs))
      if (mode !== undefined) query.set('mode', mode)
      return call('POST', `/__config?${query}`)
    },
  }
}
