import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import type { CloseMethod } from './sns-logger/index';

/**
 * What the app remembers about a livechat room between hooks: one record in the app's
 * persistence (not in memory: several Rocket.Chat instances may run the app), removed when the
 * room closes.
 */
export interface RoomRecord {
  /**
   * The Dialogflow bot that served the room before the handoff, sent as the event's `agent`: the
   * relay picks the SNS topic by it (a key of its df_config.json, the bot's username).
   */
  agent?: string;
  /** The room was handed to the Salesforce bot: this app reports its escalation and its close. */
  salesforce?: boolean;
  /** Why the app is about to close the room, when the reason is on Salesforce's side. */
  closeMethod?: CloseMethod;
}

// Two associations (the room and this feature) keep the record apart from anything else the app
// stores about the room.
function associations(roomId: string): RocketChatAssociationRecord[] {
  return [
    new RocketChatAssociationRecord(RocketChatAssociationModel.ROOM, roomId),
    new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'analytics'),
  ];
}

export async function readRoom(reader: IPersistenceRead, roomId: string): Promise<RoomRecord> {
  const [record] = (await reader.readByAssociations(associations(roomId))) as RoomRecord[];
  return record ?? {};
}

/** Merges `changes` into the room's record (read, then write: two hooks of one room rarely overlap). */
export async function updateRoom(
  reader: IPersistenceRead,
  persis: IPersistence,
  roomId: string,
  changes: RoomRecord,
): Promise<RoomRecord> {
  const record = { ...(await readRoom(reader, roomId)), ...changes };
  await persis.updateByAssociations(associations(roomId), record, true);
  return record;
}

export async function forgetRoom(persis: IPersistence, roomId: string): Promise<void> {
  await persis.removeByAssociations(associations(roomId));
}
