// Stand-in for jsr:@std/streams, written for sns-logger's offline Apps-Engine host (see
// scripts/ensure-apps-engine.mjs): only what the Apps-Engine's Deno runtime imports.

/** Reads `stream` to its end and returns all its bytes as one ArrayBuffer. */
export async function toArrayBuffer(stream: ReadableStream<Uint8Array>): Promise<ArrayBuffer> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of stream) {
    chunks.push(chunk)
    length += chunk.length
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes.buffer
}
