// Type tests for plan/index.d.ts: checked by `npx tsc -p .`, never run.
import {
  Action,
  Category,
  CloseMethod,
  EventType,
  FailureReason,
  Source,
  TRACKING_PLAN,
  chatSessionClosed,
  chatSessionStarted,
  escalationFailed,
  escalationSuccessful,
  windowOpened,
} from '../plan';
import type {
  ChatSessionAction,
  EscalationFailedEvent,
  EscalationSuccessfulEvent,
  EventContext,
  LogEvent,
  TrackingPlan,
} from '../plan';

const ctx: EventContext = { roomId: 'r1' };

// ---- valid usages ----
const events: LogEvent[] = [
  { roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'no agents available' } },
  { roomId: 'r1', category: Category.Escalation, action: Action.Escalation.Failed, properties: { failure_reason: FailureReason.SalesforceError } },
  { roomId: 'r1', category: 'Escalation', action: 'successful', properties: { queue_time: 42, sf_chat_key: 'abc' } },
  { roomId: 'r1', category: 'Chat Session', action: 'started' },
  { roomId: 'r1', category: 'Chat Session', action: 'started', properties: {} },
  { roomId: 'r1', category: 'Chat Session', action: 'closed', properties: { close_method: CloseMethod.ChatWindow } },
  { roomId: 'r1', tabId: 't', agent: 'a', timestamp: new Date(), category: 'Window', action: 'opened', properties: { session_id: 's' } },
  { roomId: 'r1', timestamp: '2022-09-26T17:50:47.225Z', category: 'Survey', action: 'link_clicked' },
  chatSessionClosed(ctx, CloseMethod.Agent),
  chatSessionStarted({ roomId: 'r1', agent: 'a', tabId: 't', timestamp: new Date() }),
  escalationFailed(ctx, 'network/app error'),
  escalationSuccessful(ctx, { queue_time: 0, sf_chat_key: 'k' }),
  windowOpened(ctx, 'session'),
];

const failed: EscalationFailedEvent = escalationFailed(ctx, FailureReason.NoAgentsAvailable);
const reason: FailureReason = failed.properties.failure_reason;
const successful: EscalationSuccessfulEvent = escalationSuccessful(ctx, { queue_time: 1, sf_chat_key: 'k' });
const queueTime: number = successful.properties.queue_time;
const closed: ChatSessionAction = Action.ChatSession.Closed;
const eventType: EventType = EventType.CustomerAction;
const source: Source = Source.RcCore;
const plan: TrackingPlan = TRACKING_PLAN;
const firstCategory: Category = plan.categories[0]!.category;

// Narrowing on the discriminants gives the right properties.
function describe(event: LogEvent): string {
  if (event.category === 'Escalation' && event.action === 'failed') return event.properties.failure_reason;
  if (event.category === 'Window' && event.action === 'opened') return event.properties.session_id;
  return event.category;
}

// ---- invalid usages ----
const invalid: LogEvent[] = [
  // wrong category/action pair
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'closed', properties: { close_method: 'agent' } },
  // unknown category
  // @ts-expect-error
  { roomId: 'r1', category: 'Tab', action: 'opened', properties: { session_id: 's' } },
  // missing required property
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'successful', properties: { queue_time: 42 } },
  // missing properties object
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'failed' },
  // unknown property
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'salesforce error', extra: 1 } },
  // wrong enum value (spec typo "no agent available")
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: 'no agent available' } },
  // close method on the wrong event
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'failed', properties: { failure_reason: CloseMethod.Agent } },
  // wrong type for queue_time
  // @ts-expect-error
  { roomId: 'r1', category: 'Escalation', action: 'successful', properties: { queue_time: '42', sf_chat_key: 'k' } },
  // missing roomId
  // @ts-expect-error
  { category: 'Chat Session', action: 'started' },
  // property on a no-property event
  // @ts-expect-error
  { roomId: 'r1', category: 'Chat Session', action: 'started', properties: { close_method: 'agent' } },
  // wrong timestamp type
  // @ts-expect-error
  { roomId: 'r1', category: 'Survey', action: 'link_clicked', timestamp: 1664214647225 },
];

// builder called with a wrong value
// @ts-expect-error
escalationFailed(ctx, 'no agent available');
// builder called with a value of another enum
// @ts-expect-error
chatSessionClosed(ctx, FailureReason.SalesforceError);
// builder called without its value
// @ts-expect-error
windowOpened(ctx);
// builder for a no-property event takes no value
// @ts-expect-error
chatSessionStarted(ctx, 'x');
// builder properties missing sf_chat_key
// @ts-expect-error
escalationSuccessful(ctx, { queue_time: 1 });
// builder without roomId
// @ts-expect-error
escalationFailed({ agent: 'a' }, FailureReason.SalesforceError);
// constants are readonly
// @ts-expect-error
FailureReason.NoAgentsAvailable = 'x';
// unknown constant member
// @ts-expect-error
Action.Escalation.Closed;
// per-category action unions are exact
// @ts-expect-error
const notChatAction: ChatSessionAction = 'failed';
// the plan is read-only
// @ts-expect-error
TRACKING_PLAN.categories.push(TRACKING_PLAN.categories[0]!);

export { events, invalid, reason, queueTime, closed, eventType, source, firstCategory, describe, notChatAction };
