// The widget script in a real browser, with a STAND-IN of the livechat embed. The real embed
// and widget app (@rocket.chat/livechat 1.13.3) are tested in widget-livechat.test.mjs: window
// open/close from real clicks, chat start and finish, the page API, reloads, beacons on a hidden
// page, duplicated tabs. What stays here is what does not depend on the embed: the page's own
// controls (transcript, survey, end chat) with the last events carried by the pagehide beacon
// of a closed tab, the ESM build, and a page on a foreign origin refused by the relay. (The
// case of a visitor moving to another page of the site was removed: it relied on the stand-in
// re-opening the window on each page load, which the real embed does not do.)
//
// Headless Chromium (Debian's chromium, driven by puppeteer-core) opens a site page on one
// loopback origin; the page has the stand-in embed (livechat-stub.js) and
// widget/sns-logger-widget.min.js. The relay
// (`sns-logger serve`, a child process) listens on another origin, allows only the site's, and
// publishes to moto's SNS; every event is read back from the SQS FIFO queue.
//
// A visitor opens the chat window, a chat starts (the page looks up the room id), they download
// the transcript (sent by the batching fetch), click the survey link, end the chat, minimize
// the window and close the tab (these go by sendBeacon on pagehide). The ESM build is checked
// from a second page; a page on a foreign origin is refused. Screenshot: __test__/output/.

import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { IIFE, closeTab, metric, startSite, startWidgetBackend, within } from './support/browser.mjs'
import { SITE_URL, SUPPORT, tempDir } from './support/fixtures.mjs'
import { receiveAll } from './support/moto.mjs'
import { waitUntil } from './support/wait.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PAGE = (name) => join(ROOT, '__test__', 'widget-page', name)
const OUTPUT = join(ROOT, '__test__', 'output')

const dir = tempDir('sns-logger-widget-browser-')

const stats = (page) => page.evaluate(() => window.analytics.stats())

/**
 * Once the page has run every timer it had queued (the embed's callbacks that a widget call
 * schedules with setTimeout 0): what it was going to report, it has. A turn of the page's
 * event loop, not a guess of how long that takes.
 */
const settled = (page) => page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)))

/** A new tab at `url`, with the errors its scripts throw collected in `errors`. */
async function openTab(browser, url) {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.setDefaultTimeout(15_000)
  await page.setViewport({ width: 1000, height: 640 })
  await page.goto(url, { waitUntil: 'load' })
  return { page, errors }
}

describe('widget script in headless Chromium -> relay -> moto SNS -> SQS FIFO', { timeout: 180_000 }, () => {
  let site // the site: origin A, on the relay's allow-list
  let foreign // another origin, not on it
  let backend
  let moto, queueUrl, relay, browser // the backend's
  const rooms = new Map() // visitor token -> room id, as the site's server answers

  before(async () => {
    const routes = {
      '/index.html': PAGE('index.html'),
      '/esm.html': PAGE('esm.html'),
      '/site-logger.js': PAGE('site-logger.js'),
      '/page.js': PAGE('page.js'),
      '/page.css': PAGE('page.css'),
      '/livechat-stub.js': PAGE('livechat-stub.js'),
      '/widget/sns-logger-widget.min.js': IIFE,
      '/widget/index.mjs': join(ROOT, 'widget', 'index.mjs'),
      '/plan/index.mjs': join(ROOT, 'plan', 'index.mjs'),
      '/client/answer.mjs': join(ROOT, 'client', 'answer.mjs'),
      // The site's server: the visitor's open room, as Rocket.Chat's REST API would answer it.
      '/api/livechat-room': (req, url, res) => {
        const token = url.searchParams.get('token')
        if (!rooms.has(token)) rooms.set(token, `rc-room-${rooms.size + 1}-${token}`)
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ roomId: rooms.get(token) }))
      },
    }
    site = await startSite({ routes })
    foreign = await startSite({ routes })
    backend = await startWidgetBackend({ dir, widgetOrigin: site.origin, servers: [site, foreign] })
    ;({ moto, queueUrl, relay, browser } = backend)
  }, { timeout: 20 * 60_000 }) // the first run may install chromium with apt-get

  after(() => backend?.stop())

  test('a visitor\'s tab: every event arrives in SQS once, with the tab\'s id (the last ones by the pagehide beacon); the ESM build too', async () => {
    const relayParam = encodeURIComponent(relay.url)

    // ---- the site's page, in a tab of its own -----------------------------------------------
    // batchMs 4000: the first events go by the batching fetch (the test waits for it), the last
    // ones are still batching when the tab closes, so only the pagehide beacon can carry them.
    const { page, errors } = await openTab(browser, `${site.origin}/index.html?relay=${relayParam}&batchMs=4000`)
    await page.waitForFunction(() => window.RocketChat && window.RocketChat.livechat && window.analytics)
    const tabId = await page.evaluate(() => window.analytics.tabId)
    assert.match(tabId, /^t-[a-z0-9]{16}$/)
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sns-logger.widget.tabId')), tabId, 'the tab id lives in sessionStorage')
    const visitorToken = await page.evaluate(() => window.visitorToken)
    assert.equal(await page.evaluate(() => window.__livechatStub.guestToken()), visitorToken)

    // The visitor opens the window; the page API's maximizeWidget() on the open window adds nothing.
    await page.click('#livechat-bubble')
    await page.evaluate(() => window.RocketChat.livechat.maximizeWidget())
    await settled(page)
    assert.deepEqual(
      { logged: (await stats(page)).logged, waiting: (await stats(page)).waitingForRoomId },
      { logged: 1, waiting: 1 },
      'one Window/opened, waiting for the room id (no chat yet)',
    )

    // A chat starts (the widget's iframe would report it): the page looks up the room.
    await page.evaluate(() => window.__livechatStub.startChat())
    await page.waitForFunction(() => window.analytics.stats().waitingForRoomId === 0)
    const roomId = rooms.get(visitorToken)
    assert.ok(roomId, 'the page asked the site\'s server for the room id')

    await page.click('#transcript')
    mkdirSync(OUTPUT, { recursive: true })
    await page.screenshot({ path: join(OUTPUT, 'widget-page.png') })

    // The batching fetch sends Window/opened and Transcript Download/selected.
    await page.waitForFunction(() => window.analytics.stats().sent === 2, { timeout: 15_000 })

    // The last events: still batching when the tab closes.
    await page.click('#survey')
    await page.click('#end-chat')
    await page.click('#livechat-minimize')
    await settled(page)
    const beforeClose = await stats(page)
    assert.deepEqual(
      { logged: beforeClose.logged, sent: beforeClose.sent, pending: beforeClose.pending, failed: beforeClose.failed },
      { logged: 5, sent: 2, pending: 3, failed: 0 },
    )
    assert.deepEqual(await page.evaluate(() => window.notices), [])
    assert.deepEqual(errors, [], 'no script error on the page')
    await closeTab(page)

    // ---- the ESM build, from a second tab of the same site ----------------------------------
    const { page: esm, errors: esmErrors } = await openTab(browser, `${site.origin}/esm.html?relay=${relayParam}&roomId=rc-room-esm`)
    await esm.waitForFunction(() => window.analytics)
    const esmResult = await esm.evaluate(async () => {
      window.analytics.transcriptDownloadSelected()
      await window.analytics.flush()
      return { tabId: window.analytics.tabId, stats: window.analytics.stats(), notices: window.notices }
    })
    assert.notEqual(esmResult.tabId, tabId, 'another tab, another id')
    assert.equal(esmResult.stats.sent, 1)
    assert.deepEqual(esmResult.notices, [])
    assert.deepEqual(esmErrors, [], 'no script error on the ESM page')
    await closeTab(esm)

    // ---- what arrived -----------------------------------------------------------------------
    const received = await receiveAll(moto.endpoint, queueUrl, { expected: 6, timeoutMs: 30_000, settleSeconds: 2 })
    const events = received.map((r) => {
      assert.equal(r.messageGroupId, SITE_URL)
      return JSON.parse(r.message)
    })
    const summary = (e) => `${e.category}/${e.action}`
    const ofTab = events.filter((e) => e.tabId === tabId)
    assert.deepEqual(
      ofTab.map(summary).sort(),
      ['Chat Session/closed', 'Survey/link_clicked', 'Transcript Download/selected', 'Window/closed', 'Window/opened'],
      `each of the tab's events exactly once; received: ${JSON.stringify(events)}`,
    )
    for (const e of ofTab) {
      assert.equal(e.roomId, roomId)
      assert.equal(e.eventType, 'customerAction')
      assert.equal(e.dialogflowAgentId, SUPPORT.agentId)
      assert.ok(!Number.isNaN(Date.parse(e.timestamp)))
    }
    const props = Object.fromEntries(ofTab.map((e) => [summary(e), e.properties]))
    assert.deepEqual(props['Window/opened'], { session_id: tabId })
    assert.deepEqual(props['Chat Session/closed'], { close_method: 'chat window' })
    assert.deepEqual(props['Transcript Download/selected'], {})

    const ofEsm = events.filter((e) => e.tabId === esmResult.tabId)
    assert.deepEqual(ofEsm.map((e) => [summary(e), e.roomId]), [['Transcript Download/selected', 'rc-room-esm']])
    assert.equal(events.length, 6, 'nothing else')
    // Accepted once each: no event was sent twice (SQS FIFO dedup would hide a resent copy).
    assert.equal(await metric(relay, 'sns_logger_relay_events_accepted_total'), 6)
  })

  test('the same page on a foreign origin: its fetches and its beacon get 403, nothing reaches SQS', async () => {
    const relayParam = encodeURIComponent(relay.url)
    const accepted = await metric(relay, 'sns_logger_relay_events_accepted_total')
    assert.equal(await metric(relay, 'sns_logger_http_requests_total', { route: 'widget', status: '403' }), 0)
    // batchMs 60000: the first event goes by flush(), the second can only go by the beacon.
    const { page: intruder } = await openTab(browser, `${foreign.origin}/index.html?relay=${relayParam}&batchMs=60000&roomId=rc-room-foreign`)
    await intruder.waitForFunction(() => window.RocketChat && window.RocketChat.livechat && window.analytics)
    const foreignTabId = await intruder.evaluate(() => window.analytics.tabId)
    await intruder.click('#transcript')
    // The relay answers 403 without CORS headers: the page sees a failed fetch, retries, gives up.
    const afterFlush = await within(20_000, 'the foreign page\'s flush', intruder.evaluate(async () => {
      await window.analytics.flush()
      return { stats: window.analytics.stats(), notices: window.notices }
    }))
    assert.deepEqual(
      afterFlush.notices.map((n) => [n.code, n.events]),
      [['ERR_NETWORK', 1]],
    )
    assert.deepEqual({ failed: afterFlush.stats.failed, retries: afterFlush.stats.retries }, { failed: 1, retries: 3 })
    assert.equal(await metric(relay, 'sns_logger_http_requests_total', { route: 'widget', status: '403' }), 4, 'four attempts, each refused')
    // Its beacon is refused as well.
    await intruder.click('#survey')
    await closeTab(intruder)
    await waitUntil(
      async () => (await metric(relay, 'sns_logger_http_requests_total', { route: 'widget', status: '403' })) === 5,
      'the foreign beacon to be refused',
      { timeoutMs: 10_000, intervalMs: 100 },
    )

    const received = await receiveAll(moto.endpoint, queueUrl, { timeoutMs: 5_000, settleSeconds: 2 })
    assert.deepEqual(received.map((r) => JSON.parse(r.message)).filter((e) => e.tabId === foreignTabId), [], 'nothing in SQS')
    assert.equal(await metric(relay, 'sns_logger_relay_events_accepted_total'), accepted, 'no event accepted')
  })
})
