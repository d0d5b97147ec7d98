import { clopperPearson } from "./binomialInterval";
import { chooseThreshold, type LabelledScores, type RuleSettings } from "./thresholdRules";

/** Confidence of every stated interval. */
export const CONFIDENCE = 0.95;

/** Folds of a cross-validated estimate (fewer when there are fewer OK scores). */
export const CV_FOLDS = 5;

export type EstimatedOn = "in_sample" | "cross_validation";

/**
 * A rate with its interval: `count` events out of `n` (false alarms out of OK images, or misses
 * out of NG images), `estimate` = count / n, [low, high] Clopper-Pearson at `confidence`.
 * `estimated_on`: `in_sample` when counted on the scores that chose the threshold (optimistic),
 * `cross_validation` when each score was counted against a threshold chosen without it (`folds`).
 */
export interface ErrorRate {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly n: number;
  readonly count: number;
  readonly confidence: number;
  readonly method: "clopper_pearson";
  readonly estimated_on: EstimatedOn;
  readonly folds: number | null;
}

/** False alarms (OK scores >= threshold) out of nOk, misses (NG scores < threshold) out of nNg. */
export interface ErrorCounts {
  readonly falseAlarms: number;
  readonly nOk: number;
  readonly misses: number;
  readonly nNg: number;
}

export function countErrors(threshold: number, scores: LabelledScores): ErrorCounts {
  let falseAlarms = 0;
  let misses = 0;
  for (const v of scores.ok) if (v >= threshold) falseAlarms++;
  for (const v of scores.ng) if (v < threshold) misses++;
  return { falseAlarms, nOk: scores.ok.length, misses, nNg: scores.ng.length };
}

/**
 * How many folds a cross-validation of `rule` can have: CV_FOLDS, or n_ok if fewer (every fold
 * holds an OK score out); null when it cannot run: under 2 OK scores, or under 2 NG scores for
 * f1 (some fold's other folds would hold no NG score to choose by).
 */
export function foldsFor(nOk: number, nNg: number, rule: RuleSettings["rule"]): number | null {
  const folds = Math.min(CV_FOLDS, nOk);
  if (folds < 2 || (rule === "f1" && nNg < 2)) return null;
  return folds;
}

/**
 * k-fold cross-validation of a rule, stratified by label: the i-th score of each label (in the
 * order given) is in fold i mod k; each fold's threshold is chosen by the rule on the other folds'
 * scores and its own scores are counted against it. Every score is counted once.
 */
export function crossValidatedCounts(scores: LabelledScores, settings: RuleSettings, folds: number): ErrorCounts {
  if (!Number.isInteger(folds) || folds < 2 || folds > scores.ok.length)
    throw new RangeError(`crossValidatedCounts: ${folds} folds for ${scores.ok.length} OK scores`);
  let falseAlarms = 0;
  let misses = 0;
  for (let fold = 0; fold < folds; fold++) {
    const ok = split(scores.ok, folds, fold);
    const ng = split(scores.ng, folds, fold);
    const threshold = chooseThreshold({ ok: ok.rest, ng: ng.rest }, settings);
    const counts = countErrors(threshold, { ok: ok.held, ng: ng.held });
    falseAlarms += counts.falseAlarms;
    misses += counts.misses;
  }
  return { falseAlarms, nOk: scores.ok.length, misses, nNg: scores.ng.length };
}

/** `values` [n] split into fold `fold` (indices i with i mod folds = fold) and the rest, order kept. */
function split(values: Float64Array, folds: number, fold: number): { held: Float64Array; rest: Float64Array } {
  const held: number[] = [];
  const rest: number[] = [];
  values.forEach((v, i) => (i % folds === fold ? held : rest).push(v));
  return { held: Float64Array.from(held), rest: Float64Array.from(rest) };
}

/** The rate of `count` events in `n`, with its interval; null when n = 0 (nothing to count). */
export function errorRate(count: number, n: number, estimatedOn: EstimatedOn, folds: number | null): ErrorRate | null {
  if (n === 0) return null;
  const { low, high } = clopperPearson(count, n, CONFIDENCE);
  return { estimate: count / n, low, high, n, count, confidence: CONFIDENCE, method: "clopper_pearson", estimated_on: estimatedOn, folds };
}

/** Both rates of a calibration from its counts. */
export function errorRates(counts: ErrorCounts, estimatedOn: EstimatedOn, folds: number | null) {
  return {
    false_alarm_rate: errorRate(counts.falseAlarms, counts.nOk, estimatedOn, folds)!,
    miss_rate: errorRate(counts.misses, counts.nNg, estimatedOn, folds),
  };
}
