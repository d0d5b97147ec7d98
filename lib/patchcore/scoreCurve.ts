import { cutCounts, type LabelledScores } from "./thresholdRules";

/** The counts of one threshold: a part is flagged when its score is >= `threshold`. */
export interface CurvePoint {
  readonly threshold: number;
  readonly ok_flagged: number;
  readonly ng_flagged: number;
  /** ok_flagged / n_ok: the ROC's x. */
  readonly false_alarm_rate: number;
  /** ng_flagged / n_ng: the ROC's y; null without NG scores. */
  readonly detection_rate: number | null;
}

/**
 * Every threshold that changes a decision (each distinct score, ascending) with its counts: the
 * ROC points, and what any other threshold t gives (the counts of the first point >= t; above the
 * last point nothing is flagged). `auroc`: the probability that an NG score is above an OK score,
 * ties counting half (Mann-Whitney); null without NG scores.
 */
export interface ScoreCurve {
  readonly n_ok: number;
  readonly n_ng: number;
  readonly auroc: number | null;
  readonly points: CurvePoint[];
}

export function scoreCurve(scores: LabelledScores): ScoreCurve {
  const nOk = scores.ok.length;
  const nNg = scores.ng.length;
  const cuts = cutCounts(scores);
  const points: CurvePoint[] = [];
  for (let i = 0; i < cuts.values.length; i++) {
    const okFlagged = cuts.okAtOrAbove[i]!;
    const ngFlagged = cuts.ngAtOrAbove[i]!;
    points.push({
      threshold: cuts.values[i]!,
      ok_flagged: okFlagged,
      ng_flagged: ngFlagged,
      false_alarm_rate: nOk > 0 ? okFlagged / nOk : 0,
      detection_rate: nNg > 0 ? ngFlagged / nNg : null,
    });
  }
  return { n_ok: nOk, n_ng: nNg, auroc: auroc(scores), points };
}

/** P(NG score > OK score) + P(equal) / 2 over all pairs; null when either label has no score. */
export function auroc(scores: LabelledScores): number | null {
  const nOk = scores.ok.length;
  const nNg = scores.ng.length;
  if (nOk === 0 || nNg === 0) return null;
  const cuts = cutCounts(scores);
  let pairs = 0; // twice the count of (NG above OK) pairs plus the equal pairs
  for (let i = 0; i < cuts.values.length; i++) {
    const okHere = cuts.okAtOrAbove[i]! - (cuts.okAtOrAbove[i + 1] ?? 0);
    const ngHere = cuts.ngAtOrAbove[i]! - (cuts.ngAtOrAbove[i + 1] ?? 0);
    const okBelow = nOk - cuts.okAtOrAbove[i]!;
    pairs += ngHere * (2 * okBelow + okHere);
  }
  return pairs / (2 * nOk * nNg);
}
