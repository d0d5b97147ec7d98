import { z } from "zod";
import { calibrationFields, calibrationProvenance } from "../contract/calibrateNg";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import { jsonArtefact, parseJsonArtefact } from "./jsonArtefact";
import type { ModelKeys } from "./keys";

/** The stored calibration JSON (the old backend's fields); extra fields are kept, missing or mistyped ones make it corrupt. */
const storedCalibration = z.looseObject({ ...calibrationFields, ...calibrationProvenance });

/** A calibration as stored: the old backend's fields and the fit it was computed for. */
export type StoredCalibration = z.infer<typeof storedCalibration>;

/** Calibrations (`<base>_calib.json`), validated when read. */
export class CalibrationRepository {
  constructor(private readonly store: BlobStore) {}

  async etag(keys: ModelKeys, timings: Timings): Promise<string | null> {
    return (await timings.time("s3_head", () => this.store.head(keys.calibration)))?.etag ?? null;
  }

  /** The calibration, or null before /calibrate_ng; CorruptArtefactError if it is not a calibration. */
  async load(keys: ModelKeys, timings: Timings): Promise<{ calibration: StoredCalibration; etag: string } | null> {
    const object = await timings.time("s3_get", () => this.store.get(keys.calibration));
    if (!object) return null;
    return { calibration: parseJsonArtefact(keys.calibration, object, storedCalibration, "stored calibration"), etag: object.etag };
  }

  async save(keys: ModelKeys, calibration: StoredCalibration, timings: Timings): Promise<void> {
    const { body, options } = jsonArtefact(calibration, {}, true);
    await timings.time("s3_put", () => this.store.put(keys.calibration, body, options));
  }
}
