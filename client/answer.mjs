// The relay's answer to a batch (crates/relay/src/answer.rs): `{ accepted, rejected: [{ index,
// code, message }] }`. Shared by the app client and the widget, which count a batch as sent only
// when the answer accounts for every one of its events.

/**
 * The answer when it is the relay's and accounts for each of the batch's `count` events
 * (`accepted` + `rejected.length` = `count`, every index in the batch and named once); else
 * undefined: an HTML page, an empty body or a short count from whatever stood in between is no
 * confirmation, and the batch must be sent again (its messageIds make that harmless).
 */
export function readRelayAnswer(body, count) {
  let answer = body
  if (typeof body === 'string') {
    try {
      answer = JSON.parse(body)
    } catch {
      return undefined
    }
  }
  if (typeof answer !== 'object' || answer === null || !Number.isInteger(answer.accepted) || !Array.isArray(answer.rejected)) return undefined
  const named = new Set()
  for (const refusal of answer.rejected) {
    const index = refusal?.index
    if (!Number.isInteger(index) || index < 0 || index >= count || named.has(index)) return undefined
    named.add(index)
  }
  return answer.accepted >= 0 && answer.accepted + named.size === count ? answer : undefined
}
