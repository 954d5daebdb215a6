// What Salesforce Live Agent (the Chat REST API) tells the app, in the tracking plan's terms.
// Running the Live Agent chat itself (SessionId, ChasitorInit, the Messages long poll, as a
// scheduled job since a hook may not run for more than 30 s) is the real app's business and not
// part of this example: that job hands each message and each failure to
// SfAnalyticsApp.onLiveAgentMessage / onLiveAgentFailure, which log what these functions return.
import {
  CloseMethod,
  type EventContext,
  FailureReason,
  type LogEvent,
  agentDisconnectTriggered,
  agentTransferSuccessful,
  escalationFailed,
  escalationSuccessful,
} from './sns-logger/index';

/** A Live Agent chat as the job knows it. */
export interface LiveAgentSession {
  roomId: string;
  /** `key` from `GET System/SessionId`: the chat key, `!`, then more. */
  key: string;
  /** When the chat request (`POST Chasitor/ChasitorInit`) went out, in ms since the epoch: the queue starts here. */
  requestedAt: number;
  /** Salesforce answered ChatEstablished: failures from now on end the chat, not the escalation. */
  established: boolean;
}

/** The `GET System/Messages` messages the app reacts to (the others pass through). */
export type LiveAgentMessage =
  | { type: 'ChatRequestSuccess'; message: { queuePosition?: number } }
  | { type: 'ChatEstablished'; message: { name: string; userId: string } }
  | { type: 'ChatRequestFail'; message: { reason?: string } }
  | { type: 'ChatTransferred'; message: { name: string; userId: string } }
  | { type: 'AgentDisconnect'; message?: unknown }
  | { type: 'ChatEnded'; message?: { reason?: string } }
  | { type: 'ChatMessage' | 'AgentTyping' | 'AgentNotTyping'; message?: unknown };

/** A request of the job that failed; `statusCode` is absent for a network error or a timeout. */
export type LiveAgentFailure =
  | { step: 'configuration' }
  | { step: 'SessionId' | 'ChasitorInit' | 'Messages'; statusCode?: number }
  | { step: 'response' };

/** What to report: an event to log now, and why the room is closing when the app closes it next. */
export interface Outcome {
  event?: LogEvent;
  closeMethod?: CloseMethod;
}

export function messageOutcome(ctx: EventContext, session: LiveAgentSession, message: LiveAgentMessage, now = Date.now()): Outcome {
  switch (message.type) {
    case 'ChatEstablished':
      return {
        event: escalationSuccessful(ctx, {
          queue_time: Math.max(0, Math.round((now - session.requestedAt) / 1000)),
          sf_chat_key: chatKey(session.key),
        }),
      };
    case 'ChatRequestFail':
      // The app hands the visitor back to the bot: the room stays open.
      return { event: escalationFailed(ctx, requestFailReason(message.message.reason)) };
    case 'ChatTransferred':
      return { event: agentTransferSuccessful(ctx) };
    case 'AgentDisconnect':
      return { event: agentDisconnectTriggered(ctx), closeMethod: CloseMethod.LiveagentDisconnected };
    case 'ChatEnded':
      // The Salesforce agent ended the chat (the visitor's own end comes through the widget).
      return { closeMethod: CloseMethod.Agent };
    default:
      return {};
  }
}

export function failureOutcome(ctx: EventContext, session: LiveAgentSession, failure: LiveAgentFailure): Outcome {
  // Once the chat runs, a failure the job gives up on (403: session no longer valid, 409: a
  // duplicate long poll ended it, or polling keeps failing) ends the chat.
  if (session.established) return { closeMethod: CloseMethod.ExpiredSession };
  return { event: escalationFailed(ctx, failureReason(failure)) };
}

/** The failure reason for a request that failed before Salesforce established the chat. */
export function failureReason(failure: LiveAgentFailure): FailureReason {
  switch (failure.step) {
    case 'configuration':
      return FailureReason.InvalidAppConfiguration;
    case 'response':
      return FailureReason.ErrorInLiveagentResponse;
  }
  if (failure.statusCode === undefined) return FailureReason.NetworkAppError;
  if (failure.statusCode === 404) return FailureReason.SalesforceChatApiNotFound;
  if (failure.statusCode >= 500) return FailureReason.SalesforceError;
  switch (failure.step) {
    case 'SessionId':
      return FailureReason.LiveagentSessionIdError;
    case 'ChasitorInit':
      return FailureReason.ErrorInLiveagentRequest;
    case 'Messages':
      return FailureReason.ErrorInCheckingLiveagentResponse;
  }
}

/** ChatRequestFail's `reason`: "Unavailable" when no agent could take the chat. */
function requestFailReason(reason: string | undefined): FailureReason {
  if (reason === 'Unavailable') return FailureReason.NoAgentsAvailable;
  if (reason === 'InternalFailure') return FailureReason.SalesforceInternalFailure;
  return FailureReason.SalesforceError;
}

/** The Salesforce chat key: the session key up to its first `!`. */
function chatKey(sessionKey: string): string {
  return sessionKey.split('!')[0];
}
