import { z } from "zod";
import { identityEcho, identityFields } from "./common";
import { mmPerPxNumber, numberField, versionNumber } from "./fields";
import { region } from "./infer";
import { checkRuleFields, ruleFields, ruleResultFields, scoreCurve } from "./thresholds";

const labels = z
  .array(z.enum(["ok", "ng"], { error: (issue) => `labels must hold "ok" and/or "ng", got ${JSON.stringify(issue.input)}` }), {
    error: 'labels must be a list such as ["ok", "ng"]',
  })
  .min(1, "labels must name at least one label")
  .optional();
const defaultMmPerPx = mmPerPxNumber.nullish().meta({ description: "mm_per_px for images whose meta has none (else such an image is an item with an error)." });

export const inferDatasetRequest = z
  .object(
    {
      ...identityFields,
      labels: labels.meta({ description: 'Which stored labels to score; default ["ok", "ng"].' }),
      include_heatmap: z.boolean({ error: "include_heatmap must be true or false" }).optional(),
      default_mm_per_px: defaultMmPerPx,
      model_version: versionNumber(
        "model_version",
        "The version to score with; absent = the active one (resolved once: every image is scored by the same version).",
      ),
    },
    { error: () => "The body must be a JSON object" },
  )
  .meta({ id: "InferDatasetRequest" });
export type InferDatasetRequest = z.output<typeof inferDatasetRequest>;

const item = z.object({
  label: z.enum(["ok", "ng"]),
  filename: z.string(),
  mm_per_px: z.number().nullable(),
  score: z.number().nullable(),
  threshold: z.number().nullable(),
  regions: z.array(region),
  n_regions: z.number().int(),
  error: z.string().nullable().meta({ description: "Why this image could not be scored (the others are)." }),
  heatmap_png_base64: z.string().nullable().optional(),
  area_rule: z.enum(["pixels", "contour"]).optional(),
  calibration_stale: z.boolean().optional(),
});

const fanOut = z
  .object({ workers: z.number().int(), chunk_images: z.number().int(), retried: z.number().int(), failed: z.number().int(), worker_ms_max: z.number() })
  .meta({ description: "How the batch was spread over worker invocations." });

export const inferDatasetResponse = z
  .object({
    status: z.literal("ok"),
    ...identityEcho,
    model_version: z.number().int().meta({ description: "The version every image was scored with." }),
    n_total: z.number().int(),
    n_errors: z.number().int(),
    items: z.array(item),
    heatmaps_omitted: z
      .boolean()
      .optional()
      .meta({ description: "true when the heatmaps would have made the answer larger than Lambda's 6 MB: they are in the full result at result_url." }),
    result_url: z.string().optional(),
    fan_out: fanOut.optional(),
    timings_ms: z.record(z.string(), z.number()).optional(),
    request_id: z.string(),
  })
  .meta({ id: "InferDatasetResponse" });

export const calibrateDatasetRequest = z
  .object(
    {
      ...identityFields,
      score_percentile: numberField("score_percentile", (v) => v >= 0 && v <= 100, "a number in [0, 100]", "Default SCORE_PERCENTILE (99).").optional(),
      area_mm2_thr: numberField("area_mm2_thr", (v) => v >= 0, "a number >= 0", "Default AREA_MM2_THR (1.0).").optional(),
      default_mm_per_px: defaultMmPerPx,
      require_ng: z
        .boolean({ error: "require_ng must be true or false" })
        .optional()
        .meta({ description: 'Default true (false with rule "false_alarm_rate", which needs none): without NG images, a 400 before any image is scored.' }),
      model_version: versionNumber("model_version", "The version to score and calibrate; absent = the active one."),
      ...ruleFields,
      include_curve: z
        .boolean({ error: "include_curve must be true or false" })
        .optional()
        .meta({ description: "true adds `curve`: every threshold's counts and the ROC points of the stored scores, to preview any threshold." }),
    },
    { error: () => "The body must be a JSON object" },
  )
  .superRefine(checkRuleFields)
  .meta({
    id: "CalibrateDatasetRequest",
    examples: [
      { role_id: "Master1", roi_id: "Pattern" },
      { role_id: "Master1", roi_id: "Pattern", rule: "false_alarm_rate", target: 0.005, include_curve: true },
      { role_id: "Master1", roi_id: "Pattern", rule: "f1" },
    ],
  });
export type CalibrateDatasetRequest = z.output<typeof calibrateDatasetRequest>;

export const calibrateDatasetResponse = z
  .object({
    status: z.literal("ok"),
    threshold: z.number(),
    score_percentile: z.number(),
    area_mm2_thr: z.number(),
    n_ok: z.number().int(),
    n_ng: z.number().int(),
    ...identityEcho,
    p_ok: z.number().meta({ description: "The OK scores' score_percentile percentile (the rule's input)." }),
    p5_ng: z.number().nullable().meta({ description: "The NG scores' 5th percentile (the rule's input); null without NG." }),
    mm_per_px: z.number(),
    fit_id: z.string().nullable(),
    model_version: z.number().int().meta({ description: "The version scored and calibrated." }),
    scores: z
      .array(z.object({ label: z.enum(["ok", "ng"]), filename: z.string(), score: z.number().nullable(), error: z.string().nullable() }))
      .meta({ description: "Every image's score (or why it has none)." }),
    ...ruleResultFields,
    curve: scoreCurve.optional().meta({ description: "Only with include_curve: true." }),
    fan_out: fanOut.optional(),
    request_id: z.string(),
  })
  .meta({ id: "CalibrateDatasetResponse" });
