"use strict";
const path = require("node:path");
const Sequencer = require("@jest/test-sequencer").default;

/**
 * About how many seconds each file takes with two workers on a 2-core machine (measured; only
 * the order matters; a file not listed counts 1 s). The longest start first, so the two workers
 * end together rather than one waiting on the last long file. Jest's own order needs the durations of a previous run in its cache, which a fresh
 * clone (CI) does not have; then it orders by file size.
 */
const SECONDS = {
  "integration/package.test.ts": 119,
  "integration/fanOut.test.ts": 86,
  "integration/thresholds.test.ts": 47,
  "integration/localStart.test.ts": 45,
  "unit/twoStage.test.ts": 39,
  "integration/console.test.ts": 34,
  "integration/models.test.ts": 32,
  "integration/observability.test.ts": 28,
  "integration/api.test.ts": 22,
  "integration/s3Faults.test.ts": 19,
  "integration/cli.test.ts": 16,
  "unit/useCases.test.ts": 11,
  "integration/datasets.test.ts": 10,
  "integration/docs.test.ts": 9,
  "integration/modelDownload.test.ts": 9,
  "integration/indexPairing.test.ts": 9,
  "unit/anomalyMap.test.ts": 8,
  "integration/apiAccess.test.ts": 8,
  "integration/refitRace.test.ts": 8,
  "integration/init.test.ts": 7,
  "unit/onnxExtractor.test.ts": 6,
  "unit/generatedModels.test.ts": 5,
  "unit/pipeline.test.ts": 5,
  "integration/stageLayer.test.ts": 5,
  "integration/tracing.test.ts": 5,
};

class LongestFirst extends Sequencer {
  sort(tests) {
    const seconds = (test) => SECONDS[path.relative(path.join(test.context.config.rootDir, "test"), test.path).split(path.sep).join("/")] ?? 1;
    return [...tests].sort((a, b) => seconds(b) - seconds(a));
  }
}

module.exports = LongestFirst;
