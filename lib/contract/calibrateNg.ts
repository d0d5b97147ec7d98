import { z } from "zod";
import { identityEcho, identityFields } from "./common";
import { mmPerPxNumber, numberField, optionalScores, requiredScores, versionNumber } from "./fields";
import { checkRuleFields, ruleFields, ruleResultFields } from "./thresholds";

export const calibrateNgRequest = z
  .object(
    {
      ...identityFields,
      ok_scores: requiredScores("ok_scores", "Scores of good parts (/infer's score), at least one."),
      ng_scores: optionalScores("ng_scores", "Scores of defective parts; absent or null = none."),
      mm_per_px: mmPerPxNumber.optional().meta({ description: "Defaults to the value the fit recorded." }),
      score_percentile: numberField(
        "score_percentile",
        (v) => v >= 0 && v <= 100,
        "a number in [0, 100]",
        "Percentile of the OK scores; default SCORE_PERCENTILE (99).",
      ).optional(),
      area_mm2_thr: numberField("area_mm2_thr", (v) => v >= 0, "a number >= 0", "Smallest defect region kept, in mm²; default AREA_MM2_THR (1.0).").optional(),
      model_version: versionNumber("model_version", "The version to calibrate; absent = the active one."),
      ...ruleFields,
    },
    { error: () => "The body must be a JSON object" },
  )
  .superRefine((request, ctx) => {
    checkRuleFields(request, ctx);
    if (request.rule === "f1" && (request.ng_scores === null || request.ng_scores.length === 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["ng_scores"],
        message:
          'rule "f1" needs ng_scores: it chooses the threshold that best separates OK from NG scores; send at least one NG score, or use rule "false_alarm_rate"',
      });
    }
  })
  .meta({
    id: "CalibrateNgRequest",
    examples: [
      { role_id: "Master1", roi_id: "Pattern", ok_scores: [0.027, 0.031, 0.029], ng_scores: [0.2, 0.31], mm_per_px: 0.1, area_mm2_thr: 1.0 },
      { role_id: "Master1", roi_id: "Pattern", ok_scores: [0.027, 0.031, 0.029] },
      { role_id: "Master1", roi_id: "Pattern", ok_scores: [0.027, 0.031, 0.029, 0.026], ng_scores: [0.2, 0.31, 0.029], rule: "f1" },
      { role_id: "Master1", roi_id: "Pattern", ok_scores: [0.027, 0.031, 0.029, 0.026], rule: "false_alarm_rate", target: 0.005 },
    ],
  });
export type CalibrateNgRequest = z.output<typeof calibrateNgRequest>;

/** The stored calibration, as the old backend names its fields. */
export const calibrationFields = {
  threshold: z.number().meta({ description: "Score at and above which a part is defective." }),
  ok_mean: z.number(),
  ng_mean: z.number().meta({ description: "0 when no NG scores were given." }),
  p99_ok: z.number().meta({ description: "The OK scores' score_percentile percentile (named p99 whatever the percentile, as the old backend)." }),
  p5_ng: z.number().nullable().meta({ description: "5th percentile of the NG scores; null without NG scores." }),
  mm_per_px: z.number(),
  area_mm2_thr: z.number(),
  score_percentile: z.number(),
};

/** Additive fields of the stored calibration: the fit it was made for. */
export const calibrationProvenance = {
  fit_id: z
    .string()
    .nullable()
    .optional()
    .meta({ description: "The fit whose memory was in place when calibrating (null: none); /infer flags calibration_stale when it differs." }),
};

export const calibrateNgResponse = z
  .object({
    ...calibrationFields,
    ...calibrationProvenance,
    ...ruleResultFields,
    ...identityEcho,
    model_version: z
      .number()
      .int()
      .nullable()
      .meta({ description: "The version calibrated (null: no model is fitted yet; the calibration waits for the first fit)." }),
    request_id: z.string(),
  })
  .meta({
    id: "CalibrateNgResponse",
    examples: [
      {
        threshold: 0.11823,
        ok_mean: 0.029,
        ng_mean: 0.255,
        p99_ok: 0.03096,
        p5_ng: 0.2055,
        mm_per_px: 0.1,
        area_mm2_thr: 1,
        score_percentile: 99,
        rule: "old",
        target: null,
        false_alarm_rate: {
          estimate: 0,
          low: 0,
          high: 0.7076,
          n: 3,
          count: 0,
          confidence: 0.95,
          method: "clopper_pearson",
          estimated_on: "in_sample",
          folds: null,
        },
        miss_rate: { estimate: 0, low: 0, high: 0.8419, n: 2, count: 0, confidence: 0.95, method: "clopper_pearson", estimated_on: "in_sample", folds: null },
        warnings: [
          { code: "wide_interval", message: "The false-alarm rate's 95 % interval is 0 % to 70.8 %: 3 OK scores say little about it." },
          { code: "wide_interval", message: "The miss rate's 95 % interval is 0 % to 84.2 %: 2 NG scores say little about it." },
        ],
        fit_id: null,
        model_version: 1,
        role_id: "Master1",
        roi_id: "Pattern",
        model_key: "Pattern",
        recipe_id: "default",
        request_id: "bdb496aa-0a4d-48f9-9e61-fc8b672f177d",
      },
    ],
  });
export type CalibrateNgResponse = z.infer<typeof calibrateNgResponse>;
