// A stand-in for the Rocket.Chat livechat embed, behaving as its widget.ts does where the
// logger can tell: the snippet's `RocketChat(fn)` queue, then (once "loaded") `RocketChat.livechat`
// with the callback registrations, the queue run with the API as `this`, and `RocketChat(fn)`
// running fn at once. The window's open/close emit chat-maximized / chat-minimized on a change
// of state. As in the real embed (1.13.3, see widget-livechat.test.mjs), the page API's
// maximizeWidget() opens the window (one chat-maximized, none when already open) and
// minimizeWidget() does nothing the page can see. What the widget's iframe would do is driven
// through window.__livechatStub.

// The embed snippet.
(function (w) {
  w.RocketChat = function (c) {
    w.RocketChat._.push(c)
  }
  w.RocketChat._ = []
  w.RocketChat.url = 'https://chat.example.com/livechat'
})(window)

// The embed's script, "loaded" a moment later (after the page's own scripts have run).
setTimeout(function () {
  const callbacks = {}
  const on = (name) => (fn) => {
    ;(callbacks[name] = callbacks[name] || []).push(fn)
  }
  const emit = (name) => (callbacks[name] || []).forEach((fn) => fn())
  const box = document.getElementById('livechat')
  let guestToken = null

  function openWidget() {
    if (box.dataset.state === 'opened') return
    box.dataset.state = 'opened'
    emit('chat-maximized')
  }
  function closeWidget() {
    if (box.dataset.state === 'closed') return
    box.dataset.state = 'closed'
    emit('chat-minimized')
  }

  const api = {
    setGuestToken(token) {
      guestToken = token
    },
    // The real ones post to the iframe: it asks the embed to open the window, or to
    // `closeWidget`, which the embed does not handle.
    maximizeWidget() {
      setTimeout(openWidget, 0)
    },
    minimizeWidget() {},
    showWidget() {
      box.style.display = ''
      emit('show-widget')
    },
    hideWidget() {
      box.style.display = 'none'
      emit('hide-widget')
    },
    onChatMaximized: on('chat-maximized'),
    onChatMinimized: on('chat-minimized'),
    onChatStarted: on('chat-started'),
    onChatEnded: on('chat-ended'),
    onWidgetShown: on('show-widget'),
    onWidgetHidden: on('hide-widget'),
  }

  window.__livechatStub = {
    guestToken: () => guestToken,
    startChat: () => emit('chat-started'),
    endChat: () => emit('chat-ended'),
  }
  document.getElementById('livechat-bubble').addEventListener('click', openWidget)
  document.getElementById('livechat-minimize').addEventListener('click', closeWidget)

  const queue = window.RocketChat._
  window.RocketChat._.push = function (c) {
    c.call(window.RocketChat.livechat)
  }
  window.RocketChat = window.RocketChat._.push
  window.RocketChat.livechat = api
  queue.forEach((c) => c.call(api))
}, 50)
