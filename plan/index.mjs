// Generated from plan/tracking-plan.json by scripts/generate-plan.mjs; do not edit.

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function event(ctx, category, action, properties) {
  const e = { roomId: ctx.roomId, category, action, properties };
  if (ctx.agent !== undefined) e.agent = ctx.agent;
  if (ctx.tabId !== undefined) e.tabId = ctx.tabId;
  if (ctx.timestamp !== undefined) e.timestamp = ctx.timestamp;
  return e;
}

/** The tracking plan (plan/tracking-plan.json), deep-frozen. */
export const TRACKING_PLAN = /* @__PURE__ */ deepFreeze({"$comment":"The tracking plan: the one source of truth. Rust validation (crates/core/src/plan), the TypeScript constants, types and helpers (plan/index.js, plan/index.d.ts) and the README table are generated or loaded from this file; `npm run generate` rewrites the generated copies and a test fails when they drift.","sources":{"SF.app":"Salesforce Live Agent handoff app","DF.app":"Dialogflow bot app","Widget":"livechat widget in the visitor's browser","RC core":"the Rocket.Chat server"},"eventTypes":{"customerAction":"something the visitor did","session":"everything else: the bot, the agent, timeouts, errors"},"categories":[{"category":"Chat Session","name":"ChatSession","actions":[{"action":"closed","name":"Closed","eventType":"session","properties":[{"property":"close_method","type":"enum","enum":"CloseMethod","values":[{"value":"agent","name":"Agent","sources":["SF.app"]},{"value":"chat window","name":"ChatWindow","sources":["Widget"],"eventType":"customerAction"},{"value":"timeout","name":"Timeout","sources":["SF.app"]},{"value":"visitor_abandonment","name":"VisitorAbandonment","sources":["RC core"],"note":"spec: RC core?"},{"value":"df_bot","name":"DfBot","sources":["DF.app"],"note":"spec: maybe DF.app"},{"value":"expired_session","name":"ExpiredSession","sources":["SF.app"]},{"value":"liveagent_disconnected","name":"LiveagentDisconnected","sources":["SF.app"]},{"value":"escalation_failure","name":"EscalationFailure","sources":[],"note":"spec: source not decided (??)"}]}]},{"action":"started","name":"Started","eventType":"session","sources":["DF.app"],"properties":[]}]},{"category":"Escalation","name":"Escalation","actions":[{"action":"attempted","name":"Attempted","eventType":"session","sources":["DF.app"],"properties":[]},{"action":"failed","name":"Failed","eventType":"session","properties":[{"property":"failure_reason","type":"enum","enum":"FailureReason","values":[{"value":"outside service hours","name":"OutsideServiceHours","sources":["DF.app"],"note":"spec: not available yet"},{"value":"no agents available","name":"NoAgentsAvailable","sources":["SF.app"]},{"value":"salesforce error","name":"SalesforceError","sources":["SF.app"]},{"value":"network/app error","name":"NetworkAppError","sources":["SF.app","DF.app"]},{"value":"invalid target department","name":"InvalidTargetDepartment","sources":["DF.app"]},{"value":"same target department","name":"SameTargetDepartment","sources":["DF.app"]},{"value":"liveagent bot offline or disabled","name":"LiveagentBotOfflineOrDisabled","sources":["DF.app"]},{"value":"liveagent session id error","name":"LiveagentSessionIdError","sources":["SF.app"]},{"value":"error in liveagent request","name":"ErrorInLiveagentRequest","sources":["SF.app"]},{"value":"error in checking liveagent response","name":"ErrorInCheckingLiveagentResponse","sources":["SF.app"]},{"value":"error in liveagent response","name":"ErrorInLiveagentResponse","sources":["SF.app"]},{"value":"salesforce internal failure","name":"SalesforceInternalFailure","sources":["SF.app"]},{"value":"invalid app configuration","name":"InvalidAppConfiguration","sources":["SF.app"]},{"value":"salesforce chat API not found","name":"SalesforceChatApiNotFound","sources":["SF.app"]}]}]},{"action":"successful","name":"Successful","eventType":"session","sources":["SF.app"],"properties":[{"property":"queue_time","type":"number","minimum":0,"description":"seconds the visitor waited in queue before being paired with a live agent"},{"property":"sf_chat_key","type":"string","description":"Salesforce chat key (sessionId from the Salesforce payload)"}]}]},{"category":"Agent Transfer","name":"AgentTransfer","actions":[{"action":"successful","name":"Successful","eventType":"session","sources":["SF.app"],"properties":[]}]},{"category":"Agent Disconnect","name":"AgentDisconnect","actions":[{"action":"triggered","name":"Triggered","eventType":"session","sources":["SF.app"],"properties":[]}]},{"category":"Transcript Download","name":"TranscriptDownload","actions":[{"action":"selected","name":"Selected","eventType":"customerAction","sources":["Widget"],"properties":[]}]},{"category":"Survey","name":"Survey","actions":[{"action":"link_clicked","name":"LinkClicked","eventType":"customerAction","sources":["Widget"],"properties":[]}]},{"category":"Window","name":"Window","actions":[{"action":"opened","name":"Opened","eventType":"customerAction","sources":["Widget"],"properties":[{"property":"session_id","type":"string","description":"the widget's session id"}]},{"action":"closed","name":"Closed","eventType":"customerAction","sources":["Widget"],"note":"spec: Widget??","properties":[]}]}]});

/** Event categories of the tracking plan. */
export const Category = /* @__PURE__ */ Object.freeze({
  /** `Chat Session`; actions: `closed`, `started` */
  ChatSession: 'Chat Session',
  /** `Escalation`; actions: `attempted`, `failed`, `successful` */
  Escalation: 'Escalation',
  /** `Agent Transfer`; actions: `successful` */
  AgentTransfer: 'Agent Transfer',
  /** `Agent Disconnect`; actions: `triggered` */
  AgentDisconnect: 'Agent Disconnect',
  /** `Transcript Download`; actions: `selected` */
  TranscriptDownload: 'Transcript Download',
  /** `Survey`; actions: `link_clicked` */
  Survey: 'Survey',
  /** `Window`; actions: `opened`, `closed` */
  Window: 'Window',
});

/** Actions of each category, keyed by category name. */
export const Action = /* @__PURE__ */ Object.freeze({
  /** Actions of `Chat Session`. */
  ChatSession: Object.freeze({
    /** `closed`; eventType: `session`; sources: SF.app, Widget, RC core, DF.app */
    Closed: 'closed',
    /** `started`; eventType: `session`; sources: DF.app */
    Started: 'started',
  }),
  /** Actions of `Escalation`. */
  Escalation: Object.freeze({
    /** `attempted`; eventType: `session`; sources: DF.app */
    Attempted: 'attempted',
    /** `failed`; eventType: `session`; sources: DF.app, SF.app */
    Failed: 'failed',
    /** `successful`; eventType: `session`; sources: SF.app */
    Successful: 'successful',
  }),
  /** Actions of `Agent Transfer`. */
  AgentTransfer: Object.freeze({
    /** `successful`; eventType: `session`; sources: SF.app */
    Successful: 'successful',
  }),
  /** Actions of `Agent Disconnect`. */
  AgentDisconnect: Object.freeze({
    /** `triggered`; eventType: `session`; sources: SF.app */
    Triggered: 'triggered',
  }),
  /** Actions of `Transcript Download`. */
  TranscriptDownload: Object.freeze({
    /** `selected`; eventType: `customerAction`; sources: Widget */
    Selected: 'selected',
  }),
  /** Actions of `Survey`. */
  Survey: Object.freeze({
    /** `link_clicked`; eventType: `customerAction`; sources: Widget */
    LinkClicked: 'link_clicked',
  }),
  /** Actions of `Window`. */
  Window: Object.freeze({
    /** `opened`; eventType: `customerAction`; sources: Widget */
    Opened: 'opened',
    /**
     * `closed`; eventType: `customerAction`; sources: Widget
     * note: spec: Widget??
     */
    Closed: 'closed',
  }),
});

/** Allowed values of the `close_method` property. */
export const CloseMethod = /* @__PURE__ */ Object.freeze({
  /** `agent`; sources: SF.app */
  Agent: 'agent',
  /**
   * `chat window`; sources: Widget
   * eventType: `customerAction`
   */
  ChatWindow: 'chat window',
  /** `timeout`; sources: SF.app */
  Timeout: 'timeout',
  /**
   * `visitor_abandonment`; sources: RC core
   * note: spec: RC core?
   */
  VisitorAbandonment: 'visitor_abandonment',
  /**
   * `df_bot`; sources: DF.app
   * note: spec: maybe DF.app
   */
  DfBot: 'df_bot',
  /** `expired_session`; sources: SF.app */
  ExpiredSession: 'expired_session',
  /** `liveagent_disconnected`; sources: SF.app */
  LiveagentDisconnected: 'liveagent_disconnected',
  /**
   * `escalation_failure`; sources: not decided
   * note: spec: source not decided (??)
   */
  EscalationFailure: 'escalation_failure',
});

/** Allowed values of the `failure_reason` property. */
export const FailureReason = /* @__PURE__ */ Object.freeze({
  /**
   * `outside service hours`; sources: DF.app
   * note: spec: not available yet
   */
  OutsideServiceHours: 'outside service hours',
  /** `no agents available`; sources: SF.app */
  NoAgentsAvailable: 'no agents available',
  /** `salesforce error`; sources: SF.app */
  SalesforceError: 'salesforce error',
  /** `network/app error`; sources: SF.app, DF.app */
  NetworkAppError: 'network/app error',
  /** `invalid target department`; sources: DF.app */
  InvalidTargetDepartment: 'invalid target department',
  /** `same target department`; sources: DF.app */
  SameTargetDepartment: 'same target department',
  /** `liveagent bot offline or disabled`; sources: DF.app */
  LiveagentBotOfflineOrDisabled: 'liveagent bot offline or disabled',
  /** `liveagent session id error`; sources: SF.app */
  LiveagentSessionIdError: 'liveagent session id error',
  /** `error in liveagent request`; sources: SF.app */
  ErrorInLiveagentRequest: 'error in liveagent request',
  /** `error in checking liveagent response`; sources: SF.app */
  ErrorInCheckingLiveagentResponse: 'error in checking liveagent response',
  /** `error in liveagent response`; sources: SF.app */
  ErrorInLiveagentResponse: 'error in liveagent response',
  /** `salesforce internal failure`; sources: SF.app */
  SalesforceInternalFailure: 'salesforce internal failure',
  /** `invalid app configuration`; sources: SF.app */
  InvalidAppConfiguration: 'invalid app configuration',
  /** `salesforce chat API not found`; sources: SF.app */
  SalesforceChatApiNotFound: 'salesforce chat API not found',
});

/** `eventType` of a message. */
export const EventType = /* @__PURE__ */ Object.freeze({
  /** `customerAction`: something the visitor did */
  CustomerAction: 'customerAction',
  /** `session`: everything else: the bot, the agent, timeouts, errors */
  Session: 'session',
});

/** Apps that send events. */
export const Source = /* @__PURE__ */ Object.freeze({
  /** `SF.app`: Salesforce Live Agent handoff app */
  SfApp: 'SF.app',
  /** `DF.app`: Dialogflow bot app */
  DfApp: 'DF.app',
  /** `Widget`: livechat widget in the visitor's browser */
  Widget: 'Widget',
  /** `RC core`: the Rocket.Chat server */
  RcCore: 'RC core',
});

/**
 * Builds the `Chat Session` / `closed` event.
 *
 * eventType: `session` (`customerAction` when close_method is `chat window`)
 * sources: SF.app, Widget, RC core, DF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param closeMethod `close_method`: one of {@link CloseMethod}
 * @example chatSessionClosed({ roomId }, CloseMethod.Agent)
 */
export const chatSessionClosed = /* @__PURE__ */ (ctx, closeMethod) => event(ctx, 'Chat Session', 'closed', { close_method: closeMethod });

/**
 * Builds the `Chat Session` / `started` event.
 *
 * eventType: `session`
 * sources: DF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example chatSessionStarted({ roomId })
 */
export const chatSessionStarted = /* @__PURE__ */ (ctx) => event(ctx, 'Chat Session', 'started', {});

/**
 * Builds the `Escalation` / `attempted` event.
 *
 * eventType: `session`
 * sources: DF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example escalationAttempted({ roomId })
 */
export const escalationAttempted = /* @__PURE__ */ (ctx) => event(ctx, 'Escalation', 'attempted', {});

/**
 * Builds the `Escalation` / `failed` event.
 *
 * eventType: `session`
 * sources: DF.app, SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param failureReason `failure_reason`: one of {@link FailureReason}
 * @example escalationFailed({ roomId }, FailureReason.OutsideServiceHours)
 */
export const escalationFailed = /* @__PURE__ */ (ctx, failureReason) => event(ctx, 'Escalation', 'failed', { failure_reason: failureReason });

/**
 * Builds the `Escalation` / `successful` event.
 *
 * eventType: `session`
 * sources: SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param properties the event properties
 * @param properties.queue_time seconds the visitor waited in queue before being paired with a live agent; a finite number >= 0
 * @param properties.sf_chat_key Salesforce chat key (sessionId from the Salesforce payload); a non-empty string
 * @example escalationSuccessful({ roomId }, { queue_time: 42, sf_chat_key: 'abc' })
 */
export const escalationSuccessful = /* @__PURE__ */ (ctx, properties) => event(ctx, 'Escalation', 'successful', properties);

/**
 * Builds the `Agent Transfer` / `successful` event.
 *
 * eventType: `session`
 * sources: SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example agentTransferSuccessful({ roomId })
 */
export const agentTransferSuccessful = /* @__PURE__ */ (ctx) => event(ctx, 'Agent Transfer', 'successful', {});

/**
 * Builds the `Agent Disconnect` / `triggered` event.
 *
 * eventType: `session`
 * sources: SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example agentDisconnectTriggered({ roomId })
 */
export const agentDisconnectTriggered = /* @__PURE__ */ (ctx) => event(ctx, 'Agent Disconnect', 'triggered', {});

/**
 * Builds the `Transcript Download` / `selected` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example transcriptDownloadSelected({ roomId })
 */
export const transcriptDownloadSelected = /* @__PURE__ */ (ctx) => event(ctx, 'Transcript Download', 'selected', {});

/**
 * Builds the `Survey` / `link_clicked` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example surveyLinkClicked({ roomId })
 */
export const surveyLinkClicked = /* @__PURE__ */ (ctx) => event(ctx, 'Survey', 'link_clicked', {});

/**
 * Builds the `Window` / `opened` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param sessionId `session_id`: the widget's session id; a non-empty string
 * @example windowOpened({ roomId }, 'abc')
 */
export const windowOpened = /* @__PURE__ */ (ctx, sessionId) => event(ctx, 'Window', 'opened', { session_id: sessionId });

/**
 * Builds the `Window` / `closed` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * note: spec: Widget??
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example windowClosed({ roomId })
 */
export const windowClosed = /* @__PURE__ */ (ctx) => event(ctx, 'Window', 'closed', {});
