import { randomUUID } from "node:crypto";
import type { UploadedFile } from "../contract/files";
import type { FitOkRequest, FitOkResponse } from "../contract/fitOk";
import { fitFromDatasetOrStartJob } from "../jobs/datasetFit";
import type { ResultOf, Routes } from "../contract/routes";
import { TooLargeError } from "../errors";
import { embedImages } from "../features/embed";
import type { PatchGrid } from "../features/extractor";
import { decodeImage, readImageHeader } from "../image/decode";
import { HnswScorer } from "../patchcore/knn/hnsw";
import { knnPlan } from "../patchcore/knn/select";
import type { ShortlistBasis } from "../patchcore/knn/shortlistBasis";
import { findBankBasis } from "../patchcore/knn/twoStage";
import { checkSameGrid, fitMemoryBank } from "../patchcore/memoryBank";
import type { MemoryBank } from "../patchcore/memoryBank";
import { modelKeys, type ModelIdentity } from "../store/keys";
import type { UseCaseContext } from "./context";
import { identityEcho, identityOf } from "./identity";
import { checkMmPerPx, ensureMmPerPx } from "./recipes";
import type { Services } from "./services";
import { checkTimeBudget, coresetEstimateMs } from "./timeBudget";

export type FitResult = Omit<FitOkResponse, "request_id">;

const TOO_SLOW_ADVICE = "send fewer images per request, or upload them to the dataset and fit from it (use_dataset=true)";

/** Every image's header, before any pixel is decoded: 400/413 per image, then 413 for the request's total pixels. */
async function checkImages(files: readonly UploadedFile[], maxImagePixels: number, maxRequestPixels: number): Promise<void> {
  let total = 0;
  for (const [i, file] of files.entries()) {
    const header = await readImageHeader(file.data, maxImagePixels, `images[${i}] (${file.filename || "unnamed"})`);
    total += header.width * header.height;
  }
  if (total > maxRequestPixels) {
    throw new TooLargeError(
      `The ${files.length} images hold ${total} pixels in all, over the limit of ${maxRequestPixels} pixels per request (MAX_REQUEST_PIXELS): send fewer or smaller images per request`,
    );
  }
}

/** POST /fit_ok: from the uploaded images, or (use_dataset=true) from the stored OK dataset, synchronously or as a job. */
export async function fitOk(services: Services, input: FitOkRequest, ctx: UseCaseContext): Promise<ResultOf<Routes["fitOk"]>> {
  if (!input.use_dataset) return fitMemory(services, input, ctx);
  const identity = identityOf(input);
  modelKeys(services.config.s3.prefix, identity);
  return fitFromDatasetOrStartJob(services, { identity, mmPerPx: input.mm_per_px, keepAll: input.memory_fit }, ctx);
}

/**
 * Fit: good images of one ROI -> PatchCore memory (coreset unless memory_fit), plus the HNSW
 * index when the kNN policy will read it -> store. Images are decoded and embedded one batch at
 * a time (FIT_BATCH_SIZE), so a fit's peak memory is its patch embeddings, not its decoded
 * pixels. Everything is validated and computed before anything is written, and a fit that
 * cannot finish in the function's remaining time stops before writing: a rejected or failed fit
 * leaves the previous memory as it was.
 */
export async function fitMemory(services: Services, input: FitOkRequest, ctx: UseCaseContext): Promise<FitResult> {
  const { config } = services;
  const identity = identityOf(input);
  modelKeys(config.s3.prefix, identity); // ids too long to store: refused before any work
  await checkMmPerPx(services, identity.recipeId, input.mm_per_px, ctx); // a 409 before any work
  const files = input.images;
  await ctx.timings.time("decode", () => checkImages(files, config.limits.maxImagePixels, config.limits.maxRequestPixels));
  const extractor = await services.extractor();
  const batchSize = config.patchcore.fitBatchSize;
  const grids: PatchGrid[] = [];
  const started = performance.now();
  for (let start = 0; start < files.length; start += batchSize) {
    const batch = files.slice(start, start + batchSize);
    const images = [];
    for (const [j, file] of batch.entries()) {
      images.push(
        await ctx.timings.time("decode", () => decodeImage(file.data, config.limits.maxImagePixels, `images[${start + j}] (${file.filename || "unnamed"})`)),
      );
    }
    for (const embedded of await embedImages(extractor, images, { batchSize, timings: ctx.timings })) grids.push(embedded.grid);
    checkSameGrid(grids);
    const done = grids.length;
    const perImageMs = (performance.now() - started) / done;
    const { h, w, dim } = grids[0]!;
    const coresetMs = input.memory_fit ? 0 : coresetEstimateMs(files.length * h * w, dim);
    checkTimeBudget(`This fit of ${files.length} images`, perImageMs * (files.length - done) + coresetMs, ctx.remainingMs(), TOO_SLOW_ADVICE);
  }
  const fitId = randomUUID();
  const keepAll = input.memory_fit;
  const { bank } = await ctx.timings.time("coreset", () =>
    fitMemoryBank(
      grids,
      { coresetRate: config.patchcore.coresetRate, keepAll, seed: config.patchcore.seed, threads: config.model.ortThreads },
      {
        model_id: extractor.card.id,
        input_size: extractor.inputSize,
        fit_id: fitId,
        mm_per_px: input.mm_per_px,
        created_at: new Date().toISOString(),
        version: config.version,
        role_id: identity.roleId,
        roi_id: identity.roiId,
        model_key: identity.modelKey,
        recipe_id: identity.recipeId,
      },
    ),
  );
  checkTimeBudget(`This fit of ${files.length} images`, 0, ctx.remainingMs(), TOO_SLOW_ADVICE);
  return commitFit(services, identity, bank, input.mm_per_px, ctx);
}

/**
 * The two-stage search's basis for `bank`, found once at fit rather than by every container that
 * loads the memory; undefined if it cannot be found (it only buys speed: the load finds one then).
 */
async function basisOrNone(bank: MemoryBank, threads: number, ctx: UseCaseContext): Promise<ShortlistBasis | undefined> {
  try {
    return await ctx.timings.time("knn_basis", () => findBankBasis(bank, threads));
  } catch (error) {
    ctx.log.warn("two-stage basis not found at fit: the memory is stored without it", { error });
    return undefined;
  }
}

/**
 * The end of every fit (uploaded images or a dataset): the HNSW index when the kNN policy will
 * read it (or the two-stage search's basis, stored in the memory, when that search will score
 * it), the recipe's mm_per_px lock (the first fit of a recipe sets it), the store's commit, and
 * /fit_ok's answer from what the memory records.
 */
export async function commitFit(services: Services, identity: ModelIdentity, bank: MemoryBank, mmPerPx: number, ctx: UseCaseContext): Promise<FitResult> {
  const { config, memories } = services;
  const plan = knnPlan(config.knn.backend, bank.count, config.knn.hnswMaxRows, bank.dim);
  const index = plan === "hnsw" ? await ctx.timings.time("index_build", () => HnswScorer.build(bank).serialise()) : null;
  const stored: MemoryBank = { ...bank, shortlistBasis: plan === "two_stage" ? await basisOrNone(bank, config.model.ortThreads, ctx) : undefined };
  await ensureMmPerPx(services, identity.recipeId, mmPerPx, ctx);
  await memories.saveFit(modelKeys(config.s3.prefix, identity), stored, index, ctx.timings, ctx.log);
  const m = bank.metadata;
  const indexKind = index ? "hnsw" : stored.shortlistBasis ? "two_stage" : "none";
  ctx.log.info("fitted", { ...identityEcho(identity), fit_id: m.fit_id, n_images: m.n_images, coreset_size: bank.count, index: indexKind });
  return {
    n_embeddings: Number(m.n_embeddings),
    coreset_size: bank.count,
    token_shape: [bank.tokenH, bank.tokenW],
    coreset_rate_requested: Number(m.coreset_rate_requested),
    coreset_rate_applied: Number(m.coreset_rate_applied),
    covering_radius: Number(m.covering_radius),
    n_images: Number(m.n_images),
    memory_fit: m.memory_fit === true,
    model: String(m.model_id ?? ""),
    fit_id: String(m.fit_id),
    index: indexKind,
    ...identityEcho(identity),
    timings_ms: ctx.timings.toJSON(),
  };
}
