import { randomUUID } from "node:crypto";
import type { UseCaseContext } from "../app/context";
import { commitFit, type FitResult } from "../app/fit";
import { identityEcho } from "../app/identity";
import { checkMmPerPx } from "../app/recipes";
import type { Services } from "../app/services";
import { DomainError, InvalidInputError } from "../errors";
import type { MemoryBank } from "../patchcore/memoryBank";
import { mergeChunks, type ChunkReduction } from "../patchcore/twoStageCoreset";
import type { ModelIdentity } from "../store/keys";
import { decodeMemoryNpz } from "../store/npz";
import { fanOutEstimateMs } from "./estimate";
import { runOnWorkers } from "./coordinate";
import { chunked } from "./fanOut";
import { JobProgress, startJob } from "./jobs";
import type { EmbedTask } from "./tasks";

export interface DatasetFitCommand {
  readonly identity: ModelIdentity;
  readonly mmPerPx: number;
  readonly keepAll: boolean;
}

/** What a dataset fit adds to /fit_ok's answer: how it was spread. */
export interface FanOutReport {
  readonly workers: number;
  readonly chunk_images: number;
  readonly retried: number;
  readonly worker_ms_max: number;
  readonly two_stage_coreset: boolean;
}

async function okFiles(services: Services, identity: ModelIdentity, ctx: UseCaseContext) {
  const { index } = await services.datasets.index({ roleId: identity.roleId, roiId: identity.roiId, recipeId: identity.recipeId }, ctx.timings);
  const files = index.files.filter((f) => f.label === "ok").sort((a, b) => a.filename.localeCompare(b.filename));
  if (files.length === 0) throw new InvalidInputError("No OK dataset samples found");
  return files.map((f) => ({ label: "ok" as const, filename: f.filename }));
}

/**
 * The coordinator's own time after the workers (stage-2 greedy over the partial coresets, its
 * full-dimension radius, the writes), ms. It grows with the square of the images (candidates x
 * picks): measured (npm run bench -- --only fanout, idle 2-core AVX2 machine, 2026-11-25) 0.8 s
 * at 20 texture images, 1.3 s at 100, 8.6 s at 300; 3.1 s at 100 ViT-shaped images. This gives
 * 2.0 / 2.6 / 7.4 / 2.6 s: close, a little under at 300 and for the wider ViT rows.
 */
function mergeEstimateMs(images: number): number {
  return 2000 + 0.06 * images * images;
}

/**
 * POST /fit_ok with use_dataset=true: every stored OK image of the role/roi/recipe. Answered in
 * this request when its fan-out's estimate fits SYNC_BUDGET_MS (and the function's remaining
 * time), else started as a job (202).
 */
export async function fitFromDatasetOrStartJob(
  services: Services,
  command: DatasetFitCommand,
  ctx: UseCaseContext,
): Promise<FitResult | Awaited<ReturnType<typeof startJob>>> {
  const { jobs } = services.config;
  await checkMmPerPx(services, command.identity.recipeId, command.mmPerPx, ctx);
  const files = await okFiles(services, command.identity, ctx);
  const estimate = fanOutEstimateMs(jobs, files.length, jobs.fitChunkImages, mergeEstimateMs(files.length));
  if (estimate <= jobs.syncBudgetMs && estimate + 5000 <= ctx.remainingMs()) {
    return fitFromDataset(services, command, null, ctx);
  }
  return startJob(services, "fit", { ...command }, files.length, estimate, ctx);
}

/**
 * The coordinator of a dataset fit: chunks of FIT_CHUNK_IMAGES images to worker invocations
 * (FANOUT_WIDTH at a time, each retried once), each embedding its chunk and reducing it to a
 * partial coreset (stage 1); then the partials merged by a final greedy pass to the requested
 * rate (stage 2), the index the kNN policy wants, and the same commit as any fit. A chunk that
 * fails twice fails the fit before anything is written: the previous model stays as it was.
 */
export async function fitFromDataset(
  services: Services,
  command: DatasetFitCommand,
  progress: JobProgress | null,
  ctx: UseCaseContext,
): Promise<FitResult & { fan_out: FanOutReport }> {
  const { config, jobs: jobStore } = services;
  const { identity } = command;
  const started = performance.now();
  const files = await okFiles(services, identity, ctx);
  const jobId = progress?.id ?? randomUUID();
  const chunks = chunked(files, config.jobs.fitChunkImages);
  const tasks: EmbedTask[] = chunks.map((chunk, i) => ({
    kind: "embed",
    jobId,
    chunk: i,
    identity,
    files: chunk,
    coreset: { rate: config.patchcore.coresetRate, oversample: config.jobs.coresetOversample, keepAll: command.keepAll, seed: config.patchcore.seed + i },
  }));
  const { outcomes, retried } = await runOnWorkers(services, tasks, progress, ctx);

  const failed = outcomes.findIndex((o) => !o.ok);
  if (failed >= 0) {
    const outcome = outcomes[failed]!;
    throw new DomainError(
      "unavailable",
      `The dataset fit failed: chunk ${failed} (images ${failed * config.jobs.fitChunkImages}-${failed * config.jobs.fitChunkImages + chunks[failed]!.length - 1}) failed twice (${outcome.ok ? "" : outcome.error.message}). Nothing was stored; the previous model is unchanged`,
    );
  }
  const results = outcomes.map((o) => (o.ok ? o.result : null)!);
  const partials: MemoryBank[] = [];
  for (const result of results) {
    const bytes = await jobStore.getBytes(result.key, ctx.timings);
    if (!bytes) throw new DomainError("internal", `the partial coreset ${result.key} is missing`);
    partials.push(decodeMemoryNpz(bytes));
  }
  const first = partials[0]!;
  for (const [i, p] of partials.entries()) {
    if (p.dim !== first.dim || p.tokenH !== first.tokenH || p.tokenW !== first.tokenW) {
      throw new InvalidInputError(
        `Token grid mismatch: chunk 0 gives ${first.tokenH}x${first.tokenW}x${first.dim}, chunk ${i} gives ${p.tokenH}x${p.tokenW}x${p.dim}`,
      );
    }
  }
  const reductions: ChunkReduction[] = partials.map((p) => ({
    rows: p.embeddings,
    count: p.count,
    nEmbeddings: Number(p.metadata.n_embeddings),
    coveringRadius: Number(p.metadata.covering_radius),
  }));
  const merged = await ctx.timings.time("coreset_merge", () =>
    mergeChunks(reductions, first.dim, {
      rate: config.patchcore.coresetRate,
      keepAll: command.keepAll,
      seed: config.patchcore.seed,
      threads: config.model.ortThreads,
    }),
  );
  const nImages = results.reduce((sum, r) => sum + r.images, 0);
  const fitId = randomUUID();
  const bank: MemoryBank = {
    embeddings: merged.rows,
    count: merged.count,
    dim: first.dim,
    tokenH: first.tokenH,
    tokenW: first.tokenW,
    metadata: {
      model_id: first.metadata.model_id,
      input_size: first.metadata.input_size,
      fit_id: fitId,
      mm_per_px: command.mmPerPx,
      created_at: new Date().toISOString(),
      version: config.version,
      ...identityEcho(identity),
      coreset_rate_requested: merged.rateRequested,
      coreset_rate_applied: merged.rateApplied,
      n_embeddings: merged.nEmbeddings,
      coreset_size: merged.count,
      covering_radius: merged.coveringRadius,
      memory_fit: command.keepAll,
      seed: config.patchcore.seed,
      n_images: nImages,
      from_dataset: true,
      two_stage_coreset: !command.keepAll,
    },
  };
  const answer = await commitFit(services, identity, bank, command.mmPerPx, ctx);
  ctx.timings.add("coordinator_total", performance.now() - started);
  return {
    ...answer,
    timings_ms: ctx.timings.toJSON(),
    fan_out: {
      workers: tasks.length,
      chunk_images: config.jobs.fitChunkImages,
      retried,
      worker_ms_max: Math.round(Math.max(...results.map((r) => r.workMs))),
      two_stage_coreset: !command.keepAll,
    },
  };
}
