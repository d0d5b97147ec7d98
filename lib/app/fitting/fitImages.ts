import { randomUUID } from "node:crypto";
import type { UploadedFile } from "../../contract/files";
import type { FitOkRequest } from "../../contract/fitOk";
import type { UseCaseContext } from "../../context";
import { TooLargeError } from "../../errors";
import { decodeImage, readImageHeader } from "../../image/decode";
import { fitMemory } from "../../patchcore/pipeline";
import { modelKeys } from "../../store/keys";
import { identityOf } from "../identity";
import { checkMmPerPx } from "../recipes/mmPerPxLock";
import type { Services } from "../services";
import { commitFit, fitMetadata, type FitResult } from "./commitFit";
import { checkTimeBudget, coresetEstimateMs } from "./timeBudget";

const TOO_SLOW_ADVICE = "send fewer images per request, or upload them to the dataset and fit from it (use_dataset=true)";

/** Every image's header, before any pixel is decoded: 400/413 per image, then 413 for the request's total pixels. */
export async function checkImages(files: readonly UploadedFile[], maxImagePixels: number, maxRequestPixels: number): Promise<void> {
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

/**
 * /fit_ok on the uploaded images: the pipeline's fit (decoded and embedded FIT_BATCH_SIZE at a
 * time, then the coreset unless memory_fit), then the commit. Everything is validated and
 * computed before anything is written, and a fit that cannot finish in the function's remaining
 * time stops before writing: a rejected or failed fit leaves the previous memory as it was.
 */
export async function fitUploadedImages(services: Services, input: FitOkRequest, ctx: UseCaseContext): Promise<FitResult> {
  const { config } = services;
  const identity = identityOf(input);
  modelKeys(config.s3.prefix, identity); // ids too long to store: refused before any work
  await checkMmPerPx(services, identity.recipeId, input.mm_per_px, ctx); // a 409 before any work
  const files = input.images;
  await ctx.timings.time("decode", () => checkImages(files, config.limits.maxImagePixels, config.limits.maxRequestPixels));
  const extractor = await services.extractor();
  const what = `This fit of ${files.length} images`;
  const started = performance.now();
  const bank = await fitMemory(
    extractor,
    {
      count: files.length,
      decode: (i) => decodeImage(files[i]!.data, config.limits.maxImagePixels, `images[${i}] (${files[i]!.filename || "unnamed"})`),
    },
    {
      batchSize: config.patchcore.forwardBatchSize,
      coresetRate: config.patchcore.coresetRate,
      keepAll: input.memory_fit,
      seed: config.patchcore.seed,
      threads: config.model.ortThreads,
      metadata: fitMetadata(services, identity, randomUUID(), input.mm_per_px),
      afterBatch: (grids) => {
        const done = grids.length;
        const { h, w, dim } = grids[0]!;
        const coresetMs = input.memory_fit ? 0 : coresetEstimateMs(files.length * h * w, dim);
        checkTimeBudget(what, ((performance.now() - started) / done) * (files.length - done) + coresetMs, ctx.remainingMs(), TOO_SLOW_ADVICE);
      },
    },
    ctx.timings,
  );
  checkTimeBudget(what, 0, ctx.remainingMs(), TOO_SLOW_ADVICE);
  return commitFit(services, identity, bank, { source: "images", parentVersion: null, activate: input.activate, mmPerPx: input.mm_per_px }, ctx);
}
