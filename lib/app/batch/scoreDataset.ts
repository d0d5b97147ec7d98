import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { UseCaseContext } from "../../context";
import { runOnWorkers } from "../../jobs/coordinate";
import { fanOutEstimateMs } from "../../jobs/estimate";
import { chunked } from "../../jobs/fanOut";
import type { JobProgress } from "../../jobs/progress";
import { THRESHOLD_RULES } from "../../patchcore/thresholdRules";
import { datasetOf, modelKeys, type ModelIdentity } from "../../store/keys";
import { memoryNotFound } from "../identity";
import { describeVersion, type VersionFacts } from "../models/versions";
import { modelIdentityTask } from "../jobs/taskFields";
import type { Services } from "../services";
import { errorItem, type BatchItem } from "./items";
import type { ScoreTask } from "./scoreChunk";

/** A batch over a stored dataset, as a job's command. */
export const batchCommand = z.object({
  identity: modelIdentityTask,
  labels: z.array(z.enum(["ok", "ng"])),
  includeHeatmap: z.boolean(),
  defaultMmPerPx: z.number().nullable(),
  /** The version every image is scored with (resolved when the batch starts). */
  modelVersion: z.number().int().positive(),
  /** For calibrate_dataset: the rule's settings (rule absent: "old"). */
  calibration: z
    .object({
      scorePercentile: z.number().optional(),
      areaMm2Thr: z.number().optional(),
      requireNg: z.boolean(),
      rule: z.enum(THRESHOLD_RULES).optional(),
      target: z.number().nullable().optional(),
      threshold: z.number().nullable().optional(),
      includeCurve: z.boolean().optional(),
    })
    .optional(),
});
export type BatchCommand = z.infer<typeof batchCommand>;

/** Coordinator's own share after the workers (merging items, writes), ms. */
const TAIL_MS = 1500;

/** The wall time of scoring `images` over the fan-out, ms (what decides between answering now and a job). */
export function batchEstimateMs(services: Services, images: number): number {
  return fanOutEstimateMs(services.config.fanOut, images, services.config.fanOut.scoreChunkImages, TAIL_MS);
}

/** How many stored images of `labels` a batch would score, in all and per label (one read of the catalog). */
export async function countFiles(
  services: Services,
  identity: ModelIdentity,
  labels: readonly string[],
  ctx: UseCaseContext,
): Promise<{ total: number; byLabel: ReadonlyMap<string, number> }> {
  const { catalog } = await services.datasets.catalog(datasetOf(identity), ctx.timings);
  const byLabel = new Map(labels.map((label) => [label, catalog.files.filter((f) => f.label === label).length]));
  return { total: [...byLabel.values()].reduce((a, b) => a + b, 0), byLabel };
}

/** The version a batch scores with (named, else the active one), resolved once before any work; not_fitted without a model. */
export async function requireVersion(services: Services, identity: ModelIdentity, requested: number | undefined, ctx: UseCaseContext): Promise<VersionFacts> {
  const facts = await describeVersion(services, modelKeys(services.config.s3.prefix, identity), identity, requested, ctx);
  if (!facts) throw memoryNotFound(identity);
  return facts;
}

/**
 * Scores every stored image of `labels` over worker invocations (SCORE_CHUNK_IMAGES each,
 * FANOUT_WIDTH at a time, each retried once; a chunk that fails twice becomes items with that
 * error). Items come back in label order, then file name order.
 */
export async function scoreDataset(services: Services, command: BatchCommand, progress: JobProgress | null, ctx: UseCaseContext) {
  const { config, jobs } = services;
  const { identity } = command;
  const { catalog } = await services.datasets.catalog(datasetOf(identity), ctx.timings);
  const files = command.labels.flatMap((label) =>
    catalog.files
      .filter((f) => f.label === label)
      .map((f) => ({ label, filename: f.filename }))
      .sort((a, b) => a.filename.localeCompare(b.filename)),
  );
  const jobId = progress?.id ?? randomUUID();
  const tasks: ScoreTask[] = chunked(files, config.fanOut.scoreChunkImages).map((chunk, i) => ({
    kind: "score",
    jobId,
    chunk: i,
    identity,
    files: chunk,
    includeHeatmap: command.includeHeatmap,
    defaultMmPerPx: command.defaultMmPerPx,
    modelVersion: command.modelVersion,
    ...(command.calibration ? { scorePercentile: command.calibration.scorePercentile ?? config.patchcore.scorePercentile } : {}),
  }));
  const { outcomes, retried } = await runOnWorkers(services, tasks, progress, ctx);

  const items: BatchItem[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    if (outcome.ok) {
      items.push(...((await jobs.getJson(outcome.result.key, ctx.timings)) as BatchItem[]));
    } else {
      const message = `this image's worker failed twice: ${outcome.error.message}`;
      for (const file of tasks[i]!.files) items.push(errorItem(file, null, message));
    }
  }
  const failed = outcomes.filter((o) => !o.ok).length;
  const workerMs = outcomes.map((o) => (o.ok ? o.result.workMs : 0));
  return {
    items,
    fanOut: { workers: tasks.length, chunk_images: config.fanOut.scoreChunkImages, retried, failed, worker_ms_max: Math.round(Math.max(0, ...workerMs)) },
  };
}

/** A batch job's end: the full result to S3 (fetched through result_url), a summary (without the per-image lists) in the job. */
export async function storeBatchResult(
  services: Services,
  result: Record<string, unknown>,
  jobId: string,
  ctx: UseCaseContext,
): Promise<Record<string, unknown>> {
  await services.jobs.putJson(services.jobs.keys(jobId).result, { ...result, job_id: jobId }, ctx.timings);
  const { items: _items, scores: _scores, curve: _curve, ...summary } = result;
  return summary;
}
