import { readFileSync } from "node:fs";
import path from "node:path";
import { costLines, lambdaCost, memorySizes, PRICES } from "../../scripts/bench/cost";
import { PROJECT_ROOT } from "../helpers/testStack";

describe("the bench's cost estimate", () => {
  it("bills each invocation's duration rounded up to the millisecond, times the memory in GB", () => {
    // 1000 x 249.2 ms -> 250 ms each at 3538 MB: 1000 x 0.25 s x 3.455 GB = 863.77 GB-s
    const line = lambdaCost("x", { memoryMb: 3538, durationMs: 249.2, durationSource: "test", count: 1000, s3Gets: 3 });
    expect(line.gbSeconds).toBeCloseTo((1000 * 0.25 * 3538) / 1024, 9);
    expect(line.lambdaCompute).toBeCloseTo(863.76953125 * 0.0000166667, 12);
    expect(line.lambdaRequests).toBeCloseTo(0.0002, 12);
    expect(line.apiGateway).toBeCloseTo(0.0035, 12);
    expect(line.s3).toBeCloseTo(0.0012, 12);
    expect(line.total).toBeCloseTo(line.lambdaCompute + 0.0002 + 0.0035 + 0.0012, 12);
    expect(PRICES.lambdaPerGbSecond).toBe(0.0000166667);
  });

  it("reads the functions' memory sizes from serverless.yml", () => {
    const memory = memorySizes(readFileSync(path.join(PROJECT_ROOT, "serverless.yml"), "utf8"));
    expect(memory).toMatchObject({ infer: 3538, fitOk: 3538, health: 1024, calibrateNg: 512, openapi: 256 });
  });

  it("prices the bench's warm inferences, cold start and 20-image fit, naming the measured duration of each", () => {
    const inference = {
      "vit-s14-shape": {
        infer: { banks: [{ rows: 1024, chosen: { knn: "exact", total: { p50: 253.7 } }, exact: { total: { p50: 260 } } }], cold: { firstInferMs: 1900 } },
        fit: {
          fits: [
            { images: 5, total_ms: 1500 },
            { images: 20, total_ms: 5750 },
          ],
        },
      },
    };
    const lines = costLines(inference, { infer: 3538, fitOk: 3538 });
    expect(lines.map((l) => [l.what, l.durationMs, l.count])).toEqual([
      ["1000 x /infer, vit-s14-shape, 1024-row bank (warm)", 253.7, 1000],
      ["a cold start of /infer, vit-s14-shape", 1900, 1],
      ["1 x /fit_ok, 20 images, vit-s14-shape", 5750, 1],
    ]);
    expect(lines[2]!.gbSeconds).toBeCloseTo((5.75 * 3538) / 1024, 9);
  });
});
