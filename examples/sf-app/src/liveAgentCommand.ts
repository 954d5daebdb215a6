import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import type { ISlashCommand, SlashCommandContext } from '@rocket.chat/apps-engine/definition/slashcommands';
import type { LiveAgentFailure, LiveAgentMessage, LiveAgentSession } from './liveAgent';

/** Where the Live Agent job reports (SfAnalyticsApp's two entry points). */
export interface LiveAgentReports {
  onLiveAgentMessage(session: LiveAgentSession, message: LiveAgentMessage, read: IRead, persis: IPersistence): Promise<void>;
  onLiveAgentFailure(session: LiveAgentSession, failure: LiveAgentFailure, read: IRead, persis: IPersistence): Promise<void>;
}

/**
 * `/sf-liveagent {"session": {...}, "message": {...}}` (or `"failure"`): hands one Live Agent
 * message or failure to the app, as the Live Agent job would. The job is not part of this
 * example; this command stands in for it, to try the analytics on a server without Salesforce
 * (and it is how the tests drive the app in the real engine). A real app leaves it out.
 */
export class LiveAgentCommand implements ISlashCommand {
  public command = 'sf-liveagent';
  public i18nParamsExample = '{"session": {...}, "message": {...}}';
  public i18nDescription = 'Feeds a Live Agent message or failure to the analytics (stands in for the Live Agent job)';
  public providesPreview = false;

  constructor(private readonly app: LiveAgentReports) {}

  async executor(context: SlashCommandContext, read: IRead, _modify: IModify, _http: IHttp, persis: IPersistence): Promise<void> {
    const report = JSON.parse(context.getArguments().join(' ')) as {
      session: LiveAgentSession;
      message?: LiveAgentMessage;
      failure?: LiveAgentFailure;
    };
    if (report.message) await this.app.onLiveAgentMessage(report.session, report.message, read, persis);
    if (report.failure) await this.app.onLiveAgentFailure(report.session, report.failure, read, persis);
  }
}
