// The events every contender sends, and what the baselines need to send the same messages.
//
// 100 Dialogflow agents, each with its own FIFO topic, on one site: 100 ordering streams
// (TopicArn, MessageGroupId). sns-logger keeps one batch in flight per stream; the hand-batched
// baseline does the same, so both keep per-group order.
import { createRequire } from 'node:module'

import { eventTypeOf, messageJson } from './baseline-message.mjs'

const require = createRequire(import.meta.url)
export const lib = require('../../index.js')

export const SITE_URL = 'https://chat.example.com'
export const REGION = 'us-east-1'
export const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench-secret' }

// The Rust SDK reads credentials from the environment; the endpoint is loopback only.
process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId
process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey
process.env.AWS_REGION = REGION
process.env.AWS_EC2_METADATA_DISABLED = 'true'

/** df_config.json for `groups` bots, one topic each. */
export function dfConfig(groups) {
  const config = {}
  for (let i = 0; i < groups; i++) {
    config[`bot-${i}`] = {
      agent_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      sns_arn_topic: `arn:aws:sns:${REGION}:123456789012:bench-agent-${i}.fifo`,
    }
  }
  return config
}

/** One chat's worth of typical events for a bot, as the apps build them. */
function chatEvents(agent, room) {
  const ctx = { agent, roomId: room }
  const widget = { ...ctx, tabId: 'tab-7f3a' }
  return [
    lib.windowOpened(widget, 'widget-session-19f2'),
    lib.chatSessionStarted(ctx),
    lib.escalationAttempted(ctx),
    lib.escalationFailed(ctx, lib.FailureReason.NoAgentsAvailable),
    lib.escalationSuccessful(ctx, { queue_time: 42, sf_chat_key: '5733b9d3-a8b0-4b1e-9d1f' }),
    lib.chatSessionClosed(widget, lib.CloseMethod.ChatWindow),
  ]
}

/**
 * A pool of prebuilt events cycling through the `groups` bots: event i belongs to bot
 * i % groups, so consecutive events spread over every stream.
 */
export function eventPool(groups) {
  const perBot = Array.from({ length: groups }, (_, i) => chatEvents(`bot-${i}`, `be61e543dfe6:room${i}`))
  const pool = []
  for (let k = 0; k < perBot[0].length; k++) for (const events of perBot) pool.push(events[k])
  return pool
}

/**
 * What a user writing against client-sns would hold per event: the topic and agent id looked
 * up once, the eventType known at the call site. `message()` builds the same JSON sns-logger
 * sends (checked by `checkSameMessages`).
 */
export function baselinePool(groups) {
  const config = dfConfig(groups)
  return eventPool(groups).map((event) => {
    const bot = config[event.agent]
    const eventType = eventTypeOf(lib.TRACKING_PLAN, event)
    return { topicArn: bot.sns_arn_topic, message: () => messageJson(bot, event, eventType) }
  })
}

/** Fails loudly unless the baselines send exactly what sns-logger sends (timestamps aside). */
export async function checkSameMessages(groups) {
  const logger = new lib.SnsLogger({ siteUrl: SITE_URL, dfConfig: dfConfig(groups), sink: { kind: 'memory' } })
  const pool = eventPool(groups)
  for (const event of pool) logger.logEvent(event)
  await logger.close()
  // Streams are delivered concurrently: compare the two sets of messages.
  const strip = (m) => m.replace(/"timestamp":"[^"]+"/, '"timestamp":"T"')
  const sent = logger.records().map((r) => strip(r.Message)).sort()
  const expected = baselinePool(groups).map((b) => strip(b.message())).sort()
  for (let i = 0; i < Math.max(sent.length, expected.length); i++) {
    if (sent[i] !== expected[i]) {
      throw new Error(`baseline messages differ:\n  sns-logger ${sent[i]}\n  baseline   ${expected[i]}`)
    }
  }
  return pool.length
}

/** Dedup ids that increase in log order, so the endpoint can check per-group order. */
export function counterIds() {
  let next = 0
  return () => String(next++).padStart(16, '0')
}
