import { z } from "zod";
import { identityEcho, identityFields } from "./common";
import { mmPerPxNumber, numberField, optionalScores, requiredScores, versionNumber } from "./fields";

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
    },
    { error: () => "The body must be a JSON object" },
  )
  .meta({
    id: "CalibrateNgRequest",
    examples: [
      { role_id: "Master1", roi_id: "Pattern", ok_scores: [0.027, 0.031, 0.029], ng_scores: [0.2, 0.31], mm_per_px: 0.1, area_mm2_thr: 1.0 },
      { role_id: "Master1", roi_id: "Pattern", ok_scores: [0.027, 0.031, 0.029] },
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

/** Additive fields of the stored calibration. */
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
