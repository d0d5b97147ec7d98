import type { FitOkResponse } from "../../contract/fitOk";
import type { UseCaseContext } from "../../context";
import { HnswScorer } from "../../patchcore/knn/hnsw";
import { knnPlan } from "../../patchcore/knn/select";
import type { ShortlistBasis } from "../../patchcore/knn/shortlistBasis";
import { findBankBasis } from "../../patchcore/knn/twoStage";
import type { MemoryBank, MemoryMetadata } from "../../patchcore/memoryBank";
import { modelKeys, type ModelIdentity } from "../../store/keys";
import { identityEcho } from "../identity";
import { ensureMmPerPx } from "../recipes/mmPerPxLock";
import type { Services } from "../services";

export type FitResult = Omit<FitOkResponse, "request_id">;

/** What every fit records of itself in its memory, besides the coreset's figures (lib/patchcore/memoryBank.ts adds those). */
export function fitMetadata(services: Services, identity: ModelIdentity, fitId: string, mmPerPx: number, extra: MemoryMetadata = {}): MemoryMetadata {
  return {
    fit_id: fitId,
    mm_per_px: mmPerPx,
    created_at: new Date().toISOString(),
    version: services.config.version,
    ...identityEcho(identity),
    ...extra,
  };
}

/**
 * The two-stage search's basis for `bank`, found once at fit rather than by every container that
 * loads the memory; undefined if it cannot be found (it only buys speed: the load finds one then).
 */
async function basisOrNone(bank: MemoryBank, threads: number, ctx: UseCaseContext): Promise<ShortlistBasis | undefined> {
  try {
    return await ctx.timings.time("knn_basis", () => findBankBasis(bank, threads));
  } catch (error) {
    ctx.log.warn("two-stage basis not found at fit: the memory is stored without it", { error });
    return undefined;
  }
}

/**
 * The end of every fit (uploaded images or a dataset): what the kNN policy will read beside the
 * memory (an HNSW index, or the two-stage search's basis stored in the memory), the recipe's
 * mm_per_px lock (the first fit of a recipe sets it), the store's commit, and /fit_ok's answer
 * from what the memory records.
 */
export async function commitFit(services: Services, identity: ModelIdentity, bank: MemoryBank, mmPerPx: number, ctx: UseCaseContext): Promise<FitResult> {
  const { config, memories } = services;
  const plan = knnPlan(config.knn.backend, bank.count, config.knn.hnswMaxRows, bank.dim);
  const hnswIndex = plan === "hnsw" ? await ctx.timings.time("index_build", () => HnswScorer.build(bank).serialise()) : null;
  const stored: MemoryBank = { ...bank, shortlistBasis: plan === "two_stage" ? await basisOrNone(bank, config.model.ortThreads, ctx) : undefined };
  await ensureMmPerPx(services, identity.recipeId, mmPerPx, ctx);
  await memories.saveFit(modelKeys(config.s3.prefix, identity), stored, hnswIndex, ctx.timings, ctx.log);
  const m = bank.metadata;
  // the wire's `index`: what the fit stored to speed up the search (an HNSW index, or the two-stage search's basis)
  const searchAid = hnswIndex ? "hnsw" : stored.shortlistBasis ? "two_stage" : "none";
  ctx.log.info("fitted", { ...identityEcho(identity), fit_id: m.fit_id, n_images: m.n_images, coreset_size: bank.count, index: searchAid });
  return {
    n_embeddings: Number(m.n_embeddings),
    coreset_size: bank.count,
    token_shape: [bank.tokenH, bank.tokenW],
    coreset_rate_requested: Number(m.coreset_rate_requested),
    coreset_rate_applied: Number(m.coreset_rate_applied),
    covering_radius: Number(m.covering_radius),
    n_images: Number(m.n_images),
    memory_fit: m.memory_fit === true,
    model: String(m.model_id ?? ""),
    fit_id: String(m.fit_id),
    index: searchAid,
    ...identityEcho(identity),
    timings_ms: ctx.timings.toJSON(),
  };
}
