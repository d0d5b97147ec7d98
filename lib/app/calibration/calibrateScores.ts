import type { CalibrateNgRequest } from "../../contract/calibrateNg";
import type { ResultOf, Routes } from "../../contract/routes";
import { InvalidInputError } from "../../errors";
import { calibrate } from "../../patchcore/calibration";
import { modelKeys } from "../../store/keys";
import type { UseCaseContext } from "../../context";
import { identityEcho, identityOf } from "../identity";
import type { Services } from "../services";

export type CalibrateResult = ResultOf<Routes["calibrateNg"]>;

/**
 * The threshold from OK (and optionally NG) image scores, with the old backend's rule, stored
 * beside the memory. mm_per_px defaults to the value the fit recorded.
 */
export async function calibrateFromScores(services: Services, input: CalibrateNgRequest, ctx: UseCaseContext): Promise<CalibrateResult> {
  const { config, memories, calibrations } = services;
  const identity = identityOf(input);
  const keys = modelKeys(config.s3.prefix, identity);
  // As the old backend: a calibration needs only the scores and mm_per_px, so it may come before
  // the fit; the fit's mm_per_px is only the default.
  const memory = await memories.head(keys, ctx.timings);
  const mmPerPx = input.mm_per_px ?? memory?.mmPerPx;
  if (mmPerPx === undefined) {
    throw new InvalidInputError(
      memory
        ? "mm_per_px is required: the stored memory does not record one"
        : `mm_per_px is required: no memory is fitted for (${identity.roleId}, ${identity.roiId}) to take it from`,
    );
  }
  const calibration = calibrate({
    okScores: input.ok_scores,
    ngScores: input.ng_scores,
    scorePercentile: input.score_percentile ?? config.patchcore.scorePercentile,
    mmPerPx,
    areaMm2Threshold: input.area_mm2_thr ?? config.patchcore.areaMm2Threshold,
  });
  const stored = { ...calibration, fit_id: memory?.fitId ?? null };
  // Two calibrations of one key at once: the last write wins (S3 PUTs are atomic); each records
  // the fit it was made for, so /infer flags one made for a memory that has since been replaced.
  await calibrations.save(keys, stored, ctx.timings);
  ctx.log.info("calibrated", { ...identityEcho(identity), threshold: calibration.threshold, n_ok: input.ok_scores.length, n_ng: input.ng_scores?.length ?? 0 });
  return { ...stored, ...identityEcho(identity) };
}
