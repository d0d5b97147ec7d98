"use strict";
const path = require("node:path");
const Sequencer = require("@jest/test-sequencer").default;

/**
 * Seconds each file takes on a quiet 2-core machine (measured; a file not listed counts 1 s).
 * The longest start first, so the two workers end together rather than one waiting on the last
 * long file. Jest's own order needs the durations of a previous run in its cache, which a fresh
 * clone (CI) does not have; then it orders by file size.
 */
const SECONDS = {
  "integration/package.test.ts": 60,
  "integration/fanOut.test.ts": 45,
  "integration/localStart.test.ts": 40,
  "unit/twoStage.test.ts": 30,
  "integration/cli.test.ts": 25,
  "integration/docs.test.ts": 20,
  "integration/api.test.ts": 20,
  "integration/s3Faults.test.ts": 15,
  "integration/datasets.test.ts": 15,
  "integration/modelDownload.test.ts": 10,
  "integration/stageLayer.test.ts": 10,
  "integration/refitRace.test.ts": 10,
  "unit/useCases.test.ts": 9,
  "integration/init.test.ts": 6,
  "unit/anomalyMap.test.ts": 6,
  "integration/indexPairing.test.ts": 5,
  "integration/apiAccess.test.ts": 5,
  "integration/health.test.ts": 5,
  "integration/malformedBodies.test.ts": 4,
  "unit/onnxExtractor.test.ts": 4,
  "unit/pipeline.test.ts": 4,
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const seconds = (test) => SECONDS[path.relative(path.join(test.context.config.rootDir, "test"), test.path).split(path.sep).join("/")] ?? 1;
    return [...tests].sort((a, b) => seconds(b) - seconds(a));
  }
}

module.exports = LongestFirst;
