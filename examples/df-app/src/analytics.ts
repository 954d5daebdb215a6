import type { IHttp, ILogger, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { type LogEvent, type RelayClient, type RelayClientError, createRelayClient } from './sns-logger/index';
import { readRelaySettings } from './settings';

/**
 * The longest a handler waits on the relay (closing the client on a settings change or when the
 * app is disabled). The engine stops a handler after 30 s; logging itself never waits.
 */
export const HANDLER_WAIT_MS = 2000;

/** What the analytics needs from the app (an `App` has both). */
export interface AnalyticsHost {
  getLogger(): ILogger;
  getAccessors(): { readonly http: IHttp };
}

/**
 * One relay client for the app, built from the settings on first use and rebuilt after they
 * change. Nothing here throws into a hook: a missing setting, a bad URL or an event the plan
 * refuses ends up in the app's log, and the hook carries on.
 */
export class Analytics {
  // A promise rather than a client, so that hooks running at the same time share one settings
  // read and one client. It resolves to undefined while the settings are unusable: the reason is
  // logged once, and nothing is retried until a setting changes.
  private client?: Promise<RelayClient | undefined>;

  constructor(private readonly app: AnalyticsHost) {}

  /** Queues the event for the relay; returns once it is queued, never waiting on the network. */
  async log(read: IRead, event: LogEvent): Promise<void> {
    const current = (this.client ??= this.create(read));
    const client = await current;
    if (!client) return;
    this.writeNotices(client);
    try {
      client.logEvent(event);
    } catch (error) {
      // The client was closed by a settings change while this event waited for it: use the new one.
      if (isClientError(error) && error.code === 'ERR_CLOSED' && this.client !== current) return this.log(read, event);
      // Otherwise the event breaks the tracking plan: a bug in this app, reported with the plan's message.
      this.app.getLogger().error(`analytics: ${event.category} / ${event.action} for room ${event.roomId} dropped: ${describe(error)}`);
    }
  }

  /**
   * Writes what the client reported since the last call (events the relay refused or that were
   * lost). The client sends in the background, where the engine records nothing an app logs, so
   * every handler calls this once it is done.
   */
  async flushNotices(): Promise<void> {
    const client = await this.client;
    if (client) this.writeNotices(client);
  }

  /**
   * Drops the client: the next event builds one from the current settings. The old client sends
   * what it holds within HANDLER_WAIT_MS; what it cannot send is reported through onError.
   */
  async reset(): Promise<void> {
    const previous = this.client;
    this.client = undefined;
    const client = await previous;
    if (!client) return;
    await client.close({ timeoutMs: HANDLER_WAIT_MS });
    this.writeNotices(client);
  }

  private writeNotices(client: RelayClient): void {
    for (const notice of client.takeNotices()) {
      this.app.getLogger().warn(`analytics: ${notice.events} event(s) not delivered: ${notice.code}: ${notice.message}`);
    }
  }

  private async create(read: IRead): Promise<RelayClient | undefined> {
    const logger = this.app.getLogger();
    try {
      const settings = await readRelaySettings(read.getEnvironmentReader().getSettings());
      if ('problem' in settings) {
        logger.warn(`analytics off: ${settings.problem}`);
        return undefined;
      }
      return createRelayClient({
        url: settings.url,
        token: settings.token,
        // The app's own accessor, not the `http` a hook receives: the client sends in the
        // background, after the hook that logged an event has returned.
        http: this.app.getAccessors().http,
        // Per request; the client retries on timeouts, 429 and 5xx with backoff.
        timeoutMs: 5000,
        // No onError: it would run in the background, where the app's logger records nothing.
        // The client keeps its notices and the next handler writes them (writeNotices).
        onError: () => {},
      });
    } catch (error) {
      // ERR_INVALID_OPTIONS (a URL that does not parse, ...) or a settings read that failed.
      logger.error(`analytics off: ${describe(error)}`);
      return undefined;
    }
  }
}

function isClientError(error: unknown): error is RelayClientError {
  return error instanceof Error && typeof (error as Partial<RelayClientError>).code === 'string';
}

function describe(error: unknown): string {
  return isClientError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}
