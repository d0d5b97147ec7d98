import { z } from "zod";
import { calibrationFields, calibrationProvenance } from "../contract/calibrateNg";
import { CorruptArtefactError } from "../errors";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import { DIGEST_METADATA, sha256Hex, verifyDigest } from "./integrity";
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
    verifyDigest(keys.calibration, object, "stored calibration");
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(object.body).toString("utf8"));
    } catch (cause) {
      throw new CorruptArtefactError(keys.calibration, cause, "stored calibration");
    }
    const result = storedCalibration.safeParse(parsed);
    if (!result.success) throw new CorruptArtefactError(keys.calibration, new Error(result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")), "stored calibration");
    return { calibration: result.data, etag: object.etag };
  }

  async save(keys: ModelKeys, calibration: StoredCalibration, timings: Timings): Promise<void> {
    const body = Buffer.from(JSON.stringify(calibration, null, 2));
    await timings.time("s3_put", () => this.store.put(keys.calibration, body, { contentType: "application/json", metadata: { [DIGEST_METADATA]: sha256Hex(body) } }));
  }
}
