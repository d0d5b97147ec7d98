"use strict";
/** The worker thread of synthetic.ts: makes the PNGs its workerData describes, with scripts/synthetic/images.ts. */
require("tsx/cjs"); // compiles the TypeScript it requires, as bin/patchcore-inspect.js does
const { parentPort, workerData } = require("node:worker_threads");
const { brushedMetal, encodePng, paintSpot } = require("../../scripts/synthetic/images.ts");

(async () => {
  const out = [];
  for (const spec of workerData) {
    const image = brushedMetal(spec.width, spec.height, spec.seed);
    out.push(await encodePng(spec.spot ? paintSpot(image, spec.spot.cx, spec.spot.cy, spec.spot.r) : image));
  }
  parentPort.postMessage(out);
})();
