import { calibrateThreshold } from "../../lib/patchcore/thresholdCalibration";
import type { ThresholdRule } from "../../lib/patchcore/thresholdRules";

const base = { scorePercentile: 99, mmPerPx: 0.1, areaMm2Threshold: 1, errorRates: "in_sample" as const };
const spread = (n: number, from = 0.1, step = 0.001) => Array.from({ length: n }, (_, i) => from + i * step);
const warningsOf = (ok: number[], ng: number[] | null, rule: ThresholdRule, target: number | null = null) =>
  calibrateThreshold({ ...base, okScores: ok, ngScores: ng, rule, target }).warnings;
const codes = (...args: Parameters<typeof warningsOf>) => warningsOf(...args).map((w) => w.code);

describe("calibration warnings: what the data cannot support, in words", () => {
  it("a 0.1 % target from 50 good images: says how many OK scores it needs and where the threshold went", () => {
    const [first, ...rest] = warningsOf(spread(50), spread(10, 0.5), "false_alarm_rate", 0.001);
    expect(first).toEqual({
      code: "target_needs_more_ok",
      message:
        "A false-alarm rate of at most 0.1 % needs at least 999 OK scores; there are 50: even a threshold above all of them flags about 1 new good part in 51 (1.96 %). " +
        "The threshold is just above the highest OK score.",
    });
    expect(rest.map((w) => w.code)).toEqual([]);
  });

  it("a reachable target with too few OK scores to confirm it: how many clean OK scores would", () => {
    // 0.05 x 41 = 2.05: one of 40 OK scores may be flagged (and is: 1 of 40, up to 13.2 %); 72 OK scores with none flagged bring the upper bound under 5 %
    const [warning, ...rest] = warningsOf(spread(40), spread(10, 0.5), "false_alarm_rate", 0.05);
    expect(warning).toEqual({
      code: "interval_above_target",
      message:
        "The false-alarm rate's 95 % interval reaches 13.2 %, above the 5 % target: 40 OK scores (1 flagged) cannot confirm a rate that low; " +
        "at least 72 OK scores with none flagged would.",
    });
    expect(rest).toEqual([]);
    // 72 OK scores or more: the rule aims at the target on average, its interval straddling it; nothing to say
    expect(codes(spread(72), spread(10, 0.5), "false_alarm_rate", 0.05)).toEqual([]);
    expect(codes(spread(2000, 0.1, 0.0001), spread(10, 0.5), "false_alarm_rate", 0.05)).toEqual([]);
  });

  it("no NG scores: the miss rate is unknown", () => {
    expect(codes(spread(40), null, "old")).toEqual(["no_ng_scores"]);
    expect(codes(spread(40), [], "false_alarm_rate", 0.2)).toEqual(["no_ng_scores"]);
  });

  it("overlapping scores: how many NG scores sit among the OK ones, and the AUROC", () => {
    const [warning] = warningsOf(spread(40), [...spread(20, 0.5), 0.12, 0.13], "f1");
    expect(warning).toEqual({
      code: "scores_overlap",
      message: expect.stringMatching(/^OK and NG scores overlap: 2 of 22 NG scores are at or below the highest OK score \(AUROC 0\.9\d\d\)/),
    });
  });

  it("NG scores no higher than OK scores (identical scores included): no threshold can tell them apart", () => {
    expect(codes(Array(10).fill(0.2), Array(10).fill(0.2), "f1")).toEqual(["scores_not_separated"]);
    expect(codes(spread(20, 0.5), spread(20, 0.1), "old")).toEqual(["scores_not_separated"]);
  });

  it("a single NG score: its miss rate's interval is too wide to say anything", () => {
    const warnings = warningsOf(spread(30), [0.9], "f1");
    expect(warnings).toEqual([{ code: "wide_interval", message: "The miss rate's 95 % interval is 0 % to 97.5 %: 1 NG scores say little about it." }]);
  });

  it("separated scores in numbers enough: no warning", () => {
    expect(codes(spread(30), spread(30, 0.5), "f1")).toEqual([]);
    expect(codes(spread(30), spread(30, 0.5), "old")).toEqual([]);
  });
});
