import { z } from "zod";
import { THRESHOLD_RULES } from "../patchcore/thresholdRules";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import { jsonArtefact, parseJsonArtefact } from "./jsonArtefact";
import type { ModelKeys } from "./keys";

/** An error rate as stored (lib/patchcore/errorRates.ts: ErrorRate). */
const storedErrorRate = z.object({
  estimate: z.number(),
  low: z.number(),
  high: z.number(),
  n: z.number().int(),
  count: z.number().int(),
  confidence: z.number(),
  method: z.literal("clopper_pearson"),
  estimated_on: z.enum(["in_sample", "cross_validation"]),
  folds: z.number().int().nullable(),
});

/**
 * The stored calibration JSON: the old backend's fields (its `_calib.json`, which it reads back),
 * and the fit it was computed for. Extra fields are kept; missing or mistyped ones make it corrupt.
 * Its own schema, not a request's: the stored format does not follow the wire's.
 */
export const storedCalibration = z.looseObject({
  threshold: z.number(),
  ok_mean: z.number(),
  ng_mean: z.number(),
  p99_ok: z.number(),
  p5_ng: z.number().nullable(),
  mm_per_px: z.number(),
  area_mm2_thr: z.number(),
  score_percentile: z.number(),
  /** The fit whose memory was in place when calibrating; absent in the old backend's files. */
  fit_id: z.string().nullable().optional(),
  /** The rule that chose the threshold, its target and the error rates it gives; absent in calibrations made before rules (by the old rule). */
  rule: z.enum(THRESHOLD_RULES).optional(),
  target: z.number().nullable().optional(),
  false_alarm_rate: storedErrorRate.nullable().optional(),
  miss_rate: storedErrorRate.nullable().optional(),
  warnings: z.array(z.object({ code: z.string(), message: z.string() })).optional(),
});

/** A calibration as stored: the old backend's fields and the fit it was computed for. */
export type StoredCalibration = z.infer<typeof storedCalibration>;

/**
 * Calibration files (`<base>_calib.json`, the old backend's): a model stored before versions keeps
 * its calibration there, as does a model calibrated before any fit. A version's calibration lives in
 * the model's versions object (lib/store/versionRepository.ts).
 */
export class CalibrationRepository {
  constructor(private readonly store: BlobStore) {}

  async etag(keys: ModelKeys, timings: Timings): Promise<string | null> {
    return (await timings.time("s3_head", () => this.store.head(keys.legacyCalibration)))?.etag ?? null;
  }

  /** The calibration, or null before /calibrate_ng; CorruptArtefactError if it is not a calibration. */
  async load(keys: ModelKeys, timings: Timings): Promise<{ calibration: StoredCalibration; etag: string } | null> {
    const object = await timings.time("s3_get", () => this.store.get(keys.legacyCalibration));
    if (!object) return null;
    return { calibration: parseJsonArtefact(keys.legacyCalibration, object, storedCalibration, "stored calibration"), etag: object.etag };
  }

  async save(keys: ModelKeys, calibration: StoredCalibration, timings: Timings): Promise<void> {
    const { body, options } = jsonArtefact(calibration, {}, true);
    await timings.time("s3_put", () => this.store.put(keys.legacyCalibration, body, options));
  }
}
