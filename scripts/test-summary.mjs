// Prints one closing line for the vitest and Playwright JSON reports: "tests: N passed, N failed, N skipped".
import fs from 'node:fs'

let passed = 0
let failed = 0
let skipped = 0
const [vitestFile, e2eFile] = process.argv.slice(2)
const read = (f) => (f && fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null)

const v = read(vitestFile)
if (v) {
  passed += v.numPassedTests
  failed += v.numFailedTests + (v.numRuntimeErrorTestSuites ?? 0)
  skipped += v.numPendingTests + v.numTodoTests
} else failed++

const e = read(e2eFile)
if (e) {
  passed += e.stats.expected + (e.stats.flaky ?? 0)
  failed += e.stats.unexpected
  skipped += e.stats.skipped
} else failed++

console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`)
