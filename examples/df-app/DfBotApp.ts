import type {
  IConfigurationExtend,
  IConfigurationModify,
  IEnvironmentRead,
  IHttp,
  IModify,
  IPersistence,
  IRead,
} from '@rocket.chat/apps-engine/definition/accessors';
import { App } from '@rocket.chat/apps-engine/definition/App';
import type { ILivechatMessage, ILivechatRoom, IPostLivechatRoomStarted } from '@rocket.chat/apps-engine/definition/livechat';
import type { IMessage, IPostMessageSent } from '@rocket.chat/apps-engine/definition/messages';
import { RoomType } from '@rocket.chat/apps-engine/definition/rooms';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import { Analytics } from './src/analytics';
import { askDialogflow } from './src/dialogflow';
import { handover } from './src/handover';
import { RELAY_SETTINGS, SETTINGS, SettingId, readBots, readText } from './src/settings';
import { CloseMethod, chatSessionClosed, chatSessionStarted, escalationAttempted, escalationFailed } from './src/sns-logger/index';

/**
 * The analytics side of a Dialogflow bot app (DF.app): the bot serves livechat rooms, passes the
 * visitor's messages to Dialogflow and acts on its decisions: hand the visitor over to Salesforce
 * Live Agent (through a department) or close the chat. The events go to the sns-logger relay as
 * the tracking plan's typed helpers build them.
 *
 * Every handler catches its own errors: analytics must never make a hook fail, and no handler
 * waits on the relay (logEvent only queues; the client sends in the background).
 */
export class DfBotApp extends App implements IPostLivechatRoomStarted, IPostMessageSent {
  private readonly analytics = new Analytics(this);

  protected override async extendConfiguration(configuration: IConfigurationExtend, _environment: IEnvironmentRead): Promise<void> {
    await Promise.all(SETTINGS.map((setting) => configuration.settings.provideSetting(setting)));
  }

  override async onSettingUpdated(setting: ISetting, _configuration: IConfigurationModify, _read: IRead, _http: IHttp): Promise<void> {
    if (RELAY_SETTINGS.includes(setting.id)) await this.safely('onSettingUpdated', () => this.analytics.reset());
  }

  override async onDisable(_configuration: IConfigurationModify): Promise<void> {
    await this.safely('onDisable', () => this.analytics.reset());
  }

  /** A chat began; the bot's own chats are its sessions. */
  async executePostLivechatRoomStarted(room: ILivechatRoom, read: IRead, _http: IHttp, _persis: IPersistence): Promise<void> {
    await this.safely('room started', async () => {
      const bot = await this.botServing(read, room);
      if (bot) await this.analytics.log(read, chatSessionStarted({ roomId: room.id, agent: bot, timestamp: room.createdAt }));
    });
  }

  /** A message in any room: the visitor's messages in the bot's rooms go to Dialogflow. */
  async executePostMessageSent(message: IMessage, read: IRead, http: IHttp, _persis: IPersistence, modify: IModify): Promise<void> {
    if (message.room.type !== RoomType.LIVE_CHAT || !(message as ILivechatMessage).visitor || !message.text) return;
    const room = message.room as ILivechatRoom;
    await this.safely('visitor message', async () => {
      const bot = await this.botServing(read, room);
      if (!bot) return;
      const settings = read.getEnvironmentReader().getSettings();
      const decision = await askDialogflow(http, await readText(settings, SettingId.DialogflowUrl), room.id, message.text ?? '');
      const ctx = { roomId: room.id, agent: bot };
      if (decision.action === 'handover') {
        await this.analytics.log(read, escalationAttempted(ctx));
        const failure = await handover(read, modify, room, decision.targetDepartment, await readText(settings, SettingId.SalesforceBot));
        if (failure) await this.analytics.log(read, escalationFailed(ctx, failure));
      } else if (decision.action === 'close_chat') {
        const closer = await read.getUserReader().getByUsername(bot);
        if (await modify.getUpdater().getLivechatUpdater().closeRoom(room, 'The bot ended the chat', closer)) {
          await this.analytics.log(read, chatSessionClosed(ctx, CloseMethod.DfBot));
        }
      }
    });
  }

  /** The bot serving the room (its username: the relay's `agent`), or undefined when it is not this app's. */
  private async botServing(read: IRead, room: ILivechatRoom): Promise<string | undefined> {
    const username = room.servedBy?.username;
    if (!username) return undefined;
    return (await readBots(read.getEnvironmentReader().getSettings())).includes(username) ? username : undefined;
  }

  private async safely(what: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
      // What the client reported since the last handler (it sends in the background).
      await this.analytics.flushNotices();
    } catch (error) {
      this.getLogger().error(`analytics (${what}): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
