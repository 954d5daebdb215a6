// `npm run demo`: installs, builds, plays one realistic chat through the file sink and prints
// what was logged.
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { buildAddon, ensureInstalled, root } from './prepare.mjs'

console.log('sns-logger demo: installing and building (the first build takes a few minutes)…')
if (!ensureInstalled({ quiet: true }) || !buildAddon({ quiet: true })) process.exit(1)

const logger = createRequire(import.meta.url)('../index.js')
const { CloseMethod, FailureReason } = logger

const outputDir = join(root, 'demo-output')
const outputFile = join(outputDir, 'events.jsonl')
rmSync(outputDir, { recursive: true, force: true })
mkdirSync(outputDir, { recursive: true })

logger.init({
  siteUrl: 'https://chat.example.com',
  dfConfig: join(root, 'examples', 'df_config.json'),
  sink: { kind: 'file', path: outputFile },
})

const roomId = 'be61e543dfe6:wqbFXoeX2kdSZhSyi'
const tabId = 'tab-7f3a'
const start = Date.parse('2022-09-26T17:50:00.000Z')
let clock = 0
/** The context of the next event: the room, the bot, and a timestamp a few seconds on. */
const at = (seconds, extra = {}) => ({ roomId, agent: 'support.bot', timestamp: new Date(start + (clock += seconds) * 1000), ...extra })
const widget = (seconds) => at(seconds, { tabId })

const chat = [
  ['Widget: visitor opens the chat window', logger.windowOpened(widget(0), 'widget-session-19f2')],
  ['DF.app: the bot starts the chat', logger.chatSessionStarted(at(1))],
  ['DF.app: visitor asks for a human', logger.escalationAttempted(at(35))],
  ['SF.app: no agent online', logger.escalationFailed(at(2), FailureReason.NoAgentsAvailable)],
  ['DF.app: escalation retried', logger.escalationAttempted(at(60))],
  ['SF.app: agent accepts after 42 s in queue', logger.escalationSuccessful(at(42), { queue_time: 42, sf_chat_key: '5733b9d3-a8b0-4b1e-9d1f' })],
  ['SF.app: chat transferred to another agent', logger.agentTransferSuccessful(at(180))],
  ['Widget: visitor downloads the transcript', logger.transcriptDownloadSelected(widget(240))],
  ['Widget: visitor closes the chat', logger.chatSessionClosed(widget(5), CloseMethod.ChatWindow)],
  ['Widget: visitor closes the window', logger.windowClosed(widget(1))],
]
for (const [, event] of chat) logger.logEvent(event)

const report = await logger.close({ timeoutMs: 5000 })
const requests = readFileSync(outputFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line))

const rows = requests.map((request, i) => {
  const message = JSON.parse(request.Message)
  const properties = Object.entries(message.properties).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')
  return {
    time: message.timestamp.slice(11, 19),
    'what happened': chat[i][0],
    category: message.category,
    action: message.action,
    properties: properties || '-',
    eventType: message.eventType,
    tabId: message.tabId || '-',
  }
})
console.log(`\nOne chat in room ${roomId}, as SNS would receive it:\n`)
console.table(rows)
const first = requests[0]
console.log(`
Every request: Subject ${JSON.stringify(first.Subject)}, TopicArn ${first.TopicArn},
MessageGroupId ${first.MessageGroupId}, a unique MessageDeduplicationId.
close() reported ${JSON.stringify(report)}.
The exact requests are in ${outputFile}; the first one:
${JSON.stringify(first, null, 2)}`)
