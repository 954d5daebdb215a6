// Shared by `npm test`, `npm run demo` and `npm run bench`: install npm packages when
// missing, then build the addon.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Runs a command in the project root; returns its status and, if asked, its output. */
export function run(command, args, { capture = false, quiet = false, cwd = root } = {}) {
  if (!quiet) console.log(`\n$ ${[command, ...args].join(' ')}`)
  const child = spawnSync(command, args, {
    cwd,
    stdio: capture || quiet ? ['inherit', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  })
  if (capture) {
    process.stdout.write(child.stdout)
    process.stderr.write(child.stderr)
  }
  const output = (child.stdout ?? '') + (child.stderr ?? '')
  if (quiet && child.status !== 0) process.stderr.write(output)
  return { ok: child.status === 0, output }
}

/**
 * Installs a package's dependencies and dev dependencies unless every one is already there: the
 * project's (`npm install`), or those of a folder with its own lockfile such as examples/ (`npm ci`).
 */
export function ensureInstalled({ quiet = false, dir = root } = {}) {
  const { dependencies, devDependencies } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  const names = Object.keys({ ...dependencies, ...devDependencies })
  const installed = names.every((name) => existsSync(join(dir, 'node_modules', name, 'package.json')))
  if (installed) return true
  const args = dir === root ? ['install', '--no-audit', '--no-fund'] : ['ci', '--prefix', dir, '--no-audit', '--no-fund']
  return run('npm', args, { quiet }).ok
}

let targetDirectory
/**
 * Cargo's target directory (`cargo metadata`), which honours CARGO_TARGET_DIR and cargo's
 * config: where the benchmark binaries are. `<root>/target` when cargo cannot tell.
 */
export function cargoTargetDir() {
  if (targetDirectory) return targetDirectory
  const metadata = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  targetDirectory = metadata.status === 0 ? JSON.parse(metadata.stdout).target_directory : join(root, 'target')
  return targetDirectory
}

/** Builds the addon: debug for tests and the demo (fast), release for benchmarks. */
export function buildAddon({ release = false, quiet = false } = {}) {
  const args = ['napi', 'build', '--platform', '--js', 'binding.js', '--dts', 'binding.d.ts']
  if (release) args.push('--release')
  return run('npx', args, { quiet }).ok
}
