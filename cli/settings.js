'use strict'
// The settings table (the core's: one row per setting of init() and serve(), with its option
// key, environment variable, flag, type, default and doc line) and what is written from it:
// the flags and usage text of `sns-logger serve`, and the option tables of docs/api.md and docs/relay.md
// (scripts/generate-settings-docs.mjs).

const { whole } = require('./common.js')

/** The rows: `{ scope, key, env, flag, value, type, allowed, ts, default, hasDefault, doc, ... }`. */
function settings() {
  return require('../binding.js').settings()
}

const WIDTH = 96
const COLUMN = 28

/** `text` wrapped to WIDTH, its first line after `label` (padded to `column`), the others indented. */
function entry(label, text, column = COLUMN) {
  const lines = []
  let line = `  ${label}`.padEnd(column)
  if (line.length > column) {
    lines.push(line.trimEnd())
    line = ''.padEnd(column)
  }
  let empty = true
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line)
      line = ''.padEnd(column)
      empty = true
    }
    line += empty ? word : ` ${word}`
    empty = false
  }
  lines.push(line)
  return lines.join('\n')
}

/** "default 8787", "required". */
const defaultText = (row) => (row.default === 'required' ? 'required' : `default ${row.default}`)

/** The rows with a flag: the relay's, then the logger's. */
const flagged = (rows) => [...rows.filter((r) => r.flag && r.scope === 'relay'), ...rows.filter((r) => r.flag && r.scope !== 'relay')]

/** The flags `serve` takes, for node:util parseArgs. */
function serveFlags(rows) {
  const flags = {}
  for (const row of flagged(rows)) {
    flags[row.flag.slice(2)] = row.type === 'switch' ? { type: 'boolean' } : { type: 'string', multiple: row.type === 'list' }
  }
  return flags
}

/** The flags given, as serve() options: `{ relay, logger }` (a flag of a logger setting goes to `logger`). */
function serveOptions(rows, values) {
  const options = { relay: {}, logger: {} }
  for (const row of flagged(rows)) {
    const name = row.flag.slice(2)
    if (values[name] === undefined) continue
    options[row.scope][row.key] = row.type === 'whole' ? whole(values, name) : values[name]
  }
  return options
}

const SERVE_INTRO = `Usage: sns-logger serve [flags]

Runs the relay until SIGTERM or SIGINT, then drains: /readyz and new requests get 503 (with
Connection: close), requests in flight finish, idle and slow connections close, and the logger
flushes for what is left of --shutdown-timeout-ms (what it cannot send goes to the spool).
A second signal exits at once (events in memory are spooled).

Flags (each also read from its environment variable; a flag wins):
  --config FILE             a JSON file of serve() options: the flags below in camelCase
                            (port, widgetOrigins, ...) and "logger" with init() options
                            (siteUrl, dfConfig, spoolDir, retryBudgetMs, ...); flags win
`

const SERVE_END = `  AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ... (the AWS default chain), AWS_ENDPOINT_URL_SNS

Endpoints: POST /v1/batch (Authorization: Bearer <token>), POST /v1/w (widget, Origin),
GET /healthz, GET /readyz; GET /metrics on the admin listener.
`

/** `sns-logger serve --help`: every flag with its environment variable, default and doc line. */
function serveUsage(rows) {
  const flags = flagged(rows).map((r) => {
      const source = r.scope === 'logger' ? `the logger's ${r.key}` : r.env
      return entry(r.value ? `${r.flag} ${r.value}` : r.flag, `${r.doc} (${source}; ${defaultText(r)})`)
    })
  const loggerEnv = rows.filter((r) => r.scope === 'logger' && r.env).map((r) => entry(r.env, `${r.doc}; ${defaultText(r)}`))
  return [
    SERVE_INTRO,
    ...flags.map((f) => `${f}\n`),
    '  -h, --help                this text\n',
    "\nThe relay's logger is configured as init() is, from the environment:\n",
    ...loggerEnv.map((e) => `${e}\n`),
    SERVE_END,
  ].join('')
}

// ---- the operator commands' flags for init() settings ------------------------

/** The flag of an operator command that sets init()'s `key`: `spoolDir` is `--spool-dir`. */
const optionFlag = (key) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

/** `optionFlag(key)` for node:util parseArgs. */
const optionFlagParse = (key) => ({ [optionFlag(key).slice(2)]: { type: 'string' } })

/** Its line in a command's usage text, from the setting's row: its doc line and where the value comes from when the flag is not given. */
function optionFlagUsage(key, value, column) {
  const row = settings().find((r) => r.scope === 'logger' && r.key === key)
  // A default of "none" says nothing here: without the flag, the option and the variable, there is none.
  const fallback = [`--config's ${key}`, row.env, row.default].filter((part) => part && part !== 'none')
  return entry(`${optionFlag(key)} ${value}`, `${row.doc} (else ${fallback.join(', else ')})`, column)
}

// ---- README ----------------------------------------------------------------

const code = (text) => `\`${text}\``
const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('<', '&lt;')
/** A whole number's range, after its doc line. */
const range = (row) => (row.type === 'whole' ? ` (${row.range})` : '')
const shownDefault = (row) => (row.hasDefault ? code(row.default) : row.default)

/** The README's table of init() options. */
function loggerTable(rows) {
  return [
    '| option | environment | default | |',
    '|---|---|---|---|',
    ...rows
      .filter((r) => r.scope === 'logger')
      .map((r) => `| ${code(r.key)} | ${r.env ? code(r.env) : ''} | ${cell(shownDefault(r))} | ${cell(r.doc + range(r))} |`),
  ].join('\n')
}

/** The README's table of `serve` flags. */
function relayTable(rows) {
  return [
    '| flag | environment | default | |',
    '|---|---|---|---|',
    ...flagged(rows).map((r) => {
        const flag = code(r.value ? `${r.flag} ${r.value}` : r.flag)
        const source = r.scope === 'logger' ? `the logger's ${code(r.key)}` : code(r.env)
        return `| ${flag} | ${source} | ${cell(shownDefault(r))} | ${cell(r.doc + range(r))} |`
      }),
  ].join('\n')
}

// ---- index.d.ts --------------------------------------------------------------

const INTERFACES = { logger: 'LoggerOptions', relay: 'RelayOptions' }

/** The members of an options interface of index.d.ts: each setting of `scope` with its doc line, variable and default. */
function dtsMembers(rows, scope) {
  return rows
    .filter((r) => r.scope === scope)
    .flatMap((r) => {
      const doc = [`${r.doc[0].toUpperCase()}${r.doc.slice(1)}${r.type === 'whole' ? ` (${r.range})` : ''}.`]
      if (r.env) doc.push(`Env: \`${r.env}\`.`)
      doc.push(`Default: ${r.hasDefault ? `\`${r.default}\`` : r.default}.`)
      return [`  /** ${doc.join(' ')} */`, `  ${r.key}?: ${r.ts}`]
    })
    .join('\n')
}

// ---- the generated files -----------------------------------------------------

const HEADER = 'Generated from the settings table (crates/core/src/config/settings/mod.rs, crates/relay/src/config.rs) by scripts/generate-settings-docs.mjs; do not edit.'

/** `text` with what lies between `start` and `end` (whole lines) replaced by `content`; unchanged without the markers. */
function between(text, start, end, content) {
  const from = text.indexOf(start)
  const to = text.indexOf(end, from)
  if (from < 0 || to < 0) return text
  const lineStart = text.lastIndexOf('\n', to) + 1
  return `${text.slice(0, from + start.length)}\n${content}\n${text.slice(lineStart)}`
}

/** The README with its option tables (between `<!-- settings:logger:start -->` and its end, and `relay`) written. */
function updateReadme(readme, rows) {
  const tables = { logger: loggerTable, relay: relayTable }
  let updated = readme
  for (const [name, render] of Object.entries(tables)) {
    updated = between(updated, `<!-- settings:${name}:start -->`, `<!-- settings:${name}:end -->`, `<!-- ${HEADER} -->\n\n${render(rows)}`)
  }
  return updated
}

/** index.d.ts with the settings' members of LoggerOptions and RelayOptions (between `// settings:logger:start` and its end, and `relay`) written. */
function updateDts(dts, rows) {
  let updated = dts
  for (const scope of Object.keys(INTERFACES)) {
    updated = between(updated, `// settings:${scope}:start`, `// settings:${scope}:end`, `  // ${HEADER}\n${dtsMembers(rows, scope)}`)
  }
  return updated
}

module.exports = { settings, optionFlagParse, optionFlagUsage, serveFlags, serveOptions, serveUsage, loggerTable, relayTable, updateReadme, updateDts, INTERFACES }
