// The site's own code beside the REAL livechat embed (after site-logger.js, which sets up the
// visitor token and the widget logger): the room id read when a chat starts (Rocket.Chat's own
// `GET /api/v1/livechat/config?token=` from the page, `config.room._id`), and the visitor
// finishing the chat from the widget's window (`onChatEnded` after the visitor's
// "Finish this chat", which the page is told about by the test: the callback alone cannot say
// who closed the room).
const rocketChat = params.get('rc')

// Every widget callback the page sees, in order, and what the widget app in the iframe asks the
// embed to do (`fn` of its postMessage calls), for the test to read.
window.callbacks = []
window.fromWidget = []
window.addEventListener('message', (event) => {
  if (event.data && event.data.src === 'rocketchat') window.fromWidget.push(event.data.fn)
})
RocketChat(function () {
  for (const name of ['onChatMaximized', 'onChatMinimized', 'onChatStarted', 'onChatEnded', 'onWidgetShown', 'onWidgetHidden']) {
    this[name](() => window.callbacks.push(name))
  }
})

RocketChat(function () {
  this.onChatStarted(async () => {
    const response = await fetch(`${rocketChat}/api/v1/livechat/config?token=${encodeURIComponent(visitorToken)}`)
    const { config } = await response.json()
    analytics.setRoomId(config.room._id)
    document.getElementById('room-id').textContent = config.room._id
  })
  // This page's visitor finishes chats only from the widget's window ("Finish this chat"), and
  // the page knows when they do: here, the test sets `visitorFinishing` just before the click.
  this.onChatEnded(() => {
    if (window.visitorFinishing) analytics.chatClosedFromWindow()
  })
})
