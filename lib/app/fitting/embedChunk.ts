import { z } from "zod";
import type { UseCaseContext } from "../../context";
import { decodeImage } from "../../image/decode";
import type { TaskKind, WorkerResult } from "../../jobs/tasks";
import { fitChunk, type FitChunk } from "../../patchcore/pipeline";
import { encodeMemoryNpz, decodeMemoryNpz } from "../../store/npz";
import { datasetOf } from "../../store/keys";
import { annotateModel } from "../lineMetrics";
import type { Services } from "../services";
import { datasetChunkTask } from "../jobs/taskFields";

/** The worker task of a dataset fit's first pass: embed a chunk of stored OK images and reduce it to a partial coreset. */
export const embedTask = datasetChunkTask.extend({
  kind: z.literal("embed"),
  coreset: z.object({ rate: z.number(), oversample: z.number(), keepAll: z.boolean(), seed: z.number() }),
});
export type EmbedTask = z.infer<typeof embedTask>;

/** A chunk's partial coreset as stored under its job (an .npz, as a memory), and back. */
export function encodeFitChunk(chunk: FitChunk): Uint8Array {
  const { coreset } = chunk;
  return encodeMemoryNpz({
    embeddings: coreset.rows,
    count: coreset.count,
    dim: chunk.dim,
    tokenH: chunk.tokenH,
    tokenW: chunk.tokenW,
    metadata: {
      model_id: chunk.modelId,
      input_size: chunk.inputSize,
      n_embeddings: coreset.nEmbeddings,
      covering_radius: coreset.coveringRadius,
      n_images: chunk.images,
      missing: chunk.missing,
    },
  });
}

export function decodeFitChunk(bytes: Uint8Array): FitChunk {
  const p = decodeMemoryNpz(bytes);
  const m = p.metadata;
  return {
    coreset: { rows: p.embeddings, count: p.count, nEmbeddings: Number(m.n_embeddings), coveringRadius: Number(m.covering_radius) },
    tokenH: p.tokenH,
    tokenW: p.tokenW,
    dim: p.dim,
    images: Number(m.n_images),
    missing: Number(m.missing ?? 0),
    modelId: String(m.model_id ?? ""),
    inputSize: Number(m.input_size),
  };
}

/**
 * The first pass of a dataset fit, on a worker: the chunk's stored images embedded (FIT_BATCH_SIZE
 * per ONNX run) and reduced by k-center greedy to a partial coreset, written as an .npz under the
 * job. A file deleted since the fit listed it is left out, as the old backend does.
 */
export async function embedChunk(services: Services, task: EmbedTask, ctx: UseCaseContext): Promise<WorkerResult> {
  const started = performance.now();
  const { config, datasets, jobs } = services;
  annotateModel(task.identity, null, ctx);
  const dataset = datasetOf(task.identity);
  const extractor = await services.extractor();
  const chunk = await fitChunk(
    extractor,
    {
      count: task.files.length,
      decode: async (i) => {
        const file = task.files[i]!;
        const bytes = await datasets.file(dataset, file, ctx.timings);
        if (!bytes) {
          ctx.log.warn("dataset file gone during a fit", { ...file });
          return null;
        }
        return decodeImage(bytes, config.limits.maxImagePixels, `${file.label}/${file.filename}`);
      },
    },
    { batchSize: config.patchcore.forwardBatchSize, ...task.coreset, threads: config.model.ortThreads },
    ctx.timings,
  );
  const key = jobs.keys(task.jobId).chunk(task.chunk, "npz");
  await jobs.putBytes(key, encodeFitChunk(chunk), ctx.timings);
  return { chunk: task.chunk, key, images: chunk.images, errors: chunk.missing, workMs: performance.now() - started, stagesMs: ctx.timings.toJSON() };
}

export function embedTaskKind(services: Services): TaskKind<EmbedTask> {
  return { schema: embedTask, run: (task, _attempt, ctx) => embedChunk(services, task, ctx) };
}
