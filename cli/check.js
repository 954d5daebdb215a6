'use strict'
// `sns-logger check`: the options, df_config.json, credentials and every agent's topic.

const { parse, loggerOptions, native, COMMON_FLAGS } = require('./common.js')
const { painter, table, printJson, problemLines } = require('./format.js')

const CHECK_USAGE = `Usage: sns-logger check [--config FILE] [--allow-standard] [--json]

Reads the options and environment init() reads (SNS_LOGGER_SITE_URL, SNS_LOGGER_DF_CONFIG,
SNS_LOGGER_SINK, AWS_REGION, AWS_PROFILE, ...), validates them and df_config.json, resolves
the AWS credentials (only their source is shown) and asks SNS about each agent's topic
(GetTopicAttributes: exists, FIFO, content-based deduplication, KMS key).

Flags:
  --config FILE       a JSON file of init() options (or a serve --config file: its "logger")
  --allow-standard    a standard (non-FIFO) topic is a note, not a problem
  --json              the report as JSON on stdout
  -h, --help          this text

Exit codes: 0 no problem, 1 a problem was found (each says what to fix), 2 bad flags, options
or df_config.json.
`

function checkCommand(argv) {
  const { values } = parse(argv, { ...COMMON_FLAGS, 'allow-standard': { type: 'boolean' } })
  if (values.help) {
    process.stdout.write(CHECK_USAGE)
    return 0
  }
  const report = native().opsCheck(loggerOptions(values.config), Boolean(values['allow-standard']))
  if (values.json) printJson(report)
  else printReport(report)
  return report.ok ? 0 : 1
}

function yesNo(value, paint, bad) {
  if (value === null || value === undefined) return '-'
  if (value === bad) return paint('red', value ? 'yes' : 'no')
  return value ? 'yes' : 'no'
}

function printReport(report) {
  const paint = painter(process.stdout)
  const out = []
  out.push(`site URL     ${report.siteUrl}`)
  out.push(`sink         ${report.sink}`)
  out.push(`spool dir    ${report.spoolDir ?? '(none)'}`)
  const c = report.credentials
  if (c) {
    const source = c.source ? `${c.source}${c.profile ? ` (profile ${c.profile})` : ''}` : paint('red', 'none found')
    out.push(`credentials  ${source}`)
    out.push(`region       ${c.region ?? paint('red', 'not set')}`)
    if (c.endpoint) out.push(`endpoint     ${c.endpoint}`)
  }
  out.push('')
  const rows = report.agents.map((a) => [
    a.agent,
    a.agentId,
    a.topicArn,
    a.exists === false ? paint('red', 'no') : yesNo(a.exists, paint),
    yesNo(a.fifo, paint, false),
    yesNo(a.contentBasedDeduplication, paint),
    a.kmsMasterKeyId ?? (a.exists ? 'none' : '-'),
    a.problems.length === 0 ? paint('green', 'ok') : paint('red', a.problems.map((p) => p.code).join(', ')),
  ])
  out.push(table(['AGENT', 'AGENT ID', 'TOPIC', 'EXISTS', 'FIFO', 'CONTENT DEDUP', 'KMS KEY', 'STATUS'], rows))
  const problems = [...report.problems, ...report.agents.flatMap((a) => a.problems.map((p) => ({ ...p, message: `${a.agent}: ${p.message}` })))]
  if (report.notes.length > 0) out.push('', ...report.notes.map((n) => `${paint('yellow', 'note')}  ${n}`))
  if (problems.length > 0) out.push('', ...problemLines(problems, paint))
  out.push('', report.ok ? paint('green', 'check: ok') : paint('red', `check: ${problems.length} problem(s)`))
  process.stdout.write(`${out.join('\n')}\n`)
}

module.exports = { checkCommand, CHECK_USAGE }
