import type { ModelQuery } from "../../contract/datasets";
import type { UseCaseContext } from "../../context";
import { identityOf } from "../identity";
import type { Services } from "../services";
import { datasetOf, modelKeys } from "../../store/keys";
import { classesOf } from "../datasets/browse";

/** GET /state: what the GUI checks before fitting (memory and calibration present). */
export async function modelState(services: Services, input: ModelQuery, ctx: UseCaseContext) {
  const identity = identityOf(input);
  const keys = modelKeys(services.config.s3.prefix, identity);
  const [memory, calibration] = await Promise.all([services.memories.head(keys, ctx.timings), services.calibrations.etag(keys, ctx.timings)]);
  return {
    status: "ok" as const,
    memory_fitted: memory !== null,
    calib_present: calibration !== null,
    role_id: identity.roleId,
    roi_id: identity.roiId,
    model_key: identity.modelKey,
    recipe_id: identity.recipeId,
  };
}

/** GET /manifest: what is stored for a model: memory, calibration, and its ROI's dataset. */
export async function modelManifest(services: Services, input: ModelQuery, ctx: UseCaseContext) {
  const identity = identityOf(input);
  const keys = modelKeys(services.config.s3.prefix, identity);
  const [memory, calibration, { catalog }] = await Promise.all([
    services.memories.head(keys, ctx.timings),
    services.calibrations.load(keys, ctx.timings),
    services.datasets.catalog(datasetOf(identity), ctx.timings),
  ]);
  return {
    role_id: identity.roleId,
    roi_id: identity.roiId,
    recipe_id: identity.recipeId,
    model_key: identity.modelKey,
    memory: memory !== null,
    calib: calibration ? { ...calibration.calibration } : null,
    datasets: { role_id: identity.roleId, roi_id: identity.roiId, classes: classesOf(catalog) },
    fit_id: memory?.fitId ?? null,
  };
}
