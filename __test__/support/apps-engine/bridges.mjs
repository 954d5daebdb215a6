// The host's bridges: what Rocket.Chat would do for the apps, in memory. Each extends the engine's
// abstract class (server/bridges/*.js); `noop()` fills the abstract methods a test needs nothing
// from. Real work: HTTP (./http.mjs), livechat and rooms (./livechat.mjs), users (the apps' bot
// users and the seeded agents), persistence, slash commands, messages, and the internal
// federation bridge's RSA key pair (the engine signs every installed app with it).
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'

import { user as makeUser } from './builders.mjs'
import { AppBridges, Bridges } from './engine.mjs'
import { HostHttpBridge } from './http.mjs'
import { HostLivechatBridge, HostRoomBridge } from './livechat.mjs'
import { noop } from './noop.mjs'

/** Users: the bot user the engine creates for each app on install, plus the agents and users tests add. */
class HostUserBridge extends noop(Bridges.UserBridge) {
  constructor(users) {
    super()
    this.users = users
  }

  async getById(id) {
    return this.users.get(id)
  }

  async getByUsername(username) {
    return [...this.users.values()].find((u) => u.username === username)
  }

  async getAppUser(appId) {
    return [...this.users.values()].find((u) => u.type === 'app' && (!appId || u.appId === appId))
  }

  async getActiveUserCount() {
    return [...this.users.values()].filter((u) => u.isEnabled).length
  }

  async create(data, appId) {
    const created = makeUser({ ...data, id: data.id ?? `app-user-${randomUUID()}`, appId: data.appId ?? appId })
    this.users.set(created.id, created)
    return created.id
  }

  async remove(user) {
    return this.users.delete(user.id)
  }

  async update(user, updates) {
    const stored = this.users.get(user.id)
    if (!stored) return false
    Object.assign(stored, updates)
    return true
  }
}

/**
 * Each app's records: { id, data, associations }. Matching follows Rocket.Chat's Mongo queries:
 * reads and removals take the records holding all the given associations ($all); an update by
 * associations takes the record whose associations are exactly the given ones, and with `upsert`
 * creates it. `update(id, ...)` is "Not implemented." in Rocket.Chat too.
 */
class HostPersistenceBridge extends noop(Bridges.PersistenceBridge) {
  records = new Map()

  #of(appId) {
    if (!this.records.has(appId)) this.records.set(appId, [])
    return this.records.get(appId)
  }

  #holdsAll(record, associations) {
    return associations.every((a) => record.associations.some((b) => b.model === a.model && b.id === a.id))
  }

  async purge(appId) {
    this.records.delete(appId)
  }

  async create(data, appId) {
    return this.createWithAssociations(data, [], appId)
  }

  async createWithAssociations(data, associations, appId) {
    if (typeof data !== 'object' || data === null) throw new Error('Attempted to store an invalid data type, it must be an object.')
    const record = { id: randomUUID(), data: structuredClone(data), associations: structuredClone(associations) }
    this.#of(appId).push(record)
    return record.id
  }

  async readById(id, appId) {
    return this.#of(appId).find((r) => r.id === id)?.data ?? {}
  }

  async readByAssociations(associations, appId) {
    return this.#of(appId)
      .filter((r) => this.#holdsAll(r, associations))
      .map((r) => structuredClone(r.data))
  }

  async remove(id, appId) {
    const records = this.#of(appId)
    const index = records.findIndex((r) => r.id === id)
    return index < 0 ? undefined : records.splice(index, 1)[0].data
  }

  async removeByAssociations(associations, appId) {
    const records = this.#of(appId)
    const removed = records.filter((r) => this.#holdsAll(r, associations))
    if (!removed.length) return undefined
    this.records.set(appId, records.filter((r) => !removed.includes(r)))
    return removed.map((r) => r.data)
  }

  async update() {
    throw new Error('Not implemented.')
  }

  async updateByAssociations(associations, data, upsert, appId) {
    if (typeof data !== 'object' || data === null) throw new Error('Attempted to store an invalid data type, it must be an object.')
    const record = this.#of(appId).find((r) => isDeepStrictEqual(r.associations, associations))
    if (record) {
      record.data = structuredClone(data)
      return record.id
    }
    return upsert ? this.createWithAssociations(data, associations, appId) : undefined
  }
}

/** Slash commands as the host knows them (the engine's command manager keeps the apps' own state). */
class HostCommandBridge extends noop(Bridges.CommandBridge) {
  /** Commands apps registered: command -> { appId, enabled, command }. */
  commands = new Map()

  async doesCommandExist() {
    return false
  }

  async registerCommand(command, appId) {
    this.commands.set(command.command, { appId, enabled: true, command })
  }

  async unregisterCommand(command) {
    this.commands.delete(command)
  }

  async enableCommand(command) {
    const known = this.commands.get(command)
    if (known) known.enabled = true
  }

  async disableCommand(command) {
    const known = this.commands.get(command)
    if (known) known.enabled = false
  }

  async modifyCommand(command, appId) {
    this.commands.set(command.command, { appId, enabled: true, command })
  }
}

/** Messages apps send (modify.getCreator() / getNotifier()): recorded, not delivered. */
class HostMessageBridge extends noop(Bridges.MessageBridge) {
  constructor(messages) {
    super()
    this.messages = messages
  }

  async create(message, appId) {
    const id = message.id ?? `message-${this.messages.length + 1}`
    this.messages.push({ appId, ...message, id })
    return id
  }

  async notifyUser(user, message, appId) {
    this.messages.push({ appId, notify: { user: user?.username }, ...message })
  }

  async notifyRoom(room, message, appId) {
    this.messages.push({ appId, notify: { room: room?.id }, ...message })
  }
}

class HostInternalBridge extends noop(Bridges.InternalBridge) {
  getUsernamesOfRoomByIdSync() {
    return []
  }

  async getUsernamesOfRoomById() {
    return []
  }
}

/**
 * Everything the AppManager asks its host for.
 * @param {{ users: Map<string, object>, world: import('./livechat.mjs').LivechatWorld,
 *   http: { requests: object[], refused: object[] }, messages: object[] }} state
 */
export class HostBridges extends AppBridges {
  constructor({ users, world, http, messages }) {
    super()
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    })
    const none = (name) => new (noop(Bridges[name]))()
    this.instances = {
      ApiBridge: none('ApiBridge'),
      AppActivationBridge: none('AppActivationBridge'),
      AppDetailChangesBridge: none('AppDetailChangesBridge'),
      CloudWorkspaceBridge: none('CloudWorkspaceBridge'),
      CommandBridge: new HostCommandBridge(),
      ContactBridge: none('ContactBridge'),
      EmailBridge: none('EmailBridge'),
      EnvironmentalVariableBridge: none('EnvironmentalVariableBridge'),
      ExperimentalBridge: none('ExperimentalBridge'),
      HttpBridge: new HostHttpBridge(http),
      InternalBridge: new HostInternalBridge(),
      InternalFederationBridge: { getPrivateKey: async () => privateKey, getPublicKey: async () => publicKey },
      ListenerBridge: none('ListenerBridge'),
      LivechatBridge: new HostLivechatBridge(world),
      MessageBridge: new HostMessageBridge(messages),
      ModerationBridge: none('ModerationBridge'),
      OAuthAppsBridge: none('OAuthAppsBridge'),
      OutboundMessageBridge: none('OutboundMessageBridge'),
      PersistenceBridge: new HostPersistenceBridge(),
      RoleBridge: none('RoleBridge'),
      RoomBridge: new HostRoomBridge(world),
      SchedulerBridge: none('SchedulerBridge'),
      ServerSettingBridge: none('ServerSettingBridge'),
      ThreadBridge: none('ThreadBridge'),
      UiInteractionBridge: none('UiInteractionBridge'),
      UploadBridge: none('UploadBridge'),
      UserBridge: new HostUserBridge(users),
      VideoConferenceBridge: none('VideoConferenceBridge'),
    }
  }

  getApiBridge() { return this.instances.ApiBridge }
  getAppActivationBridge() { return this.instances.AppActivationBridge }
  getAppDetailChangesBridge() { return this.instances.AppDetailChangesBridge }
  getCloudWorkspaceBridge() { return this.instances.CloudWorkspaceBridge }
  getCommandBridge() { return this.instances.CommandBridge }
  getContactBridge() { return this.instances.ContactBridge }
  getEmailBridge() { return this.instances.EmailBridge }
  getEnvironmentalVariableBridge() { return this.instances.EnvironmentalVariableBridge }
  getExperimentalBridge() { return this.instances.ExperimentalBridge }
  getHttpBridge() { return this.instances.HttpBridge }
  getInternalBridge() { return this.instances.InternalBridge }
  getInternalFederationBridge() { return this.instances.InternalFederationBridge }
  getListenerBridge() { return this.instances.ListenerBridge }
  getLivechatBridge() { return this.instances.LivechatBridge }
  getMessageBridge() { return this.instances.MessageBridge }
  getModerationBridge() { return this.instances.ModerationBridge }
  getOAuthAppsBridge() { return this.instances.OAuthAppsBridge }
  getOutboundMessageBridge() { return this.instances.OutboundMessageBridge }
  getPersistenceBridge() { return this.instances.PersistenceBridge }
  getRoleBridge() { return this.instances.RoleBridge }
  getRoomBridge() { return this.instances.RoomBridge }
  getSchedulerBridge() { return this.instances.SchedulerBridge }
  getServerSettingBridge() { return this.instances.ServerSettingBridge }
  getThreadBridge() { return this.instances.ThreadBridge }
  getUiInteractionBridge() { return this.instances.UiInteractionBridge }
  getUploadBridge() { return this.instances.UploadBridge }
  getUserBridge() { return this.instances.UserBridge }
  getVideoConferenceBridge() { return this.instances.VideoConferenceBridge }
}
