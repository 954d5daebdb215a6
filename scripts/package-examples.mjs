// `npm run example:package`: each example app (examples/<app>/ with an app.json) packaged by the
// real Rocket.Chat apps toolchain into examples/<app>/dist/<nameSlug>_<version>.zip, as an app
// developer does it: the client generated into the app's source, then `rc-apps package`.
//
// The apps share one install of the toolchain, examples/node_modules (examples/package.json,
// pinned exactly); each app folder gets a `node_modules` link to it, since the apps compiler
// loads the engine's definitions from `<app>/node_modules` itself.
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ensureInstalled, root, run } from './prepare.mjs'

export const EXAMPLES = join(root, 'examples')

/** examples/<app>/ folders that hold a Rocket.Chat app. */
export function exampleApps() {
  return readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(EXAMPLES, entry.name, 'app.json')))
    .map((entry) => join(EXAMPLES, entry.name))
}

/** The apps toolchain installed, and linked into every app folder. */
export function ensureExamplesInstalled({ quiet = false } = {}) {
  if (!ensureInstalled({ dir: EXAMPLES, quiet })) return false
  for (const app of exampleApps()) {
    if (!existsSync(join(app, 'node_modules'))) symlinkSync('../node_modules', join(app, 'node_modules'), 'dir')
  }
  return true
}

/** The zip `rc-apps package` writes for an app. */
export function appZip(app) {
  const { nameSlug, version } = JSON.parse(readFileSync(join(app, 'app.json'), 'utf8'))
  return join(app, 'dist', `${nameSlug}_${version}.zip`)
}

/**
 * `generate-client` as run in an app's folder: the client into src/sns-logger, with the app's
 * plan-extension.json if it has one. (The paths go into the files' header.)
 */
export function generateClientArgs(app) {
  const extension = existsSync(join(app, 'plan-extension.json')) ? ['--plan-extension', 'plan-extension.json'] : []
  return ['generate-client', '--out', 'src/sns-logger', ...extension]
}

/**
 * Generates each app's client (generateClientArgs) and packages the app. Returns the zips, or
 * null after printing what failed. `generate: false` packages the clients as committed (a test
 * that runs beside the drift check in generate-client.test.mjs must not rewrite them).
 */
export function packageExamples({ quiet = false, generate = true } = {}) {
  if (!ensureExamplesInstalled({ quiet })) return null
  const zips = []
  for (const app of exampleApps()) {
    const steps = [
      ...(generate ? [[process.execPath, [join(root, 'cli.js'), ...generateClientArgs(app)]]] : []),
      [join(EXAMPLES, 'node_modules', '.bin', 'rc-apps'), ['package']],
    ]
    rmSync(appZip(app), { force: true }) // the zip is the proof that packaging worked: never an old one
    for (const [command, args] of steps) {
      if (!run(command, args, { quiet, cwd: app }).ok) {
        console.error(`example:package: ${relative(root, app)}: ${[command, ...args].join(' ')} failed`)
        return null
      }
    }
    if (!existsSync(appZip(app))) {
      console.error(`example:package: ${relative(root, app)}: rc-apps wrote no ${relative(root, appZip(app))}`)
      return null
    }
    zips.push(appZip(app))
  }
  return zips
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const zips = packageExamples()
  if (zips) console.log(`\npackaged: ${zips.map((zip) => relative(root, zip)).join(', ')}`)
  process.exitCode = zips ? 0 : 1
}
