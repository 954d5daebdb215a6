import type { ISettingRead } from '@rocket.chat/apps-engine/definition/accessors';
import { type ISetting, SettingType } from '@rocket.chat/apps-engine/definition/settings';

/** The app's setting ids (what `getValueById` takes). */
export const SettingId = {
  RelayUrl: 'relay_url',
  RelayToken: 'relay_token',
  SalesforceBot: 'salesforce_bot_username',
} as const;

/** Relay settings: they decide the relay client, so a change to one of them replaces it. */
export const RELAY_SETTINGS: readonly string[] = [SettingId.RelayUrl, SettingId.RelayToken];

// Labels are plain text rather than i18n keys to keep the example to one file per concern; a
// published app puts them in i18n/en.json.
export const SETTINGS: readonly ISetting[] = [
  {
    id: SettingId.RelayUrl,
    type: SettingType.STRING,
    packageValue: '',
    required: true,
    public: false,
    i18nLabel: 'Analytics relay URL',
    i18nDescription:
      'Base URL of the sns-logger relay (`sns-logger serve`), e.g. http://analytics-relay.internal:8787. ' +
      'The Rocket.Chat server makes the requests, so its proxy settings apply.',
  },
  {
    id: SettingId.RelayToken,
    // PASSWORD masks the value in the admin UI; it is not encrypted at rest.
    type: SettingType.PASSWORD,
    packageValue: '',
    required: true,
    public: false,
    i18nLabel: 'Analytics relay token',
    i18nDescription: "This app's token, listed under \"SF.app\" in the relay's tokens file.",
  },
  {
    id: SettingId.SalesforceBot,
    type: SettingType.STRING,
    packageValue: 'salesforce.bot',
    required: true,
    public: false,
    i18nLabel: 'Salesforce bot username',
    i18nDescription: 'The Omnichannel agent that stands for Salesforce: a room handed to it is escalated to Live Agent.',
  },
];

export interface RelaySettings {
  url: string;
  token: string;
}

/**
 * Reads the relay settings; returns a problem (a sentence for the app's log, never the token) when
 * one is missing. `getValueById` throws for an unknown id, which would be a bug, not a setting
 * left empty: it is caught by the caller all the same, so no hook fails because of analytics.
 */
export async function readRelaySettings(settings: ISettingRead): Promise<RelaySettings | { problem: string }> {
  const url = asText(await settings.getValueById(SettingId.RelayUrl));
  const token = asText(await settings.getValueById(SettingId.RelayToken));
  if (!url) return { problem: 'the analytics relay URL is not set' };
  if (!token) return { problem: 'the analytics relay token is not set' };
  return { url, token };
}

/** The Salesforce bot's username, or undefined when it is not set. */
export async function readSalesforceBot(settings: ISettingRead): Promise<string | undefined> {
  return asText(await settings.getValueById(SettingId.SalesforceBot)) || undefined;
}

// Setting values are `any`: a value saved through the REST API need not be a string.
function asText(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}
