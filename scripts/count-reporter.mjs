// A `node --test` reporter for scripts/test.mjs: counts the tests that passed and failed and,
// once the run is over, writes them as one line of JSON to its destination:
//
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./scripts/count-reporter.mjs --test-reporter-destination=counts.json ...
//
//   {"passed":143,"failed":0,"skipped":0,"todo":0}
//
// Tests are counted as the spec reporter's totals count them: suites (describe) are not tests;
// skipped and todo tests are neither passed nor failed. A cancelled test (its file timed out or
// crashed) counts as failed. Nothing is written if the run never ends, so a missing file
// means the runner crashed.

export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0 }
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue
    if (data.details?.type === 'suite') continue
    if (data.skip !== undefined) counts.skipped++
    else if (data.todo !== undefined) counts.todo++
    else if (type === 'test:pass') counts.passed++
    else counts.failed++
  }
  yield `${JSON.stringify(counts)}\n`
}
