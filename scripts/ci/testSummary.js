"use strict";
/**
 * Prints jest's counts as one plain line ("jest: N passed, N failed, N skipped"), the closing line
 * CI reads, from the results file `npm test` has jest write (--json --outputFile). No file (jest
 * did not run: lint, types or models failed first) prints nothing.
 * Usage: node scripts/ci/testSummary.js <results.json>
 */
const { existsSync, readFileSync } = require("node:fs");

const file = process.argv[2];
if (file && existsSync(file)) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
}
