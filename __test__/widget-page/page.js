// The site's own code beside the livechat embed (after site-logger.js, which sets up the
// visitor token and the widget logger): the room id looked up when a chat starts, and the
// controls the page itself owns (transcript download, survey link, end chat).
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
document.getElementById('relay-url').textContent = params.get('relay')
