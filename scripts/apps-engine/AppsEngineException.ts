// Written for sns-logger's offline Apps-Engine host (see scripts/ensure-apps-engine.mjs).
// @rocket.chat/apps-engine 1.62.0's Deno runtime imports
// `@rocket.chat/apps-engine/definition/exceptions/AppsEngineException.ts`, which its deno.jsonc maps
// to `../src/`, a folder the published package does not ship. This is that module: the same
// class as the package's definition/exceptions/AppsEngineException.js (name, JSON-RPC code,
// getErrorInfo), so `e.name === AppsEngineException.name` checks keep working.

export class AppsEngineException extends Error {
  public static JSONRPC_ERROR_CODE = -32070

  public override name = 'AppsEngineException'

  constructor(message?: string) {
    super(message)
  }

  public getErrorInfo(): { name: string; message: string } {
    return { name: this.name, message: this.message }
  }
}
