import { z } from "zod";
import { identityEcho, identityFields, timingsMs } from "./common";
import { boolText, jsonText, mmPerPxText, versionText } from "./fields";
import { fileParts } from "./files";
import { areaRuleSchema } from "./recipeSettings";
import { errorRate } from "./thresholds";
import { THRESHOLD_RULES } from "../patchcore/thresholdRules";

export const roiShapeSchema = z
  .union([
    z.object({ kind: z.literal("rect"), x: z.number().optional(), y: z.number().optional(), w: z.number().optional(), h: z.number().optional() }),
    z.object({ kind: z.literal("circle"), cx: z.number().optional(), cy: z.number().optional(), r: z.number().optional() }),
    z.object({ kind: z.literal("annulus"), cx: z.number().optional(), cy: z.number().optional(), r: z.number().optional(), r_inner: z.number().optional() }),
  ])
  .meta({ id: "RoiShape", description: "Canonical ROI pixel coordinates; missing fields default to the whole ROI (centred circle, r = min(w, h)/2)." });

export const inferRequest = z
  .object({
    ...identityFields,
    mm_per_px: mmPerPxText.optional().meta({
      description: "Millimetres per ROI pixel, > 0 (invariant-culture text). Optional (additive to the old contract): defaults to the value the fit recorded.",
    }),
    shape: jsonText("shape", 'JSON text of a RoiShape ({"kind":"rect"|"circle"|"annulus", ...}); absent = the whole ROI. Checked against the image\'s size.'),
    model_version: versionText("model_version"),
    heatmap_scale: z
      .enum(["image", "model"], { error: (issue) => `heatmap_scale must be "image" or "model", got ${JSON.stringify(issue.input)}` })
      .optional()
      .meta({
        description:
          'Additive. "model" adds heatmap_fixed: the raw anomaly map coloured on one scale per model, anchored to its threshold, so heatmaps of different images compare; "image" (default) only the old grey heatmap, stretched between each image\'s own 1st and 99th percentiles.',
      }),
    include_anomaly_map: boolText("include_anomaly_map", false, "true adds the blurred anomaly map as base64 float32 [height, width] (little-endian)."),
    image: fileParts({
      min: 1,
      max: 1,
      missing: "Missing file image",
      tooMany: (n) => `Send one file in the image field, got ${n}`,
      description: "One PNG/JPEG ROI image.",
    }),
  })
  .meta({ id: "InferRequest" });
export type InferRequest = z.output<typeof inferRequest>;

export const region = z
  .object({
    bbox: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]).meta({ description: "[x, y, w, h] in ROI pixels." }),
    area_px: z.number(),
    area_mm2: z.number(),
    contour: z.array(z.tuple([z.number(), z.number()])).meta({ description: "Outer boundary, closed polygon of [x, y] points." }),
  })
  .meta({ id: "Region" });

export const inferResponse = z
  .object({
    score: z.number(),
    threshold: z.number().nullable().meta({ description: "null until /calibrate_ng ran (then regions is empty)." }),
    heatmap_png_base64: z.string().meta({ description: "Grey PNG of the ROI's size, base64." }),
    regions: z.array(region),
    token_shape: z.tuple([z.number().int(), z.number().int()]),
    params: z.object({ extractor: z.string(), input_size: z.number().int(), coreset_rate: z.number(), score_percentile: z.number() }),
    ...identityEcho,
    mm_per_px: z.number(),
    area_mm2_thr: z.number(),
    area_rule: areaRuleSchema.meta({
      description: 'How area_px was measured: "pixels" (pixel count) or "contour" (the old backend\'s contour area); set per recipe with PUT /recipe_settings.',
    }),
    knn: z.enum(["exact", "hnsw", "two_stage"]).meta({ description: "Which nearest-neighbour search scored the patches." }),
    fit_id: z.string().nullable().meta({ description: "The fit that wrote the memory used (null for memories written by the old backend)." }),
    memory_stale: z.boolean().meta({
      description: "true when S3 could not be reached and a cached memory (confirmed within STALE_IF_ERROR_MS) was used: a re-fit made meanwhile is not seen.",
    }),
    calibration_stale: z.boolean().meta({ description: "true when the calibration was computed for another fit than the memory in place: re-calibrate." }),
    model_version: z.number().int().meta({ description: "The version that scored it (a model stored before versions is version 1)." }),
    calibration_inherited: z.boolean().meta({
      description: "The threshold is the one the version got when it was made (its parent's, or the then active version's): calibrate this version.",
    }),
    heatmap_fixed: z
      .object({
        png_base64: z.string().meta({ description: "RGBA PNG of the ROI's size: transparent outside the shape." }),
        low: z.number().meta({ description: "The anomaly value of the coldest colour (0)." }),
        anchor: z.number().meta({ description: "The value in the middle of the scale, where its colours turn from cold to hot." }),
        high: z.number().meta({ description: "The value of the hottest colour (2 x anchor); above it, still the hottest." }),
        anchor_source: z.enum(["threshold", "covering_radius", "image_score"]).meta({
          description:
            "threshold: the version's threshold; covering_radius: before calibration, the fit's covering radius; image_score: neither is known (a memory stored by the old backend, uncalibrated), this image's own score: not comparable across images.",
        }),
        stops: z
          .array(z.tuple([z.number(), z.number(), z.number(), z.number()]))
          .meta({ description: "The colour scale for a legend: [position in [0, 1] of low..high, r, g, b]." }),
      })
      .optional()
      .meta({ description: 'Only with heatmap_scale="model".' }),
    calibration_rule: z
      .enum(THRESHOLD_RULES)
      .nullable()
      .meta({ description: 'The rule that chose the threshold ("old" for calibrations made before rules); null before calibration.' }),
    false_alarm_rate: errorRate
      .nullable()
      .meta({ description: "Good parts the threshold flags, as its calibration estimated it; null before calibration or for calibrations made before rules." }),
    miss_rate: errorRate
      .nullable()
      .meta({ description: "Defects the threshold passes, as its calibration estimated it; null without NG scores at calibration (or as false_alarm_rate)." }),
    anomaly_map: z
      .object({ width: z.number().int(), height: z.number().int(), dtype: z.literal("float32"), data_base64: z.string() })
      .optional()
      .meta({ description: "Only with include_anomaly_map=true." }),
    timings_ms: timingsMs,
    request_id: z.string(),
  })
  .meta({ id: "InferResponse" });
export type InferResponse = z.infer<typeof inferResponse>;
