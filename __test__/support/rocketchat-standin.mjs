// A stand-in Rocket.Chat server for the REAL livechat widget (@rocket.chat/livechat 1.13.3, a
// devDependency): what the embed (build/rocketchat-livechat.min.js) and the widget app in its
// iframe (build/index.html, bundle, chunks) need to open, start a chat and finish it, on a
// loopback origin of its own. See the field notes, "The real livechat widget, offline".
//
//   const rc = await startRocketChatStandin()
//   rc.origin                    // http://127.0.0.1:<port>; the embed's URL is `${rc.origin}/livechat`
//   rc.embedUrl                  // `${rc.origin}/livechat/rocketchat-livechat.min.js`
//   rc.roomOf(token)             // the room the widget opened for a visitor token: { _id, open, messages }
//   rc.requests                  // 'GET /api/v1/livechat/config', ... in order
//   await rc.close()
//
// Served: `GET /livechat` (build/index.html with `<script>SERVER_URL='…'</script>` in its head),
// the build's files under /livechat/*, and the livechat REST endpoints the widget calls (JSON,
// CORS `*`, preflights answered). No DDP websocket: the widget logs a connecting error and the
// callbacks work without it (an upgrade request is refused).

import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, extname, join, normalize, sep } from 'node:path'

const require = createRequire(import.meta.url)
/** The livechat package's build directory (the exact version is pinned in package.json). */
export const LIVECHAT_BUILD = join(dirname(require.resolve('@rocket.chat/livechat/package.json')), 'build')
export const LIVECHAT_VERSION = require('@rocket.chat/livechat/package.json').version

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'Content-Type, X-User-Id, X-Auth-Token, X-Visitor-Token',
  'access-control-max-age': '600',
}

const id = (n = 17) => randomBytes(n).toString('base64url').replace(/[-_]/g, 'x').slice(0, n)

/** What the widget's `GET /api/v1/livechat/config` needs to show an online chat without a form. */
function baseConfig() {
  return {
    enabled: true,
    online: true,
    settings: {
      registrationForm: false,
      allowSwitchingAgents: false,
      nameFieldRegistrationForm: false,
      emailFieldRegistrationForm: false,
      displayOfflineForm: true,
      videoCall: false,
      fileUpload: false,
      language: 'en',
      transcript: false,
      historyMonitorType: 'url',
      forceAcceptDataProcessingConsent: false,
      showConnecting: false,
      agentHiddenInfo: false,
      clearLocalStorageWhenChatEnded: false,
      limitTextLength: false,
    },
    theme: {
      title: 'Example Insurance support',
      color: '#C1272D',
      offlineTitle: 'Leave a message',
      offlineColor: '#666666',
      actionLinks: [],
    },
    messages: {
      offlineMessage: 'We are not online right now.',
      offlineSuccessMessage: '',
      offlineUnavailableMessage: '',
      conversationFinishedMessage: 'Conversation finished',
      conversationFinishedText: '',
      transcriptMessage: '',
      registrationFormMessage: '',
      dataProcessingConsentText: '',
    },
    survey: { items: [], values: [] },
    triggers: [],
    departments: [],
    resources: { sound: null },
  }
}

/**
 * Starts the stand-in on 127.0.0.1 (an ephemeral port: its own origin).
 * @returns {Promise<{ origin: string, livechatUrl: string, embedUrl: string, requests: string[], roomOf(token: string): object | undefined, close(): Promise<void> }>}
 */
export async function startRocketChatStandin() {
  const requests = []
  const visitors = new Map() // token -> visitor
  const rooms = new Map() // token -> the visitor's latest room { _id, open, messages }
  let origin = ''

  const send = (res, status, body) => {
    res.writeHead(status, { ...CORS, 'content-type': 'application/json', 'cache-control': 'no-store' })
    res.end(JSON.stringify(body))
  }
  const readJson = (req) =>
    new Promise((resolve) => {
      let text = ''
      req.setEncoding('utf8').on('data', (d) => (text += d))
      req.on('end', () => {
        try {
          resolve(JSON.parse(text || '{}'))
        } catch {
          resolve({})
        }
      })
    })
  const openRoomOf = (token) => {
    const room = rooms.get(token)
    return room && room.open ? room : null
  }
  const roomJson = (room, token) => ({
    _id: room._id,
    t: 'l',
    open: room.open,
    v: { _id: visitors.get(token)?._id, token, username: visitors.get(token)?.username },
    // No servedBy: the widget would then ask GET /livechat/agent.info/… before onChatStarted.
    ts: room.ts,
  })
  const messageJson = (room, token, message) => ({
    _id: message._id,
    rid: room._id,
    msg: message.msg,
    ts: message.ts,
    u: { _id: visitors.get(token)?._id, username: visitors.get(token)?.username, name: 'Visitor' },
    token,
    _updatedAt: message.ts,
  })

  async function api(req, url, res) {
    const path = url.pathname.slice('/api/v1/livechat/'.length)
    const token = url.searchParams.get('token')
    if (req.method === 'GET' && path === 'config') {
      const config = baseConfig()
      const visitor = token ? visitors.get(token) : null
      if (visitor) config.guest = visitor
      const room = token ? openRoomOf(token) : null
      if (room) config.room = roomJson(room, token)
      return send(res, 200, { config, success: true })
    }
    if (req.method === 'POST' && path === 'visitor') {
      const { visitor: given = {} } = await readJson(req)
      const t = given.token || id(12)
      const visitor = visitors.get(t) ?? { _id: id(), token: t, username: `guest-${visitors.size + 1}`, status: 'online' }
      visitors.set(t, visitor)
      return send(res, 200, { visitor, success: true })
    }
    if (req.method === 'GET' && path === 'room') {
      if (!token || !visitors.has(token)) return send(res, 400, { success: false, error: 'invalid-token' })
      let room = openRoomOf(token)
      if (!room) {
        room = { _id: url.searchParams.get('rid') || id(), open: true, messages: [], ts: new Date().toISOString() }
        rooms.set(token, room)
      }
      return send(res, 200, { room: roomJson(room, token), newRoom: room.messages.length === 0, success: true })
    }
    if (req.method === 'POST' && path === 'message') {
      const { token: t, rid, msg, _id } = await readJson(req)
      const room = openRoomOf(t)
      if (!room || room._id !== rid) return send(res, 400, { success: false, error: 'room-closed' })
      const message = { _id: _id || id(), msg, ts: new Date().toISOString() }
      room.messages.push(message)
      return send(res, 200, { message: messageJson(room, t, message), success: true })
    }
    if (req.method === 'GET' && path.startsWith('messages.history/')) {
      const rid = decodeURIComponent(path.slice('messages.history/'.length))
      const room = token ? rooms.get(token) : null
      if (!room || room._id !== rid) return send(res, 200, { messages: [], success: true })
      return send(res, 200, { messages: room.messages.map((m) => messageJson(room, token, m)).reverse(), success: true })
    }
    if (req.method === 'POST' && path === 'room.close') {
      const { rid, token: t } = await readJson(req)
      const room = openRoomOf(t)
      if (!room || room._id !== rid) return send(res, 400, { success: false, error: 'room-closed' })
      room.open = false
      return send(res, 200, { rid, comment: 'Closed by visitor', success: true })
    }
    if (req.method === 'POST' && path === 'page.visited') {
      await readJson(req)
      return send(res, 200, { page: null, success: true })
    }
    return send(res, 404, { success: false, error: `the stand-in does not serve ${req.method} ${url.pathname}` })
  }

  async function file(url, res) {
    const rel = url.pathname === '/livechat' || url.pathname === '/livechat/' ? 'index.html' : decodeURIComponent(url.pathname.slice('/livechat/'.length))
    const path = normalize(join(LIVECHAT_BUILD, rel))
    if (!path.startsWith(LIVECHAT_BUILD + sep)) return send(res, 404, { success: false })
    let body
    try {
      body = await readFile(path)
    } catch {
      return send(res, 404, { success: false, error: 'not found' })
    }
    if (rel === 'index.html') {
      // Without SERVER_URL the widget asks /null/api/v1/livechat/config.
      body = Buffer.from(body.toString('utf8').replace('<head>', `<head><script>SERVER_URL='${origin}'</script>`))
    }
    res.writeHead(200, { ...CORS, 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
    res.end(body)
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost')
    requests.push(`${req.method} ${url.pathname}`)
    try {
      if (req.method === 'OPTIONS') return res.writeHead(204, CORS).end()
      if (url.pathname.startsWith('/api/v1/livechat/')) return await api(req, url, res)
      if (url.pathname === '/livechat' || url.pathname.startsWith('/livechat/')) return await file(url, res)
      send(res, 404, { success: false, error: 'not found' })
    } catch (error) {
      send(res, 500, { success: false, error: String(error?.message ?? error) })
    }
  })
  // The widget's DDP connection (/websocket): refused, as the notes allow.
  server.on('upgrade', (req, socket) => {
    requests.push(`UPGRADE ${req.url}`)
    socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  origin = `http://127.0.0.1:${server.address().port}`
  return {
    origin,
    livechatUrl: `${origin}/livechat`,
    embedUrl: `${origin}/livechat/rocketchat-livechat.min.js`,
    requests,
    roomOf: (token) => rooms.get(token),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
