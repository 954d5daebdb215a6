'use strict'
// `sns-logger validate FILE`: a JSON-lines file of events checked against the plan, offline.

const { parse, loggerOptions, native, coded, UsageError, COMMON_FLAGS } = require('./common.js')
const { painter, table, printJson } = require('./format.js')
const { optionFlagParse, optionFlagUsage } = require('./settings.js')

/** The usage text; its setting flag's line is written from the settings table. */
const validateUsage = () => `Usage: sns-logger validate FILE [--plan-extension FILE] [--config FILE] [--json]

Checks each line of FILE (one event per line, as logEvent() takes it: roomId, category,
action, properties, timestamp, ...) against the tracking plan, offline: no AWS, no
df_config.json. Reports each bad line with its number and error code. For an app's CI.

Flags:
${optionFlagUsage('planExtension', 'FILE', 25)}
  --config FILE          a JSON file of init() options (only planExtension is read)
  --json                 the report as JSON on stdout
  -h, --help             this text

Exit codes: 0 every line is valid, 1 a line is not, 2 bad flags, plan extension or FILE.
`

function validateCommand(argv) {
  const { values, positionals } = parse(argv, { ...COMMON_FLAGS, ...optionFlagParse('planExtension') }, { positionals: true })
  if (values.help) {
    process.stdout.write(validateUsage())
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('validate takes one FILE: a JSON-lines file of events')
  let report
  try {
    report = native().opsValidate(positionals[0], loggerOptions(values.config), values['plan-extension'])
  } catch (error) {
    // An unreadable FILE is a bad argument.
    if (error.code === 'ERR_IO') throw coded('ERR_INVALID_OPTIONS', error.message)
    throw error
  }
  if (values.json) {
    printJson(report)
  } else {
    const paint = painter(process.stdout)
    const out = []
    if (report.errors.length > 0) {
      out.push(table(['LINE', 'CODE', 'MESSAGE'], report.errors.map((e) => [e.line, paint('red', e.code), e.message]), { right: [0] }), '')
      if (report.truncated) out.push(`(only the first ${report.errors.length} bad lines are listed)`, '')
    }
    const summary = `${report.events} events: ${report.valid} valid, ${report.invalid} invalid`
    out.push(report.invalid === 0 ? paint('green', summary) : paint('red', summary))
    process.stdout.write(`${out.join('\n')}\n`)
  }
  return report.invalid === 0 ? 0 : 1
}

module.exports = { validateCommand, validateUsage }
