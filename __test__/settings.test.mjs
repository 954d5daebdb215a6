// The settings table (one row per setting of init() and serve(), from the core) is the one
// home of each setting's option key, environment variable, flag, type, default and doc line:
// `serve --help`, the setting flags of the operator commands' usage texts, the option tables of
// docs/api.md and docs/relay.md and the options of index.d.ts are written from it.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { describe, test } from 'node:test'

import { generatedFiles, ROOT } from '../scripts/generate-settings-docs.mjs'
import { SITE_URL, clearSnsLoggerEnv, dfConfig } from './support/fixtures.mjs'
import { runCli } from './support/relay.mjs'

const require = createRequire(import.meta.url)
const { settings, serveFlags, serveOptions, INTERFACES } = require('../cli/settings.js')
const { serve } = require('../index.js')
clearSnsLoggerEnv()

const ROWS = settings()
/** Options of index.d.ts that are not settings of the core (JavaScript callbacks). */
const JS_ONLY = { LoggerOptions: ['onError', 'onDelivery'], RelayOptions: [] }

/** The members of an interface of index.d.ts: `{ name: { doc, type } }`. */
function members(dts, name) {
  const body = dts.match(new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`))?.[1]
  assert.ok(body, `index.d.ts has interface ${name}`)
  const found = {}
  for (const [, doc, key, type] of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n\s*(\w+)\?: ([^\n]+)/g)) {
    found[key] = { doc: doc.replace(/\s*\n\s*\*\s?/g, ' '), type: type.trim() }
  }
  return found
}

describe('the settings table', () => {
  test('has one row per option key in each scope, each with a doc line', () => {
    for (const scope of Object.keys(INTERFACES)) {
      const keys = ROWS.filter((r) => r.scope === scope).map((r) => r.key)
      assert.ok(keys.length > 0, scope)
      assert.equal(new Set(keys).size, keys.length, `${scope}: a key twice`)
    }
    for (const row of ROWS) assert.ok(row.doc.length > 0, `${row.key} has a doc line`)
    const flags = ROWS.filter((r) => r.flag).map((r) => r.flag)
    assert.equal(new Set(flags).size, flags.length, 'a flag twice')
  })

  test('index.d.ts documents each option of LoggerOptions and RelayOptions as the table says', () => {
    const dts = readFileSync(join(ROOT, 'index.d.ts'), 'utf8')
    for (const [scope, name] of Object.entries(INTERFACES)) {
      const documented = members(dts, name)
      const rows = ROWS.filter((r) => r.scope === scope)
      assert.deepEqual(
        Object.keys(documented).filter((key) => !JS_ONLY[name].includes(key)).sort(),
        rows.map((r) => r.key).sort(),
        `${name}: its options are the table's`,
      )
      for (const row of rows) {
        const { doc, type } = documented[row.key]
        if (row.env) assert.ok(doc.includes(row.env), `${name}.${row.key}: names ${row.env}`)
        if (row.hasDefault) assert.ok(doc.includes(row.default), `${name}.${row.key}: says its default ${row.default}`)
        if (row.ts) assert.equal(type, row.ts, `${name}.${row.key}: type`)
      }
    }
  })

  test("the option tables of docs/api.md and docs/relay.md and index.d.ts's options are written from it (npm run generate:settings)", () => {
    const files = generatedFiles()
    for (const scope of Object.keys(INTERFACES)) {
      assert.equal(files.filter(({ file }) => file.endsWith('.md') && readFileSync(file, 'utf8').includes(`settings:${scope}:start`)).length, 1, `one page has the ${scope} table`)
      assert.ok(readFileSync(files.find(({ file }) => file.endsWith('.d.ts')).file, 'utf8').includes(`settings:${scope}:start`), `index.d.ts has the ${scope} markers`)
    }
    for (const { file, current, generated } of files) assert.equal(current, generated, `${file} is stale: run npm run generate:settings`)
  })

  test('serve --help lists every flag with its environment variable and default', async () => {
    const help = await runCli(['serve', '--help'])
    assert.equal(help.code, 0)
    for (const row of ROWS.filter((r) => r.flag)) {
      const line = help.stdout.slice(help.stdout.indexOf(`  ${row.flag}`))
      assert.ok(help.stdout.includes(`  ${row.flag}`), `explains ${row.flag}`)
      const entry = line.slice(0, line.indexOf('\n  -', 3)).replace(/\s+/g, ' ')
      assert.ok(entry.includes(row.scope === 'logger' ? `the logger's ${row.key}` : row.env), `${row.flag}: ${entry}`)
      assert.ok(entry.includes(row.default), `${row.flag}: default ${row.default}`)
    }
    for (const row of ROWS.filter((r) => r.scope === 'logger' && r.env)) {
      assert.ok(help.stdout.includes(`  ${row.env}`), `names ${row.env}`)
    }
  })

  test("the operator commands' usage texts name only the table's variables and flags, and write each setting flag's line from its row", async () => {
    const known = new Set([...ROWS.map((r) => r.env).filter(Boolean), ...ROWS.map((r) => r.flag).filter(Boolean)])
    const settingFlags = { spool: ['spoolDir'], 'dead-letters': ['spoolDir'], validate: ['planExtension'] }
    for (const command of ['check', 'spool', 'dead-letters', 'validate', 'generate-client']) {
      const help = await runCli([command, '--help'])
      assert.equal(help.code, 0, command)
      for (const variable of help.stdout.match(/SNS_LOGGER_[A-Z_]+/g) ?? []) assert.ok(known.has(variable), `${command} --help names ${variable}, which no setting has`)
      const text = help.stdout.replace(/\s+/g, ' ')
      for (const key of settingFlags[command] ?? []) {
        const row = ROWS.find((r) => r.scope === 'logger' && r.key === key)
        assert.ok(text.includes(row.doc) && text.includes(row.env), `${command} --help: ${key}'s line is its row's (${row.doc}; ${row.env})`)
      }
    }
  })

  test("serve's flags become the options of their settings", () => {
    const argv = ['--port', '0', '--widget-origin', 'https://a.example', '--widget-origin', 'https://b.example', '--trust-forwarded-for', '--ack', 'queued', '--max-spool-bytes', '1048576', '--message-attributes']
    const { values } = parseArgs({ args: argv, options: serveFlags(ROWS), strict: true })
    assert.deepEqual(serveOptions(ROWS, values), {
      relay: { port: 0, widgetOrigins: ['https://a.example', 'https://b.example'], trustForwardedFor: true, ack: 'queued' },
      logger: { maxSpoolBytes: 1048576, messageAttributes: true },
    })
  })

  test('what the table says a variable allows is what serve() allows', () => {
    const logger = { siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' } }
    const checked = ROWS.filter((r) => r.scope === 'relay' && r.env && ['whole', 'choice', 'address'].includes(r.type))
    assert.ok(checked.length >= 10)
    for (const row of checked) {
      process.env[row.env] = 'bogus'
      try {
        assert.throws(
          () => serve({ logger }),
          (error) => {
            assert.equal(error.code, 'ERR_INVALID_OPTIONS')
            assert.ok(error.message.includes(`"bogus"`) && error.message.endsWith(`allowed: ${row.allowed}`), `${row.env}: ${error.message}`)
            return true
          },
        )
      } finally {
        delete process.env[row.env]
      }
    }
  })
})
