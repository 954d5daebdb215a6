// The real @rocket.chat/apps-engine (1.62.0, pinned in examples/package.json), loaded from
// examples/node_modules. Import this module only after ensureAppsEngine() has run: on a fresh
// clone examples/node_modules does not exist before.
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../../examples/package.json', import.meta.url))
const load = (path) => require(`@rocket.chat/apps-engine/${path}`)

export const { AppManager } = load('server/AppManager')
export const { AppBridges } = load('server/bridges/AppBridges')
export const { AppLogStorage, AppMetadataStorage, AppSourceStorage } = load('server/storage')
export const { AppInterface } = load('definition/metadata')
export const { AppStatus, AppStatusUtils } = load('definition/AppStatus')
export const { LivechatTransferEventType } = load('definition/livechat')
export const { SlashCommandContext } = load('definition/slashcommands')

/** The abstract bridge classes a host extends (server/bridges/*.js). */
export const Bridges = {
  ...load('server/bridges'),
  InternalBridge: load('server/bridges/InternalBridge').InternalBridge,
  ListenerBridge: load('server/bridges/ListenerBridge').ListenerBridge,
  OAuthAppsBridge: load('server/bridges/OAuthAppsBridge').OAuthAppsBridge,
  ThreadBridge: load('server/bridges/ThreadBridge').ThreadBridge,
}
