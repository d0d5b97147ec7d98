import { z } from "zod";
import { WARNING_CODES } from "../patchcore/calibrationWarnings";
import { THRESHOLD_RULES } from "../patchcore/thresholdRules";
import { numberField } from "./fields";

/** The request fields that choose the threshold rule, shared by /calibrate_ng and /calibrate_dataset. */
export const ruleFields = {
  rule: z
    .enum(THRESHOLD_RULES, {
      error: (issue) => `rule must be "old", "false_alarm_rate", "f1" or "fixed", got ${JSON.stringify(issue.input)}`,
    })
    .optional()
    .meta({
      description:
        'How the threshold is chosen. "old" (default): the old backend\'s percentile rule, unchanged. "false_alarm_rate": the threshold that flags the most ' +
        "parts while at most `target` of new good parts are flagged (split-conformal order statistic of the OK scores). " +
        '"f1": the threshold of the highest F1 on the OK and NG scores (needs NG scores; among equal F1, the highest threshold). ' +
        '"fixed": the `threshold` given (e.g. chosen over the scores\' histogram in the console), stored with the error rates the scores give it.',
    }),
  target: numberField(
    "target",
    (v) => v > 0 && v < 1,
    "a number between 0 and 1 (exclusive), e.g. 0.005 for 0.5 %",
    'rule "false_alarm_rate" only (required there): the largest share of good parts that may be flagged, e.g. 0.005.',
  ).optional(),
  threshold: numberField(
    "threshold",
    (v) => v > 0 && Number.isFinite(v),
    "a number > 0",
    'rule "fixed" only (required there): the threshold to store.',
  ).optional(),
};

/** The rule fields' rules across fields (target with its rule only); one message per mistake. */
export function checkRuleFields(
  request: { rule?: string | undefined; target?: number | undefined; threshold?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  const rule = request.rule ?? "old";
  if (rule === "fixed" && request.threshold === undefined) {
    ctx.addIssue({ code: "custom", path: ["threshold"], message: 'Missing field threshold: rule "fixed" stores the threshold given' });
  } else if (rule !== "fixed" && request.threshold !== undefined) {
    ctx.addIssue({ code: "custom", path: ["threshold"], message: `threshold applies only to rule "fixed" (rule is "${rule}")` });
  }
  if (rule === "false_alarm_rate" && request.target === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["target"],
      message: 'Missing field target: rule "false_alarm_rate" needs the largest share of good parts that may be flagged, e.g. 0.005',
    });
  } else if (rule !== "false_alarm_rate" && request.target !== undefined) {
    ctx.addIssue({ code: "custom", path: ["target"], message: `target applies only to rule "false_alarm_rate" (rule is "${rule}")` });
  }
}

export const errorRate = z
  .object({
    estimate: z.number().meta({ description: "count / n." }),
    low: z.number().meta({ description: "Lower bound of the interval." }),
    high: z.number().meta({ description: "Upper bound of the interval." }),
    n: z.number().int().meta({ description: "Images counted: OK for the false-alarm rate, NG for the miss rate." }),
    count: z.number().int().meta({ description: "Of them, flagged (OK) or passed (NG)." }),
    confidence: z.number().meta({ description: "Of the interval: 0.95." }),
    method: z.literal("clopper_pearson").meta({ description: "Clopper-Pearson (exact binomial) interval: coverage at least `confidence` for every rate." }),
    estimated_on: z.enum(["in_sample", "cross_validation"]).meta({
      description:
        "in_sample: counted on the scores that chose the threshold (optimistic); cross_validation: each score counted against a threshold chosen without it.",
    }),
    folds: z.number().int().nullable().meta({ description: "Folds of the cross-validation; null in-sample." }),
  })
  .meta({ id: "ErrorRate", description: "A rate at the chosen threshold with its interval." });

export const calibrationWarning = z
  .object({ code: z.enum(WARNING_CODES), message: z.string().meta({ description: "For people: what the data cannot support and why." }) })
  .meta({ id: "CalibrationWarning" });

/** What every calibration answers about its rule and its error rates (additive). */
export const ruleResultFields = {
  rule: z.enum(THRESHOLD_RULES).meta({ description: "The rule that chose the threshold." }),
  target: z.number().nullable().meta({ description: 'The false-alarm target of rule "false_alarm_rate"; null for the other rules.' }),
  false_alarm_rate: errorRate.meta({ description: "Good parts flagged at the threshold." }),
  miss_rate: errorRate.nullable().meta({ description: "Defects passed at the threshold; null without NG scores." }),
  warnings: z.array(calibrationWarning).meta({ description: "What the data cannot support (empty: nothing to say)." }),
};

/** The same as stored with a calibration: absent in calibrations made before rules existed (by the old rule). */
export const storedRuleFields = {
  rule: ruleResultFields.rule.optional(),
  target: ruleResultFields.target.optional(),
  false_alarm_rate: errorRate.nullable().optional(),
  miss_rate: errorRate.nullable().optional(),
  warnings: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
};

export const scoreCurve = z
  .object({
    n_ok: z.number().int(),
    n_ng: z.number().int(),
    auroc: z.number().nullable().meta({ description: "P(NG score > OK score), ties half; null without NG scores." }),
    points: z
      .array(
        z.object({
          threshold: z.number(),
          ok_flagged: z.number().int(),
          ng_flagged: z.number().int(),
          false_alarm_rate: z.number(),
          detection_rate: z.number().nullable(),
        }),
      )
      .meta({
        description:
          "Each distinct score, ascending, with the counts flagged at it (score >= threshold): the ROC points. Any threshold t gives the counts of the first point >= t; above the last, nothing is flagged.",
      }),
  })
  .meta({ id: "ScoreCurve", description: "The stored scores' curve (in-sample counts), to preview any threshold." });
