#!/usr/bin/env node
// Finds a Chromium for the browser test (puppeteer-core drives it through `executablePath`),
// and installs Debian's `chromium` package when none is found and this process may (root,
// apt-get present), as scripts/ensure-moto.mjs does for moto.
//
//   node scripts/ensure-chromium.mjs                 # CLI: prints the executable's path
//   import { ensureChromium } from './scripts/ensure-chromium.mjs'
//   const executablePath = await ensureChromium()   // absolute path
//
// Environment:
//   SNS_LOGGER_CHROMIUM   an executable to use instead of looking (e.g. a Chrome for Testing build)

import { spawn } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Names looked up on PATH, in order. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
/** Where Debian and Ubuntu put it, when PATH is minimal. */
const FIXED_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']
/** apt-get update plus install: a few minutes on a slow mirror. */
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK)
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** The first Chromium found (SNS_LOGGER_CHROMIUM, PATH, fixed paths), or null. */
export function findChromium() {
  const override = process.env.SNS_LOGGER_CHROMIUM
  if (override) {
    if (isExecutable(override)) return resolve(override)
    throw new Error(`ensure-chromium: SNS_LOGGER_CHROMIUM=${override} is not an executable file`)
  }
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const path = join(dir, name)
      if (isExecutable(path)) return path
    }
  }
  return FIXED_PATHS.find(isExecutable) ?? null
}

// One install per process even when several callers ask at once; across processes apt's own
// lock serialises (DPkg::Lock::Timeout waits for it instead of failing).
let installing = null

/**
 * The path of a Chromium executable; installs Debian's `chromium` when none is found.
 * @param {{ quiet?: boolean, log?: (line: string) => void }} [options]
 *   `log` receives one-line status messages (default: stderr); `quiet: true` suppresses them.
 * @returns {Promise<string>}
 */
export async function ensureChromium(options = {}) {
  const log = options.quiet ? () => {} : (options.log ?? ((line) => process.stderr.write(`${line}\n`)))
  const found = findChromium()
  if (found) return found
  installing ??= install(log).finally(() => {
    installing = null
  })
  return installing
}

async function install(log) {
  const why = cannotInstall()
  if (why) {
    throw new Error(
      `ensure-chromium: no Chromium found (looked for ${CHROMIUM_NAMES.join(', ')} on PATH and ${FIXED_PATHS.join(', ')}) ` +
        `and ${why}. Install it (Debian/Ubuntu: apt-get install chromium) or set SNS_LOGGER_CHROMIUM to a Chrome or Chromium executable.`,
    )
  }
  const started = Date.now()
  log('ensure-chromium: no Chromium found; installing Debian\'s chromium package (apt-get, a few minutes, once)')
  const lock = ['-o', 'DPkg::Lock::Timeout=600']
  await run('apt-get', [...lock, 'update'])
  await run('apt-get', [...lock, 'install', '-y', 'chromium'])
  const path = findChromium()
  if (!path) throw new Error('ensure-chromium: apt-get installed chromium, but no executable was found afterwards')
  log(`ensure-chromium: installed ${path} in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  return path
}

/** Why this process cannot install the package, or null when it can. */
function cannotInstall() {
  if (process.platform !== 'linux') return `installing it is only automated on Debian-like Linux (this is ${process.platform})`
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'this process is not root (apt-get needs root)'
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  if (![...dirs, '/usr/bin'].some((dir) => isExecutable(join(dir, 'apt-get')))) return 'apt-get is not available'
  return null
}

function run(cmd, args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    let output = ''
    const collect = (d) => {
      output += d
      if (output.length > 64 * 1024) output = output.slice(-32 * 1024)
    }
    child.stdout.setEncoding('utf8').on('data', collect)
    child.stderr.setEncoding('utf8').on('data', collect)
    const timer = setTimeout(() => child.kill('SIGKILL'), INSTALL_TIMEOUT_MS)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`ensure-chromium: ${cmd} ${args.join(' ')}: ${err.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) return resolvePromise(output)
      reject(new Error(`ensure-chromium: ${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`.trimEnd()))
    })
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureChromium({ log: (line) => console.error(line) }).then(
    (path) => console.log(path),
    (err) => {
      console.error(err.message)
      process.exitCode = 1
    },
  )
}
