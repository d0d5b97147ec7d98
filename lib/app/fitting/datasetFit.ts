import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { UseCaseContext } from "../../context";
import { DomainError, InvalidInputError } from "../../errors";
import { runOnWorkers } from "../../jobs/coordinate";
import { answersInRequest, fanOutEstimateMs } from "../../jobs/estimate";
import { chunked } from "../../jobs/fanOut";
import type { JobKind } from "../../jobs/handlers";
import type { JobProgress } from "../../jobs/progress";
import { startJob } from "../../jobs/start";
import { mergeChunks, type FitChunk } from "../../patchcore/pipeline";
import { datasetOf, type ModelIdentity } from "../../store/keys";
import { modelIdentityTask } from "../jobs/taskFields";
import { recipeDimensions } from "../lineMetrics";
import { checkMmPerPx } from "../recipes/mmPerPxLock";
import type { Services } from "../services";
import { commitFit, fitMetadata, type FitResult } from "./commitFit";
import { decodeFitChunk, type EmbedTask } from "./embedChunk";

/** A dataset fit as a job's command. */
export const datasetFitCommand = z.object({ identity: modelIdentityTask, mmPerPx: z.number(), keepAll: z.boolean(), activate: z.boolean() });
export type DatasetFitCommand = z.infer<typeof datasetFitCommand>;

/** What a dataset fit adds to /fit_ok's answer: how it was spread. */
export interface FanOutReport {
  readonly workers: number;
  readonly chunk_images: number;
  readonly retried: number;
  readonly worker_ms_max: number;
  /** The wire's name of the chunked coreset (a first pass per worker, then a merge). */
  readonly two_stage_coreset: boolean;
}

async function okFiles(services: Services, identity: ModelIdentity, ctx: UseCaseContext) {
  const { catalog } = await services.datasets.catalog(datasetOf(identity), ctx.timings);
  const files = catalog.files.filter((f) => f.label === "ok").sort((a, b) => a.filename.localeCompare(b.filename));
  if (files.length === 0) throw new InvalidInputError("No OK dataset samples found");
  return files.map((f) => ({ label: "ok" as const, filename: f.filename }));
}

/**
 * The coordinator's own time after the workers (the merge's greedy pass over the partial
 * coresets, its full-dimension radius, the writes), ms. It grows with the square of the images
 * (candidates x picks): measured (npm run bench -- --only fanout, idle 2-core AVX2 machine,
 * 2026-11-25) 0.8 s at 20 texture images, 1.3 s at 100, 8.6 s at 300; 3.1 s at 100 ViT-shaped
 * images. This gives 2.0 / 2.6 / 7.4 / 2.6 s: close, a little under at 300 and for the wider ViT rows.
 */
function mergeEstimateMs(images: number): number {
  return 2000 + 0.06 * images * images;
}

/**
 * POST /fit_ok with use_dataset=true: every stored OK image of the role/roi/recipe. Answered in
 * this request when its fan-out's estimate fits SYNC_BUDGET_MS (and the function's remaining
 * time), else started as a job (202).
 */
export async function fitFromDatasetOrStartJob(services: Services, command: DatasetFitCommand, ctx: UseCaseContext) {
  const { fanOut } = services.config;
  await checkMmPerPx(services, command.identity.recipeId, command.mmPerPx, ctx);
  const files = await okFiles(services, command.identity, ctx);
  const estimate = fanOutEstimateMs(fanOut, files.length, fanOut.fitChunkImages, mergeEstimateMs(files.length));
  if (answersInRequest(fanOut, estimate, ctx.remainingMs())) return fitFromDataset(services, command, null, ctx);
  return startJob(services, "fit", { ...command }, files.length, estimate, ctx);
}

/**
 * The coordinator of a dataset fit: chunks of FIT_CHUNK_IMAGES images to worker invocations
 * (FANOUT_WIDTH at a time, each retried once), each the chunked coreset's first pass (embedChunk);
 * then the pipeline's merge, and the same commit as any fit. A chunk that fails twice fails the
 * fit before anything is written: the previous model stays as it was.
 */
export async function fitFromDataset(
  services: Services,
  command: DatasetFitCommand,
  progress: JobProgress | null,
  ctx: UseCaseContext,
): Promise<FitResult & { fan_out: FanOutReport }> {
  const { config, jobs } = services;
  const { identity } = command;
  const started = performance.now();
  const files = await okFiles(services, identity, ctx);
  const jobId = progress?.id ?? randomUUID();
  const chunks = chunked(files, config.fanOut.fitChunkImages);
  const tasks: EmbedTask[] = chunks.map((chunk, i) => ({
    kind: "embed",
    jobId,
    chunk: i,
    identity,
    files: chunk,
    coreset: { rate: config.patchcore.coresetRate, oversample: config.fanOut.coresetOversample, keepAll: command.keepAll, seed: config.patchcore.seed + i },
  }));
  const { outcomes, retried } = await runOnWorkers(services, tasks, progress, ctx);

  const failed = outcomes.findIndex((o) => !o.ok);
  if (failed >= 0) {
    const outcome = outcomes[failed]!;
    const first = failed * config.fanOut.fitChunkImages;
    throw new DomainError(
      "unavailable",
      `The dataset fit failed: chunk ${failed} (images ${first}-${first + chunks[failed]!.length - 1}) failed twice (${outcome.ok ? "" : outcome.error.message}). Nothing was stored; the previous model is unchanged`,
    );
  }
  const results = outcomes.map((o) => (o.ok ? o.result : null)!);
  const partials: FitChunk[] = [];
  for (const result of results) {
    const bytes = await jobs.getBytes(result.key, ctx.timings);
    if (!bytes) throw new DomainError("internal", `the partial coreset ${result.key} is missing`);
    partials.push(decodeFitChunk(bytes));
  }
  const bank = await mergeChunks(
    partials,
    {
      rate: config.patchcore.coresetRate,
      keepAll: command.keepAll,
      seed: config.patchcore.seed,
      threads: config.model.ortThreads,
      metadata: fitMetadata(services, identity, randomUUID(), command.mmPerPx, { from_dataset: true, two_stage_coreset: !command.keepAll }),
    },
    ctx.timings,
  );
  const answer = await commitFit(
    services,
    identity,
    bank,
    { source: "dataset", parentVersion: null, activate: command.activate, mmPerPx: command.mmPerPx },
    ctx,
  );
  ctx.timings.add("coordinator_total", performance.now() - started);
  return {
    ...answer,
    timings_ms: ctx.timings.toJSON(),
    fan_out: {
      workers: tasks.length,
      chunk_images: config.fanOut.fitChunkImages,
      retried,
      worker_ms_max: Math.round(Math.max(...results.map((r) => r.workMs))),
      two_stage_coreset: !command.keepAll,
    },
  };
}

/** The dataset fit as a job kind (its coordinator run by the job runner). */
export function datasetFitJob(services: Services): JobKind<DatasetFitCommand> {
  return {
    command: datasetFitCommand,
    run: (command, progress, ctx) => fitFromDataset(services, command, progress, ctx),
    dimensions: (command) => recipeDimensions(command.identity),
  };
}
