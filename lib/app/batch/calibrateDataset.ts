import type { CalibrateDatasetRequest } from "../../contract/batch";
import type { UseCaseContext } from "../../context";
import { InvalidInputError } from "../../errors";
import { answersInRequest } from "../../jobs/estimate";
import type { JobKind } from "../../jobs/handlers";
import type { JobProgress } from "../../jobs/progress";
import { startJob } from "../../jobs/start";
import { percentile } from "../../patchcore/percentile";
import { scoreCurve } from "../../patchcore/scoreCurve";
import { calibrateFromScores } from "../calibration/calibrateScores";
import { identityEcho, identityOf } from "../identity";
import { recipeDimensions } from "../lineMetrics";
import type { Services } from "../services";
import { batchCommand, batchEstimateMs, countFiles, requireVersion, scoreDataset, storeBatchResult, type BatchCommand } from "./scoreDataset";

const f1WithoutNg = () => new InvalidInputError('rule "f1" needs NG images: the NG dataset has no scored image; upload some, or use rule "false_alarm_rate"');

async function calibrateDatasetResult(services: Services, command: BatchCommand, progress: JobProgress | null, ctx: UseCaseContext) {
  const settings = command.calibration ?? { requireNg: true };
  const { items, fanOut: report } = await scoreDataset(services, command, progress, ctx);
  const ok = items.filter((i) => i.label === "ok" && i.score !== null).map((i) => i.score!);
  const ng = items.filter((i) => i.label === "ng" && i.score !== null).map((i) => i.score!);
  if (ok.length === 0) throw new InvalidInputError("No valid OK samples for calibration.");
  if (settings.requireNg && ng.length === 0) throw new InvalidInputError("No NG samples available for calibration.");
  const rule = settings.rule ?? "old";
  if (rule === "f1" && ng.length === 0) throw f1WithoutNg();
  const version = await requireVersion(services, command.identity, command.modelVersion, ctx);
  const mmPerPx = version.mmPerPx ?? command.defaultMmPerPx;
  if (mmPerPx === null) throw new InvalidInputError("mm_per_px is required: the memory records none; send default_mm_per_px");
  const { identity } = command;
  const calibration = await calibrateFromScores(
    services,
    {
      role_id: identity.roleId,
      roi_id: identity.roiId,
      model_key: identity.modelKey,
      recipe_id: identity.recipeId,
      ok_scores: ok,
      ng_scores: ng.length > 0 ? ng : null,
      mm_per_px: mmPerPx,
      score_percentile: settings.scorePercentile,
      area_mm2_thr: settings.areaMm2Thr,
      model_version: command.modelVersion,
      rule,
      target: settings.target ?? undefined,
      threshold: settings.threshold ?? undefined,
    },
    ctx,
    "cross_validation",
  );
  return {
    status: "ok" as const,
    threshold: calibration.threshold,
    score_percentile: calibration.score_percentile,
    area_mm2_thr: calibration.area_mm2_thr,
    n_ok: ok.length,
    n_ng: ng.length,
    ...identityEcho(identity),
    p_ok: calibration.p99_ok,
    p5_ng: ng.length > 0 ? percentile(ng, 5) : null,
    mm_per_px: calibration.mm_per_px,
    fit_id: calibration.fit_id ?? null,
    model_version: command.modelVersion,
    scores: items.map((i) => ({ label: i.label, filename: i.filename, score: i.score, error: i.error })),
    rule: calibration.rule,
    target: calibration.target,
    false_alarm_rate: calibration.false_alarm_rate,
    miss_rate: calibration.miss_rate,
    warnings: calibration.warnings,
    ...(settings.includeCurve ? { curve: scoreCurve({ ok: Float64Array.from(ok), ng: Float64Array.from(ng) }) } : {}),
    fan_out: report,
  };
}

/**
 * POST /calibrate_dataset: scores the stored OK and NG images, applies the threshold rule asked,
 * stores the calibration; its error rates cross-validated over the stored scores (each image in
 * fold i mod k of its label, in stored-name order: errorRates.ts).
 */
export async function calibrateDatasetOrStartJob(services: Services, input: CalibrateDatasetRequest, ctx: UseCaseContext) {
  const identity = identityOf(input);
  const version = await requireVersion(services, identity, input.model_version, ctx);
  const calibration: NonNullable<BatchCommand["calibration"]> = {
    scorePercentile: input.score_percentile,
    areaMm2Thr: input.area_mm2_thr,
    // the old rule (and its callers) expect NG images unless told otherwise; false_alarm_rate needs none
    requireNg: input.require_ng ?? (input.rule ?? "old") !== "false_alarm_rate",
    rule: input.rule ?? "old",
    target: input.target ?? null,
    threshold: input.threshold ?? null,
    includeCurve: input.include_curve ?? false,
  };
  const command: BatchCommand = {
    identity,
    modelVersion: version.version,
    labels: ["ok", "ng"],
    includeHeatmap: false,
    defaultMmPerPx: input.default_mm_per_px ?? null,
    calibration,
  };
  // what the scores could not change is refused before any image is scored (a job can take minutes)
  const { total: images, byLabel } = await countFiles(services, identity, command.labels, ctx);
  const [okImages, ngImages] = [byLabel.get("ok") ?? 0, byLabel.get("ng") ?? 0];
  if (okImages === 0) throw new InvalidInputError("No valid OK samples for calibration.");
  if (calibration.rule === "f1" && ngImages === 0) throw f1WithoutNg();
  if (calibration.requireNg && ngImages === 0) throw new InvalidInputError("No NG samples available for calibration.");
  const estimate = batchEstimateMs(services, images);
  if (!answersInRequest(services.config.fanOut, estimate, ctx.remainingMs()))
    return startJob(services, "calibrate_dataset", { ...command }, images, estimate, ctx);
  return calibrateDatasetResult(services, command, null, ctx);
}

/** /calibrate_dataset as a job kind. */
export function calibrateDatasetJob(services: Services): JobKind<BatchCommand> {
  return {
    command: batchCommand,
    run: async (command, progress, ctx) => storeBatchResult(services, await calibrateDatasetResult(services, command, progress, ctx), progress.id, ctx),
    dimensions: (command) => recipeDimensions(command.identity),
  };
}
