// The package as a user installs it: `npm pack` of the main package and of this machine's
// platform package (npm/<platform>/: linux-x64-gnu on the development machine, each target in
// the release workflow), both tarballs installed offline into an empty directory with no Rust
// toolchain on PATH (with the runtime dependencies, ajv and what it needs, packed from the
// project's node_modules in the registry's stead), and used from there: the logger, the plan,
// the CLI, the JSON Schemas. Also checks that the platform packages, the root
// package's optionalDependencies and the generated loader (binding.js) name the same packages
// and files.
//
// The .node packed is the one `npm test` just built (debug); on Linux it is stripped first
// (binutils' `strip`, when on PATH), as the release profile strips (strip = "symbols"), which
// also makes `npm pack` four times faster. SNS_LOGGER_PACK_ADDON=<path to a .node> packs that
// file as it is instead, e.g. a release build:
//   npx napi build --platform --release --no-js --output-dir /tmp/release
//   SNS_LOGGER_PACK_ADDON=/tmp/release/sns-logger.linux-x64-gnu.node node --test __test__/pack-install.test.mjs
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { SITE_URL, SUPPORT, TS, dfConfig, tempDir } from './support/fixtures.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const { binaryName } = rootPackage.napi

/** The platform packages the project publishes: npm/<platform>/ for each napi target. */
const PLATFORMS = ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'linux-arm64-musl', 'darwin-x64', 'darwin-arm64']

/** What npm pack --json reports of a tarball. */
function packInfo(stdout) {
  const [info] = JSON.parse(stdout)
  return { filename: info.filename, size: info.size, unpackedSize: info.unpackedSize, files: info.files.map((f) => f.path) }
}

const kB = (bytes) => `${(bytes / 1024).toFixed(0)} kB`
const MB = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** Is there an executable `name` in directory `dir`? */
function hasExecutable(dir, name) {
  try {
    accessSync(join(dir, name), constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The environment of the user's shell: PATH without any directory holding cargo or rustc, no
 * Rust or npm-lifecycle variables (npm test runs under npm), no test-runner marker, and an
 * npm cache of its own so that `--offline` can only find what is installed explicitly.
 */
function userEnv(cache) {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !hasExecutable(dir, 'cargo') && !hasExecutable(dir, 'rustc'))
  const dropped = /^(CARGO|RUSTUP|RUSTC|RUST_|npm_|NODE_TEST_CONTEXT$|NAPI_RS_|SNS_LOGGER_)/
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !dropped.test(name)))
  return {
    ...env,
    PATH: path.join(delimiter),
    npm_config_cache: cache,
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  }
}

/** Runs a command; fails the test with its output unless it exits 0 (or `expectFailure`). */
function sh(command, args, { cwd, env, timeout = 120_000, expectFailure = false }) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 })
  const shown = `$ ${[command, ...args].join(' ')} (in ${cwd})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
  assert.equal(result.error, undefined, `${shown}\nerror: ${result.error}`)
  assert.equal(result.signal, null, `${shown}\nkilled by ${result.signal}`)
  if (expectFailure) assert.notEqual(result.status, 0, `${shown}\nexpected a failure`)
  else assert.equal(result.status, 0, `${shown}\nexited with ${result.status}`)
  return result
}

test('each platform package, the optionalDependencies and the loader name the same package and file', () => {
  const dirs = readdirSync(join(ROOT, 'npm')).sort()
  assert.deepEqual(dirs, [...PLATFORMS].sort(), 'one npm/<platform>/ per napi target')
  assert.deepEqual(
    Object.keys(rootPackage.optionalDependencies ?? {}).sort(),
    PLATFORMS.map((p) => `${rootPackage.name}-${p}`).sort(),
    'the root package depends optionally on every platform package',
  )
  const loader = readFileSync(join(ROOT, 'binding.js'), 'utf8')
  for (const platform of PLATFORMS) {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'npm', platform, 'package.json'), 'utf8'))
    const file = `${binaryName}.${platform}.node`
    assert.equal(pkg.name, `${rootPackage.name}-${platform}`)
    assert.equal(pkg.version, rootPackage.version, `${pkg.name}: the version of the root package`)
    assert.equal(rootPackage.optionalDependencies[pkg.name], rootPackage.version, `${pkg.name}: pinned to the root version`)
    assert.equal(pkg.main, file)
    assert.deepEqual(pkg.files, [file])
    const [os, arch, libc] = platform.split('-')
    assert.deepEqual(pkg.os, [os])
    assert.deepEqual(pkg.cpu, [arch])
    if (os === 'linux') assert.deepEqual(pkg.libc, [libc === 'musl' ? 'musl' : 'glibc'])
    assert.ok(loader.includes(`require('${pkg.name}')`), `binding.js loads ${pkg.name}`)
    assert.ok(loader.includes(`require('./${file}')`), `binding.js tries ./${file} first`)
  }
  assert.ok(!rootPackage.files.some((f) => f.includes('.node')), 'the main package carries no binary')
})

/**
 * The package's runtime dependencies and theirs, as installed in the project's node_modules:
 * `[dir]`, each once. Offline, the test packs them from there, standing in for the registry.
 */
function runtimeDependencyDirs() {
  const dirs = new Map()
  const visit = (name) => {
    if (dirs.has(name)) return
    const dir = join(ROOT, 'node_modules', name)
    dirs.set(name, dir)
    for (const dependency of Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {})) visit(dependency)
  }
  for (const name of Object.keys(rootPackage.dependencies ?? {})) visit(name)
  return [...dirs.values()]
}

/** This machine's platform package (as binding.js names it), or null if the project ships none for it. */
function hostPlatform() {
  process.report.excludeNetwork = true // the report's network part can take seconds
  // @ts-ignore glibcVersionRuntime is in the report header on glibc systems only
  const glibc = Boolean(process.report.getReport().header?.glibcVersionRuntime)
  const id = process.platform === 'linux' ? `linux-${process.arch}-${glibc ? 'gnu' : 'musl'}` : `${process.platform}-${process.arch}`
  return PLATFORMS.includes(id) ? id : null
}

const platform = hostPlatform()

test(`packed with npm pack and installed with no Rust toolchain: the logger, sns-logger/plan under --no-addons, and the CLI (${platform})`, { skip: !platform && `no platform package for ${process.platform}-${process.arch}`, timeout: 600_000 }, async (t) => {
  assert.ok(platform)
  const platformPackage = `${rootPackage.name}-${platform}`
  const addonFile = `${binaryName}.${platform}.node`
  const dir = tempDir('sns-logger-pack-')
  const tarballs = join(dir, 'tarballs')
  const app = join(dir, 'app')
  mkdirSync(tarballs)
  mkdirSync(app)
  const env = userEnv(join(dir, 'npm-cache'))

  // ---- pack ----
  const given = process.env.SNS_LOGGER_PACK_ADDON
  const addon = given || join(ROOT, addonFile)
  assert.ok(existsSync(addon), `${addon} is missing: build the addon first (npm test does)`)
  const staged = join(dir, 'stage', platform)
  mkdirSync(staged, { recursive: true })
  for (const file of readdirSync(join(ROOT, 'npm', platform))) copyFileSync(join(ROOT, 'npm', platform, file), join(staged, file))
  const stripped = !given && process.platform === 'linux' && spawnSync('strip', ['-o', join(staged, addonFile), addon], { timeout: 60_000 }).status === 0
  if (!stripped) copyFileSync(addon, join(staged, addonFile))
  const how = given ? `${given}, as it is` : `the build npm test made, ${stripped ? 'stripped' : 'not stripped'}`
  t.diagnostic(`.node packed: ${how}: ${MB(statSync(addon).size)} -> ${MB(statSync(join(staged, addonFile)).size)}`)

  // --ignore-scripts: prepack only rebuilds the JavaScript clients, which npm test built before
  // the tests ran (rebuilding them here would rewrite files other test files are reading).
  const main = packInfo(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs], { cwd: ROOT, env }).stdout)
  const plat = packInfo(sh('npm', ['pack', '--json', '--pack-destination', tarballs], { cwd: staged, env }).stdout)
  t.diagnostic(`packed: ${main.filename} ${kB(main.size)} (unpacked ${kB(main.unpackedSize)}), ${plat.filename} ${MB(plat.size)} (unpacked ${MB(plat.unpackedSize)})`)
  assert.ok(!main.files.some((f) => f.endsWith('.node')), `the main package carries no binary: ${main.files.join(', ')}`)
  for (const file of ['index.js', 'binding.js', 'cli.js', 'cli/generate-client.js', 'cli/tail.js', 'cli/event-check.js', 'plan/index.js', 'plan/render.mjs', 'plan/render-schema.mjs', 'plan/schema/event.json', 'client/index.cjs', 'client/generate.mjs', 'widget/sns-logger-widget.min.js']) {
    assert.ok(main.files.includes(file), `the main package has ${file}`)
  }
  assert.deepEqual(plat.files.sort(), ['README.md', addonFile, 'package.json'].sort())

  // ---- install, as a user with no Rust toolchain ----
  const noCargo = spawnSync('cargo', ['--version'], { env, encoding: 'utf8' })
  assert.equal(/** @type {NodeJS.ErrnoException} */ (noCargo.error)?.code, 'ENOENT', 'cargo is not on the PATH of the install')
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'rocket-chat-app', private: true }))
  // Both tarballs explicitly, offline: the other platforms' optional packages cannot be fetched
  // and are skipped, as npm skips them on a registry install for not matching os/cpu/libc.
  // The runtime dependencies (ajv, for `sns-logger tail`) come from the registry for a user;
  // offline they are packed from the project's node_modules and given beside the two tarballs.
  const dependencies = runtimeDependencyDirs().map((dependency) => packInfo(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tarballs, dependency], { cwd: dir, env }).stdout).filename)
  sh('npm', ['install', join(tarballs, main.filename), join(tarballs, plat.filename), ...dependencies.map((file) => join(tarballs, file))], { cwd: app, env, timeout: 180_000 })
  const installed = join(app, 'node_modules')
  for (const name of [rootPackage.name, platformPackage]) {
    const pkg = JSON.parse(readFileSync(join(installed, name, 'package.json'), 'utf8'))
    for (const script of ['preinstall', 'install', 'postinstall']) assert.equal(pkg.scripts?.[script], undefined, `${name} runs no ${script} script`)
    assert.ok(!existsSync(join(installed, name, 'binding.gyp')), `${name} has no binding.gyp (npm would compile it)`)
  }
  assert.ok(existsSync(join(installed, platformPackage, addonFile)))
  assert.deepEqual(readdirSync(join(installed, rootPackage.name)).filter((f) => f.endsWith('.node')), [])

  // ---- require('sns-logger') logs to the file sink ----
  const events = join(dir, 'events.jsonl')
  const script = `
    const { SnsLogger, surveyLinkClicked } = require('sns-logger')
    const logger = new SnsLogger({
      siteUrl: ${JSON.stringify(SITE_URL)},
      dfConfig: ${JSON.stringify(dfConfig([SUPPORT]))},
      sink: { kind: 'file', path: ${JSON.stringify(events)} },
      spoolDir: ${JSON.stringify(join(dir, 'spool'))},
    })
    logger.logEvent(surveyLinkClicked({ roomId: 'room-from-tarball', agent: ${JSON.stringify(SUPPORT.username)}, timestamp: ${JSON.stringify(TS)} }))
    logger.close().then(() => {
      const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
      console.log(JSON.stringify({ main: require.resolve('sns-logger'), addons }))
    })
  `
  const run = sh(process.execPath, ['-e', script], { cwd: app, env, timeout: 30_000 })
  const loaded = JSON.parse(run.stdout.trim().split('\n').pop() ?? '')
  assert.equal(loaded.main, join(installed, rootPackage.name, 'index.js'), 'sns-logger resolves to the installed package')
  assert.deepEqual(loaded.addons, [join(installed, platformPackage, addonFile)], 'the addon comes from the platform package')
  const lines = readFileSync(events, 'utf8').split('\n').filter(Boolean)
  assert.equal(lines.length, 1, `one request in the file sink: ${lines.join('\n')}`)
  const request = JSON.parse(lines[0])
  assert.equal(request.TopicArn, SUPPORT.topic)
  const message = JSON.parse(request.Message)
  assert.equal(message.roomId, 'room-from-tarball')
  assert.equal(message.dialogflowAgentId, SUPPORT.agentId)
  assert.equal(message.action, 'link_clicked')

  // ---- sns-logger/plan with addons disabled; the main entry then cannot load ----
  const planScript = `
    const plan = require('sns-logger/plan')
    const event = plan.surveyLinkClicked({ roomId: 'r1', agent: 'support.bot', timestamp: ${JSON.stringify(TS)} })
    console.log(JSON.stringify(event))
  `
  const planRun = sh(process.execPath, ['--no-addons', '-e', planScript], { cwd: app, env, timeout: 30_000 })
  const event = JSON.parse(planRun.stdout)
  assert.equal(event.roomId, 'r1')
  assert.equal(event.action, 'link_clicked')
  sh(process.execPath, ['--no-addons', '-e', "require('sns-logger')"], { cwd: app, env, timeout: 30_000, expectFailure: true })

  // ---- npx sns-logger --help ----
  const help = sh('npx', ['sns-logger', '--help'], { cwd: app, env, timeout: 60_000 })
  assert.match(help.stdout, /^Usage: sns-logger <command>/)
  assert.match(help.stdout, /\bserve\b/)

  // ---- npx sns-logger generate-client: the relay client into an app's source, as the docs say ----
  const generated = sh('npx', ['sns-logger', 'generate-client', '--out', 'src/sns-logger'], { cwd: app, env, timeout: 60_000 })
  assert.equal(generated.stdout, 'wrote src/sns-logger/index.ts, src/sns-logger/types.ts, src/sns-logger/client.ts, src/sns-logger/validate.ts, src/sns-logger/answer.ts, src/sns-logger/plan.ts\n')
  assert.ok(readFileSync(join(app, 'src/sns-logger/index.ts'), 'utf8').startsWith(`// Generated by sns-logger ${rootPackage.version} from its tracking plan; do not edit.\n`))
  sh('npx', ['sns-logger', 'generate-client', '--out', 'src/sns-logger', '--check'], { cwd: app, env, timeout: 60_000 })

  // ---- the JSON Schemas: sns-logger/schema/<file>.json, and sns-logger schema ----
  const schemaId = sh(process.execPath, ['--no-addons', '-e', "console.log(require('sns-logger/schema/escalation.failed.json').$id)"], { cwd: app, env, timeout: 30_000 })
  assert.equal(schemaId.stdout, 'urn:sns-logger:schema:escalation.failed\n')
  const schemas = sh('npx', ['sns-logger', 'schema', '--out', 'schemas'], { cwd: app, env, timeout: 60_000 })
  assert.match(schemas.stdout, /^wrote 12 schemas into schemas: /)
  assert.deepEqual(JSON.parse(readFileSync(join(app, 'schemas/event.json'), 'utf8')).oneOf.length, 11)

  // ---- without the platform package (an unsupported platform): a clear error; plan still works ----
  renameSync(join(installed, platformPackage), join(dir, 'set-aside'))
  const missing = sh(process.execPath, ['-e', "require('sns-logger')"], { cwd: app, env, timeout: 30_000, expectFailure: true })
  assert.match(missing.stderr, /Cannot find native binding/)
  assert.match(missing.stderr, new RegExp(`Cannot find module '${platformPackage}'`))
  sh(process.execPath, ['--no-addons', '-e', planScript], { cwd: app, env, timeout: 30_000 })
})
