// Waiting in fault tests: a bound that only catches a hang, never a verdict on speed.

/** Resolves once `predicate()` (sync or async) is true, polling every 20 ms; fails naming `what` after `timeoutMs`. */
export async function waitUntil(predicate, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
