// A scripted SNS endpoint on loopback for replies moto never gives: partial or empty results,
// pages that are not SNS responses, errors that echo the request. It speaks just enough of the
// Query protocol: it reads each PublishBatch's entries and answers with the next scripted
// reply, or accepts every entry once the script is done.
//
//   const sns = await startFakeSns([(entries) => batchReply({ successful: [entries[0].id] })])
//   ... sink: { kind: 'sns', endpoint: sns.endpoint, region: 'us-east-1' } ...
//   sns.accepted   // every entry a reply marked successful, in order, once per dedup id (as a FIFO topic stores them)
//   sns.bodies     // each request's form-encoded body, byte for byte
//   await sns.stop()

import { createServer } from 'node:http'

const xmlEscape = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const NS = 'http://sns.amazonaws.com/doc/2010-03-31/'

/** A PublishBatch reply: `successful` ids, `failed` entries `{ id, code, senderFault, message }`. */
export function batchReply({ successful = [], failed = [] }) {
  const ok = successful.map((id) => `<member><Id>${xmlEscape(id)}</Id><MessageId>m-${xmlEscape(id)}</MessageId></member>`).join('')
  const bad = failed
    .map((f) => `<member><Id>${xmlEscape(f.id)}</Id><Code>${xmlEscape(f.code)}</Code><SenderFault>${f.senderFault ?? true}</SenderFault><Message>${xmlEscape(f.message ?? '')}</Message></member>`)
    .join('')
  const body = `<PublishBatchResponse xmlns="${NS}"><PublishBatchResult><Successful>${ok}</Successful><Failed>${bad}</Failed></PublishBatchResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishBatchResponse>`
  return { status: 200, contentType: 'text/xml', body }
}

/** A whole-request error as SNS sends it. */
export function errorReply(status, code, message, type = 'Sender') {
  const body = `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>r</RequestId></ErrorResponse>`
  return { status, contentType: 'text/xml', body }
}

/** Every entry accepted. */
export const acceptAll = (entries) => batchReply({ successful: entries.map((e) => e.id) })

/** The PublishBatch entries of a form-encoded body: `{ id, message, dedupId, groupId }`. */
function entriesOf(body) {
  const form = new URLSearchParams(body)
  const entries = new Map()
  for (const [key, value] of form) {
    const m = /^PublishBatchRequestEntries\.member\.(\d+)\.(\w+)$/.exec(key)
    if (!m) continue
    const entry = entries.get(m[1]) ?? {}
    entry[{ Id: 'id', Message: 'message', MessageDeduplicationId: 'dedupId', MessageGroupId: 'groupId' }[m[2]] ?? m[2]] = value
    entries.set(m[1], entry)
  }
  return [...entries.values()]
}

/** Starts the endpoint; `script` holds one reply function per request, in order. */
export async function startFakeSns(script = []) {
  const replies = [...script]
  const requests = []
  const bodies = []
  const accepted = []
  const dedupIds = new Set()
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const entries = entriesOf(body)
      requests.push(entries)
      bodies.push(body)
      const reply = (replies.shift() ?? acceptAll)(entries)
      // What a real SNS would have stored: the entries this reply says were published, each
      // dedup id once (a FIFO topic takes a repeat within 5 minutes and delivers it no more).
      const published = new Set([...(reply.body ?? '').matchAll(/<Successful>(.*?)<\/Successful>/gs)].flatMap((m) => [...m[1].matchAll(/<Id>(.*?)<\/Id>/g)].map((i) => i[1])))
      for (const entry of entries) {
        if (!published.has(entry.id) || (entry.dedupId !== undefined && dedupIds.has(entry.dedupId))) continue
        if (entry.dedupId !== undefined) dedupIds.add(entry.dedupId)
        accepted.push(entry)
      }
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/xml' })
      res.end(reply.body ?? '')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `http://127.0.0.1:${server.address().port}`,
    requests,
    bodies,
    accepted,
    /** Replies still to come. */
    pending: () => replies.length,
    stop: () => new Promise((resolve) => server.close(resolve)),
  }
}
