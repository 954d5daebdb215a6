'use strict'
// `sns-logger spool status | replay | export`.

const { parse, loggerOptions, native, UsageError, COMMON_FLAGS } = require('./common.js')
const { painter, table, age, size, progress, printJson, problemLines } = require('./format.js')
const { optionFlagParse, optionFlagUsage } = require('./settings.js')

/** The usage text; its setting flag's line is written from the settings table. */
const spoolUsage = () => `Usage: sns-logger spool <status|replay|export> [flags]

  status    events spooled per topic and message group, their oldest and newest event's
            age, each spool file and its size
  replay    sends the spooled events now (oldest first per group, their own dedup ids),
            removes each once SNS has it; those SNS refuses for good go to the dead-letter
            file. Refused (ERR_SPOOL_BUSY) while a running logger or relay holds the spool.
  export    writes the spooled events as JSON lines (the request SNS would get: TopicArn,
            Subject, MessageGroupId, MessageDeduplicationId, Message) to stdout or --output;
            the spool is left as it is

Flags:
${optionFlagUsage('spoolDir', 'DIR', 20)}
  --config FILE     a JSON file of init() options (spoolDir and sink are read)
  --output FILE     export: write here (created 0600) instead of stdout
  --json            the report as JSON on stdout (export: on stderr)
  -h, --help        this text

replay sends through the sink init() would use (SNS_LOGGER_SINK, sink option; the AWS
environment for sns).

Exit codes: 0 done (status: read; replay: every event sent; export: every event written),
1 a spool file is corrupt or unreadable, in use (replay, export), or events are left in the
spool (replay), 2 bad flags or options.
`

function spoolCommand(argv) {
  const [sub, ...rest] = argv
  const { values } = parse(rest, { ...COMMON_FLAGS, ...optionFlagParse('spoolDir'), output: { type: 'string' } })
  if (values.help || sub === '--help' || sub === '-h') {
    process.stdout.write(spoolUsage())
    return 0
  }
  const options = loggerOptions(values.config)
  if (values.output !== undefined && sub !== 'export') throw new UsageError('--output is only for spool export')
  const dir = native().opsSpoolDir(options, values['spool-dir'])
  if (sub === 'status') return status(dir, values)
  if (sub === 'replay') return replay(options, dir, values)
  if (sub === 'export') return exportSpool(dir, values)
  throw new UsageError(`unknown spool command ${JSON.stringify(sub ?? '')}; allowed: status, replay, export`)
}

function status(dir, values) {
  const report = native().opsSpoolStatus(dir)
  const failed = report.problems.length > 0
  if (values.json) {
    printJson(report)
    return failed ? 1 : 0
  }
  const paint = painter(process.stdout)
  const out = [`spool dir  ${report.spoolDir}`, '']
  if (report.files.length === 0) {
    out.push('the spool is empty (no spool file)')
  } else {
    out.push(
      table(
        ['FILE', 'SIZE', 'STATE', 'EVENTS'],
        report.files.map((f) => [f.name, size(f.bytes), f.state === 'ok' ? f.state : paint(f.state === 'in-use' ? 'yellow' : 'red', f.state), f.events ?? '-']),
        { right: [1, 3] },
      ),
    )
    out.push('')
    if (report.groups.length === 0) {
      out.push(`no events${report.files.some((f) => f.state === 'in-use') ? ' readable (a file is in use by a running logger)' : ''}`)
    } else {
      out.push(
        table(
          ['TOPIC', 'GROUP', 'EVENTS', 'SIZE', 'OLDEST', 'NEWEST'],
          report.groups.map((g) => [g.topicArn, g.messageGroupId, g.events, size(g.bytes), age(g.oldestAgeMs), age(g.newestAgeMs)]),
          { right: [2, 3, 4, 5] },
        ),
      )
      out.push('', `${report.events} events spooled (ages are the events' timestamps)`)
    }
  }
  if (failed) out.push('', ...problemLines(report.problems, paint))
  process.stdout.write(`${out.join('\n')}\n`)
  return failed ? 1 : 0
}

function replay(options, dir, values) {
  const bar = progress('replaying')
  let report
  try {
    report = native().opsSpoolReplay(options, dir, bar.update)
  } finally {
    bar.end()
  }
  const ok = report.left === 0 && report.deadLettered === 0 && report.problems.length === 0
  if (values.json) {
    printJson(report)
    return ok ? 0 : 1
  }
  const paint = painter(process.stdout)
  const out = [`spool dir  ${report.spoolDir}`, '']
  if (report.groups.length > 0) {
    out.push(
      table(
        ['TOPIC', 'GROUP', 'SENT', 'DEAD-LETTERED', 'LEFT', 'LAST ERROR'],
        report.groups.map((g) => [g.topicArn, g.messageGroupId, g.sent, g.refused, g.left, g.error ? `${g.error.code}: ${g.error.message}` : '']),
        { right: [2, 3, 4] },
      ),
      '',
    )
  }
  if (report.problems.length > 0) out.push(...problemLines(report.problems, paint), '')
  const summary = `replayed ${report.events} events: ${report.sent} sent, ${report.deadLettered} dead-lettered, ${report.left} left in the spool`
  out.push(ok ? paint('green', summary) : paint('red', summary))
  process.stdout.write(`${out.join('\n')}\n`)
  return ok ? 0 : 1
}

function exportSpool(dir, values) {
  const fs = require('node:fs')
  const fd = values.output === undefined ? null : fs.openSync(values.output, 'w', 0o600)
  let report
  try {
    report = native().opsSpoolExport(dir, (lines) => {
      if (fd === null) process.stdout.write(lines)
      else fs.writeSync(fd, lines)
    })
  } finally {
    if (fd !== null) fs.closeSync(fd)
  }
  const ok = report.problems.length === 0
  if (values.json) {
    process.stderr.write(`${JSON.stringify(report, null, 2)}\n`)
  } else {
    const paint = painter(process.stderr)
    const out = [...problemLines(report.problems, paint)]
    out.push(`exported ${report.events} events from ${report.files.length} spool file(s)${values.output ? ` to ${values.output}` : ''}`)
    process.stderr.write(`${out.join('\n')}\n`)
  }
  return ok ? 0 : 1
}

module.exports = { spoolCommand, spoolUsage }
