import type { ModelQuery } from "../../contract/datasets";
import type { UseCaseContext } from "../../context";
import { DomainError } from "../../errors";
import { datasetOf, modelKeys, type ModelIdentity } from "../../store/keys";
import { classesOf } from "../datasets/browse";
import { identityOf } from "../identity";
import type { StoredCalibration } from "../../store/calibrationRepository";
import type { Services } from "../services";
import { describeVersion, type VersionFacts } from "./versions";

/**
 * The active version's facts, or null when the model has none (never fitted, or no version active);
 * `calibration`: the active version's, else a calibration made before any fit (the old backend
 * reported it without a memory).
 */
async function activeVersion(
  services: Services,
  identity: ModelIdentity,
  ctx: UseCaseContext,
): Promise<{ active: VersionFacts | null; calibration: StoredCalibration | null }> {
  const keys = modelKeys(services.config.s3.prefix, identity);
  let active: VersionFacts | null;
  try {
    active = await describeVersion(services, keys, identity, undefined, ctx);
  } catch (error) {
    if (!(error instanceof DomainError && error.code === "not_fitted")) throw error;
    return { active: null, calibration: null }; // it has versions, none active
  }
  if (active) return { active, calibration: active.calibration };
  return { active: null, calibration: (await services.calibrations.load(keys, ctx.timings))?.calibration ?? null };
}

/** GET /state: what the GUI checks before fitting (a memory and a calibration to serve by default). */
export async function modelState(services: Services, input: ModelQuery, ctx: UseCaseContext) {
  const identity = identityOf(input);
  const { active, calibration } = await activeVersion(services, identity, ctx);
  return {
    status: "ok" as const,
    memory_fitted: active !== null,
    calib_present: calibration !== null,
    active_version: active?.version ?? null,
    role_id: identity.roleId,
    roi_id: identity.roiId,
    model_key: identity.modelKey,
    recipe_id: identity.recipeId,
  };
}

/** GET /manifest: what is stored for a model (its active version's memory and calibration) and its ROI's dataset. */
export async function modelManifest(services: Services, input: ModelQuery, ctx: UseCaseContext) {
  const identity = identityOf(input);
  const [{ active, calibration }, { catalog }] = await Promise.all([
    activeVersion(services, identity, ctx),
    services.datasets.catalog(datasetOf(identity), ctx.timings),
  ]);
  return {
    role_id: identity.roleId,
    roi_id: identity.roiId,
    recipe_id: identity.recipeId,
    model_key: identity.modelKey,
    memory: active !== null,
    calib: calibration ? { ...calibration } : null,
    datasets: { role_id: identity.roleId, roi_id: identity.roiId, classes: classesOf(catalog) },
    fit_id: active?.fitId ?? null,
    active_version: active?.version ?? null,
  };
}
