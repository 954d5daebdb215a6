// sns-logger/widget: the livechat Widget's analytics events, logged by the page that embeds the
// Rocket.Chat livechat widget and posted to the relay (`sns-logger serve`, `POST /v1/w`).
//
// As a module:   import { createWidgetLogger } from 'sns-logger/widget'
// As a script:   <script src="…/sns-logger-widget.min.js"></script> (after the livechat embed
//                snippet), then `SnsLoggerWidget.createWidgetLogger(...)`.
//
// ## What is logged, from where
//
// | plan event                                  | logged when                                                      |
// |---------------------------------------------|------------------------------------------------------------------|
// | `Window` / `opened` (`session_id`)          | the widget's `onChatMaximized`, or `windowOpened()`              |
// | `Window` / `closed`                         | the widget's `onChatMinimized`, or `windowClosed()`              |
// | `Transcript Download` / `selected`          | the page calls `transcriptDownloadSelected()`                    |
// | `Survey` / `link_clicked`                   | the page calls `surveyLinkClicked()`                             |
// | `Chat Session` / `closed` (`chat window`)   | the page calls `chatClosedFromWindow()`                          |
//
// - `Window` events are logged on a change of state only, on each page: the livechat widget
//   (checked with @rocket.chat/livechat 1.13.3) reports one `onChatMaximized` per opening (and
//   none for `maximizeWidget()` while the window is open), and comes back closed, without a
//   callback, after a reload; the visitor's next opening is then logged again.
// - `onWidgetHidden` is not mapped: it follows the page's own `hideWidget()`, not something the
//   visitor did, and leaves the window's state as it was (`showWidget()` brings it back open).
//   A page that hides the widget to close the window calls `windowClosed()` itself.
// - `onChatEnded` is not mapped: the widget calls it whenever the room is closed, by the agent,
//   the bot, a timeout or the visitor alike, and cannot tell which. Logging `chat window` there
//   would misreport the closes SF.app, DF.app and the server log with their own close method.
//   A page that knows the visitor ended the chat (its own "End chat" control) calls
//   `chatClosedFromWindow()`.
// - `onChatStarted` is where a page looks up the room id (below); it logs nothing itself
//   (`Chat Session` / `started` comes from DF.app).
//
// ## The room id
//
// The widget's callbacks carry no room id and the visitor token they would need is the page's
// own: the page sets it with `RocketChat(function () { this.setGuestToken(token) })`, then, once
// the widget reports `onChatStarted`, asks for the visitor's open room and calls
// `setRoomId(id)`:
//
// - from its own server, which calls the Rocket.Chat REST API with a service account that has
//   the `view-livechat-manager` permission: `GET /api/v1/livechat/visitor/{token}/room`
//   answers `{ rooms: [{ _id, ... }] }`;
// - or from the page: `GET {rocketChatUrl}/api/v1/livechat/config?token={token}` (the visitor
//   token is the only credential; the page's origin must be allowed by Rocket.Chat's CORS
//   setting) answers `{ config: { room: { _id } } }` while the visitor has an open room.
//
// Look it up while the chat is open (the room is not "open" after `onChatEnded`). Events logged
// before `setRoomId` (typically `Window` / `opened`: the window opens before a chat exists) wait
// for it, at most 200 events, and follow the visitor to the tab's next page. The room id is
// kept in the tab's `sessionStorage` until `setRoomId` changes or clears it, so later pages of
// the tab (a transcript download after the chat ended) use it too. Never send the visitor token
// itself anywhere: it grants access to the visitor's chats.
//
// ## Delivery
//
// - `tabId`: a random id kept in `sessionStorage` (so it stays for the tab's life and its
//   pages, and differs between tabs; a duplicated tab inherits it), in memory when storage is
//   blocked. Every event carries it; the relay requires it on widget events.
// - `messageId`: random per page load plus a counter; the relay derives the SNS dedup id from
//   it, so a retried or beaconed batch that had already arrived is not delivered twice (within
//   SNS's 5-minute window).
// - Batching: a request after `batchMs` (default 1 s) or at 50 events, with
//   `fetch(…, { keepalive: true })` and `Content-Type: text/plain` (a simple request, no CORS
//   preflight), one request at a time, at most 32 KiB. A network error, 408, 429 or 5xx is
//   retried up to 4 attempts with backoff and jitter, the same `messageId`s each time.
// - When the page is hidden (`visibilitychange`) or left (`pagehide`), what is ready goes with
//   `navigator.sendBeacon` (text/plain, survives the page; a batch in a keepalive fetch is left
//   to it). What the browser refuses, and what still waits for a room id, is kept in
//   `sessionStorage` and sent by the tab's next page on the same origin.
// - Nothing throws into the page: problems go to `onError`.

/** Something that went wrong, reported to `onError`. */
export interface WidgetLoggerNotice {
  /**
   * - a relay code for events it refused: per event (`ERR_NOT_A_WIDGET_EVENT`,
   *   `ERR_INVALID_EVENT`, `ERR_UNKNOWN_AGENT`, …) or for a whole request
   *   (`ERR_ORIGIN_NOT_ALLOWED`, `ERR_RATE_LIMITED`, `ERR_UNAVAILABLE`, …, after the last retry);
   * - `ERR_NETWORK`: the relay could not be reached after the last retry (a page whose origin
   *   is not on the relay's allow-list sees this too: the refusal carries no CORS headers);
   * - `HTTP_<status>`: an answer that is not the relay's JSON;
   * - `ERR_BUFFER_FULL`, `ERR_EVENT_TOO_LARGE`: events dropped before sending;
   * - `ERR_INVALID_OPTIONS`, `ERR_INVALID_ROOM_ID`, `ERR_NO_LIVECHAT` (no `window.RocketChat`
   *   to hook), `ERR_INTERNAL`.
   */
  code: string
  message: string
  /** How many events this notice is about (0 for a setup problem). */
  events: number
}

/**
 * The part of the livechat widget API the logger hooks: `window.RocketChat` (a function that
 * runs its argument with the API as `this`, before and after the embed has loaded),
 * `window.RocketChat.livechat`, or any object with these callbacks.
 */
export interface LivechatCallbacks {
  onChatMaximized(fn: () => void): unknown
  onChatMinimized(fn: () => void): unknown
}
export type LivechatTarget = ((fn: (this: LivechatCallbacks) => void) => unknown) | LivechatCallbacks | { livechat: LivechatCallbacks }

export interface WidgetLoggerOptions {
  /** The relay's base URL, e.g. `https://events.example.com`; events go to `${relayUrl}/v1/w`. */
  relayUrl: string
  /** The Rocket.Chat room id, when the page knows it at start; see {@link WidgetLogger.setRoomId}. */
  roomId?: string
  /**
   * The Dialogflow bot of the site (a bot username of df_config.json, or its `agent_id`); may
   * be left out when df_config.json has one agent.
   */
  agent?: string
  /**
   * `session_id` of `Window` / `opened`, or a function returning it when the window opens.
   * Default: the tab id. (Not the visitor token: that is a credential.)
   */
  sessionId?: string | (() => string | undefined)
  /**
   * What to hook: default `window.RocketChat` (the embed snippet's global); `false` hooks
   * nothing (the page calls `windowOpened()` / `windowClosed()` itself).
   */
  livechat?: LivechatTarget | false
  /** How long an event may wait for others before a request goes (ms, 0 to 60000, default 1000). */
  batchMs?: number
  /** Told about events that will not arrive, and setup problems. Never called with an exception to rethrow. */
  onError?: (notice: WidgetLoggerNotice) => void
}

/** Counters since the logger was created (this page only). */
export interface WidgetLoggerStats {
  /** Events logged. */
  logged: number
  /** Events the relay accepted, plus events handed to `sendBeacon` (which gets no answer). */
  sent: number
  /** Events the relay refused (reason reported to `onError`). */
  rejected: number
  /** Events given up after a refused request or the last retry. */
  failed: number
  /** Events dropped before sending (buffer full, too large). */
  dropped: number
  /** Requests sent again. */
  retries: number
  /** Beacons the browser accepted. */
  beacons: number
  /** Events ready to send or in a request. */
  pending: number
  /** Events waiting for {@link WidgetLogger.setRoomId}. */
  waitingForRoomId: number
}

export interface WidgetLogger {
  /** This tab's id (the `tabId` of every event). */
  readonly tabId: string
  /**
   * The room the next events belong to; events waiting for one are sent with it. `null` clears
   * it (later events wait for the next one).
   */
  setRoomId(roomId: string | null): void
  /** `Window` / `opened`, unless the window is already open in this tab. */
  windowOpened(sessionId?: string): void
  /** `Window` / `closed`, if the window is open in this tab. */
  windowClosed(): void
  /** `Transcript Download` / `selected`: call it from the page's transcript download control. */
  transcriptDownloadSelected(): void
  /** `Survey` / `link_clicked`: call it when the visitor follows the survey link. */
  surveyLinkClicked(): void
  /** `Chat Session` / `closed` with close_method `chat window`: the visitor ended the chat from the window. */
  chatClosedFromWindow(): void
  /** Sends what is ready now; resolves once the relay has answered for it (retries included). Never rejects. */
  flush(): Promise<void>
  stats(): WidgetLoggerStats
  /** Sends what is left as on `pagehide`, then stops (listeners removed; later calls do nothing). */
  close(): void
}

/** Creates the page's widget logger and hooks the livechat widget. Never throws. */
export declare function createWidgetLogger(options: WidgetLoggerOptions): WidgetLogger
