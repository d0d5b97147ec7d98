import { auroc, BinnedAuroc, precisionRecallF1, rocCurve } from "../../scripts/eval/metrics";

describe("evaluation metrics", () => {
  it("auroc: perfect, inverted, random-tie and a hand-computed case", () => {
    expect(auroc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(auroc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    expect(auroc([0.5, 0.5, 0.5, 0.5], [false, true, false, true])).toBe(0.5);
    // positives 0.4, 0.8; negatives 0.1, 0.5, 0.6: pairs won 1/3 and 3/3 -> 4/6 (sklearn gives 0.6667)
    expect(auroc([0.1, 0.4, 0.5, 0.6, 0.8], [false, true, false, false, true])).toBeCloseTo(4 / 6, 12);
  });

  it("the binned pixel AUROC agrees with the exact one", () => {
    const scores = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 0.5 + (i % 7 === 0 ? 0.6 : 0));
    const truth = Uint8Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? 1 : 0));
    const binned = new BinnedAuroc(-1, 2, 1 << 16);
    binned.add(scores.subarray(0, 2500), truth.subarray(0, 2500));
    binned.add(scores.subarray(2500), truth.subarray(2500));
    expect(binned.result().auroc).toBeCloseTo(auroc(Array.from(scores), Array.from(truth, Boolean)), 3);
  });

  it("roc curve runs from (0,0) to (1,1)", () => {
    const curve = rocCurve([0.1, 0.4, 0.5, 0.6, 0.8], [false, true, false, false, true]);
    expect(curve[0]).toEqual([0, 0]);
    expect(curve.at(-1)).toEqual([1, 1]);
  });

  it("precision, recall, F1", () => {
    expect(precisionRecallF1([true, true, false, false], [true, false, true, false])).toMatchObject({
      tp: 1,
      fp: 1,
      fn: 1,
      tn: 1,
      precision: 0.5,
      recall: 0.5,
      f1: 0.5,
    });
  });
});
