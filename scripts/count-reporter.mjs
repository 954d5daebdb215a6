// A `node --test` reporter for scripts/test.mjs: counts the tests that passed, failed, were
// skipped or marked todo, in all and per file, and once the run is over writes them as one
// line of JSON to its destination:
//
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./scripts/count-reporter.mjs --test-reporter-destination=counts.json ...
//
//   {"passed":143,"failed":0,"skipped":0,"todo":0,"files":{"__test__/plan.test.mjs":{"passed":12,...}}}
//
// Tests are counted as the spec reporter's totals count them: suites (describe) are not tests;
// skipped and todo tests are neither passed nor failed. A cancelled test (its file timed out or
// crashed) counts as failed. Nothing is written if the run never ends, so a missing file
// means the runner crashed.
import { relative } from 'node:path'

const zero = () => ({ passed: 0, failed: 0, skipped: 0, todo: 0 })

export default async function* countReporter(source) {
  const counts = { ...zero(), files: {} }
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue
    if (data.details?.type === 'suite') continue
    const outcome = data.skip !== undefined ? 'skipped' : data.todo !== undefined ? 'todo' : type === 'test:pass' ? 'passed' : 'failed'
    counts[outcome]++
    // A file that failed to load reports one failure of its own, named by the file.
    const file = data.file ? relative(process.cwd(), data.file) : '(unknown file)'
    counts.files[file] ??= zero()
    counts.files[file][outcome]++
  }
  yield `${JSON.stringify(counts)}\n`
}
