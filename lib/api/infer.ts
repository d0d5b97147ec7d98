import type { APIGatewayProxyEvent } from "aws-lambda";
import { getExtractorOr503 } from "../features/runtime";
import type { JsonBody, RequestContext } from "../http/endpoint";
import { BadRequestError } from "../http/errors";
import { parseBoolText, parseJsonText, parseMmPerPx } from "../http/fields";
import type { MultipartForm } from "../http/multipart";
import { decodeImage } from "../image/decode";
import { inferImage } from "../patchcore/engine";
import { parseShape } from "../patchcore/roiMask";
import { modelKeys } from "../store/keys";
import { identityJson, identityOfForm, memoryNotFound } from "./identity";
import { loadCalibration, loadModel } from "./loadModel";
import { getRuntime } from "./runtime";

/**
 * POST /infer: one ROI image -> score, threshold, heatmap PNG (base64), regions. Optional
 * `include_anomaly_map=true` adds the blurred anomaly map as base64 float32 [height, width]
 * (little-endian), for pixel-level evaluation; off by default.
 */
export async function infer(event: APIGatewayProxyEvent, form: MultipartForm, ctx: RequestContext): Promise<JsonBody> {
  const { config } = getRuntime();
  const identity = identityOfForm(event, form);
  const mmPerPx = parseMmPerPx(form.requiredText("mm_per_px"));
  const shapeText = form.text("shape");
  const shapeJson = shapeText === undefined || shapeText.trim() === "" ? undefined : parseJsonText("shape", shapeText);
  const includeMap = parseBoolText("include_anomaly_map", form.text("include_anomaly_map"), false);
  const files = form.fileList("image");
  if (files.length !== 1) throw new BadRequestError(files.length === 0 ? "Missing file image" : `Send one file in the image field, got ${files.length}`);

  const image = await ctx.timings.time("decode", () => decodeImage(files[0]!.data, config.limits.maxImagePixels, "image"));
  const shape = shapeJson === undefined ? undefined : parseShape(shapeJson, image.width, image.height);
  const keys = modelKeys(config.s3.prefix, identity);
  const [model, calibration, extractor] = await Promise.all([
    loadModel(keys, ctx.timings, ctx.log),
    loadCalibration(keys, ctx.timings),
    getExtractorOr503(config),
  ]);
  if (!model) throw memoryNotFound(identity);
  const scorePercentile = calibration?.score_percentile ?? config.patchcore.scorePercentile;
  const areaMm2Threshold = calibration?.area_mm2_thr ?? config.patchcore.areaMm2Threshold;
  const result = await inferImage(
    extractor,
    model.scorer,
    model.bank,
    image,
    {
      ...(shape ? { shape } : {}),
      threshold: calibration?.threshold ?? null,
      mmPerPx,
      areaMm2Threshold,
      scorePercentile,
      blurSigma: config.patchcore.blurSigma,
      keepMap: includeMap,
      threads: config.model.ortThreads,
    },
    ctx.timings,
  );
  const map = result.anomalyMap;
  return {
    role_id: identity.roleId,
    roi_id: identity.roiId,
    score: result.score,
    threshold: calibration?.threshold ?? null,
    heatmap_png_base64: result.heatmapPng.toString("base64"),
    regions: result.regions,
    token_shape: result.tokenShape,
    params: {
      extractor: extractor.card.id,
      input_size: extractor.inputSize,
      coreset_rate: Number(model.bank.metadata.coreset_rate_requested ?? config.patchcore.coresetRate),
      score_percentile: scorePercentile,
    },
    ...identityJson(identity),
    mm_per_px: mmPerPx,
    area_mm2_thr: areaMm2Threshold,
    knn: model.scorer.kind,
    ...(map ? { anomaly_map: { width: image.width, height: image.height, dtype: "float32", data_base64: Buffer.from(map.buffer, map.byteOffset, map.byteLength).toString("base64") } } : {}),
    timings_ms: ctx.timings.toJSON(),
  };
}
