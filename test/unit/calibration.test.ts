import golden from "../fixtures/numpy_golden.json";
import { calibrate } from "../../lib/patchcore/calibration";
import { percentile, percentiles, percentilesFloat32 } from "../../lib/patchcore/percentile";

describe("percentile: numpy's linear interpolation", () => {
  it("matches numpy on 1001 normal values at edge and interior percentiles", () => {
    const got = percentiles(golden.percentile.values, golden.percentile.q);
    got.forEach((v, i) => expect(v).toBeCloseTo(golden.percentile.expected[i]!, 12));
  });

  it("gives each requested percentile in the order asked, duplicates included", () => {
    const values = golden.percentile.values;
    const qs = [99, 1, 99, 50, 0, 100];
    const expected = qs.map((q) => golden.percentile.expected[golden.percentile.q.indexOf(q)]!);
    percentiles(values, qs).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 12));
  });

  it("float32 radix version: the same values as the selection one, exactly", () => {
    const cases = [
      Float32Array.from(golden.percentile.values),
      Float32Array.from({ length: 200_000 }, (_, i) => Math.sin(i * 0.37) * 3 + (i % 97 === 0 ? 40 : 0)),
      Float32Array.from({ length: 1000 }, (_, i) => (i % 3) - 1), // ties and -0/+0 territory
      Float32Array.of(5),
      Float32Array.from({ length: 5000 }, (_, i) => 1e-3 * (i % 17) + 0.25), // values packed into few top-16-bit bins
    ];
    const qs = [0, 1, 5, 33.3, 50, 95, 99, 99.9, 100];
    for (const values of cases) {
      const expected = percentiles(Float64Array.from(values), qs);
      expect(percentilesFloat32(values, qs)).toEqual(expected);
    }
    expect(percentilesFloat32(Float32Array.from(golden.percentile.values), golden.percentile.q)).toEqual(
      percentiles(Float64Array.from(Float32Array.from(golden.percentile.values)), golden.percentile.q),
    );
  });

  it("leaves its input untouched", () => {
    const values = Float32Array.from([5, 1, 4, 2, 3]);
    percentile(values, 50);
    expect(Array.from(values)).toEqual([5, 1, 4, 2, 3]);
  });

  it.each([[-1], [100.5], [NaN]])("rejects percentile %p", (q) => {
    expect(() => percentile([1, 2], q)).toThrow(RangeError);
  });

  it("rejects an empty set", () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
  });
});

describe("calibrate: the old backend's threshold rule, against numpy", () => {
  it.each(golden.calibration.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const result = calibrate({ okScores: c.ok, ngScores: c.ng, scorePercentile: c.q, mmPerPx: 0.2, areaMm2Threshold: 1.5 });
    expect(result.threshold).toBeCloseTo(c.threshold, 12);
    expect(result.p99_ok).toBeCloseTo(c.p_ok, 12);
    if (c.p5_ng === null) expect(result.p5_ng).toBeNull();
    else expect(result.p5_ng).toBeCloseTo(c.p5_ng, 12);
    expect(result.ok_mean).toBeCloseTo(c.ok_mean, 12);
    expect(result.ng_mean).toBeCloseTo(c.ng_mean, 12);
    expect(result).toMatchObject({ mm_per_px: 0.2, area_mm2_thr: 1.5, score_percentile: c.q });
  });

  it("has the response's field names exactly", () => {
    expect(Object.keys(calibrate({ okScores: [1], scorePercentile: 99, mmPerPx: 0.2, areaMm2Threshold: 1 })).sort()).toEqual(
      ["area_mm2_thr", "mm_per_px", "ng_mean", "ok_mean", "p5_ng", "p99_ok", "score_percentile", "threshold"].sort(),
    );
  });
});
