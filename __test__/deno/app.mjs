// Runs inside Deno with what the Apps-Engine gives an app: network to the relay only, read access
// to the package, no environment, no FFI, no subprocesses. Driven over stdin, one JSON command
// per line; answers one JSON line per command on stdout.
//
//   {"cmd":"log","from":0,"count":50}  -> {"ok":true}
//   {"cmd":"bad"}                       -> {"ok":true,"code":"ERR_INVALID_PROPERTY","message":"..."}
//   {"cmd":"flush","timeoutMs":20000}   -> {"ok":true,"result":{...},"stats":{...}}
//   {"cmd":"close"}                     -> {"ok":true,"result":{...},"stats":{...}}
//
// Arguments: relay URL, token, transport ("fetch": the ESM client with fetch; "ihttp": the
// CommonJS build loaded as the Apps-Engine loads app code, with an IHttp accessor).
import * as esmClient from '../../client/index.mjs'

const [url, token, transportName] = Deno.args

/**
 * The bundled CommonJS client evaluated as the Apps-Engine's Deno runtime evaluates an app:
 * inside `new Function`, with `globalThis` and `Deno` shadowed and `require` limited to the
 * allowed modules (the client needs none).
 */
async function loadLikeTheAppsEngine() {
  const code = await Deno.readTextFile(new URL('../../client/index.cjs', import.meta.url))
  const module = { exports: {} }
  const require = (name) => {
    throw new Error(`the client must not require anything, asked for ${name}`)
  }
  new Function('exports', 'module', 'require', 'globalThis', 'Deno', code)(module.exports, module, require, undefined, undefined)
  return module.exports
}

const { createRelayClient, escalationFailed, escalationSuccessful, FailureReason, chatSessionClosed, CloseMethod } =
  transportName === 'ihttp' ? await loadLikeTheAppsEngine() : esmClient

/**
 * The Apps-Engine IHttp accessor as the server implements it for an app: an object `data` is
 * sent as JSON; resolves for every status with { statusCode, headers, content, data }, rejects
 * only on network errors.
 */
const ihttp = {
  async post(target, { data, content, headers, timeout }) {
    const signal = AbortSignal.timeout(timeout ?? 180_000)
    const body = data === undefined ? content : JSON.stringify(data)
    const res = await fetch(target, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal })
    const text = await res.text()
    let parsed
    try {
      parsed = JSON.parse(text)
    } catch {}
    return { statusCode: res.status, headers: Object.fromEntries(res.headers), content: text, data: parsed }
  },
}

const notices = []
const client = createRelayClient({
  url,
  token,
  ...(transportName === 'ihttp' ? { http: ihttp } : { fetch }),
  lingerMs: 50,
  timeoutMs: 2000,
  maxRetryDelayMs: 1000,
  onError: (notice) => notices.push(notice),
})

/** Event n, from the typed helpers an app uses: three kinds in turn. */
function event(n) {
  const ctx = { roomId: `room-${n}` }
  if (n % 3 === 0) return escalationFailed(ctx, FailureReason.NoAgentsAvailable)
  if (n % 3 === 1) return escalationSuccessful(ctx, { queue_time: n, sf_chat_key: `key-${n}` })
  return chatSessionClosed(ctx, CloseMethod.Agent)
}

const write = (answer) => Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(answer) + '\n'))

async function run(command) {
  switch (command.cmd) {
    case 'log':
      for (let n = command.from; n < command.from + command.count; n++) client.logEvent(event(n))
      return { ok: true }
    case 'bad':
      try {
        client.logEvent(escalationFailed({ roomId: 'room-bad' }, 'no agent available'))
        return { ok: false }
      } catch (error) {
        return { ok: true, code: error.code, message: error.message }
      }
    case 'flush':
      return { ok: true, result: await client.flush({ timeoutMs: command.timeoutMs }), stats: client.stats(), notices }
    case 'close':
      return { ok: true, result: await client.close({ timeoutMs: command.timeoutMs }), stats: client.stats(), notices }
    case 'probe': {
      // What the sandbox withholds: the environment (the engine allows only NODE_EXTRA_CA_CERTS).
      const denied = {}
      try { Deno.env.get('HOME'); denied.env = false } catch { denied.env = true }
      return { ok: true, denied }
    }
  }
  return { ok: false, error: `unknown command ${command.cmd}` }
}

const decoder = new TextDecoder()
let pending = ''
for await (const chunk of Deno.stdin.readable) {
  pending += decoder.decode(chunk, { stream: true })
  let newline
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline)
    pending = pending.slice(newline + 1)
    if (line.trim()) write(await run(JSON.parse(line)))
  }
}
