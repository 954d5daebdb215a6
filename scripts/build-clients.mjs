// Builds what the JavaScript clients ship besides their ESM sources: the app client as
// CommonJS (client/index.cjs, for the Apps-Engine compiler's `require`) and the widget as one
// minified script for a <script> tag (widget/sns-logger-widget.min.js, global
// `SnsLoggerWidget`). Run by `npm test`, `npm run build:clients` and `npm pack`.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './prepare.mjs'

/** Each output: its ESM entry and esbuild's options. */
export const CLIENT_BUILDS = [
  { entry: 'client/index.mjs', outfile: 'client/index.cjs', format: 'cjs', platform: 'neutral' },
  {
    entry: 'widget/index.mjs',
    outfile: 'widget/sns-logger-widget.min.js',
    format: 'iife',
    platform: 'browser',
    globalName: 'SnsLoggerWidget',
    minify: true,
  },
]

/** Builds every output whose entry exists; returns false (after printing why) on an error. */
export async function buildClients() {
  try {
    // Imported here, not at the top: `npm test` loads this module before it installs esbuild.
    const { build } = await import('esbuild')
    for (const { entry, ...options } of CLIENT_BUILDS) {
      if (!existsSync(join(root, entry))) continue
      await build({
        entryPoints: [join(root, entry)],
        bundle: true,
        target: 'es2020',
        legalComments: 'none',
        logLevel: 'warning',
        ...options,
        outfile: join(root, options.outfile),
      })
    }
    return true
  } catch (error) {
    console.error(`building the JavaScript clients failed: ${error.message}`)
    return false
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = (await buildClients()) ? 0 : 1
