// The HTTP bridge: makes the request an app asked for, for real, with fetch, the way Rocket.Chat's
// AppHttpBridge.call does (apps/meteor/app/apps/server/bridges/http.ts): `content`, else an
// object `data`, is the body (an object is sent as JSON); `params` go to the query string for
// GET/HEAD or when there is a body, else form-encoded into the body; `auth` "user:pass" becomes
// Basic; `timeout` defaults to 3 minutes. Resolves with { url, method, statusCode, headers,
// content, data } for every HTTP status; rejects on a network error or timeout.
//
// Every request is appended to `requests` as { appId, method, url, headers, body, status } or
// { ..., error }. A call the engine refuses (the app lacks the `networking` permission: the
// engine's HttpBridge.doCall logs a PermissionDeniedError and resolves undefined without calling
// `call`) is appended to `refused` instead.
import { Bridges } from './engine.mjs'

const DEFAULT_TIMEOUT_MS = 3 * 60 * 1000
const JSON_TYPES = ['application/json', 'text/javascript', 'application/javascript', 'application/x-javascript']

export class HostHttpBridge extends Bridges.HttpBridge {
  /** @param {{ requests: object[], refused: object[] }} record */
  constructor(record) {
    super()
    this.record = record
    this.called = new WeakSet()
  }

  async doCall(info) {
    const response = await super.doCall(info)
    if (!this.called.has(info)) {
      this.record.refused.push({ appId: info.appId, method: info.method.toUpperCase(), url: info.url, reason: 'networking permission not granted' })
    }
    return response
  }

  async call(info) {
    this.called.add(info)
    const { appId, request = {} } = info
    const method = info.method.toUpperCase()
    const url = new URL(info.url)
    const headers = { ...request.headers }
    let content = request.content
    if (!content && typeof request.data === 'object' && request.data !== null) content = request.data
    if (request.auth) {
      if (!request.auth.includes(':')) throw new Error('auth option should be of the form "username:password"')
      headers.Authorization = `Basic ${Buffer.from(request.auth, 'ascii').toString('base64')}`
    }
    const getOrHead = method === 'GET' || method === 'HEAD'
    const params = request.params ?? {}
    if (content || getOrHead) {
      for (const [key, value] of Object.entries(params)) if (value) url.searchParams.append(key, value)
    } else if (Object.keys(params).length) {
      content = new URLSearchParams(params).toString()
      headers['Content-Type'] = 'application/x-www-form-urlencoded'
    }
    if (getOrHead) content = undefined
    let body = content
    if (content !== undefined && typeof content === 'object' && !Buffer.isBuffer(content) && !(content instanceof Uint8Array)) {
      body = JSON.stringify(content)
      if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json'
    }

    const entry = { appId, method, url: url.href, headers, body: typeof body === 'string' ? body : body === undefined ? undefined : Buffer.from(body).toString('utf8') }
    this.record.requests.push(entry)
    try {
      const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(request.timeout || DEFAULT_TIMEOUT_MS), redirect: 'follow' })
      const bytes = Buffer.from(await response.arrayBuffer())
      entry.status = response.status
      const result = { url: info.url, method: info.method, statusCode: response.status, headers: Object.fromEntries(response.headers) }
      if (request.encoding === null) {
        result.content = bytes
      } else {
        result.content = bytes.toString(request.encoding ?? 'utf8')
        const type = (response.headers.get('content-type') ?? '').split(';')[0].trim()
        result.data = null
        if (JSON_TYPES.includes(type)) {
          try {
            result.data = JSON.parse(result.content)
          } catch {}
        }
      }
      return result
    } catch (error) {
      const cause = error.cause ? `: ${error.cause.code ?? error.cause.message ?? error.cause}` : ''
      entry.error = `${error.name === 'TimeoutError' ? `timed out after ${request.timeout || DEFAULT_TIMEOUT_MS} ms` : error.message}${cause}`
      throw new Error(`${method} ${url.href} failed: ${entry.error}`)
    }
  }
}
