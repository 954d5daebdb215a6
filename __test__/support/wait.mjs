// Waiting in tests: a bound that only catches a hang, never a verdict on speed.

/**
 * Resolves with the first truthy value of `predicate()` (sync or async), polling every
 * `intervalMs`; after `timeoutMs` fails naming `what` (with `details()` appended, when given).
 * With `failOnTimeout: false` it resolves with the last value instead, leaving the verdict to
 * the caller's assertions. `options` may be a number: the timeout.
 * @template T
 * @param {() => T | Promise<T>} predicate
 * @param {string} what
 * @param {number | { timeoutMs?: number, intervalMs?: number, details?: (last: T) => string, failOnTimeout?: boolean }} [options]
 *   defaults: timeoutMs 30000, intervalMs 20, failOnTimeout true
 * @returns {Promise<T>}
 */
export async function waitUntil(predicate, what, options = {}) {
  const { timeoutMs = 30_000, intervalMs = 20, details, failOnTimeout = true } = typeof options === 'number' ? { timeoutMs: options } : options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() > deadline) {
      if (!failOnTimeout) return value
      throw new Error(`still waiting after ${timeoutMs} ms for ${what}${details ? ` ${details(value)}` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
