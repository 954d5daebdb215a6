// The Omnichannel side of the host, in memory: departments, agents (users with roles and an
// online/offline status), visitors and rooms that tests seed, the livechat bridge apps read them
// through (`read.getLivechatReader()`) and act on (`modify.getUpdater().getLivechatUpdater()`),
// and the room bridge (`read.getRoomReader()`).
//
// As in Rocket.Chat (apps/meteor/app/apps/server/bridges/livechat.ts and the Livechat lib behind
// it): closeRoom closes the room (closer 'user' with closedBy when the app names a closer, else
// 'visitor', since the bridge passes the room's visitor) and then, deferred, fires
// ILivechatRoomClosedHandler and IPostLivechatRoomClosed with the closed room; a closed or unknown
// room is not closed again (false). transferVisitor moves the room to the target agent or
// department and then, deferred, fires IPostLivechatRoomTransferred ({ type, room, from, to });
// an unknown target agent throws ("Invalid target agent, cannot transfer"), an unknown department
// gives false. Every attempt is recorded in `transfers` / `closes`.
import { agent as makeAgent, department as makeDepartment, livechatRoom, visitor as makeVisitor } from './builders.mjs'
import { Bridges, LivechatTransferEventType } from './engine.mjs'
import { noop } from './noop.mjs'

export class LivechatWorld {
  departments = new Map()
  rooms = new Map()
  visitors = new Map()
  /** username -> department ids */
  memberships = new Map()
  transfers = []
  closes = []
  /** Livechat messages apps created (modify.getCreator() with a livechat message). */
  messages = []

  /**
   * @param {Map<string, object>} users the host's users (agents are users too)
   * @param {(interfaceName: string, payload: object) => void} fire runs a listener later, as Rocket.Chat defers them
   */
  constructor(users, fire) {
    this.users = users
    this.fire = fire
  }

  /** Adds (or replaces) a department: `{ id, name, enabled }` or an id. */
  addDepartment(input) {
    const department = makeDepartment(input)
    this.departments.set(department.id, department)
    return this.#department(department.id)
  }

  /**
   * Adds an agent: `{ id, username, name, roles, status: 'online' | 'offline', departments: [id or name] }`
   * or a username. Agents are users: `read.getUserReader()` finds them too.
   */
  addAgent(input) {
    const { departments = [], ...fields } = typeof input === 'string' ? { username: input } : input
    const agent = makeAgent(fields)
    this.users.set(agent.id, agent)
    this.memberships.set(agent.username, departments.map((d) => this.findDepartment(d)?.id ?? d))
    return agent
  }

  /** Sets an agent's (or any user's) status: 'online', 'offline', 'away', 'busy'. */
  setAgentStatus(idOrUsername, status) {
    const agent = this.findUser(idOrUsername)
    if (!agent) throw new Error(`No agent ${idOrUsername}`)
    Object.assign(agent, { status, statusConnection: status })
    return agent
  }

  /**
   * Adds (or replaces) a room: an ILivechatRoom or the input of `livechatRoom()`; `servedBy` and
   * `department` given as strings are looked up among the seeded agents and departments first.
   */
  addRoom(input) {
    const fields = { ...input }
    if (typeof fields.servedBy === 'string') fields.servedBy = this.findUser(fields.servedBy) ?? fields.servedBy
    if (typeof fields.department === 'string') fields.department = this.findDepartment(fields.department) ?? fields.department
    const room = livechatRoom(fields)
    this.rooms.set(room.id, room)
    this.visitors.set(room.visitor.token, room.visitor)
    return room
  }

  /** The current state of a room (after transfers and closes). */
  room(id) {
    return this.rooms.get(id)
  }

  findUser(idOrUsername) {
    return this.users.get(idOrUsername) ?? [...this.users.values()].find((u) => u.username === idOrUsername)
  }

  findDepartment(idOrName) {
    const department = this.departments.get(idOrName) ?? [...this.departments.values()].find((d) => d.name === idOrName)
    return department && this.#department(department.id)
  }

  agentsOf(departmentId) {
    return [...this.users.values()].filter((u) => u.roles?.includes('livechat-agent') && (!departmentId || this.memberships.get(u.username)?.includes(departmentId)))
  }

  /** A department as apps see it, with its current number of agents. */
  #department(id) {
    const department = this.departments.get(id)
    return { ...department, numberOfAgents: this.agentsOf(id).length }
  }

  isOnline(departmentId) {
    return this.agentsOf(departmentId).some((a) => a.status === 'online')
  }

  transfer(appId, visitor, { currentRoom, targetAgent, targetDepartment }) {
    const room = this.rooms.get(currentRoom?.id)
    const attempt = { appId, roomId: currentRoom?.id, visitorToken: visitor?.token, targetAgent: targetAgent?.username ?? targetAgent?.id, targetDepartment }
    this.transfers.push(attempt)
    if (!visitor) throw new Error('Invalid visitor, cannot transfer')
    let event
    if (targetAgent?.id) {
      const to = this.users.get(targetAgent.id)
      if (!to?.roles?.includes('livechat-agent')) throw new Error('Invalid target agent, cannot transfer')
      if (room) {
        event = { type: LivechatTransferEventType.AGENT, from: room.servedBy, to }
        room.servedBy = to
        if (targetDepartment && this.departments.has(targetDepartment)) room.department = this.#department(targetDepartment)
      }
    } else if (targetDepartment && this.departments.has(targetDepartment) && room) {
      const to = this.#department(targetDepartment)
      event = { type: LivechatTransferEventType.DEPARTMENT, from: room.department, to }
      room.department = to
    }
    attempt.ok = Boolean(event)
    if (event) this.fire('IPostLivechatRoomTransferred', { ...event, room: { ...room } })
    return attempt.ok
  }

  close(appId, roomInput, comment, closer) {
    const room = this.rooms.get(roomInput?.id)
    const attempt = { appId, roomId: roomInput?.id, comment, closer: closer?.username ?? closer?.id }
    this.closes.push(attempt)
    attempt.ok = Boolean(room?.isOpen)
    if (!attempt.ok) return false
    Object.assign(room, {
      isOpen: false,
      closedAt: new Date(),
      closer: closer ? 'user' : 'visitor',
      closedBy: closer ? (this.findUser(closer.id ?? closer.username) ?? closer) : undefined,
      updatedAt: new Date(),
    })
    if (!room.closedBy) delete room.closedBy
    this.fire('ILivechatRoomClosedHandler', { ...room })
    this.fire('IPostLivechatRoomClosed', { ...room })
    return true
  }
}

export class HostLivechatBridge extends noop(Bridges.LivechatBridge) {
  /** @param {LivechatWorld} world */
  constructor(world) {
    super()
    this.world = world
  }

  isOnline(departmentId) {
    return this.world.isOnline(departmentId)
  }

  async isOnlineAsync(departmentId) {
    return this.world.isOnline(departmentId)
  }

  async findDepartmentByIdOrName(value) {
    return this.world.findDepartment(value)
  }

  async findDepartmentsEnabledWithAgents() {
    return [...this.world.departments.keys()].map((id) => this.world.findDepartment(id)).filter((d) => d.enabled && d.numberOfAgents > 0)
  }

  async findRooms(visitor, departmentId) {
    if (!visitor) return []
    return [...this.world.rooms.values()].filter((r) => r.isOpen && r.visitor.token === visitor.token && (!departmentId || r.department?.id === departmentId))
  }

  async findOpenRoomsByAgentId(agentId) {
    if (!agentId) throw new Error('Invalid agentId')
    return [...this.world.rooms.values()].filter((r) => r.isOpen && r.servedBy?.id === agentId)
  }

  async countOpenRoomsByAgentId(agentId) {
    return (await this.findOpenRoomsByAgentId(agentId)).length
  }

  async findVisitorByToken(token) {
    return this.world.visitors.get(token)
  }

  async findVisitorById(id) {
    return [...this.world.visitors.values()].find((v) => v.id === id)
  }

  async findVisitorByEmail(email) {
    return [...this.world.visitors.values()].find((v) => v.visitorEmails?.some((e) => e.address === email))
  }

  async findVisitors(query = {}) {
    return [...this.world.visitors.values()].filter((v) => Object.entries(query).every(([key, value]) => v[key] === value))
  }

  async createVisitor(visitor) {
    const created = makeVisitor(visitor)
    this.world.visitors.set(created.token, created)
    return created.id
  }

  async createAndReturnVisitor(visitor) {
    await this.createVisitor(visitor)
    return this.world.visitors.get(visitor.token)
  }

  async createMessage(message, appId) {
    const id = `livechat-message-${this.world.messages.length + 1}`
    this.world.messages.push({ appId, id, ...message })
    return id
  }

  async transferVisitor(visitor, transferData, appId) {
    return this.world.transfer(appId, visitor, transferData)
  }

  async closeRoom(room, comment, closer, appId) {
    return this.world.close(appId, room, comment, closer)
  }
}

/** Rooms apps read by id or name: the livechat rooms (plus any others a test adds to `rooms`). */
export class HostRoomBridge extends noop(Bridges.RoomBridge) {
  /** @param {LivechatWorld} world */
  constructor(world) {
    super()
    this.world = world
  }

  async getById(roomId) {
    return this.world.rooms.get(roomId)
  }

  async getByName(name) {
    return [...this.world.rooms.values()].find((r) => r.slugifiedName === name || r.displayName === name)
  }

  async getMembers(roomId) {
    const room = this.world.rooms.get(roomId)
    return room?.servedBy ? [room.servedBy] : []
  }
}
