// In-memory storages for the AppManager: app metadata (the installed apps' descriptors, settings
// included), app packages (the zips) and app logs. Extend the engine's abstract classes.
import { AppLogStorage, AppMetadataStorage, AppSourceStorage } from './engine.mjs'

const copy = (value) => structuredClone(value)

export class MemoryMetadataStorage extends AppMetadataStorage {
  items = new Map()

  constructor() {
    super('memory')
  }

  async create(item) {
    if (this.items.has(item.id)) throw new Error(`App ${item.id} is already stored`)
    const stored = { ...copy(item), _id: item.id, createdAt: new Date(), updatedAt: new Date() }
    this.items.set(item.id, stored)
    return copy(stored)
  }

  async retrieveOne(id) {
    return this.items.has(id) ? copy(this.items.get(id)) : null
  }

  async retrieveAll() {
    return new Map([...this.items].map(([id, item]) => [id, copy(item)]))
  }

  async retrieveAllPrivate() {
    return new Map([...this.items].filter(([, item]) => item.installationSource === 'private').map(([id, item]) => [id, copy(item)]))
  }

  async remove(id) {
    return { success: this.items.delete(id) }
  }

  async updatePartialAndReturnDocument(item, { unsetPermissionsGranted } = {}) {
    const stored = this.items.get(item._id ?? item.id)
    if (!stored) throw new Error(`No app stored with _id ${item._id}`)
    Object.assign(stored, copy(item), { updatedAt: new Date() })
    if (unsetPermissionsGranted) delete stored.permissionsGranted
    return copy(stored)
  }

  #update(_id, change) {
    const stored = this.items.get(_id)
    if (!stored) return false
    change(stored)
    stored.updatedAt = new Date()
    return true
  }

  async updateStatus(_id, status) {
    return this.#update(_id, (item) => (item.status = status))
  }

  async updateSetting(_id, setting) {
    return this.#update(_id, (item) => (item.settings[setting.id] = copy(setting)))
  }

  async updateAppInfo(_id, info) {
    return this.#update(_id, (item) => (item.info = copy(info)))
  }

  async updateMarketplaceInfo(_id, marketplaceInfo) {
    return this.#update(_id, (item) => (item.marketplaceInfo = copy(marketplaceInfo)))
  }
}

export class MemorySourceStorage extends AppSourceStorage {
  zips = new Map()

  async store(item, zip) {
    this.zips.set(item.id, Buffer.from(zip))
    return `memory:${item.id}`
  }

  async fetch(item) {
    const zip = this.zips.get(item.id)
    if (!zip) throw new Error(`No package stored for app ${item.id}`)
    return zip
  }

  async update(item, zip) {
    return this.store(item, zip)
  }

  async remove(item) {
    this.zips.delete(item.id)
  }
}

/**
 * Keeps what the apps' loggers recorded: the Deno runtime sends one storage entry per handler
 * run (method, entries of { severity, args, timestamp, caller }).
 */
export class MemoryLogStorage extends AppLogStorage {
  entries = []

  constructor() {
    super('memory')
  }

  async storeEntries(logEntry) {
    this.entries.push(logEntry)
    return logEntry
  }

  async getEntriesFor(appId) {
    return this.entries.filter((entry) => entry.appId === appId)
  }

  async removeEntriesFor(appId) {
    this.entries = this.entries.filter((entry) => entry.appId !== appId)
  }

  async findPaginated(query = {}, { skip = 0, limit = Infinity } = {}) {
    const logs = this.entries.filter((entry) => Object.entries(query).every(([key, value]) => entry[key] === value))
    return { logs: logs.slice(skip, skip + limit), total: logs.length }
  }
}
