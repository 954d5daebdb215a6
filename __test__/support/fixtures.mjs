// Fixtures shared by the Node test files: the site, the two Dialogflow bots of a df_config.json
// (with fake private keys), and the environment the addon runs in during tests.
//
//   import { SITE_URL, SUPPORT, SALES, dfConfig, clearSnsLoggerEnv } from './support/fixtures.mjs'
//   clearSnsLoggerEnv()
//   new SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(), sink: { kind: 'memory' } })
//
// A test that needs a variant builds it from these pieces, e.g. the sales bot on a standard
// topic: dfConfig([SUPPORT, { ...SALES, topic: 'arn:aws:sns:eu-west-1:210987654321:rc-sales-events' }]).

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after } from 'node:test'

export const SITE_URL = 'https://chat.example.com'

/** The bots of df_config.json: bot username, agent_id and SNS topic (FIFO). */
export const SUPPORT = Object.freeze({
  username: 'support.bot',
  agentId: 'b5983b72-cac6-4f85-b9d0-be61e543dfe6',
  topic: 'arn:aws:sns:us-east-1:123456789012:rc-support-events.fifo',
})
export const SALES = Object.freeze({
  username: 'sales.bot',
  agentId: 'c0ffee00-1d2e-4f3a-8b9c-0d1e2f3a4b5c',
  topic: 'arn:aws:sns:eu-west-1:210987654321:rc-sales-events.fifo',
})
export const AGENTS = Object.freeze([SUPPORT, SALES])

/** Body of the fake private key: no error message may ever show any part of it. */
export const FAKE_KEY_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDfakeFAKEfake'
export const FAKE_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----\n${FAKE_KEY_BODY}\n-----END PRIVATE KEY-----\n`

/** The other Dialogflow settings that sit beside agent_id and sns_arn_topic in real files. */
const DIALOGFLOW_SETTINGS = {
  [SUPPORT.username]: {
    project_id: 'rc-support-bot',
    private_key_id: '0123456789abcdef',
    private_key: FAKE_PRIVATE_KEY,
    client_email: 'support-bot@rc-support-bot.iam.gserviceaccount.com',
    language_code: 'en',
  },
  [SALES.username]: {
    project_id: 'rc-sales-bot',
    private_key: FAKE_PRIVATE_KEY,
    client_email: 'sales-bot@rc-sales-bot.iam.gserviceaccount.com',
    environment: 'draft',
  },
}

/**
 * A new df_config.json object for `agents` (default: both bots), each with its agent_id,
 * sns_arn_topic and the Dialogflow settings of its username (if it has any).
 * @param {{ username: string, agentId: string, topic: string }[]} [agents]
 */
export function dfConfig(agents = AGENTS) {
  return Object.fromEntries(
    agents.map((agent) => [
      agent.username,
      { agent_id: agent.agentId, sns_arn_topic: agent.topic, ...DIALOGFLOW_SETTINGS[agent.username] },
    ]),
  )
}

/** A flush() report with nothing in it. */
export const NO_OUTCOMES = Object.freeze({ sent: 0, deadLettered: 0, spooled: 0, dropped: 0 })

/** The timestamp of the spec's example. */
export const TS = '2022-09-26T17:50:47.225Z'

export const j = (value) => JSON.stringify(value)

/** Options must come from the test, never from the developer's environment: drops SNS_LOGGER_*. */
export function clearSnsLoggerEnv() {
  for (const name of Object.keys(process.env)) if (name.startsWith('SNS_LOGGER_')) delete process.env[name]
}

/**
 * Environment for a child process: this one's minus SNS_LOGGER_* and the test runner's marker
 * (a child that sees NODE_TEST_CONTEXT reports to the runner instead of printing), plus `extra`.
 */
export function childEnv(extra = {}) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('SNS_LOGGER_') && k !== 'NODE_TEST_CONTEXT'),
  )
  return { ...env, ...extra }
}

/** A new temporary directory, removed once every test of the file has run. Call at top level. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}
