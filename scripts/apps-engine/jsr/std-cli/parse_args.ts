// Stand-in for jsr:@std/cli/parse-args, written for sns-logger's offline Apps-Engine host (see
// scripts/ensure-apps-engine.mjs). The Deno runtime parses
// `--subprocess <appId> --spawnId <n> [--metricsReportFrequencyInMs <n>]`; this handles long
// options (`--key value`, `--key=value`, `--no-key`, a bare `--flag` = true), short flags
// (`-k value`, `-abc`), `--` and positionals (in `_`), and turns numeric-looking values into
// numbers, as @std/cli does when no option types are given.

export type Args = { _: Array<string | number>; [key: string]: unknown }

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i
const value = (raw: string): string | number => (NUMBER.test(raw) ? Number(raw) : raw)
const isOption = (arg: string | undefined) => arg !== undefined && /^-[^\d-]|^--./.test(arg)

export function parseArgs(args: string[]): Args {
  const parsed: Args = { _: [] }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--') {
      parsed._.push(...args.slice(i + 1).map(value))
      break
    }
    let match
    if ((match = /^--([^=]+)=([\s\S]*)$/.exec(arg))) {
      parsed[match[1]] = value(match[2])
    } else if ((match = /^--no-(.+)$/.exec(arg))) {
      parsed[match[1]] = false
    } else if ((match = /^--(.+)$/.exec(arg))) {
      const next = args[i + 1]
      parsed[match[1]] = next === undefined || isOption(next) ? true : value(args[++i])
    } else if (/^-[^\d-]/.test(arg)) {
      const letters = arg.slice(1)
      for (const letter of letters.slice(0, -1)) parsed[letter] = true
      const last = letters.at(-1) as string
      const next = args[i + 1]
      parsed[last] = next === undefined || isOption(next) ? true : value(args[++i])
    } else {
      parsed._.push(value(arg))
    }
  }
  return parsed
}
