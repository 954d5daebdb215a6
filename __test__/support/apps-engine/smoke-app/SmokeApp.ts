// @ts-nocheck -- the repository's root tsconfig.json includes __test__/**/*.ts, and under its node16
// resolution (with only the definitions-only apps-engine 1.66 at the root) these Apps-Engine
// imports do not resolve. The apps compiler (rc-apps package) type-checked this file cleanly
// against examples/node_modules (engine 1.62.0) when it was written; the pragma keeps `npx tsc -p .` green.
// The Apps-Engine test host's smoke app (__test__/apps-engine-host.test.mjs): every livechat hook
// it implements and every /smoke subcommand ends in one POST of a small JSON object to the URL in
// its `target_url` setting, through the engine's HTTP accessor, so a test sees what ran and with
// what data. Packaged by the real rc-apps (see packageApp in __test__/support/apps-engine.mjs).
import type { IConfigurationExtend, IConfigurationModify, IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { App } from '@rocket.chat/apps-engine/definition/App';
import type {
  ILivechatRoom,
  ILivechatTransferEventContext,
  IPostLivechatRoomClosed,
  IPostLivechatRoomStarted,
  IPostLivechatRoomTransferred,
} from '@rocket.chat/apps-engine/definition/livechat';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import { type ISetting, SettingType } from '@rocket.chat/apps-engine/definition/settings';
import type { ISlashCommand, SlashCommandContext } from '@rocket.chat/apps-engine/definition/slashcommands';

export class SmokeApp extends App implements IPostLivechatRoomStarted, IPostLivechatRoomClosed, IPostLivechatRoomTransferred {
  protected async extendConfiguration(configuration: IConfigurationExtend): Promise<void> {
    await configuration.settings.provideSetting({
      id: 'target_url',
      type: SettingType.STRING,
      packageValue: '',
      required: false,
      public: false,
      i18nLabel: 'target_url',
    });
    await configuration.slashCommands.provideSlashCommand(new SmokeCommand(this));
  }

  public async onSettingUpdated(setting: ISetting, _configuration: IConfigurationModify, _read: IRead, _http: IHttp): Promise<void> {
    this.getLogger().info(`setting ${setting.id} updated`);
  }

  public async executePostLivechatRoomStarted(room: ILivechatRoom, read: IRead, http: IHttp): Promise<void> {
    await this.report(read, http, { event: 'room-started', roomId: room.id, visitor: room.visitor.token });
  }

  public async executePostLivechatRoomClosed(room: ILivechatRoom, read: IRead, http: IHttp): Promise<void> {
    await this.report(read, http, { event: 'room-closed', roomId: room.id, closer: room.closer, open: room.isOpen });
  }

  public async executePostLivechatRoomTransferred(context: ILivechatTransferEventContext, read: IRead, http: IHttp): Promise<void> {
    await this.report(read, http, { event: 'room-transferred', roomId: context.room.id, type: context.type, to: context.to.id });
  }

  /** POSTs `data` to the target_url setting; logs the outcome (the test reads the app's logs). */
  public async report(read: IRead, http: IHttp, data: Record<string, unknown>): Promise<void> {
    const url = await read.getEnvironmentReader().getSettings().getValueById('target_url');
    if (!url) {
      this.getLogger().warn(`${data.event}: target_url is not set`);
      return;
    }
    try {
      const response = await http.post(url, { data, timeout: 5000 });
      this.getLogger().info(`${data.event} ${data.roomId}: ${response ? `HTTP ${response.statusCode}` : 'no response'}`);
    } catch (error) {
      this.getLogger().error(`${data.event} ${data.roomId}: failed: ${(error as Error).message}`);
    }
  }
}

const roomRecord = (roomId: string) => [new RocketChatAssociationRecord(RocketChatAssociationModel.ROOM, roomId)];

/**
 * /smoke post <text> | count | forget | transfer <department id or name> | close [comment] | online
 * The command is the app's name slug less "sns-logger-host-" ("smoke"), so a copy of the app
 * packaged under another slug provides its own command.
 */
class SmokeCommand implements ISlashCommand {
  public command: string;
  public i18nParamsExample = 'post|count|forget|transfer|close|online';
  public i18nDescription = 'Apps-Engine host smoke command';
  public providesPreview = false;

  constructor(private readonly app: SmokeApp) {
    this.command = app.getNameSlug().replace(/^sns-logger-host-/, '');
  }

  public async executor(context: SlashCommandContext, read: IRead, modify: IModify, http: IHttp, persis: IPersistence): Promise<void> {
    const [action, ...rest] = context.getArguments();
    const roomId = context.getRoom().id;
    const sender = context.getSender().username;
    const base = { event: `command-${action}`, roomId, sender };
    switch (action) {
      case 'post':
        return this.app.report(read, http, { ...base, text: rest.join(' ') });
      case 'count': {
        const [record] = (await read.getPersistenceReader().readByAssociations(roomRecord(roomId))) as Array<{ count?: number }>;
        const count = (record?.count ?? 0) + 1;
        await persis.updateByAssociations(roomRecord(roomId), { count }, true);
        return this.app.report(read, http, { ...base, count });
      }
      case 'forget': {
        const removed = await persis.removeByAssociations(roomRecord(roomId));
        return this.app.report(read, http, { ...base, removed: removed?.length ?? 0 });
      }
      case 'transfer': {
        const department = await read.getLivechatReader().getLivechatDepartmentByIdOrName(rest.join(' '));
        if (!department) return this.app.report(read, http, { ...base, ok: false, reason: 'no such department' });
        const room = (await read.getRoomReader().getById(roomId)) as ILivechatRoom;
        const ok = await modify.getUpdater().getLivechatUpdater().transferVisitor(room.visitor, { currentRoom: room, targetDepartment: department.id });
        return this.app.report(read, http, { ...base, ok, department: department.id });
      }
      case 'close': {
        const room = (await read.getRoomReader().getById(roomId)) as ILivechatRoom;
        const ok = await modify.getUpdater().getLivechatUpdater().closeRoom(room, rest.join(' ') || 'closed by /smoke');
        return this.app.report(read, http, { ...base, ok });
      }
      case 'online':
        return this.app.report(read, http, { ...base, online: await read.getLivechatReader().isOnlineAsync(rest[0]) });
      default:
        this.app.getLogger().warn(`unknown /smoke action ${action}`);
    }
  }
}
