import type { InferRequest } from "../../contract/infer";
import type { ResultOf, Routes } from "../../contract/routes";
import { InvalidInputError, TooLargeError } from "../../errors";
import type { EmbeddedImage } from "../../features/embed";
import { decodeImage, type RgbImage } from "../../image/decode";
import { FIXED_SCALE_STOPS } from "../../image/fixedScaleHeatmap";
import { embedForInspection, inspectEmbedded } from "../../patchcore/pipeline";
import { parseShape, roiMask } from "../../patchcore/roiMask";
import { modelKeys } from "../../store/keys";
import type { UseCaseContext } from "../../context";
import { identityEcho, identityOf } from "../identity";
import { annotateModel, recordInspection } from "../lineMetrics";
import { holdsServedModel, loadServedModel } from "../models/servedModel";
import { ensureMmPerPx } from "../recipes/mmPerPxLock";
import { areaRuleOf, loadRecipeMeta } from "../recipes/settings";
import type { Services } from "../services";

export type InspectResult = ResultOf<Routes["infer"]>;

/**
 * The raw anomaly map travels as base64 float32 (4 bytes a pixel, 4/3 in base64) next to a PNG
 * of the same size: refuse, before any work, a ROI whose answer would pass Lambda's payload limit.
 */
function checkMapFits(width: number, height: number, maxResponseBytes: number): void {
  const pixels = width * height;
  const estimate = Math.ceil((pixels * 4) / 3) * 4 + pixels; // map + worst-case grey PNG
  if (estimate > maxResponseBytes) {
    const side = Math.floor(Math.sqrt(maxResponseBytes / (16 / 3 + 1)));
    throw new TooLargeError(
      `include_anomaly_map=true on a ${width}x${height} ROI would make a response of about ${(estimate / 1e6).toFixed(1)} MB, over the limit of ${(maxResponseBytes / 1e6).toFixed(1)} MB ` +
        `(Lambda answers at most 6 MB): send a smaller ROI (at most about ${side}x${side} px) or leave include_anomaly_map off`,
    );
  }
}

/**
 * Where a model's fixed heatmap scale is anchored: its threshold; before calibration, its fit's
 * covering radius (the largest distance of a training patch to the memory: what good parts reach);
 * for a memory that records neither, the image's own score.
 */
function fixedScaleAnchor(threshold: number | null, coveringRadius: unknown) {
  if (threshold !== null && threshold > 0) return { anchor: threshold, source: "threshold" as const };
  if (typeof coveringRadius === "number" && coveringRadius > 0) return { anchor: coveringRadius, source: "covering_radius" as const };
  return { anchor: "score" as const, source: "image_score" as const };
}

export interface InspectOptions {
  /** Take part in the recipe's mm_per_px lock (default true: /infer does, as the old backend; batch scoring of stored images does not). */
  readonly lockScale?: boolean;
  /**
   * The image's patch embeddings when the caller ran the forward already (batch scoring runs
   * several images per ONNX run); without it the forward runs here.
   */
  readonly embedded?: EmbeddedImage;
  /** Score with this percentile of the map instead of the stored calibration's (/calibrate_dataset scores at the percentile it will store, as the old backend). */
  readonly scorePercentile?: number;
}

/**
 * Inspect one ROI image: score, threshold, heatmap PNG (base64), regions. With
 * include_anomaly_map the blurred anomaly map comes back as base64 float32 [height, width]
 * (little-endian), for pixel-level evaluation. The line's metrics record it (batch scoring of
 * stored images, which calls inspectDecoded, is not a part off the line).
 */
export async function inspectImage(services: Services, input: InferRequest, ctx: UseCaseContext, options: InspectOptions = {}): Promise<InspectResult> {
  const result = await inspectDecoded(services, input, await decodeRoi(services, input, ctx), ctx, options);
  recordInspection(services, identityOf(input), { score: result.score, threshold: result.threshold }, ctx);
  return result;
}

/** The request's ROI image decoded (the first step of an inspection; a batch decodes its images before one forward). */
export function decodeRoi(services: Services, input: InferRequest, ctx: UseCaseContext): Promise<RgbImage> {
  return ctx.timings.time("decode", () => decodeImage(input.image[0]!.data, services.config.limits.maxImagePixels, "image"));
}

/** inspectImage from the decoded image (`image` is input.image[0] decoded). */
export async function inspectDecoded(
  services: Services,
  input: InferRequest,
  image: RgbImage,
  ctx: UseCaseContext,
  options: InspectOptions = {},
): Promise<InspectResult> {
  const { config } = services;
  const identity = identityOf(input);
  const keys = modelKeys(config.s3.prefix, identity);
  const shape = input.shape === undefined ? undefined : parseShape(input.shape, image.width, image.height);
  const mask = roiMask(shape, image.width, image.height); // a shape covering no pixel fails before any heavy work
  if (input.include_anomaly_map) checkMapFits(image.width, image.height, config.limits.maxResponseBytes);
  const loadStored = () => Promise.all([loadServedModel(services, keys, identity, input.model_version, ctx), loadRecipeMeta(services, identity.recipeId, ctx)]);
  const runForward = () =>
    services
      .extractor()
      .then(async (extractor) => ({ extractor, embedded: options.embedded ?? (await embedForInspection(extractor, [image], 1, ctx.timings))[0]! }));
  // The forward needs no stored artefact. With the served version's memory already in this
  // container (the warm path) it runs while the revalidation HEADs go out (each 10-30 ms on AWS;
  // after an activation the new version's load overlaps it too); the request waits for both sides
  // before it answers or fails. A memory not yet in the container is loaded first: fetching,
  // decoding and indexing it is CPU work on the same 2 vCPUs, and overlapping that with the
  // forward made the first request slower (npm run bench, inference section's cold start: 2.34 s
  // against 1.96 s); a missing memory then answers without a forward.
  let loaded: Awaited<ReturnType<typeof loadStored>>;
  let forwarded: Awaited<ReturnType<typeof runForward>>;
  if (holdsServedModel(services, keys, identity, input.model_version)) {
    const [stored, forward] = await Promise.allSettled([loadStored(), runForward()]);
    if (stored.status === "rejected") throw stored.reason;
    if (forward.status === "rejected") throw forward.reason;
    [loaded, forwarded] = [stored.value, forward.value];
  } else {
    loaded = await loadStored();
    forwarded = await runForward();
  }
  const [served, recipe] = loaded;
  const { memory, calibration } = served;
  annotateModel(identity, served.version, ctx);
  const { extractor, embedded } = forwarded;
  const areaRule = areaRuleOf(services, recipe);
  const mmPerPx = input.mm_per_px ?? (typeof memory.bank.metadata.mm_per_px === "number" ? memory.bank.metadata.mm_per_px : undefined);
  if (mmPerPx === undefined) throw new InvalidInputError("mm_per_px is required: the stored memory does not record one");
  // /infer takes part in the recipe's mm_per_px lock (as the old backend); batch scoring of stored images does not
  if (options.lockScale !== false) await ensureMmPerPx(services, identity.recipeId, mmPerPx, ctx);
  const fitId = typeof memory.bank.metadata.fit_id === "string" ? memory.bank.metadata.fit_id : null;
  // a calibration computed against another fit's scores (it records the fit it was made for)
  const calibrationStale = calibration !== null && typeof calibration.fit_id === "string" && calibration.fit_id !== fitId;
  const scorePercentile = options.scorePercentile ?? calibration?.score_percentile ?? config.patchcore.scorePercentile;
  const scale = input.heatmap_scale === "model" ? fixedScaleAnchor(calibration?.threshold ?? null, memory.bank.metadata.covering_radius) : undefined;
  const areaMm2Threshold = calibration?.area_mm2_thr ?? config.patchcore.areaMm2Threshold;
  const result = await inspectEmbedded(
    embedded,
    extractor.card.id,
    memory.scorer,
    memory.bank,
    image,
    mask,
    {
      threshold: calibration?.threshold ?? null,
      mmPerPx,
      areaMm2Threshold,
      areaRule,
      scorePercentile,
      blurSigma: config.patchcore.blurSigma,
      keepMap: input.include_anomaly_map,
      threads: config.model.ortThreads,
      ...(scale ? { fixedScaleAnchor: scale.anchor } : {}),
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
    mm_per_px: mmPerPx,
    area_mm2_thr: areaMm2Threshold,
    area_rule: result.areaRule,
    knn: memory.scorer.kind,
    fit_id: fitId,
    memory_stale: served.stale,
    calibration_stale: calibrationStale,
    model_version: served.version,
    calibration_inherited: served.calibrationInherited,
    ...(scale && result.fixedScale
      ? {
          heatmap_fixed: {
            png_base64: result.fixedScale.png.toString("base64"),
            low: 0,
            anchor: result.fixedScale.anchor,
            high: 2 * result.fixedScale.anchor,
            anchor_source: scale.source,
            stops: FIXED_SCALE_STOPS.map((s) => [...s] as [number, number, number, number]),
          },
        }
      : {}),
    calibration_rule: calibration ? (calibration.rule ?? "old") : null,
    false_alarm_rate: calibration?.false_alarm_rate ?? null,
    miss_rate: calibration?.miss_rate ?? null,
    ...(map
      ? {
          anomaly_map: {
            width: image.width,
            height: image.height,
            dtype: "float32" as const,
            data_base64: Buffer.from(map.buffer, map.byteOffset, map.byteLength).toString("base64"),
          },
        }
      : {}),
    timings_ms: ctx.timings.toJSON(),
  };
}
