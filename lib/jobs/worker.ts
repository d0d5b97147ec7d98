import type { UseCaseContext } from "../app/context";
import { decodeRoi, inspectDecoded } from "../app/inspect";
import type { InferRequest } from "../contract/infer";
import type { Services } from "../app/services";
import { DomainError, InvalidInputError } from "../errors";
import { embedImages, type EmbeddedImage } from "../features/embed";
import type { PatchGrid } from "../features/extractor";
import { decodeImage, type RgbImage } from "../image/decode";
import { checkSameGrid } from "../patchcore/memoryBank";
import { reduceChunk } from "../patchcore/twoStageCoreset";
import { concatRows, l2NormalizeRows } from "../patchcore/vectors";
import type { DatasetEntry } from "../store/datasetRepository";
import { encodeMemoryNpz } from "../store/npz";
import { batchItem, errorItem, type BatchItem } from "./items";
import type { EmbedTask, ScoreTask, WorkerResult, WorkerTask } from "./tasks";

/** The test hook WORKER_FAULT ("embed:1:once"): this worker fails as told (on its first attempt only, with "once"). */
function failIfAsked(services: Services, task: WorkerTask, attempt: number): void {
  const faults = services.config.jobs.workerFault;
  if (!faults) return;
  for (const fault of faults.split(",")) {
    const [kind, chunk, mode] = fault.split(":");
    if (kind === task.kind && Number(chunk) === task.chunk && (mode === "always" || attempt === 1)) {
      throw new Error(`WORKER_FAULT: ${task.kind} chunk ${task.chunk} fails on attempt ${attempt}, as the test asked`);
    }
  }
}

function datasetOf(task: WorkerTask) {
  return { roleId: task.identity.roleId, roiId: task.identity.roiId, recipeId: task.identity.recipeId };
}

/**
 * Stage 1 of a dataset fit: the chunk's stored images embedded (FIT_BATCH_SIZE per ONNX run) and
 * reduced by k-center greedy to a partial coreset, written as an .npz under the job.
 */
export async function embedChunk(services: Services, task: EmbedTask, attempt: number, ctx: UseCaseContext): Promise<WorkerResult> {
  failIfAsked(services, task, attempt);
  const started = performance.now();
  const { config, datasets, jobs } = services;
  const dataset = datasetOf(task);
  const extractor = await services.extractor();
  const grids: PatchGrid[] = [];
  let missing = 0;
  for (let start = 0; start < task.files.length; start += config.patchcore.fitBatchSize) {
    const images = [];
    for (const file of task.files.slice(start, start + config.patchcore.fitBatchSize)) {
      const bytes = await datasets.file(dataset, file, ctx.timings);
      if (!bytes) {
        missing++; // deleted since the fit listed it: fitted without it, as the old backend does
        ctx.log.warn("dataset file gone during a fit", { ...file });
        continue;
      }
      images.push(await ctx.timings.time("decode", () => decodeImage(bytes, config.limits.maxImagePixels, `${file.label}/${file.filename}`)));
    }
    for (const embedded of await embedImages(extractor, images, { batchSize: config.patchcore.fitBatchSize, timings: ctx.timings })) grids.push(embedded.grid);
  }
  if (grids.length === 0) throw new InvalidInputError(`chunk ${task.chunk}: none of its ${task.files.length} images is stored any more`);
  checkSameGrid(grids);
  const { h, w, dim } = grids[0]!;
  const rows = l2NormalizeRows(concatRows(grids.map((g) => g.embeddings)), dim);
  const reduced = await ctx.timings.time("coreset", () => reduceChunk(rows, dim, { ...task.coreset, threads: config.model.ortThreads }));
  const npz = encodeMemoryNpz({
    embeddings: reduced.rows,
    count: reduced.count,
    dim,
    tokenH: h,
    tokenW: w,
    metadata: {
      model_id: extractor.card.id,
      input_size: extractor.inputSize,
      n_embeddings: reduced.nEmbeddings,
      covering_radius: reduced.coveringRadius,
      n_images: grids.length,
    },
  });
  const key = jobs.chunkKey(task.jobId, task.chunk, "npz");
  await jobs.putBytes(key, npz, ctx.timings);
  return { chunk: task.chunk, key, images: grids.length, errors: missing, workMs: performance.now() - started, stagesMs: ctx.timings.toJSON() };
}

function shapeOf(raw: unknown): unknown {
  if (raw === undefined || raw === null || raw === "") return undefined;
  if (typeof raw === "string") {
    try {
      return JSON.parse(raw);
    } catch (cause) {
      throw new InvalidInputError(`shape_json is not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }
  return raw;
}

/**
 * One chunk of batch scoring: each stored image scored exactly as POST /infer would (its meta's
 * mm_per_px, else the request's default; its meta's shape_json), the memory and calibration
 * loaded once per container, the forward FIT_BATCH_SIZE images per ONNX run (the batch size the
 * bench measures fastest per image; its outputs are bit-identical to one image at a time for
 * both models, measured). One bad image is an item with an error, never a failed chunk.
 */
export async function scoreChunk(services: Services, task: ScoreTask, attempt: number, ctx: UseCaseContext): Promise<WorkerResult> {
  failIfAsked(services, task, attempt);
  const started = performance.now();
  const dataset = datasetOf(task);
  const { index } = await services.datasets.index(dataset, ctx.timings);
  const entries = new Map(index.files.map((f: DatasetEntry) => [`${f.label}/${f.filename}`, f]));
  const items: BatchItem[] = new Array(task.files.length);
  const failed = (at: number, mmPerPx: number | null, error: unknown) => {
    const file = task.files[at]!;
    if (!(error instanceof DomainError)) ctx.log.error("batch item failed", { ...file, error });
    items[at] = errorItem(file, mmPerPx, error instanceof DomainError ? error.message : "Internal error scoring this image");
  };
  const batchSize = services.config.patchcore.fitBatchSize;
  for (let start = 0; start < task.files.length; start += batchSize) {
    const decoded: { at: number; input: InferRequest; image: RgbImage; mmPerPx: number }[] = [];
    for (let at = start; at < Math.min(start + batchSize, task.files.length); at++) {
      const file = task.files[at]!;
      const entry = entries.get(`${file.label}/${file.filename}`);
      const meta = entry?.meta ?? {};
      const mmPerPx = typeof meta.mm_per_px === "number" ? meta.mm_per_px : task.defaultMmPerPx;
      try {
        if (!entry) throw new InvalidInputError("file not found in the dataset (deleted meanwhile?)");
        if (mmPerPx === null) throw new InvalidInputError("mm_per_px missing and default_mm_per_px not provided");
        const bytes = await services.datasets.file(dataset, entry, ctx.timings);
        if (!bytes) throw new InvalidInputError("file not found in the dataset (deleted meanwhile?)");
        const shape = shapeOf(meta.shape_json);
        const input: InferRequest = {
          role_id: task.identity.roleId,
          roi_id: task.identity.roiId,
          model_key: task.identity.modelKey,
          recipe_id: task.identity.recipeId,
          mm_per_px: mmPerPx,
          ...(shape === undefined ? {} : { shape }),
          include_anomaly_map: false,
          image: [
            { field: "image", filename: entry.filename, mimeType: entry.content_type, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
          ],
        };
        decoded.push({ at, input, image: await decodeRoi(services, input, ctx), mmPerPx });
      } catch (error) {
        failed(at, mmPerPx, error);
      }
    }
    if (decoded.length === 0) continue;
    let embedded: EmbeddedImage[];
    try {
      embedded = await embedImages(
        await services.extractor(),
        decoded.map((d) => d.image),
        { batchSize, timings: ctx.timings },
      );
    } catch (error) {
      for (const d of decoded) failed(d.at, d.mmPerPx, error);
      continue;
    }
    for (const [k, d] of decoded.entries()) {
      try {
        items[d.at] = batchItem(
          task.files[d.at]!,
          d.mmPerPx,
          await inspectDecoded(services, d.input, d.image, ctx, { lockScale: false, embedded: embedded[k]! }),
          task.includeHeatmap,
        );
      } catch (error) {
        failed(d.at, d.mmPerPx, error);
      }
    }
  }
  const key = services.jobs.chunkKey(task.jobId, task.chunk, "json");
  await services.jobs.putJson(key, items, ctx.timings);
  return {
    chunk: task.chunk,
    key,
    images: items.length,
    errors: items.filter((i) => i.error !== null).length,
    workMs: performance.now() - started,
    stagesMs: ctx.timings.toJSON(),
  };
}
