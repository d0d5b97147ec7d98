import { oldRule } from "./calibration";

/**
 * The rules that choose a threshold from image scores (a part is defective when its score is
 * >= the threshold):
 * - `old`: the old backend's percentile rule (calibration.ts), unchanged.
 * - `false_alarm_rate`: the cut that flags the most parts while its false-alarm rate on new good
 *   parts stays at most `target`, by the split-conformal order statistic: with n OK scores, a new good part's score
 *   exceeds the j-th smallest with probability at most (n + 1 - j) / (n + 1) (exchangeable scores;
 *   Vovk et al. 2005, Angelopoulos & Bates 2021, "A gentle introduction to conformal prediction").
 *   So at most floor(target x (n + 1)) - 1 of the OK scores may be at or above the threshold.
 * - `f1`: the threshold of the highest F1 = 2TP / (2TP + FP + FN) on the scores given (NG
 *   positive), among the cuts between distinct scores; of cuts with equal F1 (compared exactly,
 *   as fractions), the highest, which flags fewer good parts.
 * - `fixed`: a threshold chosen by a person (e.g. dragged over the scores' histogram in the
 *   console), stored as given; the scores only tell its error rates.
 * A threshold that must separate two scores a < b is placed in the gap, at its midpoint: every
 * score given is classified as the cut says, and small drifts of a score do not flip it.
 */
export const THRESHOLD_RULES = ["old", "false_alarm_rate", "f1", "fixed"] as const;
export type ThresholdRule = (typeof THRESHOLD_RULES)[number];

export interface RuleSettings {
  readonly rule: ThresholdRule;
  /** false_alarm_rate only: the largest share of good parts that may be flagged, in (0, 1). */
  readonly target: number | null;
  /** fixed only: the threshold itself, > 0. */
  readonly fixedThreshold?: number | null;
  /** old only: the OK scores' percentile. */
  readonly scorePercentile: number;
}

/** A calibration's scores: `ok` float64 [n_ok] (n_ok >= 1), `ng` float64 [n_ng] (may be empty); any order. */
export interface LabelledScores {
  readonly ok: Float64Array;
  readonly ng: Float64Array;
}

/** The threshold `settings` choose from `scores`. */
export function chooseThreshold(scores: LabelledScores, settings: RuleSettings): number {
  if (scores.ok.length === 0) throw new RangeError("chooseThreshold: no OK scores");
  switch (settings.rule) {
    case "old":
      return oldRule(scores.ok, scores.ng, settings.scorePercentile).threshold;
    case "false_alarm_rate":
      return falseAlarmRateThreshold(scores, settings.target);
    case "f1":
      return f1Threshold(scores);
    case "fixed":
      if (!settings.fixedThreshold || !(settings.fixedThreshold > 0)) throw new RangeError(`fixed rule: threshold must be > 0, got ${settings.fixedThreshold}`);
      return settings.fixedThreshold;
  }
}

/** How many of n OK scores may be at or above a threshold whose false-alarm rate on new parts is at most `target`; -1: none can (target < 1/(n + 1)). */
export function allowedFalseAlarms(target: number, n: number): number {
  // the product is taken exact up to 1e-9, so that e.g. 0.1 x 10 counts as 1
  return Math.floor(target * (n + 1) + 1e-9) - 1;
}

function falseAlarmRateThreshold(scores: LabelledScores, target: number | null): number {
  if (target === null || !(target > 0 && target < 1)) throw new RangeError(`false_alarm_rate rule: target must be in (0, 1), got ${target}`);
  const ok = Float64Array.from(scores.ok).sort();
  const n = ok.length;
  // the highest OK score that must pass; when no OK score may be flagged and even that is more
  // than the target allows (too few OK scores), the highest one all the same
  const mustPass = ok[n - 1 - Math.max(allowedFalseAlarms(target, n), 0)]!;
  let above = Infinity;
  for (const values of [ok, scores.ng]) for (const v of values) if (v > mustPass && v < above) above = v;
  return above === Infinity ? nextUp(mustPass) : between(mustPass, above);
}

function f1Threshold(scores: LabelledScores): number {
  const positives = scores.ng.length;
  if (positives === 0) throw new RangeError("f1 rule: no NG scores");
  const cuts = cutCounts(scores);
  let best = 0;
  for (let i = 1; i < cuts.values.length; i++) {
    const tp = cuts.ngAtOrAbove[i]!;
    const fp = cuts.okAtOrAbove[i]!;
    const bestTp = cuts.ngAtOrAbove[best]!;
    const bestFp = cuts.okAtOrAbove[best]!;
    // F1 = 2tp / (tp + fp + P): compare tp / (tp + fp + P) exactly, crossed (counts are integers)
    if (tp * (bestTp + bestFp + positives) >= bestTp * (tp + fp + positives)) best = i;
  }
  return best === 0 ? cuts.values[0]! : between(cuts.values[best - 1]!, cuts.values[best]!);
}

/**
 * Every distinct score of both labels, ascending (`values`, float64 [m]), and for each the number
 * of OK and of NG scores at or above it (int32 [m]): the counts of the cut "flag >= values[i]".
 */
export function cutCounts(scores: LabelledScores): { values: Float64Array; okAtOrAbove: Int32Array; ngAtOrAbove: Int32Array } {
  const ok = Float64Array.from(scores.ok).sort();
  const ng = Float64Array.from(scores.ng).sort();
  const all = new Float64Array(ok.length + ng.length);
  all.set(ok);
  all.set(ng, ok.length);
  all.sort();
  let m = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[m++] = all[i]!;
  const values = all.slice(0, m);
  const okAtOrAbove = new Int32Array(m);
  const ngAtOrAbove = new Int32Array(m);
  let io = 0;
  let ig = 0;
  for (let i = 0; i < m; i++) {
    while (io < ok.length && ok[io]! < values[i]!) io++;
    while (ig < ng.length && ng[ig]! < values[i]!) ig++;
    okAtOrAbove[i] = ok.length - io;
    ngAtOrAbove[i] = ng.length - ig;
  }
  return { values, okAtOrAbove, ngAtOrAbove };
}

/** A threshold t with a < t <= b (a < b): the gap's midpoint, or b when a and b are adjacent doubles. */
export function between(a: number, b: number): number {
  const mid = a + (b - a) / 2;
  return mid > a && mid <= b ? mid : b;
}

const bits = new BigInt64Array(1);
const asDouble = new Float64Array(bits.buffer);

/** The smallest double above x (x finite). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  asDouble[0] = x;
  bits[0] = x > 0 ? bits[0]! + 1n : bits[0]! - 1n;
  return asDouble[0]!;
}
