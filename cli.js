#!/usr/bin/env node
'use strict'
// The `sns-logger` command: `serve` runs the HTTP relay; `check`, `spool`, `dead-letters`,
// `validate` and `tail` are the operator's tools; `generate-client` writes the client into an
// app, `schema` the JSON Schemas of the messages (one file each in cli/).
// Exit codes: 0 done, 1 failed while running or a problem found, 2 bad flags or config.

const { UsageError } = require('./cli/common.js')

const USAGE = `Usage: sns-logger <command> [flags]

Commands:
  serve                 run the HTTP relay that sandboxed apps and the browser widget log through
  check                 validate the options and df_config.json, resolve credentials and ask
                        SNS about each agent's topic
  spool status          events waiting in the spool, per topic and group, their age, file sizes
  spool replay          send the spooled events now
  spool export          write the spooled events as JSON lines
  dead-letters          list the dead letters by error code and topic
  dead-letters requeue  send them again once the cause is fixed
  validate FILE         check a JSON-lines file of events against the tracking plan, offline
  generate-client       write the relay client into a Rocket.Chat app's source (--out DIR)
  schema                write the JSON Schemas of the plan's messages (--out DIR), with an extension
  tail                  print the events arriving in an SQS queue subscribed to a topic
                        (--queue-url URL), each checked against the plan's schema

Run "sns-logger <command> --help" for its flags. Every operator command takes --json.
Exit codes: 0 done, 1 failed or a problem found, 2 bad flags, options or config.
`

const CONFIG_ERRORS = new Set(['ERR_INVALID_OPTIONS', 'ERR_INVALID_CONFIG', 'ERR_INVALID_PLAN'])

const COMMANDS = {
  serve: () => require('./cli/serve.js').serveCommand,
  check: () => require('./cli/check.js').checkCommand,
  spool: () => require('./cli/spool.js').spoolCommand,
  'dead-letters': () => require('./cli/dead-letters.js').deadLettersCommand,
  validate: () => require('./cli/validate.js').validateCommand,
  'generate-client': () => require('./cli/generate-client.js').generateClientCommand,
  schema: () => require('./cli/schema.js').schemaCommand,
  tail: () => require('./cli/tail.js').tailCommand,
}

function main(argv) {
  const [command, ...rest] = argv
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE)
    return command === undefined ? 2 : 0
  }
  const run = COMMANDS[command]
  if (!run) throw new UsageError(`unknown command "${command}"; allowed: ${Object.keys(COMMANDS).join(', ')}`)
  return run()(rest)
}

const argv = process.argv.slice(2)

function fail(error) {
  if (error instanceof UsageError) {
    process.stderr.write(`sns-logger: ${error.message}\n\n${USAGE}`)
    process.exitCode = 2
  } else {
    process.stderr.write(`sns-logger: ${error.code ? `${error.code}: ` : ''}${error.message}\n`)
    // --json: scripts get the error as JSON on stdout too.
    if (argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ error: { code: error.code ?? 'ERR_INTERNAL', message: error.message } }, null, 2)}\n`)
    }
    process.exitCode = CONFIG_ERRORS.has(error.code) ? 2 : 1
  }
}

/** A command returns its exit code, a promise of it, or null when it sets the code itself. */
function exitWith(code) {
  if (code !== null) process.exitCode = code
}

try {
  const code = main(argv)
  if (code instanceof Promise) code.then(exitWith, fail)
  else exitWith(code)
} catch (error) {
  fail(error)
}
