#!/usr/bin/env node
// Ensures a Python virtualenv at <repo>/.venv with moto[server] (the AWS
// emulator used by the end-to-end tests) installed.
//
//   node scripts/ensure-moto.mjs          # CLI: prints a one-line status
//   import { ensureMoto } from './scripts/ensure-moto.mjs'
//   const motoServer = await ensureMoto() // absolute path of moto_server
//
// Idempotent and fast: when `.venv/bin/moto_server` exists and the marker file
// `.venv/.moto-spec` records the pinned spec, nothing is run. Concurrent callers
// (e.g. several test files started in parallel by `node --test`) serialise on a
// lock directory inside `.venv`, so pip never runs twice at the same time.
//
// Environment:
//   SNS_LOGGER_PYTHON   python interpreter used to create the venv (default: python3)
//   SNS_LOGGER_VENV     venv location (default: <repo>/.venv)

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** pip requirement spec installed into the venv. Bump MOTO_SPEC to force a reinstall. */
export const MOTO_SPEC = 'moto[server]>=5.0,<6'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const VENV_DIR = process.env.SNS_LOGGER_VENV
  ? resolve(process.env.SNS_LOGGER_VENV)
  : join(REPO_ROOT, '.venv')

const IS_WINDOWS = process.platform === 'win32'
const BIN_DIR = join(VENV_DIR, IS_WINDOWS ? 'Scripts' : 'bin')
const EXE = IS_WINDOWS ? '.exe' : ''

/** Absolute path of the venv's python interpreter. */
export const VENV_PYTHON = join(BIN_DIR, `python${EXE}`)
/** Absolute path of the venv's moto_server console script. */
export const MOTO_SERVER = join(BIN_DIR, `moto_server${EXE}`)

const MARKER = join(VENV_DIR, '.moto-spec')
const LOCK_DIR = join(VENV_DIR, '.install-lock')
const LOCK_WAIT_MS = 10 * 60 * 1000

/**
 * Make sure moto_server is installed in the venv.
 *
 * @param {{ quiet?: boolean, log?: (line: string) => void }} [options]
 *   `log` receives the one-line status (default: stderr, so it never pollutes
 *   TAP output on stdout); `quiet: true` suppresses it.
 * @returns {Promise<string>} absolute path of the moto_server executable
 */
export async function ensureMoto(options = {}) {
  const log = options.quiet ? () => {} : (options.log ?? ((line) => process.stderr.write(`${line}\n`)))

  const ready = await isInstalled()
  if (ready) {
    log(`ensure-moto: ok, moto ${ready} already installed in ${VENV_DIR}`)
    return MOTO_SERVER
  }

  const started = Date.now()
  await mkdir(VENV_DIR, { recursive: true })
  const release = await acquireLock()
  try {
    // Another process may have finished the install while we waited for the lock.
    const raced = await isInstalled()
    if (raced) {
      log(`ensure-moto: ok, moto ${raced} installed in ${VENV_DIR} (by a concurrent process)`)
      return MOTO_SERVER
    }

    if (!existsSync(VENV_PYTHON)) {
      const python = process.env.SNS_LOGGER_PYTHON || (IS_WINDOWS ? 'python' : 'python3')
      // The directory exists (it holds our lock); `venv` populates it in place.
      await run(python, ['-m', 'venv', VENV_DIR], 'creating the virtualenv')
    }
    await run(
      VENV_PYTHON,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', MOTO_SPEC],
      `pip install "${MOTO_SPEC}"`,
    )
    if (!existsSync(MOTO_SERVER)) {
      throw new Error(`ensure-moto: pip succeeded but ${MOTO_SERVER} does not exist`)
    }
    const version = await motoVersion()
    await writeFile(MARKER, `${MOTO_SPEC}\n${version}\n`)
    log(
      `ensure-moto: installed moto ${version} (${MOTO_SPEC}) into ${VENV_DIR} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    )
    return MOTO_SERVER
  } finally {
    await release()
  }
}

/** @returns {Promise<string|null>} installed moto version when the venv matches MOTO_SPEC, else null */
async function isInstalled() {
  if (!existsSync(MOTO_SERVER) || !existsSync(VENV_PYTHON)) return null
  let marker
  try {
    marker = await readFile(MARKER, 'utf8')
  } catch {
    return null
  }
  const [spec, version] = marker.split('\n')
  return spec === MOTO_SPEC ? version || 'unknown' : null
}

async function motoVersion() {
  const { stdout } = await run(
    VENV_PYTHON,
    ['-c', 'import importlib.metadata as m; print(m.version("moto"))'],
    'reading the moto version',
  )
  return stdout.trim()
}

/**
 * mkdir-based lock (atomic on every platform). A lock whose owner pid is gone
 * is considered stale and removed.
 */
async function acquireLock() {
  const deadline = Date.now() + LOCK_WAIT_MS
  const ownerFile = join(LOCK_DIR, 'pid')
  for (;;) {
    try {
      await mkdir(LOCK_DIR)
      await writeFile(ownerFile, String(process.pid))
      return async () => {
        await rm(LOCK_DIR, { recursive: true, force: true })
      }
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
    let owner = NaN
    try {
      owner = Number.parseInt(await readFile(ownerFile, 'utf8'), 10)
    } catch {
      // Owner has created the dir but not yet written its pid, or just released.
    }
    if (Number.isInteger(owner) ? !isAlive(owner) : await olderThan(LOCK_DIR, 30_000)) {
      // Owner died mid-install (or between mkdir and writing its pid): steal the lock.
      // pip/venv are re-run from scratch on the existing venv, which is safe.
      await rm(LOCK_DIR, { recursive: true, force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new Error(`ensure-moto: timed out waiting for the install lock ${LOCK_DIR} (held by pid ${owner})`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}

async function olderThan(path, ms) {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms
  } catch {
    return false
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return err.code === 'EPERM'
  }
}

function run(cmd, args, what) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.on('error', (err) => reject(new Error(`ensure-moto: ${what} failed: ${cmd}: ${err.message}`)))
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePromise({ stdout, stderr })
      reject(
        new Error(
          `ensure-moto: ${what} failed (${signal ?? `exit ${code}`}): ${cmd} ${args.join(' ')}\n${stderr || stdout}`.trimEnd(),
        ),
      )
    })
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureMoto({ log: (line) => console.log(line) }).catch((err) => {
    console.error(err.message)
    process.exitCode = 1
  })
}
