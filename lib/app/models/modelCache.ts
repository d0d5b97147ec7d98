import type { UseCaseContext } from "../../context";
import { ExactScorer } from "../../patchcore/knn/exact";
import { HnswScorer } from "../../patchcore/knn/hnsw";
import type { NearestNeighbourScorer } from "../../patchcore/knn/scorer";
import { knnPlan } from "../../patchcore/knn/select";
import { DEFAULT_TWO_STAGE, TwoStageScorer } from "../../patchcore/knn/twoStage";
import type { MemoryBank } from "../../patchcore/memoryBank";
import type { StoredCalibration } from "../../store/calibrationRepository";
import type { ModelKeys } from "../../store/keys";
import type { ModelVersions } from "../../store/versionRepository";
import type { LoadedMemory, Services } from "../services";

/** The scorer knnPlan chooses for this bank; an HNSW index is used only when written by the memory's own fit. */
async function scorerFor(services: Services, bank: MemoryBank, keys: ModelKeys, memoryKey: string, ctx: UseCaseContext): Promise<NearestNeighbourScorer> {
  const { config, memories } = services;
  const plan = knnPlan(config.knn.backend, bank.count, config.knn.hnswMaxRows, bank.dim);
  if (plan === "two_stage") {
    try {
      const scorer = await ctx.timings.time("knn_build", () => TwoStageScorer.build(bank, config.model.ortThreads, DEFAULT_TWO_STAGE, bank.shortlistBasis));
      if (bank.shortlistBasis && scorer.basisSource === "found")
        ctx.log.warn("stored two-stage basis not usable (rank or orthonormality): found again", { key: memoryKey, rank: bank.shortlistBasis.rank });
      return scorer;
    } catch (error) {
      // the shortlist only buys speed: without it the memory is scored by brute force
      ctx.log.warn("two-stage search unavailable: scoring exactly", { key: memoryKey, error });
    }
  }
  if (plan === "hnsw") {
    const fitId = String(bank.metadata.fit_id ?? "");
    try {
      const index = await memories.loadHnswIndex(keys, fitId, ctx.timings);
      if (index) return await ctx.timings.time("index_load", () => HnswScorer.load(index, bank.dim, config.knn.hnswEfSearch));
      ctx.log.warn("no HNSW index of this memory's fit: scoring exactly", { key: memoryKey, fit_id: fitId });
    } catch (error) {
      // a corrupt or unreadable index costs speed, never answers: the memory alone is exact
      ctx.log.warn("HNSW index unusable: scoring exactly", { key: fitId ? keys.hnswIndexFor(fitId) : memoryKey, error });
    }
  }
  return new ExactScorer(bank, config.model.ortThreads);
}

/**
 * The memory under `memoryKey` through the container cache, or null if none is stored. A
 * version's memory is immutable: once held it is served without asking S3 again; the memory of a
 * model stored before versions is revalidated by ETag after CACHE_TTL_MS. `stale` is true when S3
 * could not be reached and the cached copy (confirmed within STALE_IF_ERROR_MS) is served.
 */
export async function loadMemory(
  services: Services,
  keys: ModelKeys,
  memoryKey: string,
  immutable: boolean,
  ctx: UseCaseContext,
): Promise<{ memory: LoadedMemory | null; stale: boolean }> {
  const { memories, memoryCache } = services;
  const { value, outcome } = await memoryCache.get(
    memoryKey,
    {
      etag: async () => (await memories.head(memoryKey, ctx.timings))?.etag ?? null,
      load: async () => {
        const stored = await memories.load(memoryKey, ctx.timings);
        if (!stored) return null;
        const scorer = await scorerFor(services, stored.bank, keys, memoryKey, ctx);
        return { value: { bank: stored.bank, scorer, etag: stored.etag }, etag: stored.etag, bytes: stored.bank.embeddings.byteLength };
      },
    },
    { immutable },
  );
  if (outcome === "stale") ctx.log.warn("S3 unreachable: serving the cached memory, which may be stale", { key: memoryKey, etag: value?.etag });
  else ctx.log.debug("memory", { key: memoryKey, cache: outcome });
  return { memory: value, stale: outcome === "stale" };
}

/**
 * A model's versions object through the container cache (revalidated after CACHE_TTL_MS, or now
 * with `revalidate`), or null for a model stored before versions.
 */
export async function loadVersions(
  services: Services,
  keys: ModelKeys,
  ctx: UseCaseContext,
  revalidate = false,
): Promise<{ versions: ModelVersions | null; stale: boolean }> {
  const source = {
    etag: () => services.versions.etag(keys, ctx.timings),
    load: async () => {
      const stored = await services.versions.load(keys, ctx.timings);
      return stored ? { value: stored.versions, etag: stored.etag, bytes: 4096 } : null;
    },
  };
  const { value, outcome } = await services.versionCache.get(keys.versions, source, { revalidate });
  if (outcome === "stale") ctx.log.warn("S3 unreachable: serving the cached model versions, which may be stale", { key: keys.versions });
  return { versions: value, stale: outcome === "stale" };
}

/** The calibration file of a model stored before versions through the container cache, or null before /calibrate_ng. */
export async function loadLegacyCalibration(services: Services, keys: ModelKeys, ctx: UseCaseContext): Promise<StoredCalibration | null> {
  const { calibrations, calibrationCache } = services;
  const { value } = await calibrationCache.get(keys.legacyCalibration, {
    etag: () => calibrations.etag(keys, ctx.timings),
    load: async () => {
      const stored = await calibrations.load(keys, ctx.timings);
      return stored ? { value: stored.calibration, etag: stored.etag, bytes: 1024 } : null;
    },
  });
  return value;
}
