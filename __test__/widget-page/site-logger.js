// The part of the site's own code that both test pages share, run after sns-logger's widget
// script and before the page's own: the visitor token the site gives the livechat embed, and
// the widget logger, set up from the page's query (relay, roomId, batchMs), its notices kept
// for the test. Declares `params`, `visitorToken` and `analytics` for the page's script.
const params = new URLSearchParams(location.search)

// The site's visitor token for Rocket.Chat (kept per tab here; a real site keeps its own).
const visitorToken = sessionStorage.getItem('site.visitorToken') || `v${Math.random().toString(36).slice(2, 12)}`
sessionStorage.setItem('site.visitorToken', visitorToken)
window.visitorToken = visitorToken
RocketChat(function () {
  this.setGuestToken(visitorToken)
})

window.notices = []
const analytics = SnsLoggerWidget.createWidgetLogger({
  relayUrl: params.get('relay'),
  roomId: params.get('roomId') || undefined,
  batchMs: Number(params.get('batchMs') || 1000),
  onError: (notice) => window.notices.push(notice),
})
window.analytics = analytics
document.getElementById('tab-id').textContent = analytics.tabId
