import { calibrate, type Calibration, type CalibrationInput } from "./calibration";
import { calibrationWarnings, type CalibrationWarning } from "./calibrationWarnings";
import { countErrors, crossValidatedCounts, errorRates, foldsFor, type ErrorRate, type EstimatedOn } from "./errorRates";
import { chooseThreshold, type LabelledScores, type RuleSettings, type ThresholdRule } from "./thresholdRules";

export interface ThresholdCalibrationInput extends CalibrationInput {
  readonly rule: ThresholdRule;
  /** false_alarm_rate only (else null). */
  readonly target: number | null;
  /** fixed only (else null): the threshold given. */
  readonly fixedThreshold?: number | null;
  /**
   * How the error rates are estimated: `in_sample` on the scores given; `cross_validation` by
   * k-fold over them in the order given (errorRates.ts), in-sample with a warning when too few.
   */
  readonly errorRates: EstimatedOn;
}

/** A calibration with the rule that chose its threshold, the error rates it will give, and what the data cannot support. */
export interface ThresholdCalibration extends Calibration {
  readonly rule: ThresholdRule;
  readonly target: number | null;
  /** Good parts flagged. */
  readonly false_alarm_rate: ErrorRate;
  /** Defects passed; null without NG scores. */
  readonly miss_rate: ErrorRate | null;
  readonly warnings: CalibrationWarning[];
}

/**
 * The threshold by `rule` (the old backend's figures ok_mean, p99_ok, p5_ng, ... computed as
 * before whatever the rule; rule "old" is calibrate() to the bit), and its error rates.
 */
export function calibrateThreshold(input: ThresholdCalibrationInput): ThresholdCalibration {
  const scores: LabelledScores = { ok: Float64Array.from(input.okScores), ng: Float64Array.from(input.ngScores ?? []) };
  const settings: RuleSettings = { rule: input.rule, target: input.target, fixedThreshold: input.fixedThreshold, scorePercentile: input.scorePercentile };
  const base = calibrate(input);
  const threshold = input.rule === "old" ? base.threshold : chooseThreshold(scores, settings);
  // a fixed threshold is chosen without the scores: counting them against it is already held out
  const crossValidate = input.errorRates === "cross_validation" && input.rule !== "fixed";
  const folds = crossValidate ? foldsFor(scores.ok.length, scores.ng.length, input.rule) : null;
  const counts = folds === null ? countErrors(threshold, scores) : crossValidatedCounts(scores, settings, folds);
  const rates = errorRates(counts, folds === null ? "in_sample" : "cross_validation", folds);
  const warnings = calibrationWarnings({
    settings,
    scores,
    falseAlarmRate: rates.false_alarm_rate,
    missRate: rates.miss_rate,
    notCrossValidated: crossValidate && folds === null,
  });
  return { ...base, threshold, rule: input.rule, target: input.target, ...rates, warnings };
}
