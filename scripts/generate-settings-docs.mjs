// Writes the option tables of docs/api.md (init() options) and docs/relay.md (`serve` flags) and the settings' members
// of LoggerOptions and RelayOptions in index.d.ts from the settings table (the core's rows, read
// through the built addon). `--check` writes nothing and exits 1 when a file is stale.
import { readFileSync, realpathSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const { settings, updateReadme, updateDts } = createRequire(import.meta.url)('../cli/settings.js')

/** `[{ file, current, generated }]`: each file as it is and as it would be written. */
export function generatedFiles(root = ROOT, rows = settings()) {
  return [
    ['docs/api.md', updateReadme],
    ['docs/relay.md', updateReadme],
    ['index.d.ts', updateDts],
  ].map(([name, update]) => {
    const file = join(root, name)
    const current = readFileSync(file, 'utf8')
    return { file, current, generated: update(current, rows) }
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const check = process.argv.includes('--check')
  for (const { file, current, generated } of generatedFiles()) {
    if (check) {
      if (generated !== current) {
        console.error(`out of date: ${relative(ROOT, file)} (run npm run generate:settings)`)
        process.exitCode = 1
      }
    } else if (generated !== current) {
      writeFileSync(file, generated)
      console.log(`wrote ${relative(ROOT, file)}`)
    }
  }
}
