// The widget script against the REAL livechat widget: @rocket.chat/livechat 1.13.3 (a pinned
// devDependency), its embed (build/rocketchat-livechat.min.js) and its widget app (the iframe),
// in headless Chromium (Debian's chromium, puppeteer-core). A stand-in Rocket.Chat server
// (support/rocketchat-standin.mjs) serves the build and the livechat REST API on one loopback
// origin; the site's page (widget-page/livechat.html) is on another, with
// widget/sns-logger-widget.min.js; the relay (`sns-logger serve`, allowing only the site's
// origin) on a third, publishing to moto's SNS; every event is read back from the SQS FIFO queue.
//
// What is driven for real: clicks on the widget's button inside the iframe (open, close), a
// first message (the widget starts the chat: onChatStarted, the page reads the room id with
// its own GET /api/v1/livechat/config?token=), the footer's Options -> "Finish this chat" ->
// Yes (onChatEnded), the page API's maximizeWidget() / minimizeWidget(), a reload with the
// window open, a page hidden behind another tab (its beacon) and a tab opened from the page (it
// gets a copy of the page's sessionStorage, as a duplicated tab does).
//
// "Nothing else happened" is never decided by a sleep: after an action, the page calls
// showWidget(), which goes to the iframe and comes back as onWidgetShown; the iframe's messages
// to the page keep their order, so once that callback is seen, whatever the action made the
// iframe post has been handled.

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { IIFE, closeTab, metric, startSite, startWidgetBackend } from './support/browser.mjs'
import { SITE_URL, SUPPORT, tempDir } from './support/fixtures.mjs'
import { receiveAll } from './support/moto.mjs'
import { LIVECHAT_VERSION, startRocketChatStandin } from './support/rocketchat-standin.mjs'
import { waitUntil } from './support/wait.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PAGE = (name) => join(ROOT, '__test__', 'widget-page', name)
const OUTPUT = join(ROOT, '__test__', 'output')

const dir = tempDir('sns-logger-widget-livechat-')

const summary = (e) => `${e.category}/${e.action}`

describe(`widget script with the real livechat widget (@rocket.chat/livechat ${LIVECHAT_VERSION}) in headless Chromium -> relay -> moto SNS -> SQS FIFO`, { timeout: 240_000 }, () => {
  let rc // the stand-in Rocket.Chat server: its own origin
  let site // the site: another origin, on the relay's allow-list
  let backend
  let moto, queueUrl, relay, browser // the backend's

  before(async () => {
    assert.equal(LIVECHAT_VERSION, '1.13.3', 'the livechat build these tests were written against')
    rc = await startRocketChatStandin()
    site = await startSite({
      routes: {
        '/livechat.html': PAGE('livechat.html'),
        '/site-logger.js': PAGE('site-logger.js'),
        '/livechat-page.js': PAGE('livechat-page.js'),
        '/page.css': PAGE('page.css'),
        '/widget/sns-logger-widget.min.js': IIFE,
      },
    })
    backend = await startWidgetBackend({ dir, widgetOrigin: site.origin, servers: [rc, site] })
    ;({ moto, queueUrl, relay, browser } = backend)
  }, { timeout: 20 * 60_000 }) // the first run may install chromium with apt-get

  after(() => backend?.stop())

  const pageUrl = (extra = '') => `${site.origin}/livechat.html?rc=${encodeURIComponent(rc.origin)}&relay=${encodeURIComponent(relay.url)}&batchMs=200${extra}`

  /** A new tab (a fresh browser context unless `context` is given) at `url`. */
  async function openTab(url, context) {
    const page = await (context ?? (await browser.createBrowserContext())).newPage()
    page.setDefaultTimeout(20_000)
    await page.setViewport({ width: 1000, height: 700 })
    await page.goto(url, { waitUntil: 'load' })
    await ready(page)
    return page
  }

  /** Waits until the embed is up and the widget app in its iframe has shown its button. */
  async function ready(page) {
    await page.waitForFunction(() => window.analytics && window.callbacks.includes('onWidgetShown'))
    const frame = await (await page.waitForSelector('#rocketchat-iframe')).contentFrame()
    await frame.waitForSelector('[class*="screen__chat-button"]')
    return frame
  }
  const frameOf = async (page) => (await page.$('#rocketchat-iframe')).contentFrame()
  const callbacks = (page) => page.evaluate(() => window.callbacks.slice())
  const stats = (page) => page.evaluate(() => window.analytics.stats())
  const windowState = (page) => page.evaluate(() => document.querySelector('.rocketchat-widget').dataset.state)

  /** Waits until the iframe has handled everything asked of it so far (see the header). */
  async function settled(page) {
    const seen = await page.evaluate(() => window.callbacks.filter((c) => c === 'onWidgetShown').length)
    await page.evaluate(() => window.RocketChat.livechat.showWidget())
    await page.waitForFunction((n) => window.callbacks.filter((c) => c === 'onWidgetShown').length > n, {}, seen)
    // The barrier's own callback is not part of what the test looks at.
    await page.evaluate(() => window.callbacks.splice(window.callbacks.lastIndexOf('onWidgetShown'), 1))
  }

  /** A real click on the widget's button inside the iframe (opens or closes the chat window). */
  async function clickWidgetButton(page) {
    await page.bringToFront() // a tab in the background does not render: no click lands there
    const frame = await frameOf(page)
    await (await frame.waitForSelector('[class*="screen__chat-button"]')).click()
  }

  /** Clicks `selector` in `frame` once the widget's finite animations (a modal sliding in) are over. */
  async function clickWhenStill(frame, selector) {
    const element = await frame.waitForSelector(selector, { visible: true })
    await frame.evaluate(() =>
      Promise.all(
        document
          .getAnimations()
          .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)
          .map((a) => a.finished.catch(() => {})),
      ),
    )
    await element.click()
  }

  /** The visitor's first message in the chat window: the widget starts a chat with it. */
  async function sendMessage(page, text) {
    const frame = await frameOf(page)
    await (await frame.waitForSelector('[class*="composer__input"]')).click()
    await page.keyboard.type(text)
    await page.keyboard.press('Enter')
  }

  test('real clicks open and close the window, a first message starts a chat (the room id reaches the script), "Finish this chat" ends it; the page API calls and a reload: each event once in SQS', async () => {
    const accepted = await metric(relay, 'sns_logger_relay_events_accepted_total')
    const page = await openTab(pageUrl())
    const tabId = await page.evaluate(() => window.analytics.tabId)
    const token = await page.evaluate(() => window.visitorToken)
    await settled(page)
    assert.deepEqual(await callbacks(page), ['onWidgetShown'], 'page load: onWidgetShown only')
    assert.equal(await windowState(page), 'closed')

    // The visitor opens the window: one onChatMaximized, one Window/opened (waiting: no chat yet).
    await clickWidgetButton(page)
    await page.waitForFunction(() => window.callbacks.includes('onChatMaximized'))
    await settled(page)
    assert.deepEqual(await callbacks(page), ['onWidgetShown', 'onChatMaximized'])
    assert.equal(await windowState(page), 'opened')
    let s = await stats(page)
    assert.deepEqual({ logged: s.logged, waiting: s.waitingForRoomId }, { logged: 1, waiting: 1 })

    // Their first message starts the chat; the page reads the room id from Rocket.Chat itself.
    await sendMessage(page, 'Hello, I need a copy of my policy')
    await page.waitForFunction(() => window.callbacks.includes('onChatStarted'))
    const room = await waitUntil(() => rc.roomOf(token), 'the stand-in to open a room for the visitor', { timeoutMs: 10_000, intervalMs: 100 })
    await page.waitForFunction(() => window.analytics.stats().waitingForRoomId === 0 && window.analytics.stats().sent === 1)
    assert.equal(await page.evaluate(() => document.getElementById('room-id').textContent), room._id)
    assert.deepEqual(room.messages.map((m) => m.msg), ['Hello, I need a copy of my policy'])

    // maximizeWidget() with the window already open: nothing.
    await page.evaluate(() => window.RocketChat.livechat.maximizeWidget())
    await settled(page)
    assert.deepEqual(await callbacks(page), ['onWidgetShown', 'onChatMaximized', 'onChatStarted'])

    // The button again: closed.
    await clickWidgetButton(page)
    await page.waitForFunction(() => window.callbacks.includes('onChatMinimized'))
    await settled(page)
    assert.equal(await windowState(page), 'closed')

    // maximizeWidget() from the page: one onChatMaximized (not two), one Window/opened.
    await page.evaluate(() => window.RocketChat.livechat.maximizeWidget())
    await page.waitForFunction(() => window.callbacks.filter((c) => c === 'onChatMaximized').length === 2)
    await settled(page)
    assert.deepEqual((await callbacks(page)).slice(3), ['onChatMinimized', 'onChatMaximized'], 'maximizeWidget(): onChatMaximized once')
    assert.equal(await windowState(page), 'opened')

    // minimizeWidget() from the page: the widget app asks the embed to `closeWidget`, which this
    // embed has no handler for: no callback, the window stays open.
    await page.evaluate(() => window.RocketChat.livechat.minimizeWidget())
    await page.waitForFunction(() => window.fromWidget.includes('closeWidget'))
    await settled(page)
    assert.deepEqual((await callbacks(page)).slice(3), ['onChatMinimized', 'onChatMaximized'], 'minimizeWidget(): no callback')
    assert.equal(await windowState(page), 'opened')
    assert.equal((await stats(page)).logged, 3)
    // ...but the widget app minimized itself inside the still open-sized frame: its button is
    // all the visitor sees. Their click on it restores the window, and the embed, which thinks
    // the window never closed, reports nothing.
    const frame = await frameOf(page)
    assert.ok(await frame.$('[class*="screen--minimized"]'), 'the chat window is minimized inside the iframe')
    await clickWidgetButton(page)
    await frame.waitForFunction(() => !document.querySelector('[class*="screen--minimized"]'))
    await settled(page)
    assert.deepEqual((await callbacks(page)).slice(3), ['onChatMinimized', 'onChatMaximized'], 'the click that restores it: no callback')

    // The visitor finishes the chat: Options -> "Finish this chat" -> Yes.
    await page.evaluate(() => (window.visitorFinishing = true))
    await clickWhenStill(frame, '[class*="footer__options"]')
    await clickWhenStill(frame, '::-p-text(Finish this chat)')
    await clickWhenStill(frame, 'button::-p-text(Yes)')
    await page.waitForFunction(() => window.callbacks.includes('onChatEnded'))
    await settled(page)
    assert.equal(rc.roomOf(token).open, false, 'the widget closed the room (POST room.close)')
    assert.deepEqual((await callbacks(page)).filter((c) => c === 'onChatEnded'), ['onChatEnded'])
    mkdirSync(OUTPUT, { recursive: true })
    await page.screenshot({ path: join(OUTPUT, 'widget-livechat.png') })
    await page.waitForFunction(() => window.analytics.stats().logged === 4 && window.analytics.stats().sent === 4)

    // A reload with the window open: it comes back closed, without a callback.
    await page.reload({ waitUntil: 'load' })
    await ready(page)
    await settled(page)
    assert.deepEqual(await callbacks(page), ['onWidgetShown'], 'the reloaded page: no onChatMaximized, no onChatMinimized')
    assert.equal(await windowState(page), 'closed')
    assert.equal(await page.evaluate(() => window.analytics.tabId), tabId, 'same tab, same id')
    // The visitor opens it again: a Window/opened of its own (the window was closed).
    await clickWidgetButton(page)
    await page.waitForFunction(() => window.callbacks.includes('onChatMaximized'))
    await clickWidgetButton(page)
    await page.waitForFunction(() => window.callbacks.includes('onChatMinimized'))
    const reloaded = await page.evaluate(async () => {
      await window.analytics.flush()
      return { stats: window.analytics.stats(), notices: window.notices }
    })
    assert.deepEqual(reloaded.notices, [])
    assert.deepEqual({ logged: reloaded.stats.logged, sent: reloaded.stats.sent }, { logged: 2, sent: 2 }, 'Window/opened and Window/closed on the reloaded page')
    await closeTab(page)

    // ---- what arrived -----------------------------------------------------------------------
    const received = await receiveAll(moto.endpoint, queueUrl, { expected: 6, timeoutMs: 30_000, settleSeconds: 2 })
    const events = received.map((r) => {
      assert.equal(r.messageGroupId, SITE_URL)
      return JSON.parse(r.message)
    })
    assert.deepEqual(
      events.map((e) => [summary(e), e.tabId, e.roomId]),
      [
        ['Window/opened', tabId, room._id],
        ['Window/closed', tabId, room._id],
        ['Window/opened', tabId, room._id],
        ['Chat Session/closed', tabId, room._id],
        ['Window/opened', tabId, room._id],
        ['Window/closed', tabId, room._id],
      ],
      `each event exactly once, in order; received: ${JSON.stringify(events)}`,
    )
    for (const e of events) {
      assert.equal(e.eventType, 'customerAction')
      assert.equal(e.dialogflowAgentId, SUPPORT.agentId)
    }
    assert.deepEqual(events[0].properties, { session_id: tabId })
    assert.deepEqual(events[3].properties, { close_method: 'chat window' })
    assert.equal(new Set(received.map((r) => r.messageDeduplicationId)).size, 6, 'six dedup ids')
    assert.equal(await metric(relay, 'sns_logger_relay_events_accepted_total'), accepted + 6, 'accepted once each')
  })

  test('a page hidden behind another tab hands what it holds to sendBeacon (visibilitychange), and it reaches SQS once', async () => {
    const accepted = await metric(relay, 'sns_logger_relay_events_accepted_total')
    // batchMs 60000: the batching fetch will not send it; only the beacon can.
    const page = await openTab(pageUrl('&batchMs=60000&roomId=rc-room-hidden'))
    const tabId = await page.evaluate(() => window.analytics.tabId)
    await clickWidgetButton(page)
    await page.waitForFunction(() => window.analytics.stats().pending === 1)
    assert.equal(await page.evaluate(() => document.visibilityState), 'visible')

    // Another tab in front: this one is hidden (a real visibilitychange, not a synthetic event).
    const other = await page.browserContext().newPage()
    await other.bringToFront()
    await waitUntil(() => page.evaluate(() => document.visibilityState === 'hidden'), 'the page to be hidden', { timeoutMs: 10_000, intervalMs: 100 })
    const s = await waitUntil(
      async () => {
        const s = await stats(page)
        return s.beacons === 1 && s
      },
      'the hidden page to beacon its event',
      { timeoutMs: 10_000, intervalMs: 100 },
    )
    assert.deepEqual({ pending: s.pending, sent: s.sent, failed: s.failed }, { pending: 0, sent: 1, failed: 0 })

    const received = await receiveAll(moto.endpoint, queueUrl, { expected: 1, timeoutMs: 20_000, settleSeconds: 2 })
    const ofTab = received.map((r) => JSON.parse(r.message)).filter((e) => e.tabId === tabId)
    assert.deepEqual(ofTab.map((e) => [summary(e), e.roomId]), [['Window/opened', 'rc-room-hidden']])
    assert.equal(await metric(relay, 'sns_logger_relay_events_accepted_total'), accepted + 1)
    assert.deepEqual(await page.evaluate(() => window.notices), [])
    await closeTab(other)
    await closeTab(page)
  })

  test('a tab opened from the page gets a copy of its sessionStorage, as a duplicated tab does: the same tab id, and the events of both tabs all reach SQS', async () => {
    const accepted = await metric(relay, 'sns_logger_relay_events_accepted_total')
    const first = await openTab(pageUrl('&roomId=rc-room-dup'))
    const tabId = await first.evaluate(() => window.analytics.tabId)
    // window.open from the page: Chromium copies the opener's sessionStorage into the new tab.
    const opened = new Promise((resolve) => first.browserContext().once('targetcreated', (target) => resolve(target.page())))
    await first.evaluate(() => window.open(location.href, '_blank'))
    const second = await opened
    second.setDefaultTimeout(20_000)
    await second.waitForFunction(() => document.readyState === 'complete')
    await ready(second)
    assert.equal(await second.evaluate(() => window.analytics.tabId), tabId, 'the copy has the same tab id: the widget cannot tell the two tabs apart')

    // The same first event in each tab: same tab id, same counter, different page id. (Logged by
    // the page: the widget app keeps its window's state in Rocket.Chat's localStorage, shared by
    // every tab of the site, so a click in one tab also opens or closes the window in the other.)
    for (const page of [first, second]) {
      const s = await page.evaluate(async () => {
        window.analytics.transcriptDownloadSelected()
        await window.analytics.flush()
        return window.analytics.stats()
      })
      assert.deepEqual({ sent: s.sent, failed: s.failed }, { sent: 1, failed: 0 })
    }
    await closeTab(second)
    await closeTab(first)

    const received = await receiveAll(moto.endpoint, queueUrl, { expected: 2, timeoutMs: 20_000, settleSeconds: 2 })
    assert.deepEqual(
      received.map((r) => JSON.parse(r.message)).filter((e) => e.tabId === tabId).map((e) => [summary(e), e.tabId, e.roomId]),
      [['Transcript Download/selected', tabId, 'rc-room-dup'], ['Transcript Download/selected', tabId, 'rc-room-dup']],
      'one per tab: neither was taken for a duplicate of the other',
    )
    assert.equal(await metric(relay, 'sns_logger_relay_events_accepted_total'), accepted + 2)
  })
})
