import type { UseCaseContext } from "../../context";
import { CorruptArtefactError } from "../../errors";
import type { StoredCalibration } from "../../store/calibrationRepository";
import type { ModelIdentity, ModelKeys } from "../../store/keys";
import type { ModelVersions } from "../../store/versionRepository";
import { memoryNotFound } from "../identity";
import type { LoadedMemory, Services } from "../services";
import { loadLegacyCalibration, loadMemory, loadVersions } from "./modelCache";
import { chosenEntry, memoryKeyOf, notFoundVersion } from "./versions";

/** The model version an inference uses, ready to score with. */
export interface ServedModel {
  readonly version: number;
  readonly memory: LoadedMemory;
  readonly calibration: StoredCalibration | null;
  /** The calibration is the one the version got at its fit, not its own. */
  readonly calibrationInherited: boolean;
  /** S3 could not be reached: a cached versions object or memory was used (a change made meanwhile is not seen). */
  readonly stale: boolean;
}

/**
 * The version a request names (`requested`), or the active one, with its memory and calibration,
 * through the container's caches: the versions object revalidated after CACHE_TTL_MS (so every
 * container serves a new active version within it), a version's memory never (immutable). All
 * from one snapshot of the versions object, so the score and the threshold are the version's it
 * reports. A model stored before versions is version 1: its memory and calibration file
 * revalidated as before.
 */
export async function loadServedModel(
  services: Services,
  keys: ModelKeys,
  identity: ModelIdentity,
  requested: number | undefined,
  ctx: UseCaseContext,
  revalidate = false,
): Promise<ServedModel> {
  // a version served without a calibration costs one HEAD a request until it has one: its first
  // calibration is then seen at once, as a first calibration file always was (an absent object is
  // never trusted); a re-calibration or an activation, within CACHE_TTL_MS
  const held = services.versionCache.peek(keys.versions);
  const number = requested ?? held?.active_version;
  const uncalibrated = held !== null && (held.versions.find((v) => v.version === number)?.calibration ?? null) === null;
  const { versions, stale } = await loadVersions(services, keys, ctx, revalidate || uncalibrated);
  if (versions) {
    const entry = chosenEntry(versions, identity, requested);
    const memoryKey = memoryKeyOf(keys, entry);
    const loaded = await loadMemory(services, keys, memoryKey, true, ctx);
    if (!loaded.memory) {
      // deleted since this container read the versions (by another, within CACHE_TTL_MS): read them again, once
      if (!revalidate) return loadServedModel(services, keys, identity, requested, ctx, true);
      throw new CorruptArtefactError(memoryKey, new Error(`the memory of version ${entry.version} is missing`), "version memory");
    }
    return {
      version: entry.version,
      memory: loaded.memory,
      calibration: entry.calibration,
      calibrationInherited: entry.calibration_inherited,
      stale: stale || loaded.stale,
    };
  }
  if (requested !== undefined && requested !== 1) throw notFoundVersion(identity, requested);
  const [loaded, calibration] = await Promise.all([loadMemory(services, keys, keys.legacyMemory, false, ctx), loadLegacyCalibration(services, keys, ctx)]);
  if (!loaded.memory) throw requested === undefined ? memoryNotFound(identity) : notFoundVersion(identity, requested);
  return { version: 1, memory: loaded.memory, calibration, calibrationInherited: false, stale: loaded.stale };
}

/** Whether this container holds what loadServedModel would serve (its versions and the memory they name): then nothing heavy loads. */
export function holdsServedModel(services: Services, keys: ModelKeys, identity: ModelIdentity, requested: number | undefined): boolean {
  const versions: ModelVersions | null = services.versionCache.peek(keys.versions);
  if (!versions) return services.memoryCache.holds(keys.legacyMemory);
  const number = requested ?? versions.active_version;
  const entry = versions.versions.find((v) => v.version === number);
  return entry !== undefined && services.memoryCache.holds(memoryKeyOf(keys, entry));
}
