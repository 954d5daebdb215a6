// The site's own code beside the livechat embed: the visitor token it gives the widget, the
// widget logger, the room id looked up when a chat starts, and the controls the page itself
// owns (transcript download, survey link, end chat).
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

// The widget's callbacks carry no room id: when a chat starts, the site's server looks up the
// visitor's open room (Rocket.Chat REST API, GET /api/v1/livechat/visitor/{token}/room).
RocketChat(function () {
  this.onChatStarted(async () => {
    const response = await fetch(`/api/livechat-room?token=${encodeURIComponent(visitorToken)}`)
    const { roomId } = await response.json()
    analytics.setRoomId(roomId)
    document.getElementById('room-id').textContent = roomId
  })
})

document.getElementById('transcript').addEventListener('click', () => analytics.transcriptDownloadSelected())
document.getElementById('survey').addEventListener('click', () => analytics.surveyLinkClicked())
document.getElementById('end-chat').addEventListener('click', () => analytics.chatClosedFromWindow())
document.getElementById('tab-id').textContent = analytics.tabId
document.getElementById('relay-url').textContent = params.get('relay')
