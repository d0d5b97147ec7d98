import { randomUUID } from "node:crypto";
import type { FitOkRequest } from "../../contract/fitOk";
import type { UseCaseContext } from "../../context";
import { CorruptArtefactError, InvalidInputError } from "../../errors";
import { decodeImage } from "../../image/decode";
import { appendToMemory, type ImageSource } from "../../patchcore/pipeline";
import { l2NormalizeRows } from "../../patchcore/vectors";
import { datasetOf, modelKeys, type ModelIdentity, type ModelKeys } from "../../store/keys";
import { identityOf } from "../identity";
import { chosenEntry, legacyState, memoryKeyOf } from "../models/versions";
import { checkMmPerPx } from "../recipes/mmPerPxLock";
import type { Services } from "../services";
import { commitFit, fitMetadata, type FitResult } from "./commitFit";
import { checkImages } from "./fitImages";
import { checkTimeBudget, coresetEstimateMs } from "./timeBudget";

const TOO_SLOW_ADVICE = "append fewer images per request";

/** The version to append to (named, else the active one) and where its memory is; 400 when the model has none yet. */
async function parentOf(services: Services, keys: ModelKeys, identity: ModelIdentity, requested: number | undefined, ctx: UseCaseContext) {
  const stored = await services.versions.load(keys, ctx.timings);
  const versions = stored?.versions ?? (await legacyState(services, keys, ctx)).versions;
  if (versions.versions.length === 0) {
    throw new InvalidInputError(
      `append=true needs a version to append to, and the model (${identity.roleId}, ${identity.modelKey}) has none yet: fit it first (/fit_ok without append)`,
    );
  }
  const entry = chosenEntry(versions, identity, requested);
  return { entry, memoryKey: memoryKeyOf(keys, entry) };
}

/** The images to teach: the uploaded ones, or stored OK images of the ROI's dataset named by dataset_files. */
async function appendSource(services: Services, input: FitOkRequest, identity: ModelIdentity, ctx: UseCaseContext): Promise<ImageSource> {
  const { config, datasets } = services;
  const maxPixels = config.limits.maxImagePixels;
  if (input.dataset_files === undefined) {
    const files = input.images;
    await ctx.timings.time("decode", () => checkImages(files, maxPixels, config.limits.maxRequestPixels));
    return { count: files.length, decode: (i) => decodeImage(files[i]!.data, maxPixels, `images[${i}] (${files[i]!.filename || "unnamed"})`) };
  }
  const dataset = datasetOf(identity);
  const { catalog } = await datasets.catalog(dataset, ctx.timings);
  const ok = new Map(catalog.files.filter((f) => f.label === "ok").map((f) => [f.filename, f]));
  const missing = input.dataset_files.filter((name) => !ok.has(name));
  if (missing.length > 0) {
    throw new InvalidInputError(
      `dataset_files: ${missing.map((n) => JSON.stringify(n)).join(", ")} ${missing.length === 1 ? "is" : "are"} not in the OK dataset of (${identity.roleId}, ${identity.roiId}): see GET /datasets/list?label=ok (move a good image flagged in a batch there first)`,
    );
  }
  const entries = input.dataset_files.map((name) => ok.get(name)!);
  const pixels = entries.reduce((sum, e) => sum + e.width * e.height, 0);
  if (pixels > config.limits.maxRequestPixels) {
    throw new InvalidInputError(
      `dataset_files: the ${entries.length} images hold ${pixels} pixels, over MAX_REQUEST_PIXELS (${config.limits.maxRequestPixels}): name fewer`,
    );
  }
  return {
    count: entries.length,
    decode: async (i) => {
      const bytes = await datasets.file(dataset, entries[i]!, ctx.timings);
      if (!bytes) throw new InvalidInputError(`dataset_files: ${entries[i]!.filename} was deleted meanwhile`);
      return decodeImage(bytes, maxPixels, `ok/${entries[i]!.filename}`);
    },
  };
}

/**
 * /fit_ok with append=true (learning from false alarms): a new version made from an existing one
 * (model_version, default the active one) and good images (uploaded, or stored OK images named by
 * dataset_files): the pipeline's appendToMemory keeps every row of the parent's memory and adds
 * the new images' patches that k-center greedy seeded with those rows picks. The new version
 * inherits the parent's calibration (marked inherited) until it is calibrated itself.
 */
export async function appendFit(services: Services, input: FitOkRequest, ctx: UseCaseContext): Promise<FitResult> {
  const { config } = services;
  const identity = identityOf(input);
  const keys = modelKeys(config.s3.prefix, identity);
  await checkMmPerPx(services, identity.recipeId, input.mm_per_px, ctx);
  const parent = await parentOf(services, keys, identity, input.model_version, ctx);
  const source = await appendSource(services, input, identity, ctx);
  const stored = await services.memories.load(parent.memoryKey, ctx.timings, { asStored: true });
  if (!stored) throw new CorruptArtefactError(parent.memoryKey, new Error(`the memory of version ${parent.entry.version} is missing`), "version memory");
  const bank = { ...stored.bank, embeddings: l2NormalizeRows(stored.bank.embeddings.slice(), stored.bank.dim) };
  const extractor = await services.extractor();
  const what = `This append of ${source.count} images`;
  const started = performance.now();
  const { bank: appended, appended: added } = await appendToMemory(
    extractor,
    { storedRows: stored.bank.embeddings, bank },
    source,
    {
      batchSize: config.patchcore.forwardBatchSize,
      rate: config.patchcore.coresetRate,
      threads: config.model.ortThreads,
      metadata: fitMetadata(services, identity, randomUUID(), input.mm_per_px, { parent_version: parent.entry.version, parent_fit_id: parent.entry.fit_id }),
      afterBatch: (grids) => {
        const done = grids.length;
        const { h, w, dim } = grids[0]!;
        const greedyMs = coresetEstimateMs(source.count * h * w, dim);
        checkTimeBudget(what, ((performance.now() - started) / done) * (source.count - done) + greedyMs, ctx.remainingMs(), TOO_SLOW_ADVICE);
      },
    },
    ctx.timings,
  );
  checkTimeBudget(what, 0, ctx.remainingMs(), TOO_SLOW_ADVICE);
  const result = await commitFit(
    services,
    identity,
    appended,
    { source: "append", parentVersion: parent.entry.version, activate: input.activate, mmPerPx: input.mm_per_px },
    ctx,
  );
  return { ...result, appended: { images: added.images, patches: added.patches, rows_added: added.rowsAdded } };
}
