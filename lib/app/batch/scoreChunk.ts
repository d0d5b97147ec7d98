import { z } from "zod";
import type { InferRequest } from "../../contract/infer";
import type { UseCaseContext } from "../../context";
import { DomainError, InvalidInputError } from "../../errors";
import type { EmbeddedImage } from "../../features/embed";
import type { RgbImage } from "../../image/decode";
import type { TaskKind, WorkerResult } from "../../jobs/tasks";
import { embedForInspection } from "../../patchcore/pipeline";
import type { DatasetEntry } from "../../store/datasetRepository";
import { datasetOf } from "../../store/keys";
import { decodeRoi, inspectDecoded } from "../inspection/inspect";
import { datasetChunkTask } from "../jobs/taskFields";
import type { Services } from "../services";
import { batchItem, errorItem, type BatchItem } from "./items";

/** The worker task of batch scoring: score a chunk of stored images as /infer would. */
export const scoreTask = datasetChunkTask.extend({
  kind: z.literal("score"),
  includeHeatmap: z.boolean(),
  defaultMmPerPx: z.number().nullable(),
  modelVersion: z.number().int().positive(),
  /** /calibrate_dataset: the map percentile that makes each score (the one it stores); absent: the version's calibration's. */
  scorePercentile: z.number().optional(),
});
export type ScoreTask = z.infer<typeof scoreTask>;

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
export async function scoreChunk(services: Services, task: ScoreTask, ctx: UseCaseContext): Promise<WorkerResult> {
  const started = performance.now();
  const dataset = datasetOf(task.identity);
  const { catalog } = await services.datasets.catalog(dataset, ctx.timings);
  const entries = new Map(catalog.files.map((f: DatasetEntry) => [`${f.label}/${f.filename}`, f]));
  const items: BatchItem[] = new Array(task.files.length);
  const failed = (at: number, mmPerPx: number | null, error: unknown) => {
    const file = task.files[at]!;
    if (!(error instanceof DomainError)) ctx.log.error("batch item failed", { ...file, error });
    items[at] = errorItem(file, mmPerPx, error instanceof DomainError ? error.message : "Internal error scoring this image");
  };
  const batchSize = services.config.patchcore.forwardBatchSize;
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
          model_version: task.modelVersion,
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
      embedded = await embedForInspection(
        await services.extractor(),
        decoded.map((d) => d.image),
        batchSize,
        ctx.timings,
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
          await inspectDecoded(services, d.input, d.image, ctx, { lockScale: false, embedded: embedded[k]!, scorePercentile: task.scorePercentile }),
          task.includeHeatmap,
        );
      } catch (error) {
        failed(d.at, d.mmPerPx, error);
      }
    }
  }
  const key = services.jobs.keys(task.jobId).chunk(task.chunk, "json");
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

export function scoreTaskKind(services: Services): TaskKind<ScoreTask> {
  return { schema: scoreTask, run: (task, _attempt, ctx) => scoreChunk(services, task, ctx) };
}
