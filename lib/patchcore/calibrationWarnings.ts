import { trialsToShowRate } from "./binomialInterval";
import { CONFIDENCE, type ErrorRate } from "./errorRates";
import { auroc } from "./scoreCurve";
import { allowedFalseAlarms, type LabelledScores, type RuleSettings } from "./thresholdRules";

export const WARNING_CODES = [
  /** false_alarm_rate: fewer OK scores than the target needs (even above all of them, 1 new good part in n + 1 is flagged). */
  "target_needs_more_ok",
  /** false_alarm_rate: too few OK scores to confirm the target (its interval reaches above it even with none flagged). */
  "interval_above_target",
  /** No NG scores: the miss rate is unknown. */
  "no_ng_scores",
  /** Some NG scores are at or below the highest OK score. */
  "scores_overlap",
  /** NG scores are not higher than OK scores (AUROC <= 0.5). */
  "scores_not_separated",
  /** Too few scores to cross-validate: the rates are in-sample. */
  "not_cross_validated",
  /** A rate's interval is wider than WIDE_INTERVAL. */
  "wide_interval",
] as const;
export type WarningCode = (typeof WARNING_CODES)[number];

/** Why the data may not support a calibration, in words (`message`) and for programs (`code`). */
export interface CalibrationWarning {
  readonly code: WarningCode;
  readonly message: string;
}

/** An interval wider than this (50 percentage points) says little about the rate. */
export const WIDE_INTERVAL = 0.5;

export interface WarningFacts {
  readonly settings: RuleSettings;
  readonly scores: LabelledScores;
  readonly falseAlarmRate: ErrorRate;
  readonly missRate: ErrorRate | null;
  /** Cross-validation was asked for but could not run (too few scores). */
  readonly notCrossValidated?: boolean;
}

const percent = (x: number) => `${Number((x * 100).toPrecision(3))} %`;
const interval = (rate: ErrorRate) => `${percent(rate.low)} to ${percent(rate.high)}`;
const level = percent(CONFIDENCE);

/** What the calibration's data cannot support, each said once. */
export function calibrationWarnings(facts: WarningFacts): CalibrationWarning[] {
  const { settings, scores, falseAlarmRate: far, missRate: miss } = facts;
  const nOk = scores.ok.length;
  const nNg = scores.ng.length;
  const warnings: CalibrationWarning[] = [];
  const add = (code: WarningCode, message: string) => warnings.push({ code, message });
  let farSaid = false;

  if (settings.rule === "false_alarm_rate" && settings.target !== null) {
    const target = settings.target;
    if (allowedFalseAlarms(target, nOk) < 0) {
      const needed = Math.ceil(1 / target - 1 - 1e-9);
      add(
        "target_needs_more_ok",
        `A false-alarm rate of at most ${percent(target)} needs at least ${needed} OK scores; there are ${nOk}: even a threshold above all of them ` +
          `flags about 1 new good part in ${nOk + 1} (${percent(1 / (nOk + 1))}). The threshold is just above the highest OK score.`,
      );
      farSaid = true;
    } else if (far.n < trialsToShowRate(target, CONFIDENCE) && far.high > target) {
      // the rule aims at the target on average, so with enough scores the interval straddles it; this is about too few to confirm it at all
      add(
        "interval_above_target",
        `The false-alarm rate's ${level} interval reaches ${percent(far.high)}, above the ${percent(target)} target: ${far.n} OK scores ` +
          `(${far.count} flagged) cannot confirm a rate that low; at least ${trialsToShowRate(target, CONFIDENCE)} OK scores with none flagged would.`,
      );
      farSaid = true;
    }
  }
  if (facts.notCrossValidated) {
    add(
      "not_cross_validated",
      `Too few scores to cross-validate (${nOk} OK, ${nNg} NG; it needs at least 2 OK${settings.rule === "f1" ? " and 2 NG" : ""}): ` +
        "the error rates are in-sample, counted on the scores that chose the threshold, and optimistic.",
    );
  }
  if (nNg === 0) {
    add("no_ng_scores", "No NG scores: the miss rate (defects passed) is unknown, and the threshold was chosen from the OK scores alone.");
  } else {
    const area = auroc(scores)!;
    let highestOk = -Infinity;
    for (const v of scores.ok) if (v > highestOk) highestOk = v;
    let ngBelow = 0;
    for (const v of scores.ng) if (v <= highestOk) ngBelow++;
    if (area <= 0.5) {
      add(
        "scores_not_separated",
        `NG scores are not higher than OK scores (AUROC ${area.toFixed(3)}): the model does not tell these defects from good parts, and no threshold can; ` +
          "check the images and their labels, or re-fit on better OK images.",
      );
    } else if (ngBelow > 0) {
      add(
        "scores_overlap",
        `OK and NG scores overlap: ${ngBelow} of ${nNg} NG scores are at or below the highest OK score (AUROC ${area.toFixed(3)}); ` +
          "no threshold flags every defect and passes every good part: this one trades false alarms against misses.",
      );
    }
  }
  if (!farSaid && far.high - far.low > WIDE_INTERVAL)
    add("wide_interval", `The false-alarm rate's ${level} interval is ${interval(far)}: ${far.n} OK scores say little about it.`);
  if (miss && miss.high - miss.low > WIDE_INTERVAL)
    add("wide_interval", `The miss rate's ${level} interval is ${interval(miss)}: ${miss.n} NG scores say little about it.`);
  return warnings;
}
