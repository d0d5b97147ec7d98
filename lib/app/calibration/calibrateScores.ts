import type { CalibrateNgRequest } from "../../contract/calibrateNg";
import type { ResultOf, Routes } from "../../contract/routes";
import type { UseCaseContext } from "../../context";
import { InvalidInputError } from "../../errors";
import type { EstimatedOn } from "../../patchcore/errorRates";
import { calibrateThreshold } from "../../patchcore/thresholdCalibration";
import type { StoredCalibration } from "../../store/calibrationRepository";
import { modelKeys } from "../../store/keys";
import { identityEcho, identityOf } from "../identity";
import { changeVersions, chosenEntry, describeVersion } from "../models/versions";
import type { Services } from "../services";

export type CalibrateResult = ResultOf<Routes["calibrateNg"]>;

/**
 * The threshold from OK (and optionally NG) image scores by the rule asked (default the old
 * backend's), with its error rates (in-sample here; /calibrate_dataset cross-validates), stored as
 * the calibration of the version named (model_version), else the active one; activating a version
 * brings its own calibration back. mm_per_px defaults to the value the version's fit recorded. As
 * the old backend, a calibration may come before any fit (then mm_per_px is required): it is kept
 * in the old backend's calibration file, and the first version inherits it. A model stored before
 * versions gets its versions object here (version 1, calibrated).
 */
export async function calibrateFromScores(
  services: Services,
  input: CalibrateNgRequest,
  ctx: UseCaseContext,
  errorRates: EstimatedOn = "in_sample",
): Promise<CalibrateResult> {
  const { config, calibrations } = services;
  const identity = identityOf(input);
  const keys = modelKeys(config.s3.prefix, identity);
  const target = await describeVersion(services, keys, identity, input.model_version, ctx);
  const mmPerPx = input.mm_per_px ?? target?.mmPerPx ?? undefined;
  if (mmPerPx === undefined) {
    throw new InvalidInputError(
      target
        ? "mm_per_px is required: the stored memory does not record one"
        : `mm_per_px is required: no memory is fitted for (${identity.roleId}, ${identity.roiId}) to take it from`,
    );
  }
  const rule = input.rule ?? "old";
  if (rule === "f1" && (input.ng_scores?.length ?? 0) === 0) throw new InvalidInputError('rule "f1" needs NG scores: none were given');
  const calibration = calibrateThreshold({
    okScores: input.ok_scores,
    ngScores: input.ng_scores,
    scorePercentile: input.score_percentile ?? config.patchcore.scorePercentile,
    mmPerPx,
    areaMm2Threshold: input.area_mm2_thr ?? config.patchcore.areaMm2Threshold,
    rule,
    target: input.target ?? null,
    fixedThreshold: input.threshold ?? null,
    errorRates,
  });
  const stored: StoredCalibration = { ...calibration, fit_id: target?.fitId ?? null };
  if (target) {
    // the version's entry in the model's versions object (written now for a model stored before
    // versions): one conditional write, so a racing activation or fit never loses it (two
    // calibrations of one version at once: the last wins)
    await changeVersions(services, keys, ctx, (current) => {
      const entry = chosenEntry(current, identity, target.version);
      const versions = current.versions.map((v) =>
        v === entry ? { ...v, calibration: stored, calibration_inherited: false, calibration_from_version: null } : v,
      );
      return { versions: { ...current, versions }, result: undefined };
    });
  } else {
    // no model yet: the old backend's calibration file, which the first version inherits
    await calibrations.save(keys, stored, ctx.timings);
  }
  ctx.log.info("calibrated", {
    ...identityEcho(identity),
    model_version: target?.version ?? null,
    threshold: calibration.threshold,
    rule,
    target: calibration.target,
    n_ok: input.ok_scores.length,
    n_ng: input.ng_scores?.length ?? 0,
    false_alarm_rate: calibration.false_alarm_rate.estimate,
    miss_rate: calibration.miss_rate?.estimate ?? null,
    rates_estimated_on: calibration.false_alarm_rate.estimated_on,
    warnings: calibration.warnings.map((w) => w.code),
  });
  return { ...calibration, fit_id: stored.fit_id ?? null, ...identityEcho(identity), model_version: target?.version ?? null };
}
