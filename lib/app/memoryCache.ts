import type { Calibration } from "../patchcore/calibration";
import { ExactScorer } from "../patchcore/knn/exact";
import { HnswScorer } from "../patchcore/knn/hnsw";
import type { NearestNeighbourScorer } from "../patchcore/knn/scorer";
import { knnPlan } from "../patchcore/knn/select";
import type { MemoryBank } from "../patchcore/memoryBank";
import type { ModelKeys } from "../store/keys";
import type { UseCaseContext } from "./context";
import type { Services } from "./services";

/** A memory ready to score with: the bank, its scorer, and the ETag it was loaded at. */
export interface LoadedMemory {
  readonly bank: MemoryBank;
  readonly scorer: NearestNeighbourScorer;
  readonly etag: string;
}

/** The scorer knnPlan chooses for this bank; an HNSW index is used only when written by the memory's own fit. */
async function scorerFor(services: Services, bank: MemoryBank, keys: ModelKeys, ctx: UseCaseContext): Promise<NearestNeighbourScorer> {
  const { config, memories } = services;
  if (knnPlan(config.knn.backend, bank.count, config.knn.hnswMaxRows) === "hnsw") {
    const fitId = String(bank.metadata.fit_id ?? "");
    const index = await memories.loadIndex(keys, fitId, ctx.timings);
    if (index.bytes) return ctx.timings.time("index_load", () => HnswScorer.load(index.bytes!, bank.dim, config.knn.hnswEfSearch));
    ctx.log.warn("HNSW index missing or from another fit: scoring exactly", { key: keys.index, memory_fit_id: fitId, index_fit_id: index.foundFitId });
  }
  return new ExactScorer(bank, config.model.ortThreads);
}

/** The memory of `keys` through the container cache, or null if none is stored. */
export async function loadMemory(services: Services, keys: ModelKeys, ctx: UseCaseContext): Promise<LoadedMemory | null> {
  const { memories, memoryCache } = services;
  const { value, outcome } = await memoryCache.get(keys.memory, {
    etag: async () => (await memories.head(keys, ctx.timings))?.etag ?? null,
    load: async () => {
      const stored = await memories.load(keys, ctx.timings);
      if (!stored) return null;
      const scorer = await scorerFor(services, stored.bank, keys, ctx);
      return { value: { bank: stored.bank, scorer, etag: stored.etag }, etag: stored.etag, bytes: stored.bank.embeddings.byteLength };
    },
  });
  ctx.log.debug("memory", { key: keys.memory, cache: outcome });
  return value;
}

/** The calibration of `keys` through the container cache, or null before /calibrate_ng. */
export async function loadCalibration(services: Services, keys: ModelKeys, ctx: UseCaseContext): Promise<Calibration | null> {
  const { calibrations, calibrationCache } = services;
  const { value } = await calibrationCache.get(keys.calibration, {
    etag: () => calibrations.etag(keys, ctx.timings),
    load: async () => {
      const stored = await calibrations.load(keys, ctx.timings);
      return stored ? { value: stored.calibration, etag: stored.etag, bytes: 1024 } : null;
    },
  });
  return value;
}
