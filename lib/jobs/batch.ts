import { randomUUID } from "node:crypto";
import { calibrateFromScores } from "../app/calibrate";
import type { UseCaseContext } from "../app/context";
import { identityEcho, identityOf, memoryNotFound } from "../app/identity";
import type { Services } from "../app/services";
import type { CalibrateDatasetRequest, InferDatasetRequest } from "../contract/batch";
import { CalibrationMissingError, InvalidInputError } from "../errors";
import { percentile } from "../patchcore/percentile";
import { modelKeys, type ModelIdentity } from "../store/keys";
import { fanOutEstimateMs } from "./estimate";
import { runOnWorkers } from "./coordinate";
import { chunked } from "./fanOut";
import { errorItem, type BatchItem } from "./items";
import { JobProgress, startJob, type JobKind } from "./jobs";
import type { ScoreTask } from "./tasks";

export interface BatchCommand {
  readonly identity: ModelIdentity;
  readonly labels: readonly ("ok" | "ng")[];
  readonly includeHeatmap: boolean;
  readonly defaultMmPerPx: number | null;
  /** For calibrate_dataset: the rule's settings. */
  readonly calibration?: { readonly scorePercentile?: number | undefined; readonly areaMm2Thr?: number | undefined; readonly requireNg: boolean };
}

/** Coordinator's own share after the workers (merging items, writes), ms. */
const TAIL_MS = 1500;

/**
 * Scores every stored image of `labels` over worker invocations (SCORE_CHUNK_IMAGES each,
 * FANOUT_WIDTH at a time, each retried once; a chunk that fails twice becomes items with that
 * error). Items come back in label order, then file name order.
 */
export async function scoreDataset(services: Services, command: BatchCommand, progress: JobProgress | null, ctx: UseCaseContext) {
  const { config, jobs } = services;
  const { identity } = command;
  const { index } = await services.datasets.index({ roleId: identity.roleId, roiId: identity.roiId, recipeId: identity.recipeId }, ctx.timings);
  const files = command.labels.flatMap((label) =>
    index.files
      .filter((f) => f.label === label)
      .map((f) => ({ label, filename: f.filename }))
      .sort((a, b) => a.filename.localeCompare(b.filename)),
  );
  const jobId = progress?.id ?? randomUUID();
  const tasks: ScoreTask[] = chunked(files, config.jobs.scoreChunkImages).map((chunk, i) => ({
    kind: "score",
    jobId,
    chunk: i,
    identity,
    files: chunk,
    includeHeatmap: command.includeHeatmap,
    defaultMmPerPx: command.defaultMmPerPx,
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
    fanOut: { workers: tasks.length, chunk_images: config.jobs.scoreChunkImages, retried, failed, worker_ms_max: Math.round(Math.max(0, ...workerMs)) },
  };
}

async function requireMemory(services: Services, identity: ModelIdentity, ctx: UseCaseContext) {
  const head = await services.memories.head(modelKeys(services.config.s3.prefix, identity), ctx.timings);
  if (!head) throw memoryNotFound(identity);
  return head;
}

/** Serialised size of the answer, to keep under Lambda's payload limit. */
function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

async function inferDatasetResult(services: Services, command: BatchCommand, progress: JobProgress | null, ctx: UseCaseContext) {
  const { items, fanOut: report } = await scoreDataset(services, command, progress, ctx);
  return {
    status: "ok" as const,
    ...identityEcho(command.identity),
    n_total: items.length,
    n_errors: items.filter((i) => i.error !== null).length,
    items,
    fan_out: report,
    timings_ms: ctx.timings.toJSON(),
  };
}

async function calibrateDatasetResult(services: Services, command: BatchCommand, progress: JobProgress | null, ctx: UseCaseContext) {
  const settings = command.calibration!;
  const { items, fanOut: report } = await scoreDataset(services, command, progress, ctx);
  const ok = items.filter((i) => i.label === "ok" && i.score !== null).map((i) => i.score!);
  const ng = items.filter((i) => i.label === "ng" && i.score !== null).map((i) => i.score!);
  if (ok.length === 0) throw new InvalidInputError("No valid OK samples for calibration.");
  if (settings.requireNg && ng.length === 0) throw new InvalidInputError("No NG samples available for calibration.");
  const memory = await requireMemory(services, command.identity, ctx);
  const mmPerPx = memory.mmPerPx ?? command.defaultMmPerPx;
  if (mmPerPx === undefined || mmPerPx === null) throw new InvalidInputError("mm_per_px is required: the memory records none; send default_mm_per_px");
  const { identity } = command;
  const calibration = await calibrateFromScores(
    services,
    {
      role_id: identity.roleId,
      roi_id: identity.roiId,
      model_key: identity.modelKey,
      recipe_id: identity.recipeId,
      ok_scores: ok,
      ng_scores: ng.length > 0 ? ng : null,
      mm_per_px: mmPerPx,
      score_percentile: settings.scorePercentile,
      area_mm2_thr: settings.areaMm2Thr,
    },
    ctx,
  );
  return {
    status: "ok" as const,
    threshold: calibration.threshold,
    score_percentile: calibration.score_percentile,
    area_mm2_thr: calibration.area_mm2_thr,
    n_ok: ok.length,
    n_ng: ng.length,
    ...identityEcho(identity),
    p_ok: calibration.p99_ok,
    p5_ng: ng.length > 0 ? percentile(ng, 5) : null,
    mm_per_px: calibration.mm_per_px,
    fit_id: calibration.fit_id ?? null,
    scores: items.map((i) => ({ label: i.label, filename: i.filename, score: i.score, error: i.error })),
    fan_out: report,
  };
}

/** A job's work, run by the job runner: the full result to S3 (fetched through result_url), a summary in the job. */
export async function runBatchJob(
  services: Services,
  kind: JobKind,
  command: BatchCommand,
  progress: JobProgress,
  ctx: UseCaseContext,
): Promise<Record<string, unknown>> {
  const result =
    kind === "calibrate_dataset" ? await calibrateDatasetResult(services, command, progress, ctx) : await inferDatasetResult(services, command, progress, ctx);
  await services.jobs.putJson(services.jobs.resultKey(progress.id), { ...result, job_id: progress.id }, ctx.timings);
  const { items: _items, scores: _scores, ...summary } = result as Record<string, unknown>;
  return summary;
}

function estimateOf(services: Services, images: number): number {
  return fanOutEstimateMs(services.config.jobs, images, services.config.jobs.scoreChunkImages, TAIL_MS);
}

async function countFiles(services: Services, identity: ModelIdentity, labels: readonly string[], ctx: UseCaseContext): Promise<number> {
  const { index } = await services.datasets.index({ roleId: identity.roleId, roiId: identity.roiId, recipeId: identity.recipeId }, ctx.timings);
  return index.files.filter((f) => labels.includes(f.label)).length;
}

/** POST /infer_dataset: synchronous when the estimate fits SYNC_BUDGET_MS (the GUI's answer), else a job (202). */
export async function inferDatasetOrStartJob(services: Services, input: InferDatasetRequest, ctx: UseCaseContext) {
  const identity = identityOf(input);
  await requireMemory(services, identity, ctx);
  const calibration = await services.calibrations.load(modelKeys(services.config.s3.prefix, identity), ctx.timings);
  if (!calibration || !(calibration.calibration.threshold > 0)) throw new CalibrationMissingError("calibration_missing");
  const command: BatchCommand = {
    identity,
    labels: input.labels ?? ["ok", "ng"],
    includeHeatmap: input.include_heatmap ?? false,
    defaultMmPerPx: input.default_mm_per_px ?? null,
  };
  const images = await countFiles(services, identity, command.labels, ctx);
  const estimate = estimateOf(services, images);
  if (estimate > services.config.jobs.syncBudgetMs || estimate + 5000 > ctx.remainingMs())
    return startJob(services, "infer_dataset", { ...command }, images, estimate, ctx);
  const result = await inferDatasetResult(services, command, null, ctx);
  if (jsonBytes(result) + 1000 <= services.config.limits.maxResponseBytes) return result;
  // the heatmaps do not fit one Lambda answer: the full result goes to S3, the answer keeps the scores
  const id = randomUUID();
  await services.jobs.putJson(services.jobs.resultKey(id), result, ctx.timings);
  const url = await services.jobs.resultUrl(id, 15 * 60);
  ctx.log.warn("batch answer over the payload limit: heatmaps left out of it", { bytes: jsonBytes(result), result_key: services.jobs.resultKey(id) });
  return { ...result, items: result.items.map(({ heatmap_png_base64: _omit, ...item }) => item), heatmaps_omitted: true, ...(url ? { result_url: url } : {}) };
}

/** POST /calibrate_dataset: scores the stored OK and NG images, applies the threshold rule, stores the calibration. */
export async function calibrateDatasetOrStartJob(services: Services, input: CalibrateDatasetRequest, ctx: UseCaseContext) {
  const identity = identityOf(input);
  await requireMemory(services, identity, ctx);
  const command: BatchCommand = {
    identity,
    labels: ["ok", "ng"],
    includeHeatmap: false,
    defaultMmPerPx: input.default_mm_per_px ?? null,
    calibration: { scorePercentile: input.score_percentile, areaMm2Thr: input.area_mm2_thr, requireNg: input.require_ng ?? true },
  };
  const images = await countFiles(services, identity, command.labels, ctx);
  const estimate = estimateOf(services, images);
  if (estimate > services.config.jobs.syncBudgetMs || estimate + 5000 > ctx.remainingMs())
    return startJob(services, "calibrate_dataset", { ...command }, images, estimate, ctx);
  return calibrateDatasetResult(services, command, null, ctx);
}
