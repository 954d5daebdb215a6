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
import {
  type ILivechatEventContext,
  type ILivechatRoom,
  type ILivechatTransferEventContext,
  type IPostLivechatAgentAssigned,
  type IPostLivechatRoomClosed,
  type IPostLivechatRoomTransferred,
  LivechatTransferEventType,
} from '@rocket.chat/apps-engine/definition/livechat';
import type { ISetting } from '@rocket.chat/apps-engine/definition/settings';
import { CloseMethod, agentTransferSuccessful, chatSessionClosed } from './src/sns-logger/index';
import { Analytics } from './src/analytics';
import { type LiveAgentFailure, type LiveAgentMessage, type LiveAgentSession, type Outcome, failureOutcome, messageOutcome } from './src/liveAgent';
import { LiveAgentCommand } from './src/liveAgentCommand';
import { forgetRoom, readRoom, updateRoom } from './src/rooms';
import { RELAY_SETTINGS, SETTINGS, readSalesforceBot } from './src/settings';

/**
 * The analytics side of a Salesforce Live Agent handoff app: a Dialogflow bot serves the visitor,
 * hands the room to the Salesforce bot (an Omnichannel agent this app speaks for), and the app
 * bridges the chat to a Salesforce agent. The events go to the sns-logger relay as the tracking
 * plan's typed helpers build them; no category or action is written out here.
 *
 * Every handler catches its own errors: analytics must never make a livechat hook fail, and no
 * handler waits on the relay (logEvent only queues; the client sends in the background).
 */
export class SfAnalyticsApp extends App implements IPostLivechatAgentAssigned, IPostLivechatRoomTransferred, IPostLivechatRoomClosed {
  private readonly analytics = new Analytics(this);

  protected override async extendConfiguration(configuration: IConfigurationExtend, _environment: IEnvironmentRead): Promise<void> {
    await Promise.all(SETTINGS.map((setting) => configuration.settings.provideSetting(setting)));
    await configuration.slashCommands.provideSlashCommand(new LiveAgentCommand(this));
  }

  override async onSettingUpdated(setting: ISetting, _configuration: IConfigurationModify, _read: IRead, _http: IHttp): Promise<void> {
    // The next event builds a client from the new URL or token; the old one sends what it holds.
    if (RELAY_SETTINGS.includes(setting.id)) await this.safely('onSettingUpdated', () => this.analytics.reset());
  }

  override async onDisable(_configuration: IConfigurationModify): Promise<void> {
    await this.safely('onDisable', () => this.analytics.reset());
  }

  /** A bot or an agent took the room. */
  async executePostLivechatAgentAssigned(context: ILivechatEventContext, read: IRead, _http: IHttp, persis: IPersistence): Promise<void> {
    await this.safely('agent assigned', async () => {
      const { agent, room } = context;
      if (agent.username === (await readSalesforceBot(read.getEnvironmentReader().getSettings()))) {
        // The handoff. The real app starts its Live Agent job here; the job reports back through
        // onLiveAgentMessage and onLiveAgentFailure below (escalation successful or failed).
        await updateRoom(read.getPersistenceReader(), persis, room.id, { salesforce: true });
      } else if (agent.roles.includes('bot')) {
        // A Dialogflow bot: its username is the relay's `agent` for every event of this room.
        await updateRoom(read.getPersistenceReader(), persis, room.id, { agent: agent.username });
      }
    });
  }

  /** An agent forwarded a room in Rocket.Chat. Transfers between Salesforce agents come as ChatTransferred. */
  async executePostLivechatRoomTransferred(
    context: ILivechatTransferEventContext,
    read: IRead,
    _http: IHttp,
    _persis: IPersistence,
    _modify: IModify,
  ): Promise<void> {
    await this.safely('room transferred', async () => {
      // A department transfer is how the bot hands the room over: the escalation, not an agent transfer.
      if (context.type !== LivechatTransferEventType.AGENT) return;
      const record = await readRoom(read.getPersistenceReader(), context.room.id);
      if (!record.salesforce) return;
      await this.analytics.log(read, agentTransferSuccessful({ roomId: context.room.id, agent: record.agent }));
    });
  }

  /**
   * A room closed. This app reports the close of rooms that reached Salesforce; the bot (DF.app)
   * and Rocket.Chat report the others, and the widget reports the visitor's own close
   * (`chat window`, with its tab id).
   */
  async executePostLivechatRoomClosed(room: ILivechatRoom, read: IRead, _http: IHttp, persis: IPersistence): Promise<void> {
    await this.safely('room closed', async () => {
      const record = await readRoom(read.getPersistenceReader(), room.id);
      await forgetRoom(persis, room.id);
      if (!record.salesforce) return;
      // A reason on Salesforce's side was recorded before the app closed the room; otherwise a
      // user closed it in Rocket.Chat (an agent or a supervisor), or the visitor or a bot did.
      const closeMethod = record.closeMethod ?? (room.closer === 'user' ? CloseMethod.Agent : undefined);
      if (!closeMethod) return;
      await this.analytics.log(read, chatSessionClosed({ roomId: room.id, agent: record.agent, timestamp: room.closedAt }, closeMethod));
    });
  }

  /** For the Live Agent job: a message from Salesforce. */
  async onLiveAgentMessage(session: LiveAgentSession, message: LiveAgentMessage, read: IRead, persis: IPersistence): Promise<void> {
    await this.safely(`Live Agent ${message.type}`, async () => {
      const { agent } = await readRoom(read.getPersistenceReader(), session.roomId);
      await this.report(read, persis, session.roomId, messageOutcome({ roomId: session.roomId, agent }, session, message));
    });
  }

  /** For the Live Agent job: a request that failed for good (after its own retries). */
  async onLiveAgentFailure(session: LiveAgentSession, failure: LiveAgentFailure, read: IRead, persis: IPersistence): Promise<void> {
    await this.safely(`Live Agent ${failure.step} failure`, async () => {
      const { agent } = await readRoom(read.getPersistenceReader(), session.roomId);
      await this.report(read, persis, session.roomId, failureOutcome({ roomId: session.roomId, agent }, session, failure));
    });
  }

  private async report(read: IRead, persis: IPersistence, roomId: string, { event, closeMethod }: Outcome): Promise<void> {
    // Kept for executePostLivechatRoomClosed, which logs the close once the app has closed the room.
    if (closeMethod) await updateRoom(read.getPersistenceReader(), persis, roomId, { closeMethod });
    if (event) await this.analytics.log(read, event);
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
