#!/usr/bin/env node
// Makes the real Rocket.Chat Apps-Engine (examples/node_modules/@rocket.chat/apps-engine, pinned
// 1.62.0 in examples/package.json) runnable offline, for the test host in
// __test__/support/apps-engine.mjs. Idempotent: a fast no-op once prepared.
//
//   node scripts/ensure-apps-engine.mjs            # CLI: prepares, prints the paths as JSON
//   import { ensureAppsEngine } from './scripts/ensure-apps-engine.mjs'
//   const { denoDir, denoPath, enginePath } = await ensureAppsEngine()
//
// What it does:
//   1. `npm ci` (or `npm install` without a lockfile) in examples/ when examples/node_modules
//      lacks the engine or the Deno binary.
//   2. Fills a DENO_DIR at examples/.deno-dir/ with every import of the engine's Deno runtime
//      (deno-runtime/main.ts, plus lib/parseArgs.ts, which 1.62.0's main.ts does not import), since the engine runs it with
//      `--cached-only`: the npm imports come from the npm registry through `deno cache`; the JSR
//      imports (jsr.io is out of reach) are small modules written in this project
//      (scripts/apps-engine/jsr/*), served to `deno cache` by a JSR-compatible server on
//      127.0.0.1 (JSR_URL), whose cache entries are then moved to jsr.io's cache keys.
//   3. Checks the result as the engine will use it: `deno run --cached-only` with only PATH and
//      DENO_DIR in the environment.
//   A marker (examples/.deno-dir/.sns-logger-prepared.json) keeps a hash of the inputs (the JSR
//   stand-ins, the AppsEngineException module, the engine and Deno versions, PREPARATION_VERSION);
//   a change in any of them prepares again.
//
// Changes made to the installed engine package (examples/node_modules/@rocket.chat/apps-engine),
// and only these (see the field notes, "Running the real Apps-Engine"):
//   a. deno-runtime/deno.lock: its `jsr` section is dropped, since its hashes are of jsr.io's own
//      metadata files and the stand-ins would fail the integrity check; `deno cache` then writes
//      the stand-ins' hashes there (and nothing else changes in the file).
//   b. src/definition/exceptions/AppsEngineException.ts is added (a copy of
//      scripts/apps-engine/AppsEngineException.ts): a packaging bug of 1.62.0, whose deno-runtime
//      imports it through its import map (`@rocket.chat/apps-engine/` -> `../src/`), a folder the
//      package does not ship.
//
// Environment: SNS_LOGGER_APPS_ENGINE_QUIET=1 silences the progress lines (stderr).

import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Bump when the preparation steps change in a way the hashed inputs do not show. */
const PREPARATION_VERSION = 1

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const EXAMPLES = join(ROOT, 'examples')
const NODE_MODULES = join(EXAMPLES, 'node_modules')
const ENGINE = join(NODE_MODULES, '@rocket.chat', 'apps-engine')
const DENO_DIR = join(EXAMPLES, '.deno-dir')
const MARKER = join(DENO_DIR, '.sns-logger-prepared.json')
const LOCK_DIR = join(DENO_DIR, '.sns-logger-preparing')
const JSR_SOURCES = join(ROOT, 'scripts', 'apps-engine', 'jsr')
const EXCEPTION_SOURCE = join(ROOT, 'scripts', 'apps-engine', 'AppsEngineException.ts')
const EXCEPTION_TARGET = join(ENGINE, 'src', 'definition', 'exceptions', 'AppsEngineException.ts')
const RUNTIME = join(ENGINE, 'deno-runtime')
const DENO_CONFIG = join(RUNTIME, 'deno.jsonc')
const DENO_LOCK = join(RUNTIME, 'deno.lock')
const JSR_CACHE = join(DENO_DIR, 'remote', 'https', 'jsr.io')
const CACHE_METADATA = '\n// denoCacheMetadata='

/** `npm ci`/`install` and `deno cache` reach registries; a slow mirror may take minutes. */
const INSTALL_TIMEOUT_MS = 10 * 60 * 1000
/** Another process preparing at the same time: how long to wait for it. */
const LOCK_WAIT_MS = 15 * 60 * 1000

const log = (line) => {
  if (!process.env.SNS_LOGGER_APPS_ENGINE_QUIET) process.stderr.write(`ensure-apps-engine: ${line}\n`)
}
const sha256 = (data) => createHash('sha256').update(data).digest('hex')

/**
 * Makes the engine runnable offline (see the top of this file) and returns where things are.
 * @returns {Promise<{ denoDir: string, denoPath: string, enginePath: string }>}
 */
export async function ensureAppsEngine() {
  const fast = readyPaths()
  if (fast) return fast
  mkdirSync(DENO_DIR, { recursive: true })
  const release = await acquireLock()
  try {
    return readyPaths() ?? (await prepare())
  } finally {
    release()
  }
}

/** The paths when everything is in place already (marker current, fixes present), else null. */
function readyPaths() {
  const denoPath = findDeno()
  if (!denoPath || !existsSync(join(ENGINE, 'package.json'))) return null
  let marker
  try {
    marker = JSON.parse(readFileSync(MARKER, 'utf8'))
  } catch {
    return null
  }
  if (marker.hash !== inputsHash(denoPath) || !fixesInPlace()) return null
  if (!existsSync(JSR_CACHE) || !existsSync(join(DENO_DIR, 'npm'))) return null
  return { denoDir: DENO_DIR, denoPath, enginePath: ENGINE }
}

async function prepare() {
  const started = Date.now()
  if (!findDeno() || !existsSync(join(ENGINE, 'package.json'))) await installExamples()
  const denoPath = findDeno()
  if (!denoPath) throw new Error(`ensure-apps-engine: no Deno binary under ${join(NODE_MODULES, '@deno')} after installing examples/ (is the "deno" package in examples/package.json?)`)
  const engineVersion = JSON.parse(readFileSync(join(ENGINE, 'package.json'), 'utf8')).version
  if (!existsSync(DENO_CONFIG)) {
    throw new Error(`ensure-apps-engine: @rocket.chat/apps-engine ${engineVersion} has no deno-runtime/ (only 1.46.0 to 1.62.0 ship it; examples/package.json pins 1.62.0)`)
  }
  log(`preparing @rocket.chat/apps-engine ${engineVersion} for offline use (DENO_DIR ${relative(ROOT, DENO_DIR)})`)

  rmSync(MARKER, { force: true })
  applyFixes()
  // Stand-ins of an older preparation are replaced as a whole.
  rmSync(JSR_CACHE, { recursive: true, force: true })

  const packages = loadJsrPackages()
  const server = await serveJsr(packages)
  const linkDir = runtimeLink()
  try {
    const args = ['cache', `--config=${DENO_CONFIG}`, join(linkDir, 'deno-runtime', 'main.ts'), join(linkDir, 'deno-runtime', 'lib', 'parseArgs.ts')]
    const env = { ...process.env, DENO_DIR, JSR_URL: `${server.url}/`, NO_COLOR: '1' }
    let result = await run(denoPath, args, { env, cwd: linkDir })
    if (!result.ok && /certificate|UnknownIssuer|tls/i.test(result.output) && !env.DENO_TLS_CA_STORE) {
      log('TLS failure reaching the npm registry; retrying with DENO_TLS_CA_STORE=system')
      result = await run(denoPath, args, { env: { ...env, DENO_TLS_CA_STORE: 'system' }, cwd: linkDir })
    }
    if (!result.ok) throw new Error(`ensure-apps-engine: deno cache failed (${result.status}):\n${result.output.trim()}`)
    const missing = packages.filter((p) => !server.served.has(p.name))
    if (missing.length) throw new Error(`ensure-apps-engine: deno cache never asked for ${missing.map((p) => p.name).join(', ')}; the runtime's imports changed?`)
    moveJsrEntries(server.port)
    await checkRuntime(denoPath, linkDir)
  } finally {
    await server.close()
    rmSync(linkDir, { recursive: true, force: true })
  }

  writeFileSync(MARKER, `${JSON.stringify({ hash: inputsHash(denoPath), engine: engineVersion, preparedAt: new Date().toISOString() }, null, 2)}\n`)
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return { denoDir: DENO_DIR, denoPath, enginePath: ENGINE }
}

/** The real Deno binary of examples/node_modules/@deno/<platform>/ (npm 11 skips `deno`'s install script). */
function findDeno() {
  const scope = join(NODE_MODULES, '@deno')
  let entries
  try {
    entries = readdirSync(scope)
  } catch {
    return null
  }
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno'
  for (const entry of entries) {
    const path = join(scope, entry, exe)
    try {
      if (statSync(path).isFile()) return path
    } catch {}
  }
  return null
}

/** Hash of everything the preparation's result depends on. */
function inputsHash(denoPath) {
  const hash = createHash('sha256').update(`v${PREPARATION_VERSION}\n`)
  for (const file of listFiles(JSR_SOURCES).sort()) hash.update(`${relative(JSR_SOURCES, file)}\n`).update(readFileSync(file))
  hash.update(readFileSync(EXCEPTION_SOURCE))
  hash.update(readFileSync(join(ENGINE, 'package.json')))
  hash.update(readFileSync(join(dirname(denoPath), 'package.json')))
  return hash.digest('hex')
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  )
}

/** Both node_modules fixes are there, and deno.lock holds no jsr hash other than the stand-ins'. */
function fixesInPlace() {
  try {
    if (readFileSync(EXCEPTION_TARGET, 'utf8') !== readFileSync(EXCEPTION_SOURCE, 'utf8')) return false
    const lock = JSON.parse(readFileSync(DENO_LOCK, 'utf8'))
    const ours = new Set(loadJsrPackages().map((p) => `${p.name}@${p.version} ${sha256(p.versionMeta)}`))
    return Object.entries(lock.jsr ?? {}).every(([key, { integrity }]) => ours.has(`${key} ${integrity}`))
  } catch {
    return false
  }
}

function applyFixes() {
  mkdirSync(dirname(EXCEPTION_TARGET), { recursive: true })
  writeFileSync(EXCEPTION_TARGET, readFileSync(EXCEPTION_SOURCE))
  const lock = JSON.parse(readFileSync(DENO_LOCK, 'utf8'))
  if ('jsr' in lock) {
    delete lock.jsr
    writeFileSync(DENO_LOCK, `${JSON.stringify(lock, null, 2)}\n`)
  }
}

async function installExamples() {
  const ci = existsSync(join(EXAMPLES, 'package-lock.json'))
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const args = [ci ? 'ci' : 'install', '--no-audit', '--no-fund']
  log(`npm ${args[0]} in examples/ (the pinned Apps-Engine, apps-cli and Deno)`)
  const result = await run(npm, args, { cwd: EXAMPLES, env: process.env, shell: process.platform === 'win32' })
  if (!result.ok) throw new Error(`ensure-apps-engine: npm ${args[0]} in ${EXAMPLES} failed (${result.status}):\n${result.output.trim()}`)
}

/**
 * The JSR stand-ins: one folder per package with a jsr.json (name, version, exports) and its
 * modules. `versionMeta` is the exact `<version>_meta.json` body served (and hashed by Deno).
 */
function loadJsrPackages() {
  return readdirSync(JSR_SOURCES).map((dir) => {
    const base = join(JSR_SOURCES, dir)
    const config = JSON.parse(readFileSync(join(base, 'jsr.json'), 'utf8'))
    const files = new Map(
      listFiles(base)
        .filter((file) => file.endsWith('.ts'))
        .map((file) => [`/${relative(base, file).split('\\').join('/')}`, readFileSync(file)]),
    )
    const manifest = Object.fromEntries(
      [...files].map(([path, bytes]) => [path, { size: bytes.length, checksum: `sha256-${sha256(bytes)}` }]),
    )
    const [scope, name] = config.name.slice(1).split('/')
    return {
      name: config.name,
      version: config.version,
      files,
      meta: JSON.stringify({ scope, name, latest: config.version, versions: { [config.version]: {} } }),
      versionMeta: JSON.stringify({ manifest, exports: config.exports }),
    }
  })
}

/** A JSR-compatible registry on 127.0.0.1 for the stand-ins (meta.json, <version>_meta.json, files). */
function serveJsr(packages) {
  const byName = new Map(packages.map((p) => [p.name, p]))
  const served = new Set()
  const server = createServer((req, res) => {
    const match = /^\/(@[^/]+\/[^/]+)\/(.+)$/.exec(decodeURIComponent(new URL(req.url, 'http://x').pathname))
    const pkg = match && byName.get(match[1])
    const rest = match?.[2]
    let body
    let type = 'application/json'
    if (pkg && rest === 'meta.json') body = pkg.meta
    else if (pkg && rest === `${pkg.version}_meta.json`) body = pkg.versionMeta
    else if (pkg && rest.startsWith(`${pkg.version}/`) && pkg.files.has(rest.slice(pkg.version.length))) {
      body = pkg.files.get(rest.slice(pkg.version.length))
      type = 'application/typescript; charset=utf-8'
    }
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    served.add(pkg.name)
    res.writeHead(200, { 'content-type': type }).end(body)
  })
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolvePromise({
        port,
        url: `http://127.0.0.1:${port}`,
        served,
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
  })
}

/**
 * A temporary folder with `deno-runtime` linked to the engine's, as the engine itself runs it
 * (Deno 2 refuses to run a script inside node_modules).
 */
function runtimeLink() {
  const dir = mkdtempSync(join(tmpdir(), 'sns-logger-deno-runtime-'))
  symlinkSync(RUNTIME, join(dir, 'deno-runtime'), 'dir')
  return dir
}

/**
 * Moves the cache entries fetched from the local server to jsr.io's keys. Deno keys a remote
 * module by `remote/<scheme>/<host>[_PORT<port>]/<sha256 of the URL path>` and appends its
 * metadata (headers, the URL) to the file; the path is the same on both hosts.
 */
function moveJsrEntries(port) {
  const from = join(DENO_DIR, 'remote', 'http', `127.0.0.1_PORT${port}`)
  mkdirSync(JSR_CACHE, { recursive: true })
  for (const name of readdirSync(from)) {
    const bytes = readFileSync(join(from, name))
    const at = bytes.lastIndexOf(CACHE_METADATA)
    if (at < 0) throw new Error(`ensure-apps-engine: unexpected Deno cache entry format in ${join(from, name)}`)
    const metadata = JSON.parse(bytes.subarray(at + CACHE_METADATA.length).toString('utf8'))
    const url = new URL(metadata.url)
    metadata.url = `https://jsr.io${url.pathname}${url.search}`
    if (sha256(`${url.pathname}${url.search}`) !== name) throw new Error(`ensure-apps-engine: Deno cache key of ${metadata.url} is not what this script expects`)
    writeFileSync(join(JSR_CACHE, name), Buffer.concat([bytes.subarray(0, at), Buffer.from(`${CACHE_METADATA}${JSON.stringify(metadata)}`)]))
    unlinkSync(join(from, name))
  }
  rmSync(from, { recursive: true, force: true })
  if (!readdirSync(dirname(from)).length) rmSync(dirname(from), { recursive: true, force: true })
}

/**
 * Runs what the engine will run, offline (`--cached-only`, env PATH and DENO_DIR only): the
 * stand-ins behave as the runtime needs, and main.ts starts and says it is ready.
 */
async function checkRuntime(denoPath, linkDir) {
  const env = { PATH: process.env.PATH ?? '', DENO_DIR }
  const probe = join(linkDir, 'probe.ts')
  writeFileSync(
    probe,
    [
      `import { parseArgs } from ${JSON.stringify(join(linkDir, 'deno-runtime', 'lib', 'parseArgs.ts'))}`,
      "import { writeAll } from '@std/io'",
      "import { toArrayBuffer } from '@std/streams'",
      "const bytes = new Uint8Array(await toArrayBuffer(ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])])))",
      "const args = parseArgs(['--subprocess', 'app-id', '--spawnId', '3', '--metricsReportFrequencyInMs', '5000'])",
      'await writeAll(Deno.stdout, new TextEncoder().encode(JSON.stringify({ args, bytes: [...bytes] })))',
      '',
    ].join('\n'),
  )
  const allowRead = `--allow-read=${[ENGINE, NODE_MODULES, linkDir].join(',')}`
  const probeRun = await run(denoPath, ['run', '--cached-only', `--config=${DENO_CONFIG}`, allowRead, probe], { env, cwd: linkDir })
  const expected = JSON.stringify({ args: { _: [], subprocess: 'app-id', spawnId: 3, metricsReportFrequencyInMs: 5000 }, bytes: [1, 2, 3] })
  if (!probeRun.ok || probeRun.stdout.trim() !== expected) {
    throw new Error(`ensure-apps-engine: the JSR stand-ins do not work offline (expected ${expected}):\n${probeRun.output.trim()}`)
  }
  // The runtime announces itself with a msgpack-encoded JSON-RPC "ready" notification.
  const child = spawn(
    denoPath,
    ['run', '--cached-only', `--config=${DENO_CONFIG}`, allowRead, '--allow-env=NODE_EXTRA_CA_CERTS', join(linkDir, 'deno-runtime', 'main.ts'), '--subprocess', 'sns-logger-check', '--spawnId', '0'],
    { env, cwd: linkDir, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  let output = ''
  const ready = await new Promise((resolvePromise) => {
    const timer = setTimeout(() => resolvePromise(false), 60_000)
    const onData = (chunk) => {
      output += chunk.toString('latin1')
      if (output.includes('ready')) {
        clearTimeout(timer)
        resolvePromise(true)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk) => (output += chunk.toString('utf8')))
    child.once('exit', () => {
      clearTimeout(timer)
      resolvePromise(output.includes('ready'))
    })
  })
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((done) => child.once('exit', done))
  child.kill('SIGKILL')
  await exited
  if (!ready) throw new Error(`ensure-apps-engine: the Apps-Engine Deno runtime does not start offline:\n${output.trim()}`)
}

/** Runs a command to completion (bounded), capturing its output. */
function run(command, args, { env, cwd, shell = false }) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { env, cwd, shell, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let output = ''
    child.stdout.on('data', (d) => {
      stdout += d
      output += d
    })
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), INSTALL_TIMEOUT_MS)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolvePromise({ ok: false, status: error.code, stdout, output: `${output}${error.message}` })
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ ok: code === 0, status: signal ?? code, stdout, output })
    })
  })
}

/** A directory lock (mkdir is atomic) so concurrent test processes prepare once; stale locks of dead processes are taken over. */
async function acquireLock() {
  const deadline = Date.now() + LOCK_WAIT_MS
  let announced = false
  for (;;) {
    try {
      mkdirSync(LOCK_DIR)
      writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid))
      return () => rmSync(LOCK_DIR, { recursive: true, force: true })
    } catch (error) {
      if (error.code !== 'EEXIST') throw error
    }
    let owner = 0
    try {
      owner = Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8'))
    } catch {}
    // A dead owner, or none recorded a minute after the lock was taken (it died in between).
    if ((Number.isInteger(owner) && owner > 0 && !isAlive(owner)) || (!owner && lockAge() > 60_000)) {
      rmSync(LOCK_DIR, { recursive: true, force: true })
      continue
    }
    if (Date.now() > deadline) throw new Error(`ensure-apps-engine: ${LOCK_DIR} held by process ${owner} for too long; remove it if that process is gone`)
    if (!announced) {
      log(`waiting for another process (${owner || 'starting'}) preparing the engine`)
      announced = true
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

function lockAge() {
  try {
    return Date.now() - statSync(LOCK_DIR).mtimeMs
  } catch {
    return 0
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureAppsEngine().then(
    (paths) => process.stdout.write(`${JSON.stringify(paths, null, 2)}\n`),
    (error) => {
      process.stderr.write(`${error.message}\n`)
      process.exit(1)
    },
  )
}
