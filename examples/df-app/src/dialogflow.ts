// The bot's side of a visitor message: the text goes to Dialogflow, whose answer may carry a
// decision for the app in a custom payload. Authenticating to Dialogflow (a service account's
// access token for detectIntent) is the real app's business and not part of this example: it
// posts to the URL of the `dialogflow_url` setting as is.
import type { IHttp } from '@rocket.chat/apps-engine/definition/accessors';

/** What the bot decided for the room. */
export type Decision =
  /** Hand the visitor to Salesforce Live Agent through the department. */
  | { action: 'handover'; targetDepartment: string }
  /** The conversation is over: the bot closes the room. */
  | { action: 'close_chat' }
  /** Anything else: the bot answered, nothing to report. */
  | { action: 'reply' };

/** Dialogflow ES `detectIntent`'s answer, the part read here. */
interface DetectIntentResponse {
  queryResult?: { fulfillmentMessages?: Array<{ payload?: { action?: unknown; targetDepartment?: unknown } }> };
}

/** Asks Dialogflow about a visitor's message; throws when it cannot be asked. */
export async function askDialogflow(http: IHttp, url: string, roomId: string, text: string): Promise<Decision> {
  const response = await http.post(url, {
    data: { session: roomId, queryInput: { text: { text, languageCode: 'en' } } },
    // The engine stops a handler after 30 s; the default timeout would be 3 minutes.
    timeout: 5000,
  });
  if (response.statusCode !== 200) throw new Error(`Dialogflow answered ${response.statusCode}`);
  const answer = (response.data ?? JSON.parse(response.content ?? '{}')) as DetectIntentResponse;
  for (const { payload } of answer.queryResult?.fulfillmentMessages ?? []) {
    if (payload?.action === 'handover' && typeof payload.targetDepartment === 'string') {
      return { action: 'handover', targetDepartment: payload.targetDepartment };
    }
    if (payload?.action === 'close_chat') return { action: 'close_chat' };
  }
  return { action: 'reply' };
}
