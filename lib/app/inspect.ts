import type { InferRequest } from "../contract/infer";
import type { ResultOf, Routes } from "../contract/routes";
import { decodeImage } from "../image/decode";
import { inferImage } from "../patchcore/engine";
import { parseShape } from "../patchcore/roiMask";
import { modelKeys } from "../store/keys";
import type { UseCaseContext } from "./context";
import { identityEcho, identityOf, memoryNotFound } from "./identity";
import { loadCalibration, loadMemory } from "./memoryCache";
import type { Services } from "./services";

export type InspectResult = ResultOf<Routes["infer"]>;

/**
 * Inspect one ROI image: score, threshold, heatmap PNG (base64), regions. With
 * include_anomaly_map the blurred anomaly map comes back as base64 float32 [height, width]
 * (little-endian), for pixel-level evaluation.
 */
export async function inspectImage(services: Services, input: InferRequest, ctx: UseCaseContext): Promise<InspectResult> {
  const { config } = services;
  const identity = identityOf(input);
  const file = input.image[0]!;
  const image = await ctx.timings.time("decode", () => decodeImage(file.data, config.limits.maxImagePixels, "image"));
  const shape = input.shape === undefined ? undefined : parseShape(input.shape, image.width, image.height);
  const keys = modelKeys(config.s3.prefix, identity);
  const [memory, calibration, extractor] = await Promise.all([loadMemory(services, keys, ctx), loadCalibration(services, keys, ctx), services.extractor()]);
  if (!memory) throw memoryNotFound(identity);
  const scorePercentile = calibration?.score_percentile ?? config.patchcore.scorePercentile;
  const areaMm2Threshold = calibration?.area_mm2_thr ?? config.patchcore.areaMm2Threshold;
  const result = await inferImage(
    extractor,
    memory.scorer,
    memory.bank,
    image,
    {
      ...(shape ? { shape } : {}),
      threshold: calibration?.threshold ?? null,
      mmPerPx: input.mm_per_px,
      areaMm2Threshold,
      scorePercentile,
      blurSigma: config.patchcore.blurSigma,
      keepMap: input.include_anomaly_map,
      threads: config.model.ortThreads,
    },
    ctx.timings,
  );
  const map = result.anomalyMap;
  return {
    score: result.score,
    threshold: calibration?.threshold ?? null,
    heatmap_png_base64: result.heatmapPng.toString("base64"),
    regions: result.regions,
    token_shape: result.tokenShape,
    params: {
      extractor: extractor.card.id,
      input_size: extractor.inputSize,
      coreset_rate: Number(memory.bank.metadata.coreset_rate_requested ?? config.patchcore.coresetRate),
      score_percentile: scorePercentile,
    },
    ...identityEcho(identity),
    mm_per_px: input.mm_per_px,
    area_mm2_thr: areaMm2Threshold,
    knn: memory.scorer.kind,
    ...(map ? { anomaly_map: { width: image.width, height: image.height, dtype: "float32" as const, data_base64: Buffer.from(map.buffer, map.byteOffset, map.byteLength).toString("base64") } } : {}),
    timings_ms: ctx.timings.toJSON(),
  };
}
