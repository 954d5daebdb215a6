// Stand-in for jsr:@std/io, written for sns-logger's offline Apps-Engine host (see
// scripts/ensure-apps-engine.mjs): only what the Apps-Engine's Deno runtime imports.

/** Anything with Deno's `Writer` shape (`Deno.stdout`, `Deno.stderr`, a file). */
export interface Writer {
  write(p: Uint8Array): Promise<number>
}

/** Writes every byte of `data` to `writer`, calling `write` until nothing is left. */
export async function writeAll(writer: Writer, data: Uint8Array): Promise<void> {
  let written = 0
  while (written < data.length) {
    written += await writer.write(data.subarray(written))
  }
}
