import type { ISettingRead } from '@rocket.chat/apps-engine/definition/accessors';
import { type ISetting, SettingType } from '@rocket.chat/apps-engine/definition/settings';

/** The app's setting ids (what `getValueById` takes). */
export const SettingId = {
  RelayUrl: 'relay_url',
  RelayToken: 'relay_token',
  BotUsernames: 'bot_usernames',
  DialogflowUrl: 'dialogflow_url',
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
    i18nDescription: 'Base URL of the sns-logger relay (`sns-logger serve`), e.g. http://analytics-relay.internal:8787.',
  },
  {
    id: SettingId.RelayToken,
    // PASSWORD masks the value in the admin UI; it is not encrypted at rest.
    type: SettingType.PASSWORD,
    packageValue: '',
    required: true,
    public: false,
    i18nLabel: 'Analytics relay token',
    i18nDescription: "This app's token, listed under \"DF.app\" in the relay's tokens file.",
  },
  {
    id: SettingId.BotUsernames,
    type: SettingType.STRING,
    packageValue: '',
    required: true,
    public: false,
    i18nLabel: 'Bot usernames',
    i18nDescription: "The Omnichannel agents this app answers for, comma-separated; each is a key of the relay's df_config.json.",
  },
  {
    id: SettingId.DialogflowUrl,
    type: SettingType.STRING,
    packageValue: '',
    required: true,
    public: false,
    i18nLabel: 'Dialogflow detectIntent URL',
    i18nDescription: 'Where the visitor\'s messages go; the answer\'s custom payload carries the bot\'s decision.',
  },
  {
    id: SettingId.SalesforceBot,
    type: SettingType.STRING,
    packageValue: 'salesforce.bot',
    required: true,
    public: false,
    i18nLabel: 'Live Agent bot username',
    i18nDescription: 'The agent that stands for Salesforce Live Agent: a handover needs it online.',
  },
];

export interface RelaySettings {
  url: string;
  token: string;
}

/**
 * Reads the relay settings; returns a problem (a sentence for the app's log, never the token) when
 * one is missing.
 */
export async function readRelaySettings(settings: ISettingRead): Promise<RelaySettings | { problem: string }> {
  const url = await readText(settings, SettingId.RelayUrl);
  const token = await readText(settings, SettingId.RelayToken);
  if (!url) return { problem: 'the analytics relay URL is not set' };
  if (!token) return { problem: 'the analytics relay token is not set' };
  return { url, token };
}

/** The bots this app answers for. */
export async function readBots(settings: ISettingRead): Promise<string[]> {
  return (await readText(settings, SettingId.BotUsernames))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
}

/** A setting as trimmed text ('' when unset: a value saved through the REST API need not be a string). */
export async function readText(settings: ISettingRead, id: string): Promise<string> {
  const value: unknown = await settings.getValueById(id);
  return typeof value === 'string' ? value.trim() : '';
}
