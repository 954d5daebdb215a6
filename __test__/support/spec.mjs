// The events of the spec (shared/spec/sns-logger-wiki.txt, "Representation of all possible
// Rocketchat events"), written out by hand from its text: the independent source the tracking
// plan is tested against (spec.test.mjs), so that a wrong category, action or value in
// plan/tracking-plan.json fails even where the tests build their cases from the plan.
//
// Each category's actions in the spec's order; an action's properties: an enum property lists
// its values (the spec's duplicate "network/app error", listed for SF.app and DF.app, once), a
// free one its kind. "Window" keeps the spec's name (its note suggests "Tab").

export const SPEC_EVENTS = Object.freeze({
  'Chat Session': {
    closed: {
      close_method: [
        'agent',
        'chat window',
        'timeout',
        'visitor_abandonment',
        'df_bot',
        'expired_session',
        'liveagent_disconnected',
        'escalation_failure',
      ],
    },
    started: {},
  },
  Escalation: {
    attempted: {},
    failed: {
      failure_reason: [
        'outside service hours',
        'no agents available',
        'salesforce error',
        'network/app error',
        'invalid target department',
        'same target department',
        'liveagent bot offline or disabled',
        'liveagent session id error',
        'error in liveagent request',
        'error in checking liveagent response',
        'error in liveagent response',
        'salesforce internal failure',
        'invalid app configuration',
        'salesforce chat API not found',
      ],
    },
    successful: { queue_time: 'number', sf_chat_key: 'string' },
  },
  'Agent Transfer': { successful: {} },
  'Agent Disconnect': { triggered: {} },
  'Transcript Download': { selected: {} },
  Survey: { link_clicked: {} },
  Window: { opened: { session_id: 'string' }, closed: {} },
})

/** The spec's message: its keys in its order, and its fixed values. */
export const SPEC_MESSAGE_KEYS = Object.freeze(['dialogflowAgentId', 'roomId', 'tabId', 'category', 'action', 'properties', 'eventType', 'timestamp'])
export const SPEC_SUBJECT = 'RC'
/** "this label for actions taken by the visitor only. Others are "session"". */
export const SPEC_EVENT_TYPES = Object.freeze(['customerAction', 'session'])
