import type { UseCaseContext } from "../context";
import type { Dimensions } from "../observability/recorder";
import type { ModelIdentity } from "../store/keys";
import type { Services } from "./services";

/**
 * What a line's metrics and traces say about it (README "Operating it"): dimensions chosen for
 * cost, the recipe always, role and ROI only with METRICS_PER_ROI.
 */

export function recipeDimensions(identity: Pick<ModelIdentity, "recipeId">): Dimensions {
  return { recipe: identity.recipeId };
}

/** The ROI's own dimension set, as well as the recipe's, when METRICS_PER_ROI is on. */
function perRoi(services: Services, identity: ModelIdentity): Dimensions[] {
  return services.config.observability.metricsPerRoi ? [{ recipe: identity.recipeId, role: identity.roleId, roi: identity.roiId }] : [];
}

/** The stages of an answered /infer: the forward, the nearest-neighbour search, and the time spent on the model store. */
function stagesOf(timings: Record<string, number>) {
  const store = Object.entries(timings)
    .filter(([stage]) => stage.startsWith("s3_"))
    .reduce((sum, [, ms]) => sum + ms, 0);
  return { Forward: timings.forward, Knn: timings.knn, Store: store };
}

/**
 * One answered /infer: an inspection, a defect or not, how close it came to the threshold (only
 * when calibrated: score / threshold, and whether that is above the drift level), its latency and
 * stages.
 */
export function recordInspection(
  services: Services,
  identity: ModelIdentity,
  outcome: { readonly score: number; readonly threshold: number | null },
  ctx: UseCaseContext,
): void {
  const calibrated = outcome.threshold !== null && outcome.threshold > 0;
  const ratio = calibrated ? outcome.score / outcome.threshold! : undefined;
  ctx.metrics.add(
    recipeDimensions(identity),
    {
      Inspections: 1,
      Defects: calibrated && outcome.score >= outcome.threshold! ? 1 : 0,
      ScoreToThreshold: ratio,
      OverDriftLevel: ratio === undefined ? undefined : ratio > services.config.observability.driftLevel ? 1 : 0,
    },
    perRoi(services, identity),
  );
  ctx.metrics.add(recipeDimensions(identity), { InferLatency: ctx.elapsedMs(), ...stagesOf(ctx.timings.toJSON()) });
}

/** One committed fit: its images and how long it took. */
export function recordFit(identity: ModelIdentity, images: number, ctx: UseCaseContext): void {
  ctx.metrics.add(recipeDimensions(identity), { Fits: 1, FitImages: images, FitDuration: ctx.elapsedMs() });
}

/** The model a request works on, on its trace (X-Ray annotations: `annotation.recipe = "line-7"`). */
export function annotateModel(identity: ModelIdentity, modelVersion: number | null, ctx: UseCaseContext): void {
  ctx.trace.annotate({ recipe: identity.recipeId, role: identity.roleId, roi: identity.roiId, model_version: modelVersion });
}
