// A loopback port held by the test for its whole length, in front of a service that goes away
// and comes back: open, it forwards each connection to the current target; shut, it drops them
// (as a stopped service's port refuses them). The client keeps one address throughout, and no
// other process can take the port between a stop and a start, as it could if the service were
// restarted on the port it had.
//
//   const gate = await startGate(relay.url)   // clients use gate.url
//   gate.shut()                               // the service is away; its connections are cut
//   gate.open(newRelay.url)                   // back, wherever it listens now
//   await gate.stop()
import { connect, createServer } from 'node:net'

export async function startGate(targetUrl) {
  let target = new URL(targetUrl)
  let open = true
  const sockets = new Set()
  const server = createServer((client) => {
    if (!open) return client.destroy()
    const upstream = connect(Number(target.port), target.hostname)
    const pair = [client, upstream]
    for (const socket of pair) {
      sockets.add(socket)
      socket.on('error', () => pair.forEach((s) => s.destroy()))
      socket.on('close', () => {
        sockets.delete(socket)
        pair.forEach((s) => s.destroy())
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    shut() {
      open = false
      for (const socket of sockets) socket.destroy()
    },
    open(url) {
      target = new URL(url)
      open = true
    },
    stop() {
      open = false
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}
