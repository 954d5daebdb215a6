// Generated from plan/tracking-plan.json by scripts/generate-plan.mjs; do not edit.

/** Event categories of the tracking plan. */
export declare const Category: {
  /** `Chat Session`; actions: `closed`, `started` */
  readonly ChatSession: 'Chat Session';
  /** `Escalation`; actions: `attempted`, `failed`, `successful` */
  readonly Escalation: 'Escalation';
  /** `Agent Transfer`; actions: `successful` */
  readonly AgentTransfer: 'Agent Transfer';
  /** `Agent Disconnect`; actions: `triggered` */
  readonly AgentDisconnect: 'Agent Disconnect';
  /** `Transcript Download`; actions: `selected` */
  readonly TranscriptDownload: 'Transcript Download';
  /** `Survey`; actions: `link_clicked` */
  readonly Survey: 'Survey';
  /** `Window`; actions: `opened`, `closed` */
  readonly Window: 'Window';
};
/** Event categories of the tracking plan. */
export type Category = (typeof Category)[keyof typeof Category];

/** Actions of each category, keyed by category name. */
export declare const Action: {
  /** Actions of `Chat Session`. */
  readonly ChatSession: {
    /** `closed`; eventType: `session`; sources: SF.app, Widget, RC core, DF.app */
    readonly Closed: 'closed';
    /** `started`; eventType: `session`; sources: DF.app */
    readonly Started: 'started';
  };
  /** Actions of `Escalation`. */
  readonly Escalation: {
    /** `attempted`; eventType: `session`; sources: DF.app */
    readonly Attempted: 'attempted';
    /** `failed`; eventType: `session`; sources: DF.app, SF.app */
    readonly Failed: 'failed';
    /** `successful`; eventType: `session`; sources: SF.app */
    readonly Successful: 'successful';
  };
  /** Actions of `Agent Transfer`. */
  readonly AgentTransfer: {
    /** `successful`; eventType: `session`; sources: SF.app */
    readonly Successful: 'successful';
  };
  /** Actions of `Agent Disconnect`. */
  readonly AgentDisconnect: {
    /** `triggered`; eventType: `session`; sources: SF.app */
    readonly Triggered: 'triggered';
  };
  /** Actions of `Transcript Download`. */
  readonly TranscriptDownload: {
    /** `selected`; eventType: `customerAction`; sources: Widget */
    readonly Selected: 'selected';
  };
  /** Actions of `Survey`. */
  readonly Survey: {
    /** `link_clicked`; eventType: `customerAction`; sources: Widget */
    readonly LinkClicked: 'link_clicked';
  };
  /** Actions of `Window`. */
  readonly Window: {
    /** `opened`; eventType: `customerAction`; sources: Widget */
    readonly Opened: 'opened';
    /**
     * `closed`; eventType: `customerAction`; sources: Widget
     * note: spec: Widget??
     */
    readonly Closed: 'closed';
  };
};
/** Actions of `Chat Session`. */
export type ChatSessionAction = 'closed' | 'started';
/** Actions of `Escalation`. */
export type EscalationAction = 'attempted' | 'failed' | 'successful';
/** Actions of `Agent Transfer`. */
export type AgentTransferAction = 'successful';
/** Actions of `Agent Disconnect`. */
export type AgentDisconnectAction = 'triggered';
/** Actions of `Transcript Download`. */
export type TranscriptDownloadAction = 'selected';
/** Actions of `Survey`. */
export type SurveyAction = 'link_clicked';
/** Actions of `Window`. */
export type WindowAction = 'opened' | 'closed';
/** Any action. */
export type Action = ChatSessionAction | EscalationAction | AgentTransferAction | AgentDisconnectAction | TranscriptDownloadAction | SurveyAction | WindowAction;

/** Allowed values of the `close_method` property. */
export declare const CloseMethod: {
  /** `agent`; sources: SF.app */
  readonly Agent: 'agent';
  /**
   * `chat window`; sources: Widget
   * eventType: `customerAction`
   */
  readonly ChatWindow: 'chat window';
  /** `timeout`; sources: SF.app */
  readonly Timeout: 'timeout';
  /**
   * `visitor_abandonment`; sources: RC core
   * note: spec: RC core?
   */
  readonly VisitorAbandonment: 'visitor_abandonment';
  /**
   * `df_bot`; sources: DF.app
   * note: spec: maybe DF.app
   */
  readonly DfBot: 'df_bot';
  /** `expired_session`; sources: SF.app */
  readonly ExpiredSession: 'expired_session';
  /** `liveagent_disconnected`; sources: SF.app */
  readonly LiveagentDisconnected: 'liveagent_disconnected';
  /**
   * `escalation_failure`; sources: not decided
   * note: spec: source not decided (??)
   */
  readonly EscalationFailure: 'escalation_failure';
};
/** Allowed values of the `close_method` property. */
export type CloseMethod = (typeof CloseMethod)[keyof typeof CloseMethod];

/** Allowed values of the `failure_reason` property. */
export declare const FailureReason: {
  /**
   * `outside service hours`; sources: DF.app
   * note: spec: not available yet
   */
  readonly OutsideServiceHours: 'outside service hours';
  /** `no agents available`; sources: SF.app */
  readonly NoAgentsAvailable: 'no agents available';
  /** `salesforce error`; sources: SF.app */
  readonly SalesforceError: 'salesforce error';
  /** `network/app error`; sources: SF.app, DF.app */
  readonly NetworkAppError: 'network/app error';
  /** `invalid target department`; sources: DF.app */
  readonly InvalidTargetDepartment: 'invalid target department';
  /** `same target department`; sources: DF.app */
  readonly SameTargetDepartment: 'same target department';
  /** `liveagent bot offline or disabled`; sources: DF.app */
  readonly LiveagentBotOfflineOrDisabled: 'liveagent bot offline or disabled';
  /** `liveagent session id error`; sources: SF.app */
  readonly LiveagentSessionIdError: 'liveagent session id error';
  /** `error in liveagent request`; sources: SF.app */
  readonly ErrorInLiveagentRequest: 'error in liveagent request';
  /** `error in checking liveagent response`; sources: SF.app */
  readonly ErrorInCheckingLiveagentResponse: 'error in checking liveagent response';
  /** `error in liveagent response`; sources: SF.app */
  readonly ErrorInLiveagentResponse: 'error in liveagent response';
  /** `salesforce internal failure`; sources: SF.app */
  readonly SalesforceInternalFailure: 'salesforce internal failure';
  /** `invalid app configuration`; sources: SF.app */
  readonly InvalidAppConfiguration: 'invalid app configuration';
  /** `salesforce chat API not found`; sources: SF.app */
  readonly SalesforceChatApiNotFound: 'salesforce chat API not found';
};
/** Allowed values of the `failure_reason` property. */
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/** `eventType` of a message. */
export declare const EventType: {
  /** `customerAction`: something the visitor did */
  readonly CustomerAction: 'customerAction';
  /** `session`: everything else: the bot, the agent, timeouts, errors */
  readonly Session: 'session';
};
/** `eventType` of a message. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Apps that send events. */
export declare const Source: {
  /** `SF.app`: Salesforce Live Agent handoff app */
  readonly SfApp: 'SF.app';
  /** `DF.app`: Dialogflow bot app */
  readonly DfApp: 'DF.app';
  /** `Widget`: livechat widget in the visitor's browser */
  readonly Widget: 'Widget';
  /** `RC core`: the Rocket.Chat server */
  readonly RcCore: 'RC core';
};
/** Apps that send events. */
export type Source = (typeof Source)[keyof typeof Source];

/** Who and when: the room, plus the agent, the widget tab and the time when known. */
export type EventContext = {
  roomId: string;
  agent?: string;
  tabId?: string;
  timestamp?: Date | string;
};

/** `Chat Session` / `closed`; eventType: `session` (`customerAction` when close_method is `chat window`); sources: SF.app, Widget, RC core, DF.app */
export interface ChatSessionClosedEvent extends EventContext {
  category: 'Chat Session';
  action: 'closed';
  properties: {
    /** one of {@link CloseMethod} */
    close_method: CloseMethod;
  };
}

/** `Chat Session` / `started`; eventType: `session`; sources: DF.app */
export interface ChatSessionStartedEvent extends EventContext {
  category: 'Chat Session';
  action: 'started';
  properties?: Record<string, never>;
}

/** `Escalation` / `attempted`; eventType: `session`; sources: DF.app */
export interface EscalationAttemptedEvent extends EventContext {
  category: 'Escalation';
  action: 'attempted';
  properties?: Record<string, never>;
}

/** `Escalation` / `failed`; eventType: `session`; sources: DF.app, SF.app */
export interface EscalationFailedEvent extends EventContext {
  category: 'Escalation';
  action: 'failed';
  properties: {
    /** one of {@link FailureReason} */
    failure_reason: FailureReason;
  };
}

/** `Escalation` / `successful`; eventType: `session`; sources: SF.app */
export interface EscalationSuccessfulEvent extends EventContext {
  category: 'Escalation';
  action: 'successful';
  properties: {
    /** seconds the visitor waited in queue before being paired with a live agent; a finite number >= 0 */
    queue_time: number;
    /** Salesforce chat key (sessionId from the Salesforce payload); a non-empty string */
    sf_chat_key: string;
  };
}

/** `Agent Transfer` / `successful`; eventType: `session`; sources: SF.app */
export interface AgentTransferSuccessfulEvent extends EventContext {
  category: 'Agent Transfer';
  action: 'successful';
  properties?: Record<string, never>;
}

/** `Agent Disconnect` / `triggered`; eventType: `session`; sources: SF.app */
export interface AgentDisconnectTriggeredEvent extends EventContext {
  category: 'Agent Disconnect';
  action: 'triggered';
  properties?: Record<string, never>;
}

/** `Transcript Download` / `selected`; eventType: `customerAction`; sources: Widget */
export interface TranscriptDownloadSelectedEvent extends EventContext {
  category: 'Transcript Download';
  action: 'selected';
  properties?: Record<string, never>;
}

/** `Survey` / `link_clicked`; eventType: `customerAction`; sources: Widget */
export interface SurveyLinkClickedEvent extends EventContext {
  category: 'Survey';
  action: 'link_clicked';
  properties?: Record<string, never>;
}

/** `Window` / `opened`; eventType: `customerAction`; sources: Widget */
export interface WindowOpenedEvent extends EventContext {
  category: 'Window';
  action: 'opened';
  properties: {
    /** the widget's session id; a non-empty string */
    session_id: string;
  };
}

/** `Window` / `closed`; eventType: `customerAction`; sources: Widget */
export interface WindowClosedEvent extends EventContext {
  category: 'Window';
  action: 'closed';
  properties?: Record<string, never>;
}

/** Any event of the tracking plan, discriminated by `category` and `action`. */
export type LogEvent =
  | ChatSessionClosedEvent
  | ChatSessionStartedEvent
  | EscalationAttemptedEvent
  | EscalationFailedEvent
  | EscalationSuccessfulEvent
  | AgentTransferSuccessfulEvent
  | AgentDisconnectTriggeredEvent
  | TranscriptDownloadSelectedEvent
  | SurveyLinkClickedEvent
  | WindowOpenedEvent
  | WindowClosedEvent;

/** Shape of {@link TRACKING_PLAN} (plan/tracking-plan.json). */
export interface TrackingPlan {
  readonly $comment?: string;
  readonly sources: { readonly [S in Source]: string };
  readonly eventTypes: { readonly [T in EventType]: string };
  readonly categories: readonly TrackingPlanCategory[];
}
export interface TrackingPlanCategory {
  readonly category: Category;
  readonly name: keyof typeof Category;
  readonly actions: readonly TrackingPlanAction[];
}
export interface TrackingPlanAction {
  readonly action: Action;
  readonly name: string;
  readonly eventType: EventType;
  readonly sources?: readonly Source[];
  readonly note?: string;
  readonly properties: readonly TrackingPlanProperty[];
}
export type TrackingPlanProperty = { readonly property: string; readonly description?: string } & (
  | { readonly type: 'enum'; readonly enum: string; readonly values: readonly TrackingPlanEnumValue[] }
  | { readonly type: 'string' }
  | { readonly type: 'number'; readonly minimum?: number }
);
export interface TrackingPlanEnumValue {
  readonly value: string;
  readonly name: string;
  readonly sources: readonly Source[];
  readonly eventType?: EventType;
  readonly note?: string;
}
/** The tracking plan (plan/tracking-plan.json), deep-frozen. */
export declare const TRACKING_PLAN: TrackingPlan;

/**
 * Builds the `Chat Session` / `closed` event.
 *
 * eventType: `session` (`customerAction` when close_method is `chat window`)
 * sources: SF.app, Widget, RC core, DF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param closeMethod `close_method`: one of {@link CloseMethod}
 * @example chatSessionClosed({ roomId }, CloseMethod.Agent)
 */
export declare function chatSessionClosed(ctx: EventContext, closeMethod: CloseMethod): ChatSessionClosedEvent;

/**
 * Builds the `Chat Session` / `started` event.
 *
 * eventType: `session`
 * sources: DF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example chatSessionStarted({ roomId })
 */
export declare function chatSessionStarted(ctx: EventContext): ChatSessionStartedEvent;

/**
 * Builds the `Escalation` / `attempted` event.
 *
 * eventType: `session`
 * sources: DF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example escalationAttempted({ roomId })
 */
export declare function escalationAttempted(ctx: EventContext): EscalationAttemptedEvent;

/**
 * Builds the `Escalation` / `failed` event.
 *
 * eventType: `session`
 * sources: DF.app, SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param failureReason `failure_reason`: one of {@link FailureReason}
 * @example escalationFailed({ roomId }, FailureReason.OutsideServiceHours)
 */
export declare function escalationFailed(ctx: EventContext, failureReason: FailureReason): EscalationFailedEvent;

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
export declare function escalationSuccessful(ctx: EventContext, properties: EscalationSuccessfulEvent['properties']): EscalationSuccessfulEvent;

/**
 * Builds the `Agent Transfer` / `successful` event.
 *
 * eventType: `session`
 * sources: SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example agentTransferSuccessful({ roomId })
 */
export declare function agentTransferSuccessful(ctx: EventContext): AgentTransferSuccessfulEvent;

/**
 * Builds the `Agent Disconnect` / `triggered` event.
 *
 * eventType: `session`
 * sources: SF.app
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example agentDisconnectTriggered({ roomId })
 */
export declare function agentDisconnectTriggered(ctx: EventContext): AgentDisconnectTriggeredEvent;

/**
 * Builds the `Transcript Download` / `selected` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example transcriptDownloadSelected({ roomId })
 */
export declare function transcriptDownloadSelected(ctx: EventContext): TranscriptDownloadSelectedEvent;

/**
 * Builds the `Survey` / `link_clicked` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example surveyLinkClicked({ roomId })
 */
export declare function surveyLinkClicked(ctx: EventContext): SurveyLinkClickedEvent;

/**
 * Builds the `Window` / `opened` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * @param ctx roomId and optional agent, tabId, timestamp
 * @param sessionId `session_id`: the widget's session id; a non-empty string
 * @example windowOpened({ roomId }, 'abc')
 */
export declare function windowOpened(ctx: EventContext, sessionId: string): WindowOpenedEvent;

/**
 * Builds the `Window` / `closed` event.
 *
 * eventType: `customerAction`
 * sources: Widget
 * note: spec: Widget??
 * @param ctx roomId and optional agent, tabId, timestamp
 * @example windowClosed({ roomId })
 */
export declare function windowClosed(ctx: EventContext): WindowClosedEvent;
