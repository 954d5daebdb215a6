// Headless Chromium (Debian's `chromium`, found or installed by scripts/ensure-chromium.mjs)
// driven by puppeteer-core, a static HTTP server for test pages on a loopback origin, and the
// back end a widget test's pages talk to (moto, the relay, the browser: startWidgetBackend).
//
//   const browser = await launchBrowser()
//   const site = await startSite({ routes: { '/index.html': file, '/api/x': (req, res) => ... } })
//   const page = await browser.newPage(); await page.goto(`${site.origin}/index.html`)
//   await closeTab(page)            // closes like a visitor does: pagehide and beacons run
//   await site.close(); await closeBrowser(browser)

import assert from 'node:assert/strict'
import { statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import puppeteer from 'puppeteer-core'

import { buildClients } from '../../scripts/build-clients.mjs'
import { ensureChromium } from '../../scripts/ensure-chromium.mjs'
import { SITE_URL, SUPPORT, dfConfig } from './fixtures.mjs'
import { createFifoTopicWithQueue, motoSnsEnv, startMoto } from './moto.mjs'
import { startRelay } from './relay.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The widget's minified script, as pages load it. */
export const IIFE = join(ROOT, 'widget', 'sns-logger-widget.min.js')

/** The minified script as `npm test` builds it; built here when missing or older than its sources. */
export async function ensureWidgetBuilt() {
  const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0
  const sources = ['widget/index.mjs', 'client/answer.mjs', 'plan/index.mjs'].map((p) => mtime(join(ROOT, p)))
  if (mtime(IIFE) < Math.max(...sources)) assert.ok(await buildClients(), 'building widget/sns-logger-widget.min.js')
}

/** The sum of a relay metric's samples whose labels include every `labels` pair. */
export async function metric(relay, name, labels = {}) {
  const text = await (await fetch(`${relay.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  let sum = 0
  for (const line of text.split('\n')) {
    const match = line.match(/^([a-z_]+)(?:\{(.*)\})? (\S+)$/)
    if (!match || match[1] !== name) continue
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(match[3])
  }
  return sum
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
}

/** Resolves with `promise`, or rejects after `ms` naming `what`. */
export function within(ms, what, promise) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** Launches headless Chromium (no sandbox when root: Chromium refuses to sandbox as root). */
export async function launchBrowser() {
  const executablePath = await ensureChromium()
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: [...(root ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    timeout: 30_000,
    protocolTimeout: 30_000,
  })
}

/**
 * What a widget test's pages talk to: moto with the FIFO topic `rc-support-events` and its
 * queue, the relay (`sns-logger serve`, a child process) allowing only `widgetOrigin` and
 * publishing to moto's SNS for the support bot, and headless Chromium. `stop()` ends them all,
 * then closes `servers` (the test's own: its sites, stand-ins), as a failed start does.
 * @param {{ dir: string, widgetOrigin: string, servers?: { close(): Promise<void> }[] }} options
 *   `dir` holds the relay's files
 */
export async function startWidgetBackend({ dir, widgetOrigin, servers = [] }) {
  const started = servers.map((server) => () => server.close())
  const stop = async () => {
    for (const end of started.reverse()) await end()
  }
  try {
    await ensureWidgetBuilt()
    const moto = await startMoto()
    started.push(() => moto.stop())
    const { queueUrl } = await createFifoTopicWithQueue(moto.endpoint, 'rc-support-events')
    const dfConfigPath = join(dir, 'df_config.json')
    writeFileSync(dfConfigPath, JSON.stringify(dfConfig([SUPPORT])))
    const relay = await startRelay({
      dir,
      config: {
        widgetOrigins: [widgetOrigin],
        logger: {
          siteUrl: SITE_URL,
          dfConfig: dfConfigPath,
          spoolDir: join(dir, 'spool'),
          sink: { kind: 'sns', connectTimeoutMs: 1000, requestTimeoutMs: 5000 },
        },
      },
      env: motoSnsEnv(moto.endpoint),
    })
    started.push(() => relay.stop())
    const browser = await launchBrowser()
    started.push(() => closeBrowser(browser))
    return { moto, queueUrl, relay, browser, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** Closes the browser, and kills it if it does not close within 10 s. */
export async function closeBrowser(browser) {
  if (!browser) return
  try {
    await within(10_000, 'closing the browser', browser.close())
  } catch {
    browser.process()?.kill('SIGKILL')
  }
}

/**
 * Closes a tab as a visitor does (beforeunload, pagehide and visibilitychange run, so beacons
 * go) and waits until it is gone.
 */
export async function closeTab(page, timeoutMs = 10_000) {
  const closed = new Promise((resolve) => page.once('close', resolve))
  await page.close({ runBeforeUnload: true })
  await within(timeoutMs, 'closing the tab', closed)
}

/**
 * An HTTP server on 127.0.0.1 (its own port, so its own origin). `routes` maps a path to a
 * file path (served with a type from its extension) or to a handler `(req, url, res) => void`.
 * @param {{ routes: Record<string, string | ((req: import('node:http').IncomingMessage, url: URL, res: import('node:http').ServerResponse) => void)> }} options
 * @returns {Promise<{ origin: string, requests: string[], close(): Promise<void> }>}
 */
export async function startSite({ routes }) {
  const requests = []
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost')
    requests.push(`${req.method} ${url.pathname}`)
    const route = routes[url.pathname]
    try {
      if (typeof route === 'function') return route(req, url, res)
      if (typeof route === 'string') {
        const body = await readFile(route)
        res.writeHead(200, { 'content-type': TYPES[extname(route)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
        return res.end(body)
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error))
    }
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
