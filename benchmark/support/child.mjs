// Every scenario runs in a fresh Node process of its own, so that CPU time, RSS and the event
// loop belong to one contender. The runner passes arguments as JSON in argv[2]; the scenario
// answers with one `RESULT {json}` line on stdout.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const RESULT = 'RESULT '

/**
 * The environment of every process the benchmark starts. The AWS SDK for JavaScript warns on
 * each start that its 2027 releases need Node.js >= 22 (a plain `Warning`, which
 * `--disable-warning=NodeVersionSupportWarning` does not match); the SDK's own switch turns it
 * off where it is raised, in the baselines that load the SDK.
 */
export function childEnv(extra = {}) {
  return { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra }
}

/** In the scenario process: runs `main(args)` and reports what it returns. */
export async function scenario(main) {
  try {
    const result = await main(JSON.parse(process.argv[2] ?? '{}'))
    process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`)
    process.exit(0)
  } catch (error) {
    console.error(error)
    process.exit(1)
  }
}

/** In the runner: runs a scenario file in a new process, returns its result. */
export async function runScenario(name, args, { nodeArgs = [] } = {}) {
  const file = fileURLToPath(new URL(`../scenarios/${name}.mjs`, import.meta.url))
  const child = spawn(process.execPath, [...nodeArgs, file, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: childEnv(),
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk))
  const [code] = await once(child, 'exit')
  const line = out.split('\n').find((l) => l.startsWith(RESULT))
  if (code !== 0 || !line) throw new Error(`scenario ${name} ${JSON.stringify(args)} failed (exit ${code}):\n${out}`)
  return JSON.parse(line.slice(RESULT.length))
}
