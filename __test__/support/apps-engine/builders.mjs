// Payloads in the shapes the Apps-Engine 1.62.0 definitions give them (definition/users/IUser,
// livechat/IVisitor, IDepartment, ILivechatRoom, ILivechatEventContext,
// ILivechatTransferEventContext, messages/IMessage), as Rocket.Chat's converters hand them to
// `executeListener`. Plain objects: no engine import needed. Every builder takes a partial object
// and fills the rest; a string stands for the obvious key (a visitor's token, a user's username,
// a department's id).

const at = (value) => (value === undefined ? undefined : value instanceof Date ? value : new Date(value))
const drop = (object) => Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined))

/** IUser. `status` 'online' | 'offline' | 'away' | 'busy' sets statusConnection too. */
export function user(input) {
  const { id, username, name, roles = ['user'], status = 'online', type = 'user', emails = [], createdAt, ...rest } =
    typeof input === 'string' ? { username: input } : input
  if (!username && !id) throw new TypeError('user: give a username or an id')
  const created = at(createdAt) ?? new Date('2026-01-01T00:00:00Z')
  return drop({
    id: id ?? `user-${username}`,
    username: username ?? id,
    name: name ?? username ?? id,
    emails,
    type,
    isEnabled: true,
    roles,
    status,
    statusConnection: status,
    utcOffset: 0,
    createdAt: created,
    updatedAt: created,
    lastLoginAt: created,
    ...rest,
  })
}

/** An Omnichannel agent: an IUser with the `livechat-agent` role. */
export function agent(input) {
  const fields = typeof input === 'string' ? { username: input } : input
  return user({ roles: ['user', 'livechat-agent'], ...fields })
}

/** A bot (IUser of type bot), e.g. the Salesforce or Dialogflow bot agent. */
export function bot(input) {
  const fields = typeof input === 'string' ? { username: input } : input
  return user({ type: 'bot', roles: ['bot', 'livechat-agent'], ...fields })
}

/** IVisitor. */
export function visitor(input) {
  const { token, id, username, name, department, ...rest } = typeof input === 'string' ? { token: input } : input
  if (!token) throw new TypeError('visitor: give a token')
  return drop({ id: id ?? `visitor-${token}`, token, username: username ?? `guest-${token}`, name: name ?? `Guest ${token}`, department, ...rest })
}

/** IDepartment. */
export function department(input) {
  const { id, name, enabled = true, numberOfAgents = 0, ...rest } = typeof input === 'string' ? { id: input } : input
  if (!id) throw new TypeError('department: give an id')
  return drop({
    id,
    name: name ?? id,
    enabled,
    numberOfAgents,
    showOnOfflineForm: false,
    showOnRegistration: true,
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...rest,
  })
}

/**
 * ILivechatRoom (type 'l'). `visitor`, `servedBy` and `department` take objects or strings (a
 * token, a username, a department id); the room is open unless `closedAt` (or `isOpen: false`)
 * says otherwise.
 */
export function livechatRoom(input) {
  const { id, visitor: guest, servedBy, department: dept, closer, closedAt, closedBy, isOpen, createdAt, source, ...rest } = input
  if (!id) throw new TypeError('livechatRoom: give an id')
  const v = visitor(guest ?? `token-${id}`)
  const created = at(createdAt) ?? new Date()
  return drop({
    id,
    type: 'l',
    slugifiedName: v.username,
    displayName: v.name,
    visitor: v,
    servedBy: servedBy === undefined ? undefined : typeof servedBy === 'string' ? agent(servedBy) : servedBy,
    department: dept === undefined ? undefined : typeof dept === 'string' ? department(dept) : dept,
    closer,
    closedBy: closedBy === undefined ? undefined : typeof closedBy === 'string' ? user(closedBy) : closedBy,
    closedAt: at(closedAt),
    isOpen: isOpen ?? closedAt === undefined,
    isWaitingResponse: false,
    source: source ?? { type: 'widget' },
    createdAt: created,
    updatedAt: created,
    customFields: {},
    livechatData: {},
    ...rest,
  })
}

/** ILivechatEventContext, the payload of IPostLivechatAgentAssigned / Unassigned. */
export function livechatEventContext({ room, agent: who }) {
  return { room, agent: typeof who === 'string' ? agent(who) : who }
}

/**
 * ILivechatTransferEventContext, the payload of IPostLivechatRoomTransferred: `type` 'agent'
 * (from/to IUser) or 'department' (from/to IDepartment); strings are usernames or department ids.
 */
export function transferEventContext({ type, room, from, to }) {
  if (type !== 'agent' && type !== 'department') throw new TypeError("transferEventContext: type is 'agent' or 'department'")
  const entity = (value) => (typeof value === 'string' ? (type === 'agent' ? agent(value) : department(value)) : value)
  return drop({ type, room, from: entity(from), to: entity(to) })
}

let messageCount = 0

/** IMessage, the payload of IPostMessageSent and friends. */
export function message({ id, room, sender, text, createdAt, ...rest }) {
  if (!room || !sender) throw new TypeError('message: give a room and a sender')
  return drop({
    id: id ?? `message-${++messageCount}`,
    room,
    sender: typeof sender === 'string' ? user(sender) : sender,
    text,
    createdAt: at(createdAt) ?? new Date(),
    ...rest,
  })
}
