// The relay as a child process (`node cli.js serve`) on ephemeral loopback ports:
//
//   const relay = await startRelay({ config: { tokens: TOKENS, logger: { ... } }, env: { ... } })
//   await fetch(`${relay.url}/v1/batch`, ...)
//   assert.equal(await relay.stop(), 0)   // SIGTERM, then the exit code
//
// A relay that is never stopped dies with the test process (the child is killed on exit).

import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { childEnv } from './fixtures.mjs'
import { waitUntil } from './wait.mjs'

export const CLI = fileURLToPath(new URL('../../cli.js', import.meta.url))

/** Tokens of a test tokens file, and the file's object. */
export const SF_TOKEN = 'sf-test-token-0123456789'
export const DF_TOKEN = 'df-test-token-0123456789'
export const DF_NEXT_TOKEN = 'df-next-token-9876543210'
export const TOKENS = Object.freeze({ 'SF.app': [SF_TOKEN], 'DF.app': [DF_TOKEN, DF_NEXT_TOKEN] })

const running = new Set()
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

/**
 * Starts `sns-logger serve --port 0 --admin-port 0 [--config FILE] ...args`.
 * @param {{ config?: object, args?: string[], env?: Record<string, string>, dir: string }} options
 *   `config` is written to `dir`/relay-config.json; `env` adds to a clean environment.
 */
export async function startRelay({ config, args = [], env = {}, dir }) {
  const argv = [CLI, 'serve', '--port', '0', '--admin-port', '0']
  if (config) {
    const path = join(dir, `relay-config-${running.size}-${Date.now()}.json`)
    writeFileSync(path, JSON.stringify(config))
    argv.push('--config', path)
  }
  argv.push(...args)
  const child = spawn(process.execPath, argv, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve(code ?? signal)
    }),
  )
  const listening = await Promise.race([
    new Promise((resolve) => {
      const look = () => {
        const match = stdout.match(/listening on (http:\/\/\S+), metrics on (http:\/\/\S+)\/metrics/)
        if (match) resolve({ url: match[1], adminUrl: match[2] })
        else child.stdout.once('data', look)
      }
      look()
    }),
    exited.then((code) => {
      throw new Error(`the relay exited (${code}) before listening:\n${stderr}`)
    }),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`the relay did not start in 15 s:\n${stderr}`)), 15_000).unref()),
  ])
  return {
    ...listening,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    /** Resolves once the relay's stderr matches `pattern` (or after 5 s: the caller asserts), with that stderr. */
    async stderrMatching(pattern) {
      await waitUntil(() => pattern.test(stderr), `the relay's stderr to match ${pattern}`, { timeoutMs: 5000, failOnTimeout: false })
      return stderr
    },
    /** Sends `signal` (SIGTERM) and resolves with the exit code (or the signal's name). */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Runs `sns-logger ...args` to its end: `{ code, stdout, stderr }`. */
export function runCli(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** POSTs `body` (an object is sent as JSON) to `url` with `headers`: `{ status, headers, json }`. */
export async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  let json = null
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, json, text }
}
