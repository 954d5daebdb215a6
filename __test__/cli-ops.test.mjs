// The operator's commands that work on files: validate, spool status / export, dead-letters
// (listing), including an empty spool, a corrupt spool file and a spool held by a logger.

import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { before, describe, test } from 'node:test'

import { FAKE_KEY_BODY, SALES, SITE_URL, SUPPORT, clearSnsLoggerEnv, dfConfig, tempDir } from './support/fixtures.mjs'
import { useMotoCredentials } from './support/moto.mjs'
import { cli, event, spoolWhileSnsIsDown } from './support/ops.mjs'

const { SnsLogger } = createRequire(import.meta.url)('../index.js')
const root = tempDir('sns-logger-ops-')

clearSnsLoggerEnv()
useMotoCredentials()

describe('validate', () => {
  const file = join(root, 'events.jsonl')
  writeFileSync(
    file,
    [
      JSON.stringify(event('support.bot', 1)),
      '',
      JSON.stringify({ roomId: 'r', category: 'Survey', action: 'teleported' }),
      '{"roomId": "r", "category":',
      JSON.stringify({ roomId: 'r', category: 'Survey', action: 'link_clicked', timestamp: 'yesterday' }),
      JSON.stringify({ category: 'Survey', action: 'link_clicked' }),
    ].join('\n'),
  )

  test('reports each bad line with its number and code, exit 1', () => {
    const run = cli(['validate', file, '--json'])
    assert.equal(run.status, 1, run.stderr)
    assert.equal(run.json.events, 5)
    assert.equal(run.json.valid, 1)
    assert.deepEqual(
      run.json.errors.map((e) => [e.line, e.code]),
      [
        [3, 'ERR_UNKNOWN_ACTION'],
        [4, 'ERR_INVALID_EVENT'],
        [5, 'ERR_INVALID_TIMESTAMP'],
        [6, 'ERR_INVALID_EVENT'],
      ],
    )
    const text = cli(['validate', file])
    assert.equal(text.status, 1)
    assert.match(text.stdout, /^ +3 {2}ERR_UNKNOWN_ACTION +action "teleported"/m)
    assert.match(text.stdout, /5 events: 1 valid, 4 invalid/)
    assert.doesNotMatch(text.stdout, /\u001b\[/, 'no colour when stdout is not a TTY')
  })

  test('a valid file exits 0; a plan extension adds events', () => {
    const good = join(root, 'good.jsonl')
    writeFileSync(good, `${JSON.stringify({ roomId: 'r', category: 'Bot', action: 'greeted' })}\n`)
    assert.equal(cli(['validate', good]).status, 1)
    const extension = join(root, 'extension.json')
    writeFileSync(extension, JSON.stringify({ categories: [{ category: 'Bot', actions: [{ action: 'greeted', eventType: 'session' }] }] }))
    const run = cli(['validate', good, '--plan-extension', extension])
    assert.equal(run.status, 0, run.stdout + run.stderr)
    assert.match(run.stdout, /1 events: 1 valid, 0 invalid/)
  })

  test('a line that is not UTF-8, and one over the size bound, are reported by number and the rest still checked', () => {
    const hostile = join(root, 'hostile.jsonl')
    const good = JSON.stringify(event('support.bot', 1))
    writeFileSync(
      hostile,
      Buffer.concat([
        Buffer.from(`${good}\n{"roomId":"`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(`"}\n${' '.repeat(2 << 20)}\n${good}\n`),
      ]),
    )
    const run = cli(['validate', hostile, '--json'])
    assert.equal(run.status, 1, run.stderr)
    assert.deepEqual([run.json.events, run.json.valid, run.json.invalid], [4, 2, 2])
    assert.deepEqual(run.json.errors, [
      { line: 2, code: 'ERR_INVALID_EVENT', message: 'the line is not UTF-8 (from byte 11)' },
      { line: 3, code: 'ERR_MESSAGE_TOO_LARGE', message: 'the line is 2097152 bytes; no event over 1048576 bytes fits a message, so it is skipped unread' },
    ])
  })

  test('an endless line (/dev/zero) stops the run with exit 2 instead of filling memory', { skip: !existsSync('/dev/zero') && 'no /dev/zero here' }, () => {
    const run = cli(['validate', '/dev/zero', '--json'])
    assert.equal(run.status, 2, run.stderr)
    assert.equal(run.json.error.code, 'ERR_INVALID_OPTIONS')
    assert.match(run.json.error.message, /^line 1 runs past 1073741824 bytes without a newline: this is no JSON-lines file$/)
  })

  test('a missing file or no file is a bad argument (exit 2)', () => {
    const missing = cli(['validate', join(root, 'nope.jsonl'), '--json'])
    assert.equal(missing.status, 2)
    assert.equal(missing.json.error.code, 'ERR_INVALID_OPTIONS')
    assert.equal(cli(['validate']).status, 2)
  })
})

describe('spool status and export', () => {
  const spoolDir = join(root, 'spool')
  const config = dfConfig([SUPPORT, SALES])
  const timestamps = ['2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z']

  before(async () => {
    const report = await spoolWhileSnsIsDown(spoolDir, config, [
      event('support.bot', 1, timestamps[0]),
      event('support.bot', 2, timestamps[1]),
      event('sales.bot', 3, timestamps[2]),
    ])
    assert.equal(report.leftInSpool, 3, JSON.stringify(report))
  })

  test('--spool-dir naming a file is a bad option (exit 2, the path named) for every spool and dead-letter command', () => {
    const notADirectory = join(root, 'not-a-directory')
    writeFileSync(notADirectory, 'x')
    for (const args of [['spool', 'status'], ['spool', 'export'], ['spool', 'replay'], ['dead-letters'], ['dead-letters', 'requeue']]) {
      const run = cli([...args, '--spool-dir', notADirectory, '--json'])
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`)
      assert.equal(run.json.error.code, 'ERR_INVALID_OPTIONS')
      assert.equal(run.json.error.message, `spool directory ${JSON.stringify(notADirectory)} is not a directory`)
    }
  })

  test('an empty spool (no directory) is reported as such, exit 0', () => {
    const run = cli(['spool', 'status', '--spool-dir', join(root, 'never-used'), '--json'])
    assert.equal(run.status, 0, run.stderr)
    assert.deepEqual([run.json.events, run.json.files, run.json.groups, run.json.problems], [0, [], [], []])
    const text = cli(['spool', 'status', '--spool-dir', join(root, 'never-used')])
    assert.match(text.stdout, /the spool is empty/)
    const exported = cli(['spool', 'export', '--spool-dir', join(root, 'never-used')])
    assert.equal(exported.status, 0)
    assert.equal(exported.stdout, '')
  })

  test('status counts events per topic and group, with ages and file sizes', () => {
    const run = cli(['spool', 'status', '--json'], { SNS_LOGGER_SPOOL_DIR: spoolDir })
    assert.equal(run.status, 0, run.stderr)
    assert.equal(run.json.events, 3)
    assert.equal(run.json.files.length, 1)
    assert.equal(run.json.files[0].name, 'spool.redb')
    assert.equal(run.json.files[0].state, 'ok')
    assert.equal(run.json.files[0].bytes, statSync(join(spoolDir, 'spool.redb')).size)
    const byTopic = Object.fromEntries(run.json.groups.map((g) => [g.topicArn, g]))
    assert.equal(byTopic[SUPPORT.topic].events, 2)
    assert.equal(byTopic[SUPPORT.topic].messageGroupId, SITE_URL)
    assert.equal(byTopic[SUPPORT.topic].oldest, timestamps[0])
    assert.equal(byTopic[SUPPORT.topic].newest, timestamps[1])
    assert.ok(byTopic[SUPPORT.topic].oldestAgeMs > byTopic[SUPPORT.topic].newestAgeMs)
    assert.equal(byTopic[SALES.topic].events, 1)
    const text = cli(['spool', 'status', '--spool-dir', spoolDir])
    assert.match(text.stdout, /spool\.redb +\d+(\.\d)? [KMG]?i?B +ok +3/)
    assert.match(text.stdout, new RegExp(`${SUPPORT.topic.replace(/\./g, '\\.')} +${SITE_URL.replace(/\./g, '\\.')} +2 `))
  })

  test('export writes each event as the request SNS would get, and leaves the spool as it is', () => {
    const run = cli(['spool', 'export', '--spool-dir', spoolDir])
    assert.equal(run.status, 0, run.stderr)
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(lines.length, 3)
    assert.deepEqual(Object.keys(lines[0]), ['TopicArn', 'Subject', 'MessageGroupId', 'MessageDeduplicationId', 'Message'])
    assert.equal(new Set(lines.map((l) => l.MessageDeduplicationId)).size, 3)
    assert.equal(JSON.parse(lines[0].Message).roomId, 'room-1')
    assert.match(run.stderr, /exported 3 events from 1 spool file/)
    const out = join(root, 'export.jsonl')
    const toFile = cli(['spool', 'export', '--spool-dir', spoolDir, '--output', out, '--json'])
    assert.equal(toFile.status, 0, toFile.stderr)
    assert.equal(readFileSync(out, 'utf8'), run.stdout)
    assert.equal(statSync(out).mode & 0o777, 0o600)
    assert.equal(JSON.parse(toFile.stderr).events, 3)
    assert.equal(cli(['spool', 'status', '--spool-dir', spoolDir, '--json']).json.events, 3)
    for (const output of [run.stdout, run.stderr, readFileSync(out, 'utf8')]) assert.ok(!output.includes(FAKE_KEY_BODY))
  })

  test('a spool held by a running logger: status says in use, export and replay refuse (ERR_SPOOL_BUSY)', async () => {
    const logger = new SnsLogger({ siteUrl: SITE_URL, dfConfig: config, spoolDir, sink: { kind: 'memory' } })
    try {
      // The logger opens the spool it finds at start.
      const status = cli(['spool', 'status', '--spool-dir', spoolDir, '--json'])
      assert.equal(status.status, 0)
      assert.equal(status.json.files[0].state, 'in-use')
      for (const sub of ['export', 'replay']) {
        const run = cli(['spool', sub, '--spool-dir', spoolDir, '--json'], { SNS_LOGGER_SINK: 'memory' })
        assert.equal(run.status, 1, sub)
        assert.match(run.stderr, /ERR_SPOOL_BUSY: spool\.redb in .* is held by a running logger/)
        assert.equal(run.json.error.code, 'ERR_SPOOL_BUSY')
      }
    } finally {
      await logger.close()
    }
  })
})

describe('a corrupt spool file', () => {
  const spoolDir = join(root, 'corrupt')
  mkdirSync(spoolDir, { recursive: true })
  writeFileSync(join(spoolDir, 'spool.redb'), 'this is not a spool file at all, just some bytes')

  test('status and export report ERR_SPOOL_CORRUPT, exit 1, and leave the file in place', () => {
    const run = cli(['spool', 'status', '--spool-dir', spoolDir, '--json'])
    assert.equal(run.status, 1, run.stderr)
    assert.equal(run.json.files[0].state, 'corrupt')
    assert.equal(run.json.problems[0].code, 'ERR_SPOOL_CORRUPT')
    assert.equal(run.json.problems[0].file, 'spool.redb')
    const text = cli(['spool', 'status', '--spool-dir', spoolDir])
    assert.equal(text.status, 1)
    assert.match(text.stdout, /ERR_SPOOL_CORRUPT {2}spool\.redb: spool\.redb cannot be read as a spool file/)
    const exported = cli(['spool', 'export', '--spool-dir', spoolDir])
    assert.equal(exported.status, 1)
    assert.equal(exported.stdout, '')
    assert.match(exported.stderr, /ERR_SPOOL_CORRUPT/)
    const replayed = cli(['spool', 'replay', '--spool-dir', spoolDir, '--json'], { SNS_LOGGER_SINK: 'memory' })
    assert.equal(replayed.status, 1)
    assert.equal(replayed.json.problems[0].code, 'ERR_SPOOL_CORRUPT')
    assert.ok(existsSync(join(spoolDir, 'spool.redb')))
    assert.doesNotMatch(run.stderr + text.stderr + exported.stderr, /panic/i)
  })
})

describe('flags', () => {
  test('unknown commands and flags exit 2 with the usage', () => {
    assert.equal(cli(['spool', 'shrink']).status, 2)
    assert.equal(cli(['dead-letters', 'purge']).status, 2)
    const run = cli(['check', '--frobnicate'])
    assert.equal(run.status, 2)
    assert.match(run.stderr, /Usage: sns-logger <command>/)
    assert.match(cli(['--help']).stdout, /dead-letters requeue/)
    assert.match(cli(['spool', '--help']).stdout, /Exit codes: 0 done/)
  })

  test('check with bad options exits 2 and names the problem', () => {
    const run = cli(['check'], { SNS_LOGGER_SITE_URL: SITE_URL })
    assert.equal(run.status, 2)
    assert.match(run.stderr, /ERR_INVALID_CONFIG: dfConfig is required/)
  })
})
