import type { FitOkResponse } from "../../contract/fitOk";
import type { UseCaseContext } from "../../context";
import { HnswScorer } from "../../patchcore/knn/hnsw";
import { knnPlan } from "../../patchcore/knn/select";
import type { ShortlistBasis } from "../../patchcore/knn/shortlistBasis";
import { findBankBasis } from "../../patchcore/knn/twoStage";
import type { MemoryBank, MemoryMetadata } from "../../patchcore/memoryBank";
import { ConflictError } from "../../errors";
import { VersionsWriteInDoubt, type ModelVersions, type VersionEntry, type VersionSource } from "../../store/versionRepository";
import { modelKeys, type ModelIdentity } from "../../store/keys";
import { identityEcho } from "../identity";
import { annotateModel, recordFit } from "../lineMetrics";
import { changeVersions, deleteVersionArtefacts, entryOf, retentionVictims } from "../models/versions";
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

/** How a fit enters the model's versions. */
export interface CommitOptions {
  readonly source: Exclude<VersionSource, "legacy">;
  /** append: the version it was made from. */
  readonly parentVersion: number | null;
  /** Serve it at once (default for every fit), or keep it as a candidate. */
  readonly activate: boolean;
  readonly mmPerPx: number;
}

/**
 * The end of every fit (uploaded images, a dataset, an append): what the kNN policy will read
 * beside the memory (an HNSW index, or the two-stage search's basis stored in the memory), the
 * recipe's mm_per_px lock (the first fit of a recipe sets it), then the new version: its memory
 * written under its fit's own key, then one conditional write of the model's versions (the commit
 * point) giving it the next number, the calibration to serve with until it is calibrated itself
 * (its parent's, or the active version's, as the old backend kept a calibration across re-fits),
 * activating it unless told not to, and removing the oldest versions beyond MAX_MODEL_VERSIONS.
 * A fit that fails before the commit leaves every version as it was (its memory removed, unless S3
 * failed in a way that leaves the commit in doubt). A commit is idempotent: a fit already recorded
 * (its write landed, its answer lost) is not recorded twice. A committed fit is counted
 * in the line's metrics (Fits, FitImages, FitDuration).
 */
export async function commitFit(
  services: Services,
  identity: ModelIdentity,
  bank: MemoryBank,
  options: CommitOptions,
  ctx: UseCaseContext,
): Promise<FitResult> {
  const { config, memories } = services;
  const keys = modelKeys(config.s3.prefix, identity);
  const plan = knnPlan(config.knn.backend, bank.count, config.knn.hnswMaxRows, bank.dim);
  const hnswIndex = plan === "hnsw" ? await ctx.timings.time("index_build", () => HnswScorer.build(bank).serialise()) : null;
  const stored: MemoryBank = { ...bank, shortlistBasis: plan === "two_stage" ? await basisOrNone(bank, config.model.ortThreads, ctx) : undefined };
  await ensureMmPerPx(services, identity.recipeId, options.mmPerPx, ctx);
  const fitId = String(bank.metadata.fit_id);
  await memories.saveFit(keys, stored, hnswIndex, ctx.timings, ctx.log);
  let committed: { version: number; active: number | null; inherited: boolean; removed: VersionEntry[] };
  try {
    committed = await changeVersions(services, keys, ctx, (current, unversionedCalibration) => {
      // this fit's own write, landed though its answer was lost and overwritten since: already a version
      const mine = current.versions.find((v) => v.fit_id === fitId);
      if (mine)
        return { versions: null, result: { version: mine.version, active: current.active_version, inherited: mine.calibration_inherited, removed: [] } };
      const version = current.next_version;
      const from = options.parentVersion ?? current.active_version;
      const giver = current.versions.find((v) => v.version === from);
      if (options.parentVersion !== null && !giver) {
        throw new ConflictError(
          `Version ${options.parentVersion} was deleted while this append ran: append again (to the active version, or name one in model_version)`,
        );
      }
      const calibration = giver ? giver.calibration : unversionedCalibration;
      const entry = entryOf(bank, version, options.source, options.parentVersion, {
        calibration,
        inherited: calibration !== null,
        fromVersion: calibration !== null && giver ? giver.version : null,
      });
      const next: ModelVersions = {
        ...current,
        next_version: version + 1,
        active_version: options.activate ? version : current.active_version,
        previous_version: options.activate ? current.active_version : current.previous_version,
        versions: [...current.versions, entry],
      };
      const removed = retentionVictims(next, config.models.maxVersions, version);
      const gone = new Set(removed.map((v) => v.version));
      return {
        versions: { ...next, versions: next.versions.filter((v) => !gone.has(v.version)) },
        result: { version, active: next.active_version, inherited: calibration !== null, removed },
      };
    });
  } catch (error) {
    // a versions write in doubt may name this memory: keep it (an orphan costs storage, a version without its memory fails every request)
    if (error instanceof VersionsWriteInDoubt) ctx.log.warn("the versions write is in doubt: the new memory is kept", { fit_id: fitId, error });
    else await memories.deleteFit(keys, fitId, ctx.timings, ctx.log);
    throw error;
  }
  await deleteVersionArtefacts(services, keys, committed.removed, ctx);
  const m = bank.metadata;
  annotateModel(identity, committed.version, ctx);
  recordFit(identity, Number(m.n_images), ctx);
  // the wire's `index`: what the fit stored to speed up the search (an HNSW index, or the two-stage search's basis)
  const searchAid = hnswIndex ? "hnsw" : stored.shortlistBasis ? "two_stage" : "none";
  const deleted = committed.removed.map((v) => v.version);
  ctx.log.info("fitted", {
    ...identityEcho(identity),
    fit_id: fitId,
    model_version: committed.version,
    active_version: committed.active,
    n_images: m.n_images,
    coreset_size: bank.count,
    index: searchAid,
    ...(deleted.length ? { deleted_versions: deleted } : {}),
  });
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
    fit_id: fitId,
    index: searchAid,
    ...identityEcho(identity),
    model_version: committed.version,
    active_version: committed.active,
    source: options.source,
    parent_version: options.parentVersion,
    calibration_inherited: committed.inherited,
    deleted_versions: deleted,
    timings_ms: ctx.timings.toJSON(),
  };
}
