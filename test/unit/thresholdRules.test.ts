import golden from "../fixtures/numpy_golden.json";
import { calibrate } from "../../lib/patchcore/calibration";
import { calibrateThreshold } from "../../lib/patchcore/thresholdCalibration";
import { allowedFalseAlarms, between, chooseThreshold, nextUp, type LabelledScores } from "../../lib/patchcore/thresholdRules";
import { SeededRandom } from "../../lib/random";

const scoresOf = (ok: readonly number[], ng: readonly number[] = []): LabelledScores => ({ ok: Float64Array.from(ok), ng: Float64Array.from(ng) });
const flagged = (threshold: number, values: readonly number[]) => values.filter((v) => v >= threshold).length;
const distinct = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b);

/**
 * The reference rules, written from their definitions over every cut "flag scores >= c" (c: each
 * distinct score, or Infinity: flag nothing), as plainly as possible.
 */
function referenceFalseAlarmCut(ok: readonly number[], ng: readonly number[], target: number): number {
  const n = ok.length;
  let allowed = -1; // the most OK scores at or above the cut with (allowed + 1) / (n + 1) <= target
  for (let k = 0; k < n; k++) if ((k + 1) / (n + 1) <= target) allowed = k;
  return [...distinct([...ok, ...ng]), Infinity].find((c) => flagged(c, ok) <= Math.max(allowed, 0))!;
}

function referenceF1Cut(ok: readonly number[], ng: readonly number[]): number {
  let best = NaN;
  let bestF1 = -1;
  for (const c of distinct([...ok, ...ng])) {
    const tp = flagged(c, ng);
    const fp = flagged(c, ok);
    const fn = ng.length - tp;
    const f1 = (2 * tp) / (2 * tp + fp + fn);
    if (f1 >= bestF1) [best, bestF1] = [c, f1]; // ascending: a tie goes to the higher cut
  }
  return best;
}

/** The rule's threshold makes exactly the cut's decisions on every score, and sits in the gap below the cut (its midpoint), or just above every score. */
function expectCut(threshold: number, cut: number, ok: readonly number[], ng: readonly number[]) {
  const all = [...ok, ...ng];
  expect(all.map((v) => v >= threshold)).toEqual(all.map((v) => v >= cut));
  const below = all.filter((v) => v < cut);
  if (cut === Infinity) {
    const highest = Math.max(...all);
    expect(threshold).toBeGreaterThan(highest);
    expect(threshold - highest).toBeLessThanOrEqual(Math.abs(highest) * 2 ** -52 || Number.MIN_VALUE);
  } else if (below.length > 0) {
    const a = Math.max(...below);
    expect(threshold).toBeGreaterThan(a);
    expect(threshold).toBeLessThanOrEqual(cut);
    expect(threshold).toBeCloseTo((a + cut) / 2, 12);
  } else {
    expect(threshold).toBe(cut);
  }
}

function randomSets(seed: number, count: number) {
  const random = new SeededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const nOk = 1 + random.int(15);
    const nNg = 1 + random.int(10);
    // half the sets on a coarse grid (many ties), half continuous and overlapping
    const draw = (shift: number) => (i % 2 === 0 ? random.int(8) / 4 + (random.int(3) === 0 ? shift : 0) : random.normal() + shift);
    return { ok: Array.from({ length: nOk }, () => draw(0)), ng: Array.from({ length: nNg }, () => draw(1.5)) };
  });
}

describe("rule false_alarm_rate: the split-conformal cut", () => {
  it("allows floor(target x (n + 1)) - 1 OK scores at or above the threshold", () => {
    expect([allowedFalseAlarms(0.1, 9), allowedFalseAlarms(0.09, 9), allowedFalseAlarms(0.5, 6), allowedFalseAlarms(0.005, 1000)]).toEqual([0, -1, 2, 4]);
    expect(allowedFalseAlarms(0.001, 50)).toBe(-1);
    expect(allowedFalseAlarms(0.999, 3)).toBe(2); // never all n
  });

  it.each([
    ["no OK score may be flagged: between the highest OK score and the next NG score", [1, 2, 3, 4], [3.5, 9], 0.2, 6.5],
    ["one OK score of 9 may be flagged: between the 8th and the 9th", [1, 2, 3, 4, 5, 6, 7, 8, 9], [], 0.2, 8.5],
    ["ties at the cut: the whole tie passes, so fewer are flagged than allowed", [1, 2, 3, 3, 3, 4], [], 0.5, 3.5],
    ["identical OK scores: just above them", [5, 5, 5, 5], [], 0.5, nextUp(5)],
    ["too few OK scores for the target: just above the highest", [0.2, 0.4, 0.1], [0.3], 0.001, nextUp(0.4)],
  ] as const)("%s", (_name, ok, ng, target, expected) => {
    const threshold = chooseThreshold(scoresOf(ok, ng), { rule: "false_alarm_rate", target, scorePercentile: 99 });
    expect(threshold).toBe(expected);
    expectCut(threshold, referenceFalseAlarmCut(ok, ng, target), ok, ng);
  });

  it("is the reference cut on 300 random sets (ties, overlaps), for several targets", () => {
    for (const { ok, ng } of randomSets(11, 300)) {
      for (const target of [0.01, 0.07, 0.2, 0.45]) {
        const threshold = chooseThreshold(scoresOf(ok, ng), { rule: "false_alarm_rate", target, scorePercentile: 99 });
        expectCut(threshold, referenceFalseAlarmCut(ok, ng, target), ok, ng);
      }
    }
  });

  it("keeps a new good part's chance of being flagged at most the target (exchangeable scores, 4000 draws)", () => {
    const random = new SeededRandom(3);
    for (const [n, target] of [
      [19, 0.1],
      [49, 0.05],
    ] as const) {
      let flaggedNew = 0;
      const draws = 4000;
      for (let d = 0; d < draws; d++) {
        const ok = Array.from({ length: n }, () => random.normal());
        const threshold = chooseThreshold(scoresOf(ok), { rule: "false_alarm_rate", target, scorePercentile: 99 });
        if (random.normal() >= threshold) flaggedNew++;
      }
      // the threshold lies above the (n - k)-th OK score and at most at the next one (k = the OK scores allowed at or above),
      // so a new part is flagged with probability between k / (n + 1) and (k + 1) / (n + 1) <= target; 4000 draws: 3 standard errors
      const k = allowedFalseAlarms(target, n);
      const [lo, hi] = [k / (n + 1), (k + 1) / (n + 1)];
      const slack = 3 * Math.sqrt((hi * (1 - hi)) / draws);
      expect(hi).toBeLessThanOrEqual(target);
      expect(flaggedNew / draws).toBeGreaterThan(lo - slack);
      expect(flaggedNew / draws).toBeLessThan(hi + slack);
    }
  });
});

describe("rule f1: the highest F1 over the cuts, the higher cut among ties", () => {
  it.each([
    ["separated scores: the middle of the gap", [1, 2, 3], [10, 12], 6.5],
    ["a single NG score among the OK scores", [1, 2, 3], [2.5], 2.25],
    ["a single NG score above all", [1, 2, 3], [10], 6.5],
    ["ties across labels: cut at 3 (F1 0.75) beats 2 (8/11)", [1, 2, 2, 3], [2, 3, 3, 4], 2.5],
    ["identical scores: the only cut flags everything", [5, 5, 5], [5, 5], 5],
    ["equal F1 at two cuts (2/3 at 2.5 and at 9): the higher", [1, 2, 3, 4], [2.5, 9], 6.5],
  ] as const)("%s", (_name, ok, ng, expected) => {
    const threshold = chooseThreshold(scoresOf(ok, ng), { rule: "f1", target: null, scorePercentile: 99 });
    expect(threshold).toBe(expected);
    expectCut(threshold, referenceF1Cut(ok, ng), ok, ng);
  });

  it("is the reference cut on 300 random sets (ties, overlaps)", () => {
    for (const { ok, ng } of randomSets(12, 300)) {
      const threshold = chooseThreshold(scoresOf(ok, ng), { rule: "f1", target: null, scorePercentile: 99 });
      expectCut(threshold, referenceF1Cut(ok, ng), ok, ng);
    }
  });

  it("needs NG scores", () => {
    expect(() => chooseThreshold(scoresOf([1, 2]), { rule: "f1", target: null, scorePercentile: 99 })).toThrow(RangeError);
  });
});

describe("rule old: the old backend's numbers to the bit", () => {
  it.each(golden.calibration.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const input = { okScores: c.ok, ngScores: c.ng, scorePercentile: c.q, mmPerPx: 0.2, areaMm2Threshold: 1.5 };
    const old = calibrate(input);
    const ruled = calibrateThreshold({ ...input, rule: "old", target: null, errorRates: "in_sample" });
    expect(Object.is(ruled.threshold, old.threshold)).toBe(true);
    expect(ruled).toMatchObject(old);
    expect(chooseThreshold(scoresOf(c.ok, c.ng ?? []), { rule: "old", target: null, scorePercentile: c.q })).toBe(old.threshold);
  });

  it("keeps the old figures under any rule (p99_ok, p5_ng, means), only the threshold changes", () => {
    const input = { okScores: [1, 2, 3, 4], ngScores: [2.5, 9], scorePercentile: 99, mmPerPx: 0.2, areaMm2Threshold: 1.5 };
    const old = calibrate(input);
    const f1 = calibrateThreshold({ ...input, rule: "f1", target: null, errorRates: "in_sample" });
    const { threshold: _t1, ...oldRest } = old;
    const { threshold, rule, target, false_alarm_rate: _f, miss_rate: _m, warnings: _w, ...f1Rest } = f1;
    expect(f1Rest).toEqual(oldRest);
    expect([threshold, rule, target]).toEqual([6.5, "f1", null]);
  });
});

describe("the gap helpers", () => {
  it("between: the midpoint, or the upper end for adjacent doubles", () => {
    expect(between(1, 2)).toBe(1.5);
    expect(between(1, nextUp(1))).toBe(nextUp(1));
    expect(between(-3, -1)).toBe(-2);
  });

  it("nextUp: the next double", () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-1)).toBeGreaterThan(-1);
    expect(nextUp(-1)).toBe(-1 + Number.EPSILON / 2);
  });
});

describe("the fixed rule", () => {
  it("stores the threshold given, and its error rates are the scores counted against it", () => {
    const scores = scoresOf([0.1, 0.2, 0.3, 0.4], [0.25, 0.5]);
    expect(chooseThreshold(scores, { rule: "fixed", target: null, fixedThreshold: 0.35, scorePercentile: 99 })).toBe(0.35);
    expect(() => chooseThreshold(scores, { rule: "fixed", target: null, fixedThreshold: null, scorePercentile: 99 })).toThrow(/threshold must be > 0/);
    const calibrated = calibrateThreshold({
      okScores: [0.1, 0.2, 0.3, 0.4],
      ngScores: [0.25, 0.5],
      rule: "fixed",
      target: null,
      fixedThreshold: 0.35,
      scorePercentile: 99,
      mmPerPx: 0.1,
      areaMm2Threshold: 1,
      errorRates: "cross_validation",
    });
    // 0.4 of the OK scores is at or above 0.35 (1 of 4); 0.25 of the NG scores is under it (1 of 2): counted on every score, no folds
    expect([calibrated.threshold, calibrated.false_alarm_rate.count, calibrated.false_alarm_rate.n, calibrated.miss_rate?.count]).toEqual([0.35, 1, 4, 1]);
    expect([calibrated.false_alarm_rate.estimated_on, calibrated.false_alarm_rate.folds]).toEqual(["in_sample", null]);
    // said of the data (4 OK, 2 NG, overlapping), never that it could not be cross-validated: a fixed threshold needs no folds
    expect(calibrated.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(["scores_overlap", "wide_interval"]));
    expect(calibrated.warnings.map((w) => w.code)).not.toContain("not_cross_validated");
  });
});
