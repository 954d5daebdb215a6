'use strict'
// `sns-logger serve`: the HTTP relay until SIGTERM or SIGINT.

const { parse, readConfig } = require('./common.js')
const { settings, serveFlags, serveOptions, serveUsage } = require('./settings.js')

// The flags, their usage text and the options they become are written from the settings table
// (cli/settings.js): a setting with a flag is taken here without a line of its own.
function serveCommand(argv) {
  const rows = settings()
  const { values } = parse(argv, { config: { type: 'string' }, ...serveFlags(rows), help: { type: 'boolean', short: 'h' } })
  if (values.help) {
    process.stdout.write(serveUsage(rows))
    return 0
  }
  const options = serveOptions(rows, values)
  const file = values.config === undefined ? {} : readConfig(values.config)

  const { serve } = require('../index.js')
  const say = (line) => process.stderr.write(`sns-logger serve: ${line}\n`)
  const relay = serve({
    ...file,
    ...options.relay,
    logger: {
      ...file.logger,
      ...options.logger,
      onError: (error) => say(`${error.code}: ${error.message}${error.events ? ` (${error.events} events)` : ''}`),
    },
  })
  let signals = 0
  const stop = (signal) => {
    signals += 1
    if (signals > 1) {
      say(`${signal} again: exiting now; events in memory go to the spool`)
      process.exit(1)
    }
    say(`${signal}: draining`)
    relay.close().then((report) => {
      say(
        `closed: ${report.sent} sent, ${report.spooled} spooled, ${report.deadLettered} dead-lettered, ` +
          `${report.dropped} dropped; ${report.leftInSpool} left in the spool${report.timedOut ? ' (the shutdown timeout passed)' : ''}`,
      )
      process.exit(0)
    })
  }
  // Before the announcement: whoever waits for it may signal at once, and the relay answers
  // requests from its own threads while this one may not have run on yet.
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdout.write(`sns-logger serve: listening on ${relay.address.url}, metrics on ${relay.adminAddress.url}/metrics\n`)
  for (const warning of relay.warnings) say(`warning: ${warning}`)
  return null // keeps running
}

module.exports = { serveCommand }
