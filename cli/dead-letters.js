'use strict'
// `sns-logger dead-letters [requeue]`.

const { parse, loggerOptions, native, UsageError, COMMON_FLAGS } = require('./common.js')
const { painter, table, progress, printJson, problemLines } = require('./format.js')
const { optionFlagParse, optionFlagUsage } = require('./settings.js')

/** The usage text; its setting flag's line is written from the settings table. */
const deadLettersUsage = () => `Usage: sns-logger dead-letters [requeue] [flags]

  (none)    lists the dead-letter file (dead-letter.jsonl in the spool directory) by error
            code and topic: how many, first and last, the latest error message
  requeue   sends them again after the cause is fixed, with their own dedup ids, in file
            order per group, and removes from the file only those delivered. Refused
            (ERR_SPOOL_BUSY) while a running logger or relay uses the spool directory.

Flags:
  --code CODE       only the dead letters of this error code (e.g. NotFound)
  --topic ARN       only those of this topic
${optionFlagUsage('spoolDir', 'DIR', 20)}
  --config FILE     a JSON file of init() options (spoolDir and sink are read)
  --json            the report as JSON on stdout
  -h, --help        this text

Exit codes: 0 listed / every matching dead letter delivered, 1 the file cannot be read, or
dead letters are left after a requeue, or the directory is in use, 2 bad flags or options.
`

function deadLettersCommand(argv) {
  const requeue = argv[0] === 'requeue'
  const rest = requeue ? argv.slice(1) : argv
  const { values, positionals } = parse(
    rest,
    { ...COMMON_FLAGS, ...optionFlagParse('spoolDir'), code: { type: 'string' }, topic: { type: 'string' } },
    { positionals: true },
  )
  if (values.help) {
    process.stdout.write(deadLettersUsage())
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`unknown dead-letters command ${JSON.stringify(positionals[0])}; allowed: requeue`)
  const options = loggerOptions(values.config)
  const dir = native().opsSpoolDir(options, values['spool-dir'])
  return requeue ? requeueCommand(options, dir, values) : list(dir, values)
}

function list(dir, values) {
  const report = native().opsDeadLetters(dir, values.code, values.topic)
  if (values.json) {
    printJson(report)
    return 0
  }
  const out = [`file  ${report.file}`, '']
  if (report.groups.length === 0) out.push('no dead letters')
  else {
    out.push(
      table(
        ['CODE', 'TOPIC', 'EVENTS', 'FIRST', 'LAST', 'MESSAGE'],
        report.groups.map((g) => [g.errorCode, g.topicArn, g.entries, g.first, g.last, g.message]),
        { right: [2] },
      ),
    )
    out.push('', `${report.entries} dead letters`)
  }
  if (report.unreadableLines > 0) out.push(`${report.unreadableLines} line(s) are not dead letters (kept as they are)`)
  process.stdout.write(`${out.join('\n')}\n`)
  return 0
}

function requeueCommand(options, dir, values) {
  const bar = progress('requeueing')
  let report
  try {
    report = native().opsRequeue(options, dir, values.code, values.topic, bar.update)
  } finally {
    bar.end()
  }
  const ok = report.left === 0 && report.problems.length === 0
  if (values.json) {
    printJson(report)
    return ok ? 0 : 1
  }
  const paint = painter(process.stdout)
  const out = [`file  ${report.file}`, '']
  if (report.groups.length > 0) {
    out.push(
      table(
        ['TOPIC', 'GROUP', 'SENT', 'LEFT', 'LAST ERROR'],
        report.groups.map((g) => [g.topicArn, g.messageGroupId, g.sent, g.refused + g.left, g.error ? `${g.error.code}: ${g.error.message}` : '']),
        { right: [2, 3] },
      ),
      '',
    )
  }
  if (report.problems.length > 0) out.push(...problemLines(report.problems, paint), '')
  const summary = `requeued ${report.entries} dead letters: ${report.sent} delivered and removed, ${report.left} kept`
  out.push(ok ? paint('green', summary) : paint('red', summary))
  process.stdout.write(`${out.join('\n')}\n`)
  return ok ? 0 : 1
}

module.exports = { deadLettersCommand, deadLettersUsage }
