// A test host for REAL Rocket.Chat apps: the zips `rc-apps package` makes, installed into the real
// @rocket.chat/apps-engine 1.62.0 AppManager, each app in its own Deno subprocess, offline. Tests
// install apps, set their settings, fire livechat hooks and slash commands, seed an in-memory
// Omnichannel (departments, agents, rooms), and see every HTTP request the apps make (the engine's
// HTTP bridge makes them for real, with fetch).
//
//   import { packageApp, startAppsEngine, livechatRoom } from './support/apps-engine.mjs'
//   const zip = await packageApp('examples/sf-app')            // real rc-apps, cached by content
//   const engine = await startAppsEngine()
//   try {
//     const { appId } = await engine.install(zip)               // status 'manually_enabled'
//     await engine.setSetting(appId, 'relay_url', 'http://127.0.0.1:PORT')
//     engine.livechat.addAgent({ username: 'sf.bot', departments: ['Sales'] })
//     const room = engine.livechat.addRoom({ id: 'r1', visitor: 'token-1', servedBy: 'sf.bot' })
//     await engine.hook('IPostLivechatRoomStarted', room)
//     await engine.command('smoke', ['close'], { roomId: 'r1', senderUsername: 'sf.bot' })
//     await engine.idle()                                       // deferred events (closes, transfers) done
//     engine.httpRequests                                       // [{ appId, method, url, headers, body, status | error }]
//     engine.logs(appId)                                        // [{ method, severity, text, args, timestamp }]
//   } finally {
//     await engine.close()                                      // unloads, kills every Deno subprocess
//   }
//
// What the engine does that a test should know:
// - Permissions come from the app's app.json: `install` grants what the app declares (as
//   Rocket.Chat's install dialog does); pass `permissionsGranted` to grant something else. An app
//   without `networking` gets no `--allow-net` for its Deno process, and its http accessor calls
//   are refused by the engine's HttpBridge: it logs a PermissionDeniedError to the console and
//   the app's `http.post()` resolves with nothing (no request is made); the host lists such calls
//   in `httpRefused`. With NODE_ENV=test the engine grants every permission (AppPermissionManager).
// - An app's logger records only while a handler runs (the entries travel back with the
//   handler's result): a log call from a timer or a promise settled later is lost.
// - Errors thrown by an app's listener are swallowed by the engine (ProxiedApp.call logs them to
//   the console); `hook()` resolves anyway. A slash command's error rejects `command()`.
// - IPostMessageSent (and a few other Post events) are not awaited by executeListener; `hook()`
//   awaits them by calling the listener manager's own execute method.
// - closeRoom and transferVisitor done by an app fire IPostLivechatRoomClosed /
//   IPostLivechatRoomTransferred afterwards, as Rocket.Chat does (deferred); `idle()` waits for
//   those. `startAppsEngine({ livechatEvents: false })` turns that off.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { ensureAppsEngine } from '../../scripts/ensure-apps-engine.mjs'

export * from './apps-engine/builders.mjs'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const EXAMPLES = join(ROOT, 'examples')
const RC_APPS = join(EXAMPLES, 'node_modules', '@rocket.chat', 'apps-cli', 'bin', 'run')

/** Events executeListener starts without awaiting: `hook()` awaits the listener manager's own method instead. */
const UNAWAITED = {
  IPostMessageSent: 'executePostMessageSent',
  IPostSystemMessageSent: 'executePostSystemMessageSent',
  IPostMessageDeleted: 'executePostMessageDelete',
  IPostMessageUpdated: 'executePostMessageUpdated',
  IPostRoomCreate: 'executePostRoomCreate',
  IPostRoomDeleted: 'executePostRoomDeleted',
  IPostExternalComponentOpened: 'executePostExternalComponentOpened',
  IPostExternalComponentClosed: 'executePostExternalComponentClosed',
}

/**
 * Starts an AppManager with in-memory storages and the host's bridges. One per process at a time
 * (the engine's AppManager is a singleton); `close()` it before starting another.
 * @param {{ livechatEvents?: boolean, installer?: object }} [options]
 */
export async function startAppsEngine(options = {}) {
  const { livechatEvents = true } = options
  const { denoDir, denoPath } = await ensureAppsEngine()
  const engine = await import('./apps-engine/engine.mjs')
  const { HostBridges } = await import('./apps-engine/bridges.mjs')
  const { LivechatWorld } = await import('./apps-engine/livechat.mjs')
  const { MemoryLogStorage, MemoryMetadataStorage, MemorySourceStorage } = await import('./apps-engine/storage.mjs')
  const { user } = await import('./apps-engine/builders.mjs')
  const { AppManager, AppInterface, AppStatus, AppStatusUtils, SlashCommandContext } = engine
  if (AppManager.Instance) throw new Error('startAppsEngine: an AppManager is running in this process already; close() it first')

  // The engine spawns `deno` from PATH with only PATH and DENO_DIR (read from process.env) in its environment.
  const savedEnv = { PATH: process.env.PATH, DENO_DIR: process.env.DENO_DIR }
  process.env.PATH = `${dirname(denoPath)}${delimiter}${process.env.PATH ?? ''}`
  process.env.DENO_DIR = denoDir

  const tempFilePath = mkdtempSync(join(tmpdir(), 'sns-logger-apps-engine-'))
  const installer = options.installer ?? user({ id: 'host-admin', username: 'admin', roles: ['admin'] })
  const users = new Map([[installer.id, installer]])
  const httpRequests = []
  const httpRefused = []
  const messages = []
  const pending = new Set()
  let manager

  /** Runs a listener later (as Rocket.Chat defers them), tracked for idle(). */
  const fire = (interfaceName, payload) => {
    if (!livechatEvents) return
    const run = new Promise((resolvePromise) => setImmediate(resolvePromise))
      .then(() => manager.getListenerManager().executeListener(AppInterface[interfaceName], payload))
      .catch((error) => console.error(`apps-engine host: deferred ${interfaceName} failed:`, error))
      .finally(() => pending.delete(run))
    pending.add(run)
  }
  const livechat = new LivechatWorld(users, fire)
  const logStorage = new MemoryLogStorage()
  const bridges = new HostBridges({ users, world: livechat, http: { requests: httpRequests, refused: httpRefused }, messages })
  const restore = () => {
    AppManager.Instance = undefined
    for (const [key, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
    rmSync(tempFilePath, { recursive: true, force: true })
  }
  try {
    manager = new AppManager({ metadataStorage: new MemoryMetadataStorage(), logStorage, bridges, sourceStorage: new MemorySourceStorage(), tempFilePath })
    await manager.load()
  } catch (error) {
    restore()
    throw error
  }

  const app = (appId) => {
    const found = manager.getOneById(appId)
    if (!found) throw new Error(`No app ${appId} is installed`)
    return found
  }

  /** Plain log entries of an app, oldest first: { method, severity, text, args, timestamp, caller }. */
  const logs = (appId) =>
    logStorage.entries
      .filter((entry) => entry.appId === appId)
      .flatMap((entry) =>
        (entry.entries ?? []).map(({ severity, args = [], timestamp, caller }) => ({
          method: entry.method,
          severity,
          text: args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '),
          args,
          timestamp,
          caller,
        })),
      )

  /** Waits until the deferred listener runs (room closed / transferred by an app) have finished. */
  const idle = async () => {
    while (pending.size) await Promise.allSettled([...pending])
  }

  let closed = false
  return {
    manager,
    bridges,
    livechat,
    users,
    httpRequests,
    httpRefused,
    messages,
    logs,

    /**
     * Installs and enables an app zip. Grants the permissions its app.json declares unless
     * `permissionsGranted` says otherwise. Throws with the engine's reason when the app does not
     * end up enabled (with `enable: false`, when it does not end up initialized).
     */
    async install(zipPath, { enable = true, permissionsGranted } = {}) {
      const zip = readFileSync(zipPath)
      const grants = permissionsGranted ?? (await manager.getParser().unpackageApp(zip)).info.permissions
      const result = await manager.add(zip, { enable, user: installer, permissionsGranted: grants })
      const installed = result.getApp()
      const reason = result.getStorageError() || result.getAppUserError()?.message
      if (!installed) throw new Error(`install ${zipPath}: ${reason || 'the engine returned no app'}`)
      const appId = installed.getID()
      const status = await installed.getStatus()
      const ok = enable ? AppStatusUtils.isEnabled(status) : status === AppStatus.INITIALIZED || AppStatusUtils.isDisabled(status)
      if (!ok || AppStatusUtils.isError(status)) {
        const errors = logs(appId).filter((l) => l.severity === 'error').map((l) => `${l.method}: ${l.text}`)
        throw new Error(`install ${zipPath}: app ${appId} is ${status}${reason ? ` (${reason})` : ''}${errors.length ? `; its log: ${errors.join('; ')}` : ''}`)
      }
      return { appId, status }
    },

    /** Sets an app setting through the engine's settings manager (the app's onPreSettingUpdate / onSettingUpdated run). */
    async setSetting(appId, settingId, value) {
      const settings = manager.getSettingsManager()
      const current = settings.getAppSetting(appId, settingId)
      await settings.updateAppSetting(appId, { ...current, value })
    },

    /** An app's current status ('manually_enabled', 'manually_disabled', ...). */
    async status(appId) {
      return app(appId).getStatus()
    },

    /**
     * Fires a listener interface (AppInterface name) with its payload and waits for every app
     * implementing it; returns what the listener manager returns (Pre* hooks).
     */
    async hook(interfaceName, payload) {
      const interfaceId = AppInterface[interfaceName]
      if (!interfaceId) throw new Error(`Unknown AppInterface ${interfaceName}`)
      const listeners = manager.getListenerManager()
      if (UNAWAITED[interfaceName]) {
        if (listeners.isEventBlocked(interfaceId)) throw new Error(`${interfaceName} is blocked: an essential app for it is disabled`)
        return listeners[UNAWAITED[interfaceName]](payload)
      }
      return listeners.executeListener(interfaceId, payload)
    },

    /**
     * Runs a slash command an app provides, in `roomId` (a seeded livechat room, or a bare channel)
     * as `senderUsername` (a seeded user or agent, or a new user of that name). Throws when no
     * app provides the command, or (the engine: "App not enabled") when its app is disabled.
     */
    async command(commandName, args = [], { roomId = 'GENERAL', senderUsername = installer.username, threadId, triggerId } = {}) {
      const commands = manager.getCommandManager()
      const command = commandName.replace(/^\//, '').toLowerCase().trim()
      if (!commands.shouldCommandFunctionsRun(command)) throw new Error(`/${command}: no app provides this command`)
      const room = livechat.room(roomId) ?? { id: roomId, type: 'c', slugifiedName: roomId.toLowerCase(), displayName: roomId }
      const sender = livechat.findUser(senderUsername) ?? user({ username: senderUsername })
      const params = typeof args === 'string' ? args.split(/\s+/).filter(Boolean) : args
      return commands.executeCommand(command, new SlashCommandContext(sender, room, params, threadId, triggerId))
    },

    /** Disables an app as an admin does (status manually_disabled; the app's onDisable runs). */
    async disable(appId) {
      await manager.changeStatus(appId, AppStatus.MANUALLY_DISABLED)
      return app(appId).getStatus()
    },

    /** Enables a disabled app as an admin does (status manually_enabled). */
    async enable(appId) {
      await manager.changeStatus(appId, AppStatus.MANUALLY_ENABLED)
      return app(appId).getStatus()
    },

    /** Uninstalls an app (onUninstall runs; its Deno process stops; its persistence is purged). */
    async remove(appId) {
      await manager.remove(appId, { user: installer })
    },

    idle,

    /** Unloads every app, kills every Deno subprocess and waits for them to exit, restores the environment. */
    async close() {
      if (closed) return
      closed = true
      try {
        await idle()
        const runtime = manager.getRuntime()
        const controllers = () => Object.values(runtime.subprocesses ?? {})
        const children = new Set(controllers().map((c) => c.deno).filter(Boolean))
        await manager.unload(true).catch((error) => console.error('apps-engine host: unload failed:', error))
        for (const controller of controllers()) {
          if (controller.deno) children.add(controller.deno)
          await runtime.stopRuntime(controller).catch(() => {})
        }
        await Promise.all(
          [...children].map((child) => {
            if (child.exitCode !== null || child.signalCode !== null) return undefined
            const exited = new Promise((done) => child.once('exit', done))
            child.kill('SIGKILL')
            return exited
          }),
        )
      } finally {
        restore()
      }
    },
  }
}

/**
 * Packages an app folder with the real `rc-apps package` (examples/node_modules: apps-cli 1.9.0,
 * the compiler, engine 1.62.0, TypeScript 5.9.3, ui-kit 1.0.0, @types/node 14.14.6). The folder
 * is copied to a temporary directory next to a `node_modules` link to examples/node_modules (the
 * compiler resolves the engine and TypeScript from the app's folder), so the app's own folder is
 * left as it is (rc-apps rewrites app.json). `manifest` changes app.json in the copy (e.g. another
 * id and no `networking` permission). The zip is cached under the system temp directory by a hash
 * of the sources, the manifest change and the toolchain; returns its path.
 * @param {string} appDir
 * @param {{ manifest?: (appJson: object) => object, cache?: boolean }} [options]
 */
export async function packageApp(appDir, { manifest, cache = true } = {}) {
  await ensureAppsEngine()
  const source = resolve(ROOT, appDir)
  const files = listAppFiles(source)
  const appJson = JSON.parse(readFileSync(join(source, 'app.json'), 'utf8'))
  const finalJson = manifest ? manifest(structuredClone(appJson)) : appJson
  const hash = createHash('sha256')
  for (const file of files) hash.update(`${relative(source, file)}\n`).update(readFileSync(file))
  hash.update(JSON.stringify(finalJson))
  for (const pkg of ['apps-cli', 'apps-compiler', 'apps-engine']) hash.update(readFileSync(join(EXAMPLES, 'node_modules', '@rocket.chat', pkg, 'package.json')))
  hash.update(readFileSync(join(EXAMPLES, 'node_modules', 'typescript', 'package.json')))
  const cacheDir = join(tmpdir(), 'sns-logger-app-zips')
  const cached = join(cacheDir, `${finalJson.nameSlug}_${finalJson.version}_${hash.digest('hex').slice(0, 16)}.zip`)
  if (cache && existsSync(cached)) return cached

  const work = mkdtempSync(join(tmpdir(), 'sns-logger-rc-apps-'))
  try {
    cpSync(source, work, { recursive: true, filter: (path) => !/[\\/](node_modules|dist)$/.test(path) })
    writeFileSync(join(work, 'app.json'), `${JSON.stringify(finalJson, null, 4)}\n`)
    symlinkSync(join(EXAMPLES, 'node_modules'), join(work, 'node_modules'), 'dir')
    const output = await new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [RC_APPS, 'package'], { cwd: work, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
      let text = ''
      child.stdout.on('data', (d) => (text += d))
      child.stderr.on('data', (d) => (text += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 5 * 60 * 1000)
      child.once('error', reject)
      child.once('close', (code) => {
        clearTimeout(timer)
        resolvePromise({ code, text })
      })
    })
    const zip = join(work, 'dist', `${finalJson.nameSlug}_${finalJson.version}.zip`)
    if (output.code !== 0 || !existsSync(zip)) throw new Error(`rc-apps package ${appDir} failed (${output.code}):\n${output.text.trim()}`)
    if (!cache) {
      const target = join(mkdtempSync(join(tmpdir(), 'sns-logger-app-zip-')), `${finalJson.nameSlug}_${finalJson.version}.zip`)
      cpSync(zip, target)
      return target
    }
    mkdirSync(cacheDir, { recursive: true })
    // Atomic: another process may be packaging the same app at the same time.
    const partial = `${cached}.${process.pid}.partial`
    cpSync(zip, partial)
    renameSync(partial, cached)
    return cached
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The app's files the packager looks at (node_modules and dist left out). */
function listAppFiles(dir) {
  return readdirSync(dir)
    .filter((name) => name !== 'node_modules' && name !== 'dist')
    .flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? listAppFiles(path) : [path]
    })
    .sort()
}
