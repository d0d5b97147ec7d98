import { randomUUID } from "node:crypto";
import type { FitOkRequest } from "../contract/fitOk";
import type { ResultOf, Routes } from "../contract/routes";
import { InvalidInputError } from "../errors";
import { decodeImage, type RgbImage } from "../image/decode";
import { fitFromImages } from "../patchcore/engine";
import { HnswScorer } from "../patchcore/knn/hnsw";
import { knnPlan } from "../patchcore/knn/select";
import { modelKeys } from "../store/keys";
import type { UseCaseContext } from "./context";
import { identityEcho, identityOf } from "./identity";
import type { Services } from "./services";

export type FitResult = ResultOf<Routes["fitOk"]>;

/**
 * Fit: good images of one ROI -> PatchCore memory (coreset unless memory_fit), plus the HNSW
 * index when the kNN policy will read it -> store. Everything is validated and computed before
 * anything is written, so a rejected or failed fit leaves the previous memory as it was.
 */
export async function fitMemory(services: Services, input: FitOkRequest, ctx: UseCaseContext): Promise<FitResult> {
  const { config, memories } = services;
  const identity = identityOf(input);
  if (input.use_dataset) {
    throw new InvalidInputError("use_dataset=true needs the stored OK dataset, which this version does not have yet: upload the images in the images field");
  }
  const images: RgbImage[] = [];
  for (const [i, file] of input.images.entries()) {
    images.push(await ctx.timings.time("decode", () => decodeImage(file.data, config.limits.maxImagePixels, `images[${i}] (${file.filename || "unnamed"})`)));
  }
  const extractor = await services.extractor();
  const fitId = randomUUID();
  const keepAll = input.memory_fit;
  const { bank, stats } = await fitFromImages(
    extractor,
    images,
    {
      coresetRate: config.patchcore.coresetRate,
      keepAll,
      seed: config.patchcore.seed,
      threads: config.model.ortThreads,
      batchSize: config.patchcore.fitBatchSize,
      metadata: {
        fit_id: fitId,
        mm_per_px: input.mm_per_px,
        created_at: new Date().toISOString(),
        version: config.version,
        role_id: identity.roleId,
        roi_id: identity.roiId,
        model_key: identity.modelKey,
        recipe_id: identity.recipeId,
      },
    },
    ctx.timings,
  );
  const index = knnPlan(config.knn.backend, bank.count, config.knn.hnswMaxRows) === "hnsw" ? await ctx.timings.time("index_build", () => HnswScorer.build(bank).serialise()) : null;
  await memories.saveFit(modelKeys(config.s3.prefix, identity), bank, index, ctx.timings);
  ctx.log.info("fitted", { ...identityEcho(identity), fit_id: fitId, n_images: images.length, coreset_size: stats.coresetSize, index: index ? "hnsw" : "none" });
  return {
    n_embeddings: stats.nEmbeddings,
    coreset_size: stats.coresetSize,
    token_shape: [bank.tokenH, bank.tokenW],
    coreset_rate_requested: stats.rateRequested,
    coreset_rate_applied: stats.rateApplied,
    covering_radius: stats.coveringRadius,
    n_images: images.length,
    memory_fit: keepAll,
    model: extractor.card.id,
    fit_id: fitId,
    index: index ? "hnsw" : "none",
    ...identityEcho(identity),
    timings_ms: ctx.timings.toJSON(),
  };
}
