// The Apps-Engine test host itself (__test__/support/apps-engine.mjs), with a tiny app written for
// it (__test__/support/apps-engine/smoke-app) packaged by the real rc-apps and run by the real
// @rocket.chat/apps-engine 1.62.0 in Deno, offline: install, settings, livechat hooks, slash
// commands, persistence, the livechat reader and updater, the networking permission, disable /
// enable / remove, and close() leaving no Deno process behind. Every HTTP request goes to a
// server on 127.0.0.1 that records what it got.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'

import { ensureAppsEngine } from '../scripts/ensure-apps-engine.mjs'
import { livechatEventContext, packageApp, startAppsEngine } from './support/apps-engine.mjs'
import { waitUntil } from './support/wait.mjs'

const SMOKE_APP = '__test__/support/apps-engine/smoke-app'
const OFFLINE_ID = '0d6f4a3b-8c2e-4f1a-9b7d-5e3c2a1f0e9d'
/** A cold machine installs examples/, fills the Deno cache and packages twice here. */
const PREPARE_TIMEOUT_MS = 10 * 60 * 1000

/** A server on 127.0.0.1 that answers 200 with JSON and keeps every request it got. */
function startRecorder() {
  const received = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      received.push({ method: req.method, path: req.url, contentType: req.headers['content-type'], body: body ? JSON.parse(body) : undefined })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`
      resolve({ url, received, close: () => new Promise((done) => server.close(done)) })
    })
  })
}

let recorder
let engine
let zips
let smokeId

before(
  async () => {
    await ensureAppsEngine()
    recorder = await startRecorder()
    const [smoke, offline] = await Promise.all([
      packageApp(SMOKE_APP),
      // The same app under another id and slug, without the networking permission.
      packageApp(SMOKE_APP, {
        manifest: (app) => ({
          ...app,
          id: OFFLINE_ID,
          name: `${app.name} (no networking)`,
          nameSlug: 'sns-logger-host-smoke-offline',
          permissions: app.permissions.filter((p) => p.name !== 'networking'),
        }),
      }),
    ])
    zips = { smoke, offline }
    engine = await startAppsEngine()
  },
  { timeout: PREPARE_TIMEOUT_MS },
)

after(async () => {
  await engine?.close()
  await recorder?.close()
})

const fromApp = (appId) => engine.httpRequests.filter((r) => r.appId === appId)
const texts = (appId) => engine.logs(appId).filter((l) => l.severity !== 'debug').map((l) => l.text)

test('installs a zip packaged by rc-apps: enabled, its setting and slash command registered', async () => {
  const { appId, status } = await engine.install(zips.smoke)
  smokeId = appId
  assert.equal(appId, '4b9f0c2e-5d1a-4c7e-9a63-1f2e3d4c5b6a')
  assert.equal(status, 'manually_enabled')
  assert.equal(await engine.status(appId), 'manually_enabled')
  assert.deepEqual(Object.keys(engine.manager.getSettingsManager().getAppSettings(appId)), ['target_url'])
  assert.equal(engine.bridges.getCommandBridge().commands.get('smoke')?.appId, appId)
  const bot = await engine.bridges.getUserBridge().getAppUser(appId)
  assert.equal(bot?.username, 'sns-logger-host-smoke.bot')
})

test('IPostLivechatRoomStarted for three rooms: the app posts each to its URL setting, in order', async () => {
  await engine.setSetting(smokeId, 'target_url', `${recorder.url}/smoke`)
  assert.ok(texts(smokeId).includes('setting target_url updated'), 'onSettingUpdated ran')
  const before = recorder.received.length
  for (const id of ['room-1', 'room-2', 'room-3']) {
    await engine.hook('IPostLivechatRoomStarted', engine.livechat.addRoom({ id, visitor: `token-${id}` }))
  }
  // The app awaits each post before its handler returns, so they are all in.
  assert.deepEqual(
    recorder.received.slice(before),
    ['room-1', 'room-2', 'room-3'].map((id) => ({
      method: 'POST',
      path: '/smoke',
      contentType: 'application/json',
      body: { event: 'room-started', roomId: id, visitor: `token-${id}` },
    })),
  )
  assert.deepEqual(
    fromApp(smokeId).map(({ method, url, status, error }) => ({ method, url, status, error })),
    ['room-1', 'room-2', 'room-3'].map(() => ({ method: 'POST', url: `${recorder.url}/smoke`, status: 200, error: undefined })),
  )
  assert.deepEqual(texts(smokeId).slice(-3), ['room-started room-1: HTTP 200', 'room-started room-2: HTTP 200', 'room-started room-3: HTTP 200'])
})

test('an app without the networking permission: the engine refuses its request, nothing is sent', { skip: process.env.NODE_ENV === 'test' && 'with NODE_ENV=test the engine grants every permission' }, async () => {
  const { appId } = await engine.install(zips.offline)
  assert.equal(appId, OFFLINE_ID)
  await engine.setSetting(appId, 'target_url', `${recorder.url}/offline`)
  const before = recorder.received.length
  await engine.hook('IPostLivechatRoomStarted', engine.livechat.addRoom({ id: 'room-4', visitor: 'token-4' }))
  // The app with networking posted; the other one's call resolved with nothing.
  assert.deepEqual(recorder.received.slice(before).map((r) => r.path), ['/smoke'])
  assert.deepEqual(fromApp(appId), [])
  assert.deepEqual(engine.httpRefused, [{ appId, method: 'POST', url: `${recorder.url}/offline`, reason: 'networking permission not granted' }])
  assert.equal(texts(appId).at(-1), 'room-started room-4: no response')
  await engine.remove(appId)
  assert.equal(engine.manager.getOneById(appId), undefined)
})

test('slash command with persistence, the livechat reader and updater; closes and transfers fire their hooks', async () => {
  engine.livechat.addDepartment({ id: 'dep-sales', name: 'Sales' })
  engine.livechat.addAgent({ username: 'alice', departments: ['Sales'] })
  engine.livechat.addRoom({ id: 'room-5', visitor: 'token-5', servedBy: 'alice' })
  const run = (args) => engine.command('smoke', args, { roomId: 'room-5', senderUsername: 'alice' })
  const before = recorder.received.length
  const posted = () => recorder.received.slice(before).map((r) => r.body)

  await run(['count'])
  await run(['count'])
  await run(['forget'])
  await run(['count'])
  await run(['online'])
  engine.livechat.setAgentStatus('alice', 'offline')
  await run(['online'])
  await run(['transfer', 'Sales'])
  // The hook a transfer or close fires runs deferred, alongside the rest of the command.
  await engine.idle()
  await run(['close', 'all', 'done'])
  await engine.idle()

  const base = { roomId: 'room-5', sender: 'alice' }
  assert.deepEqual(
    posted().filter((e) => e.event.startsWith('command-')),
    [
      { event: 'command-count', ...base, count: 1 },
      { event: 'command-count', ...base, count: 2 },
      { event: 'command-forget', ...base, removed: 1 },
      { event: 'command-count', ...base, count: 1 },
      { event: 'command-online', ...base, online: true },
      { event: 'command-online', ...base, online: false },
      { event: 'command-transfer', ...base, ok: true, department: 'dep-sales' },
      { event: 'command-close', ...base, ok: true },
    ],
  )
  assert.deepEqual(
    posted().filter((e) => !e.event.startsWith('command-')),
    [
      { event: 'room-transferred', roomId: 'room-5', type: 'department', to: 'dep-sales' },
      { event: 'room-closed', roomId: 'room-5', closer: 'visitor', open: false },
    ],
  )
  assert.deepEqual(engine.livechat.transfers, [{ appId: smokeId, roomId: 'room-5', visitorToken: 'token-5', targetAgent: undefined, targetDepartment: 'dep-sales', ok: true }])
  assert.deepEqual(engine.livechat.closes, [{ appId: smokeId, roomId: 'room-5', comment: 'all done', closer: undefined, ok: true }])
  const room = engine.livechat.room('room-5')
  assert.equal(room.isOpen, false)
  assert.equal(room.department.id, 'dep-sales')

  // A hook fired by the test gets the builders' payload shapes (ILivechatEventContext here is unused by the app: nothing posted).
  const count = recorder.received.length
  await engine.hook('IPostLivechatAgentAssigned', livechatEventContext({ room, agent: 'alice' }))
  assert.equal(recorder.received.length, count)
})

test('disable, enable and remove as an admin does', async () => {
  const room = engine.livechat.addRoom({ id: 'room-6', visitor: 'token-6' })
  assert.equal(await engine.disable(smokeId), 'manually_disabled')
  const before = recorder.received.length
  await engine.hook('IPostLivechatRoomStarted', room)
  // The engine keeps a disabled app's commands registered and refuses to run them.
  await assert.rejects(engine.command('smoke', ['post', 'hi'], { roomId: 'room-6' }), /App not enabled/)
  assert.equal(recorder.received.length, before, 'a disabled app gets no events')

  assert.equal(await engine.enable(smokeId), 'manually_enabled')
  await engine.command('smoke', ['post', 'hello again'], { roomId: 'room-6' })
  assert.deepEqual(recorder.received.at(-1).body, { event: 'command-post', roomId: 'room-6', sender: 'admin', text: 'hello again' })

  const pid = engine.manager.getOneById(smokeId).getRuntimeController().deno.pid
  await engine.remove(smokeId)
  assert.equal(engine.manager.getOneById(smokeId), undefined)
  await waitUntil(() => !isRunning(pid), `app process ${pid} to exit after remove`, 10_000)
})

test('close() unloads the apps and leaves no Deno process running', async () => {
  const { appId } = await engine.install(zips.smoke)
  const pids = Object.values(engine.manager.getRuntime().subprocesses).map((c) => c.deno.pid)
  assert.equal(pids.length, 1)
  assert.ok(isRunning(pids[0]))
  await engine.close()
  assert.deepEqual(pids.filter(isRunning), [])
  assert.equal(engine.manager.getOneById(appId), undefined)
  // Another host can start in the same process once the first is closed.
  engine = await startAppsEngine()
  assert.deepEqual(engine.httpRequests, [])
})

function isRunning(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error.code === 'EPERM'
  }
}
