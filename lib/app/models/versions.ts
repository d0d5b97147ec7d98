import type { UseCaseContext } from "../../context";
import { NotFittedError, NotFoundError } from "../../errors";
import type { MemoryBank } from "../../patchcore/memoryBank";
import type { StoredCalibration } from "../../store/calibrationRepository";
import type { ModelIdentity, ModelKeys } from "../../store/keys";
import type { ModelVersions, VersionEntry, VersionSource } from "../../store/versionRepository";
import type { Services } from "../services";

/**
 * A model's versions: every fit makes one (numbered 1, 2, 3... per model, never reused), one of
 * them is active (served by default), each has its own calibration. A model stored before
 * versions (by this service or the old backend) is read as version 1, active, with its memory and
 * calibration where they always were; its versions object is written by its first versioned
 * change (a fit, an activation or a delete) and from then on is the only thing that says what
 * the model is.
 */

/** Where a version's memory is: the fit's own immutable key, or the old name for a legacy version. */
export function memoryKeyOf(keys: ModelKeys, entry: VersionEntry): string {
  if (entry.source === "legacy" || entry.fit_id === null) return keys.legacyMemory;
  return keys.memoryFor(entry.fit_id);
}

export function notFoundVersion(identity: ModelIdentity, version: number): NotFoundError {
  return new NotFoundError(
    `No version ${version} of the model (${identity.roleId}, ${identity.modelKey}), recipe ${JSON.stringify(identity.recipeId)}: see GET /models`,
  );
}

export function noActiveVersion(identity: ModelIdentity): NotFittedError {
  return new NotFittedError(
    `No active version of the model (${identity.roleId}, ${identity.modelKey}): activate one (POST /models/activate) or name model_version (see GET /models)`,
  );
}

/** The version a request names, or the active one; not_found / not_fitted otherwise. */
export function chosenEntry(versions: ModelVersions, identity: ModelIdentity, requested: number | undefined): VersionEntry {
  const number = requested ?? versions.active_version;
  if (number === null) throw noActiveVersion(identity);
  const entry = versions.versions.find((v) => v.version === number);
  if (!entry) throw notFoundVersion(identity, number);
  return entry;
}

/** A version entry from a fitted memory (its metadata says how it was made). */
export function entryOf(
  bank: MemoryBank,
  version: number,
  source: VersionSource,
  parentVersion: number | null,
  calibration: { calibration: StoredCalibration | null; inherited: boolean; fromVersion: number | null },
): VersionEntry {
  const m = bank.metadata;
  const num = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : null);
  return {
    version,
    fit_id: typeof m.fit_id === "string" ? m.fit_id : null,
    created_at: typeof m.created_at === "string" ? m.created_at : new Date().toISOString(),
    source,
    parent_version: parentVersion,
    n_images: num(m.n_images),
    n_embeddings: num(m.n_embeddings),
    coreset_size: bank.count,
    memory_fit: typeof m.memory_fit === "boolean" ? m.memory_fit : null,
    covering_radius: num(m.covering_radius),
    model: typeof m.model_id === "string" ? m.model_id : null,
    mm_per_px: num(m.mm_per_px),
    calibration: calibration.calibration,
    calibration_inherited: calibration.inherited,
    calibration_from_version: calibration.fromVersion,
  };
}

/**
 * What a model stored before versions is, read as versions: version 1 (active) when it has a
 * memory, with its calibration file; none when it has no memory (its calibration file, if any,
 * is what the first version will inherit, as the old backend kept a calibration across re-fits).
 */
export async function legacyState(
  services: Services,
  keys: ModelKeys,
  ctx: UseCaseContext,
): Promise<{ versions: ModelVersions; unversionedCalibration: StoredCalibration | null }> {
  const [memory, calibration] = await Promise.all([services.memories.load(keys.legacyMemory, ctx.timings), services.calibrations.load(keys, ctx.timings)]);
  const stored = calibration?.calibration ?? null;
  if (!memory) {
    return {
      versions: { format: 1, next_version: 1, active_version: null, previous_version: null, updated_at: "", versions: [] },
      unversionedCalibration: stored,
    };
  }
  const entry = entryOf(memory.bank, 1, "legacy", null, { calibration: stored, inherited: false, fromVersion: null });
  return {
    versions: { format: 1, next_version: 2, active_version: 1, previous_version: null, updated_at: "", versions: [entry] },
    unversionedCalibration: null,
  };
}

/** A change of a model's versions, applied to its versions object (a legacy model's read as versions first, once per change). */
export async function changeVersions<T>(
  services: Services,
  keys: ModelKeys,
  ctx: UseCaseContext,
  change: (versions: ModelVersions, unversionedCalibration: StoredCalibration | null) => { versions: ModelVersions | null; result: T },
): Promise<T> {
  let legacy: Awaited<ReturnType<typeof legacyState>> | undefined;
  const result = await services.versions.update(keys, ctx.timings, async (current) => {
    if (current) return change(current, null);
    legacy ??= await legacyState(services, keys, ctx);
    return change(legacy.versions, legacy.unversionedCalibration);
  });
  services.versionCache.invalidate(keys.versions); // this container sees its own change at once
  return result;
}

/**
 * The versions a fit beyond MAX_MODEL_VERSIONS removes: the oldest first, never the active one,
 * the one active before it (the rollback), the active one's parent (an append's) nor the version
 * just made, until at most `max` are left (or none but those four).
 */
export function retentionVictims(versions: ModelVersions, max: number, made: number): VersionEntry[] {
  const active = versions.versions.find((v) => v.version === versions.active_version);
  const kept = new Set([versions.active_version, versions.previous_version, active?.parent_version ?? null, made]);
  const candidates = [...versions.versions].sort((a, b) => a.version - b.version).filter((v) => !kept.has(v.version));
  const excess = Math.max(0, versions.versions.length - max);
  return candidates.slice(0, excess);
}

/** Removes what a removed version stored (its memory and index; a legacy one's files), best effort: nothing names them any more. */
export async function deleteVersionArtefacts(services: Services, keys: ModelKeys, entries: readonly VersionEntry[], ctx: UseCaseContext): Promise<void> {
  for (const entry of entries) {
    if (entry.source === "legacy" || entry.fit_id === null) await services.memories.deleteLegacy(keys, entry.fit_id, ctx.timings, ctx.log);
    else await services.memories.deleteFit(keys, entry.fit_id, ctx.timings, ctx.log);
  }
}

/** A model version as GET /models lists it. */
export function versionListing(entry: VersionEntry, activeVersion: number | null) {
  return {
    version: entry.version,
    fit_id: entry.fit_id,
    created_at: entry.created_at,
    source: entry.source,
    parent_version: entry.parent_version,
    n_images: entry.n_images,
    n_embeddings: entry.n_embeddings,
    coreset_size: entry.coreset_size,
    memory_fit: entry.memory_fit,
    covering_radius: entry.covering_radius,
    model: entry.model,
    calibration: entry.calibration,
    calibration_inherited: entry.calibration_inherited,
    active: entry.version === activeVersion,
  };
}

/** What a write or a batch needs to know of the version a request names (or the active one), read from the store itself. */
export interface VersionFacts {
  readonly version: number;
  readonly fitId: string | null;
  /** The mm_per_px its fit recorded, if any. */
  readonly mmPerPx: number | null;
  readonly calibration: StoredCalibration | null;
  readonly calibrationInherited: boolean;
  /** false: a model stored before versions (version 1 at the old names). */
  readonly versioned: boolean;
}

/**
 * The version a request names, or the active one, as stored now (no cache: for writes, batches and
 * state); null when the model has no memory at all. not_found for a version it does not have;
 * not_fitted when it has versions but none is active and none is named.
 */
export async function describeVersion(
  services: Services,
  keys: ModelKeys,
  identity: ModelIdentity,
  requested: number | undefined,
  ctx: UseCaseContext,
): Promise<VersionFacts | null> {
  const stored = await services.versions.load(keys, ctx.timings);
  if (stored) {
    const entry = chosenEntry(stored.versions, identity, requested);
    return {
      version: entry.version,
      fitId: entry.fit_id,
      mmPerPx: entry.mm_per_px,
      calibration: entry.calibration,
      calibrationInherited: entry.calibration_inherited,
      versioned: true,
    };
  }
  const [memory, calibration] = await Promise.all([services.memories.head(keys.legacyMemory, ctx.timings), services.calibrations.load(keys, ctx.timings)]);
  if (!memory) {
    if (requested !== undefined) throw notFoundVersion(identity, requested);
    return null;
  }
  if (requested !== undefined && requested !== 1) throw notFoundVersion(identity, requested);
  return {
    version: 1,
    fitId: memory.fitId ?? null,
    mmPerPx: memory.mmPerPx ?? null,
    calibration: calibration?.calibration ?? null,
    calibrationInherited: false,
    versioned: false,
  };
}
