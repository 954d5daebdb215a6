// A fault-injecting HTTP proxy between a logger and moto, its mode switched by the test:
//
//   const proxy = await startProxy(moto.endpoint)   // proxy.endpoint goes where SNS would
//   proxy.setMode('down')                            // ... the outage ...
//   proxy.setMode('pass')
//   await proxy.close()
//
// or, for the tests of a file or describe block, moto with the proxy in front of it:
//
//   const sns = motoBehindProxy()   // started before the tests, stopped after them
//   ... sns.moto.endpoint (topics, queues), sns.proxy.endpoint (the logger's SNS) ...
//
// Per request, `proxy.state.route` (when set) may pick the mode from what the request carries:
//   proxy.state.route = ({ action, topicArn, groups, n }) => (groups.includes(A) ? 'throttle400' : 'pass')
// and `proxy.state.log` lists every request that reached a handler, in arrival order, as
// { n, action, topicArn, groups, entries, mode }.
//
// For a suite: `const aws = motoBehindProxy()` starts moto and a proxy before its tests and
// stops them after (`aws.moto`, `aws.proxy`).

import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before } from 'node:test'

import { PublishBatchCommand } from '@aws-sdk/client-sns'

import { snsClient, startMoto } from './moto.mjs'

function xmlEscape(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

function errorXml(type, code, message) {
  return `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`
}

/** What a request carries: its action, topic, message groups and entries (MessageGroupId, MessageDeduplicationId, Message), in order; n counts requests from 1. */
function describe(body, n) {
  const form = new URLSearchParams(body)
  const entries = []
  for (let i = 1; form.has(`PublishBatchRequestEntries.member.${i}.Id`); i++) {
    const p = `PublishBatchRequestEntries.member.${i}.`
    entries.push({ groupId: form.get(`${p}MessageGroupId`), dedupId: form.get(`${p}MessageDeduplicationId`), message: form.get(`${p}Message`) })
  }
  const groups = [...new Set(entries.map((e) => e.groupId))]
  return { n, action: form.get('Action'), topicArn: form.get('TopicArn'), groups, entries }
}

/**
 * The fault-injecting proxy. Modes:
 *  pass         forward to moto
 *  down         destroy every socket as soon as it connects (and the open ones on switch)
 *  http500      500 InternalError
 *  throttle429  429 Throttling-ish error
 *  throttle400  400 Sender Throttling
 *  partial      forward only the entries `partialRule` lets pass; answer the others as Failed
 *  stall        accept and never answer
 */
export async function startProxy(target) {
  const state = { mode: 'pass', counts: {}, partialRule: null, route: null, log: [] }
  const sockets = new Set()
  const stalled = new Set()

  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const info = describe(body, state.log.length + 1)
      const mode = (state.route && state.route(info)) || state.mode
      state.log.push({ ...info, mode })
      state.counts[mode] = (state.counts[mode] ?? 0) + 1
      handle(mode, req, res, body).catch((err) => {
        res.destroy(err)
      })
    })
  })
  server.keepAliveTimeout = 1000

  server.on('connection', (socket) => {
    if (state.mode === 'down') {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  const xml = (res, status, text) => {
    res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': 'proxy' })
    res.end(text)
  }

  async function forward(req, body) {
    const headers = {}
    for (const [k, v] of Object.entries(req.headers)) {
      if (!['host', 'content-length', 'connection', 'transfer-encoding', 'expect'].includes(k)) headers[k] = v
    }
    const r = await fetch(target + req.url, { method: req.method, headers, body: req.method === 'POST' ? body : undefined })
    return { status: r.status, contentType: r.headers.get('content-type') ?? 'text/xml', text: await r.text() }
  }

  async function handle(mode, req, res, body) {
    switch (mode) {
      case 'down':
        req.socket.destroy()
        return
      case 'stall':
        stalled.add(req.socket)
        return
      case 'http500':
        return xml(res, 500, errorXml('Receiver', 'InternalError', 'injected 500'))
      case 'throttle429':
        return xml(res, 429, errorXml('Sender', 'TooManyRequests', 'injected 429'))
      case 'throttle400':
        return xml(
          res,
          400,
          '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>',
        )
      case 'partial':
        return partial(req, res, body)
      default: {
        const f = await forward(req, body)
        res.writeHead(f.status, { 'Content-Type': f.contentType })
        res.end(f.text)
      }
    }
  }

  // Entries the rule rejects are not forwarded; the reply lists them as Failed. A retryable
  // failure also fails every later entry of the request (as SNS FIFO does for a group), so
  // order stays checkable.
  async function partial(req, res, body) {
    const form = new URLSearchParams(body)
    if (form.get('Action') !== 'PublishBatch' || !state.partialRule) {
      const f = await forward(req, body)
      res.writeHead(f.status, { 'Content-Type': f.contentType })
      return res.end(f.text)
    }
    const entries = []
    for (let n = 1; form.has(`PublishBatchRequestEntries.member.${n}.Id`); n++) {
      const p = `PublishBatchRequestEntries.member.${n}.`
      const fields = {}
      for (const [k, v] of form) if (k.startsWith(p)) fields[k.slice(p.length)] = v
      entries.push(fields)
    }
    const pass = []
    const failed = []
    let retryRest = false
    for (const e of entries) {
      const verdict = retryRest ? 'retryable' : state.partialRule(e)
      if (verdict === 'retryable') {
        retryRest = true
        failed.push({ Id: e.Id, Code: 'InternalError', Message: 'injected retryable failure', SenderFault: 'false' })
      } else if (verdict === 'permanent') {
        failed.push({ Id: e.Id, Code: 'InvalidParameter', Message: 'injected permanent failure', SenderFault: 'true' })
      } else {
        pass.push(e)
      }
    }
    let successfulXml = ''
    if (pass.length) {
      // The entries are flat (Id, Message, Subject, MessageGroupId, MessageDeduplicationId):
      // the same names in client-sns's input.
      for (const e of pass) assert.ok(Object.keys(e).every((k) => !k.includes('.')), `flat entry: ${JSON.stringify(e)}`)
      let output
      try {
        output = await snsClient(target).send(
          new PublishBatchCommand({ TopicArn: form.get('TopicArn'), PublishBatchRequestEntries: pass }),
        )
      } catch (error) {
        const status = error.$metadata?.httpStatusCode
        if (status === undefined) throw error
        return xml(res, status, errorXml(error.$fault === 'client' ? 'Sender' : 'Receiver', error.name, xmlEscape(error.message)))
      }
      assert.deepEqual(output.Failed ?? [], [], 'moto failed a forwarded entry')
      successfulXml = (output.Successful ?? [])
        .map(
          (s) =>
            `<member><Id>${xmlEscape(s.Id)}</Id><MessageId>${xmlEscape(s.MessageId)}</MessageId>${
              s.SequenceNumber ? `<SequenceNumber>${xmlEscape(s.SequenceNumber)}</SequenceNumber>` : ''
            }</member>`,
        )
        .join('')
    }
    const failedXml = failed
      .map(
        (f) =>
          `<member><Id>${xmlEscape(f.Id)}</Id><Code>${f.Code}</Code><Message>${f.Message}</Message><SenderFault>${f.SenderFault}</SenderFault></member>`,
      )
      .join('')
    xml(
      res,
      200,
      `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful>${successfulXml}</Successful><Failed>${failedXml}</Failed></PublishBatchResult><ResponseMetadata><RequestId>proxy-partial</RequestId></ResponseMetadata></PublishBatchResponse>`,
    )
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    state,
    setMode(mode) {
      state.mode = mode
      // Stalled requests stay stalled (the client must time them out); 'down' cuts everything.
      if (mode === 'down') {
        for (const s of sockets) s.destroy()
        for (const s of stalled) s.destroy()
        stalled.clear()
      }
    },
    async close() {
      for (const s of sockets) s.destroy()
      for (const s of stalled) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/**
 * moto, and the proxy in front of its SNS, for the tests of the enclosing file or describe
 * block: started in a `before` hook, closed in an `after` hook (proxy first, then moto; after
 * the `after` hooks registered before this call). Returns `{ moto, proxy }`, set once started.
 * @returns {{ moto: Awaited<ReturnType<typeof startMoto>>, proxy: Awaited<ReturnType<typeof startProxy>> }}
 */
export function motoBehindProxy() {
  const started = { moto: undefined, proxy: undefined }
  before(async () => {
    started.moto = await startMoto()
    started.proxy = await startProxy(started.moto.endpoint)
  })
  after(async () => {
    await started.proxy?.close()
    await started.moto?.stop()
  })
  return started
}
