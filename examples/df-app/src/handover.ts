import type { IModify, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { ILivechatRoom } from '@rocket.chat/apps-engine/definition/livechat';
import { FailureReason } from './sns-logger/index';

/**
 * Transfers the room to the department the bot named, where the Live Agent bot (the agent that
 * stands for Salesforce) takes it. Returns why it failed, in the tracking plan's terms, or
 * undefined once Rocket.Chat accepted the transfer (SF.app reports what happens next).
 */
export async function handover(
  read: IRead,
  modify: IModify,
  room: ILivechatRoom,
  targetDepartment: string,
  liveAgentBot: string,
): Promise<FailureReason | undefined> {
  const department = await read.getLivechatReader().getLivechatDepartmentByIdOrName(targetDepartment);
  if (!department || !department.enabled) return FailureReason.InvalidTargetDepartment;
  if (room.department?.id === department.id) return FailureReason.SameTargetDepartment;
  const bot = await read.getUserReader().getByUsername(liveAgentBot);
  if (!bot || !bot.isEnabled || bot.status === 'offline') return FailureReason.LiveagentBotOfflineOrDisabled;
  try {
    const transferred = await modify
      .getUpdater()
      .getLivechatUpdater()
      .transferVisitor(room.visitor, { currentRoom: room, targetDepartment: department.id });
    return transferred ? undefined : FailureReason.NetworkAppError;
  } catch {
    return FailureReason.NetworkAppError;
  }
}
