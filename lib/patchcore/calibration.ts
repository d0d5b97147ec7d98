import { mean, percentile } from "./percentile";

export interface CalibrationInput {
  readonly okScores: readonly number[];
  readonly ngScores?: readonly number[] | null;
  readonly scorePercentile: number;
  readonly mmPerPx: number;
  readonly areaMm2Threshold: number;
}

/** The stored calibration and /calibrate_ng's response, field names as the old backend. */
export interface Calibration {
  readonly threshold: number;
  readonly ok_mean: number;
  readonly ng_mean: number;
  /** The OK scores' `score_percentile` percentile (named p99 whatever the percentile, as the old backend). */
  readonly p99_ok: number;
  readonly p5_ng: number | null;
  readonly mm_per_px: number;
  readonly area_mm2_thr: number;
  readonly score_percentile: number;
}

/**
 * The old backend's threshold rule (numpy linear percentiles):
 *   p_ok = percentile(ok, score_percentile)
 *   no NG:   threshold = p_ok
 *   with NG: p5_ng = percentile(ng, 5); threshold = p5_ng <= p_ok ? p_ok * 1.02 : (p_ok + p5_ng) / 2
 * Without NG scores, p5_ng is null and ng_mean 0.
 */
export function calibrate(input: CalibrationInput): Calibration {
  const ng = input.ngScores ?? [];
  const { threshold, pOk, p5Ng } = oldRule(input.okScores, ng, input.scorePercentile);
  return {
    threshold,
    ok_mean: mean(input.okScores),
    ng_mean: ng.length > 0 ? mean(ng) : 0,
    p99_ok: pOk,
    p5_ng: p5Ng,
    mm_per_px: input.mmPerPx,
    area_mm2_thr: input.areaMm2Threshold,
    score_percentile: input.scorePercentile,
  };
}

/** The old backend's rule alone (see calibrate): the threshold and its two inputs; `ng` may be empty. */
export function oldRule(ok: ArrayLike<number>, ng: ArrayLike<number>, scorePercentile: number): { threshold: number; pOk: number; p5Ng: number | null } {
  if (ok.length === 0) throw new RangeError("calibrate: ok_scores is empty");
  const pOk = percentile(ok, scorePercentile);
  if (ng.length === 0) return { threshold: pOk, pOk, p5Ng: null };
  const p5Ng = percentile(ng, 5);
  return { threshold: p5Ng <= pOk ? pOk * 1.02 : (pOk + p5Ng) / 2, pOk, p5Ng };
}
