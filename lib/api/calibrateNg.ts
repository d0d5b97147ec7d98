import type { APIGatewayProxyEvent } from "aws-lambda";
import type { JsonBody, RequestContext } from "../http/endpoint";
import { BadRequestError } from "../http/errors";
import { calibrate } from "../patchcore/calibration";
import { modelKeys } from "../store/keys";
import { identityJson, identityOf, memoryNotFound } from "./identity";
import { getRuntime } from "./runtime";

type Json = Record<string, unknown>;

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new BadRequestError(`${key} must be a string`);
  return value;
}

function requiredString(body: Json, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw new BadRequestError(`Missing field ${key}`);
  return value;
}

function optionalNumber(body: Json, key: string, check: (v: number) => boolean, expected: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || !check(value)) {
    throw new BadRequestError(`${key} must be ${expected}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function scores(body: Json, key: string, required: boolean): number[] | null {
  const value = body[key];
  if (value === undefined || value === null) {
    if (required) throw new BadRequestError(`Missing field ${key}: a list of at least one score`);
    return null;
  }
  if (!Array.isArray(value)) throw new BadRequestError(`${key} must be a list of numbers`);
  if (required && value.length === 0) throw new BadRequestError(`${key} must hold at least one score`);
  const bad = value.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
  if (bad >= 0) throw new BadRequestError(`${key}[${bad}] must be a finite number, got ${JSON.stringify(value[bad])}`);
  return value as number[];
}

/**
 * POST /calibrate_ng: the threshold from OK (and optionally NG) image scores, with the old
 * backend's rule, stored beside the memory. mm_per_px defaults to the value the fit recorded.
 */
export async function calibrateNg(event: APIGatewayProxyEvent, raw: unknown, ctx: RequestContext): Promise<JsonBody> {
  const { config, store, calibrations } = getRuntime();
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new BadRequestError("The body must be a JSON object");
  const body = raw as Json;
  const identity = identityOf(event, {
    roleId: requiredString(body, "role_id"),
    roiId: requiredString(body, "roi_id"),
    modelKey: optionalString(body, "model_key"),
    recipeId: optionalString(body, "recipe_id"),
  });
  const okScores = scores(body, "ok_scores", true)!;
  const ngScores = scores(body, "ng_scores", false);
  const scorePercentile = optionalNumber(body, "score_percentile", (v) => v >= 0 && v <= 100, "a number in [0, 100]") ?? config.patchcore.scorePercentile;
  const areaMm2Threshold = optionalNumber(body, "area_mm2_thr", (v) => v >= 0, "a number >= 0") ?? config.patchcore.areaMm2Threshold;
  const givenMmPerPx = optionalNumber(body, "mm_per_px", (v) => v > 0, "a number > 0");

  const keys = modelKeys(config.s3.prefix, identity);
  const memory = await store.head(keys.memory, ctx.timings);
  if (!memory) throw memoryNotFound(identity);
  const fitted = Number(memory.metadata["mm-per-px"]);
  const mmPerPx = givenMmPerPx ?? (fitted > 0 ? fitted : undefined);
  if (mmPerPx === undefined) throw new BadRequestError("mm_per_px is required: the stored memory does not record one");

  const calibration = calibrate({ okScores, ngScores, scorePercentile, mmPerPx, areaMm2Threshold });
  await store.saveCalibration(keys, calibration, ctx.timings);
  calibrations.invalidate(keys.calibration);
  ctx.log.info("calibrated", { ...identityJson(identity), threshold: calibration.threshold, n_ok: okScores.length, n_ng: ngScores?.length ?? 0 });
  return { ...calibration, ...identityJson(identity) };
}
