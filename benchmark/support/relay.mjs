// The relay benchmark's pieces: its fixtures on disk (df_config, tokens, request bodies), the
// servers under test (`sns-logger serve`, and the two Node baselines of relay-baseline.mjs),
// readings of a server's CPU time and RSS from /proc, and the load generator
// (benchmark/loadgen, a Rust binary).
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { cargoTargetDir, root } from '../../scripts/prepare.mjs'
import { childEnv } from './child.mjs'
import { CREDENTIALS, REGION, SITE_URL, dfConfig, eventPool } from './fixtures.mjs'

export const EVENTS_PER_REQUEST = 50
/** Each body holds 10 events of each of 5 bots: the by-hand baseline can fill its batches. */
const BOTS_PER_REQUEST = 5
const TOKEN = 'bench-token-0123456789abcdef'

/** Where cargo puts the load generator: `release` for the benchmarks, `debug` for the smoke run. */
export const loadgenBinary = (profile = 'release') => join(cargoTargetDir(), profile, 'sns-bench-loadgen')

/** One JSON body per line; body k holds events of bots 5k .. 5k+4 (of `groups`). */
export function requestBodies(groups) {
  const pool = eventPool(groups)
  const perBot = Array.from({ length: groups }, (_, i) => pool.filter((e) => e.agent === `bot-${i}`))
  const perBotEvents = EVENTS_PER_REQUEST / BOTS_PER_REQUEST
  const bodies = []
  for (let first = 0; first < groups; first += BOTS_PER_REQUEST) {
    const batch = []
    for (let b = first; b < first + BOTS_PER_REQUEST; b++) {
      const events = perBot[b % groups]
      for (let k = 0; k < perBotEvents; k++) batch.push(events[k % events.length])
    }
    bodies.push(JSON.stringify({ batch }))
  }
  return bodies
}

/** Writes df_config.json, tokens.json and bodies.jsonl to a new temporary directory. */
export function writeFixtures(groups) {
  const dir = mkdtempSync(join(tmpdir(), 'sns-logger-relay-bench-'))
  const files = {
    dir,
    dfConfig: join(dir, 'df_config.json'),
    tokens: join(dir, 'tokens.json'),
    bodies: join(dir, 'bodies.jsonl'),
    spoolDir: mkdtempSync(join(dir, 'spool-')),
    token: TOKEN,
  }
  writeFileSync(files.dfConfig, JSON.stringify(dfConfig(groups)))
  writeFileSync(files.tokens, JSON.stringify({ 'SF.app': [TOKEN] }))
  writeFileSync(files.bodies, `${requestBodies(groups).join('\n')}\n`)
  return { ...files, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Waits for the line that says where a server listens; fails if it exits first. */
async function listeningLine(child, pattern) {
  const lines = createInterface({ input: child.stdout })
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the server exited with ${code} before listening`)
  })
  const line = (async () => {
    for await (const text of lines) {
      const match = pattern.exec(text)
      if (match) return match
    }
    throw new Error('the server closed its stdout before listening')
  })()
  return Promise.race([line, exited])
}

function stopper(child, name) {
  return async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited early with ${child.exitCode}`)
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit')
    if (code !== 0) throw new Error(`${name} exited with ${code} on SIGTERM`)
  }
}

/** The relay's acknowledgement modes (`--ack`); `spooled` is its default with a spool directory. */
export const ACK_MODES = ['spooled', 'published', 'queued']
/** The spool's `--fsync` modes; `none` is the default. */
export const FSYNC_MODES = ['none', 'commit']

/**
 * Starts one server under test: `relay` (`node cli.js serve`), `client-sns` or `log-event`
 * (relay-baseline.mjs). Resolves to `{ pid, url, metricsUrl?, stop() }`. For the relay, `ack`
 * and `fsync` become `--ack` and `--fsync` (left out: the relay's defaults, `spooled` since
 * it has a spool directory, and `none`).
 */
export async function startServer(kind, { endpoint, fixtures, ack, fsync }) {
  if (kind === 'relay') {
    if (ack !== undefined && !ACK_MODES.includes(ack)) throw new Error(`--ack ${ack}: not one of ${ACK_MODES.join(', ')}`)
    if (fsync !== undefined && !FSYNC_MODES.includes(fsync)) throw new Error(`--fsync ${fsync}: not one of ${FSYNC_MODES.join(', ')}`)
    const modeFlags = [...(ack === undefined ? [] : ['--ack', ack]), ...(fsync === undefined ? [] : ['--fsync', fsync])]
    const child = spawn(
      process.execPath,
      // The widget route is open to the site, as a relay that serves the widget is run (the
      // benchmark posts to /v1/batch only; without an origin the relay warns on start).
      [join(root, 'cli.js'), 'serve', '--port', '0', '--admin-port', '0', '--tokens', fixtures.tokens, '--shutdown-timeout-ms', '4000', '--widget-origin', SITE_URL, ...modeFlags],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: childEnv({
          SNS_LOGGER_SITE_URL: SITE_URL,
          SNS_LOGGER_DF_CONFIG: fixtures.dfConfig,
          SNS_LOGGER_SPOOL_DIR: fixtures.spoolDir,
          AWS_ENDPOINT_URL_SNS: endpoint,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          AWS_REGION: REGION,
          AWS_EC2_METADATA_DISABLED: 'true',
        }),
      },
    )
    const [, url, metricsUrl] = await listeningLine(child, /listening on (http:\/\/\S+), metrics on (http:\/\/\S+)/)
    return { pid: child.pid, url, metricsUrl, stop: stopper(child, 'the relay') }
  }
  const args = { kind, endpoint, dfConfig: fixtures.dfConfig, tokens: fixtures.tokens, spoolDir: fixtures.spoolDir }
  const child = spawn(process.execPath, [join(root, 'benchmark', 'support', 'relay-baseline.mjs'), JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv(),
  })
  const [, url] = await listeningLine(child, /listening on (http:\/\/\S+)/)
  return { pid: child.pid, url, stop: stopper(child, `the ${kind} baseline`) }
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** User + system CPU time of a process (all its threads) so far, in ms (10 ms resolution). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
}

/** Resident set size of a process now, in MiB. */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024
}

/** Samples a process's RSS every `everyMs` until `stop()`, which returns the peak and mean. */
export function rssSampler(pid, everyMs = 100) {
  const samples = [rssMb(pid)]
  const timer = setInterval(() => samples.push(rssMb(pid)), everyMs)
  return {
    stop() {
      clearInterval(timer)
      samples.push(rssMb(pid))
      return { peakMb: Math.max(...samples), meanMb: samples.reduce((a, b) => a + b, 0) / samples.length }
    },
  }
}

/**
 * Runs the load generator against `url` + /v1/batch; resolves to its JSON report, rejects
 * when any request failed or time ran out.
 */
export async function loadgen({ url, fixtures, requests, connections = 32, rate = 0, maxSeconds, profile = 'release' }) {
  const args = ['--url', `${url}/v1/batch`, '--token', fixtures.token, '--bodies', fixtures.bodies]
  args.push('--requests', String(requests), '--connections', String(connections), '--max-seconds', String(maxSeconds))
  if (rate > 0) args.push('--rate', String(rate))
  const child = spawn(loadgenBinary(profile), args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk))
  const [code] = await once(child, 'exit')
  const line = out.trim().split('\n').pop()
  let report = null
  try {
    report = JSON.parse(line)
  } catch {}
  if (code !== 0 || !report) {
    throw new Error(`loadgen ${args.join(' ')} failed (exit ${code}): ${report?.first_error ?? out}`)
  }
  return report
}

/** The relay's admin /metrics as text. */
function metricsText(metricsUrl) {
  return new Promise((resolve, reject) => {
    http
      .get(metricsUrl, { agent: false }, (response) => {
        let text = ''
        response.setEncoding('utf8').on('data', (chunk) => (text += chunk))
        response.on('end', () => resolve(text))
      })
      .on('error', reject)
  })
}

/**
 * The relay's logger counters from its admin /metrics: `{ events_sent, events_spooled, ... }`,
 * and `durations`: its histogram of the time to answer /v1/batch, as `{ [upper bound in
 * seconds]: count so far }` (the relay's own share of a request's latency, without the
 * client's or the network's).
 */
export async function relayCounters(metricsUrl) {
  const text = await metricsText(metricsUrl)
  const counters = {}
  for (const [, name, value] of text.matchAll(/^sns_logger_(events_\w+?)_total (\d+)$/gm)) counters[name] = Number(value)
  const durations = {}
  for (const [, le, count] of text.matchAll(/^sns_logger_http_request_duration_seconds_bucket\{le="([^"]+)",route="batch"\} (\d+)$/gm)) {
    durations[le] = Number(count)
  }
  return { ...counters, durations }
}

/**
 * Percentiles of the relay's own answer times between two readings of `relayCounters`, as the
 * upper bound of the histogram bucket they fall in (ms; the buckets double from 0.1 ms).
 */
export function serverLatency(after, before) {
  if (!after?.durations) return null
  const bounds = Object.keys(after.durations).sort((a, b) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)))
  const counts = bounds.map((le) => after.durations[le] - (before?.durations?.[le] ?? 0))
  const total = counts[counts.length - 1] ?? 0
  if (total === 0) return null
  const at = (q) => {
    const i = counts.findIndex((n) => n >= q * total)
    return bounds[i] === '+Inf' ? Number.POSITIVE_INFINITY : Number(bounds[i]) * 1000
  }
  return { requests: total, p50LeMs: at(0.5), p90LeMs: at(0.9), p99LeMs: at(0.99) }
}
