import { clopperPearson } from "../../lib/patchcore/binomialInterval";
import { countErrors, crossValidatedCounts, errorRate, foldsFor } from "../../lib/patchcore/errorRates";
import { auroc, scoreCurve } from "../../lib/patchcore/scoreCurve";
import { calibrateThreshold } from "../../lib/patchcore/thresholdCalibration";
import { chooseThreshold, type LabelledScores, type RuleSettings } from "../../lib/patchcore/thresholdRules";
import { SeededRandom } from "../../lib/random";

const scoresOf = (ok: readonly number[], ng: readonly number[] = []): LabelledScores => ({ ok: Float64Array.from(ok), ng: Float64Array.from(ng) });
const base = { scorePercentile: 99, mmPerPx: 0.1, areaMm2Threshold: 1 };

describe("error counts and rates", () => {
  it("counts OK scores at or above the threshold as false alarms, NG scores below it as misses", () => {
    expect(countErrors(3, scoresOf([1, 3, 5], [2, 3, 9, 2.999]))).toEqual({ falseAlarms: 2, nOk: 3, misses: 2, nNg: 4 });
  });

  it("gives each rate its Clopper-Pearson interval and says how it was estimated; no rate without scores", () => {
    expect(errorRate(2, 13, "cross_validation", 5)).toEqual({
      estimate: 2 / 13,
      ...clopperPearson(2, 13),
      n: 13,
      count: 2,
      confidence: 0.95,
      method: "clopper_pearson",
      estimated_on: "cross_validation",
      folds: 5,
    });
    expect(errorRate(0, 0, "in_sample", null)).toBeNull();
  });
});

describe("cross-validation", () => {
  it("takes 5 folds, fewer with fewer OK scores, none under 2 OK (or 2 NG for f1)", () => {
    expect([foldsFor(100, 0, "old"), foldsFor(3, 0, "false_alarm_rate"), foldsFor(1, 10, "old"), foldsFor(40, 1, "f1"), foldsFor(40, 2, "f1")]).toEqual([
      5,
      3,
      null,
      null,
      5,
    ]);
  });

  it("old rule on 1..10, 5 folds, worked by hand: fold i holds the i-th and (i+5)-th scores; only 10 is at or above its fold's threshold", () => {
    // fold 4 holds 5 and 10; the other eight, 1 2 3 4 6 7 8 9, have a 99th percentile of 8 + 0.93 x (9 - 8) = 8.93 <= 10;
    // every other fold keeps 10 in its training scores (percentile 9.93), above both of its held scores
    expect(crossValidatedCounts(scoresOf([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), { rule: "old", target: null, scorePercentile: 99 }, 5)).toEqual({
      falseAlarms: 1,
      nOk: 10,
      misses: 0,
      nNg: 0,
    });
  });

  it("is a loop over folds that chooses on the others and counts the held-out scores, for every rule, on random sets", () => {
    const random = new SeededRandom(5);
    const rules: RuleSettings[] = [
      { rule: "old", target: null, scorePercentile: 99 },
      { rule: "false_alarm_rate", target: 0.1, scorePercentile: 99 },
      { rule: "f1", target: null, scorePercentile: 99 },
    ];
    for (let set = 0; set < 60; set++) {
      const ok = Array.from({ length: 5 + random.int(30) }, () => random.normal());
      const ng = Array.from({ length: 2 + random.int(20) }, () => random.normal() + 2);
      for (const settings of rules) {
        const folds = foldsFor(ok.length, ng.length, settings.rule)!;
        let falseAlarms = 0;
        let misses = 0;
        for (let f = 0; f < folds; f++) {
          const inFold = (_: number, i: number) => i % folds === f;
          const outOfFold = (_: number, i: number) => i % folds !== f;
          const threshold = chooseThreshold(scoresOf(ok.filter(outOfFold), ng.filter(outOfFold)), settings);
          falseAlarms += ok.filter(inFold).filter((v) => v >= threshold).length;
          misses += ng.filter(inFold).filter((v) => v < threshold).length;
        }
        expect(crossValidatedCounts(scoresOf(ok, ng), settings, folds)).toEqual({ falseAlarms, nOk: ok.length, misses, nNg: ng.length });
      }
    }
  });

  it("calibrateThreshold: cross-validated rates with their folds, the threshold itself from all the scores", () => {
    const ok = [0.1, 0.3, 0.2, 0.25, 0.15, 0.22, 0.28, 0.12, 0.18, 0.31];
    const ng = [0.5, 0.27, 0.6, 0.7];
    const inSample = calibrateThreshold({ ...base, okScores: ok, ngScores: ng, rule: "f1", target: null, errorRates: "in_sample" });
    const crossed = calibrateThreshold({ ...base, okScores: ok, ngScores: ng, rule: "f1", target: null, errorRates: "cross_validation" });
    expect(crossed.threshold).toBe(inSample.threshold);
    const counts = crossValidatedCounts(scoresOf(ok, ng), { rule: "f1", target: null, scorePercentile: 99 }, 5);
    expect(crossed.false_alarm_rate).toMatchObject({ estimated_on: "cross_validation", folds: 5, n: 10, count: counts.falseAlarms });
    expect(crossed.miss_rate).toMatchObject({ estimated_on: "cross_validation", folds: 5, n: 4, count: counts.misses });
    expect(inSample.false_alarm_rate).toMatchObject({ estimated_on: "in_sample", folds: null, count: ok.filter((v) => v >= inSample.threshold).length });
  });

  it("falls back to in-sample rates, with a warning, when there are too few scores to cross-validate", () => {
    const one = calibrateThreshold({ ...base, okScores: [0.2], ngScores: [0.5, 0.6], rule: "old", target: null, errorRates: "cross_validation" });
    expect(one.false_alarm_rate).toMatchObject({ estimated_on: "in_sample", folds: null, n: 1 });
    expect(one.warnings.map((w) => w.code)).toContain("not_cross_validated");
    const f1 = calibrateThreshold({ ...base, okScores: [0.1, 0.2, 0.3], ngScores: [0.5], rule: "f1", target: null, errorRates: "cross_validation" });
    expect(f1.warnings.find((w) => w.code === "not_cross_validated")?.message).toMatch(/3 OK, 1 NG; it needs at least 2 OK and 2 NG/);
  });
});

describe("the score curve", () => {
  it("lists each distinct score with the counts flagged at it, as counting does", () => {
    const random = new SeededRandom(8);
    for (let set = 0; set < 30; set++) {
      const ok = Array.from({ length: 1 + random.int(20) }, () => random.int(10) / 10);
      const ng = Array.from({ length: random.int(12) }, () => random.int(10) / 10 + 0.3);
      const curve = scoreCurve(scoresOf(ok, ng));
      const distinct = [...new Set([...ok, ...ng])].sort((a, b) => a - b);
      expect(curve.points.map((p) => p.threshold)).toEqual(distinct);
      for (const point of curve.points) {
        const okFlagged = ok.filter((v) => v >= point.threshold).length;
        const ngFlagged = ng.filter((v) => v >= point.threshold).length;
        expect(point).toEqual({
          threshold: point.threshold,
          ok_flagged: okFlagged,
          ng_flagged: ngFlagged,
          false_alarm_rate: okFlagged / ok.length,
          detection_rate: ng.length > 0 ? ngFlagged / ng.length : null,
        });
      }
      expect([curve.n_ok, curve.n_ng]).toEqual([ok.length, ng.length]);
    }
  });

  it("AUROC: the share of (NG, OK) pairs with the NG score above, ties half", () => {
    const random = new SeededRandom(9);
    for (let set = 0; set < 30; set++) {
      const ok = Array.from({ length: 1 + random.int(20) }, () => random.int(6));
      const ng = Array.from({ length: 1 + random.int(12) }, () => random.int(6) + 1);
      let pairs = 0;
      for (const n of ng) for (const o of ok) pairs += n > o ? 1 : n === o ? 0.5 : 0;
      expect(auroc(scoresOf(ok, ng))).toBeCloseTo(pairs / (ok.length * ng.length), 14);
    }
    expect(auroc(scoresOf([1, 2]))).toBeNull();
    expect([auroc(scoresOf([1, 2], [3])), auroc(scoresOf([3], [1, 2])), auroc(scoresOf([5, 5], [5]))]).toEqual([1, 0, 0.5]);
  });
});
