import { CorruptArtefactError } from "../../lib/errors";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { CalibrationRepository } from "../../lib/store/calibrationRepository";
import { modelIdentity, modelKeys } from "../../lib/store/keys";
import { MemoryBlobStore } from "../../lib/store/memoryBlobStore";
import { MemoryRepository } from "../../lib/store/memoryRepository";
import { Timings } from "../../lib/util/timings";

const keys = modelKeys("models/", modelIdentity("R", "Roi"));
const bank = (fitId: string): MemoryBank => ({
  embeddings: Float32Array.from([1, 0, 0, 1]),
  count: 2,
  dim: 2,
  tokenH: 1,
  tokenW: 2,
  metadata: { fit_id: fitId, mm_per_px: 0.25 },
});
const calibration = { threshold: 0.5, ok_mean: 0.1, ng_mean: 0, p99_ok: 0.5, p5_ng: null, mm_per_px: 0.2, area_mm2_thr: 1, score_percentile: 99 };

describe("repositories on a blob store", () => {
  it("memories: typed head from the object metadata, round trip, index only from the same fit", async () => {
    const store = new MemoryBlobStore();
    const memories = new MemoryRepository(store);
    const t = new Timings();
    expect(await memories.head(keys, t)).toBeNull();
    await memories.saveFit(keys, bank("fit-1"), Uint8Array.from([1, 2, 3]), t);
    expect(await memories.head(keys, t)).toEqual({ etag: expect.stringMatching(/^"[0-9a-f]{32}"$/), fitId: "fit-1", mmPerPx: 0.25 });
    expect((await memories.load(keys, t))!.bank).toMatchObject({ count: 2, dim: 2, tokenH: 1, tokenW: 2, metadata: { fit_id: "fit-1" } });
    expect((await memories.loadIndex(keys, "fit-1", t)).bytes).toEqual(Uint8Array.from([1, 2, 3]));
    expect(await memories.loadIndex(keys, "fit-2", t)).toEqual({ bytes: null, foundFitId: "fit-1" });
    await memories.saveFit(keys, bank("fit-2"), null, t); // a fit without an index removes the old one
    expect(await memories.loadIndex(keys, "fit-2", t)).toEqual({ bytes: null });
    expect(Object.keys(t.toJSON()).sort()).toEqual(["npz_decode", "s3_get", "s3_head", "s3_put"]);
  });

  it("calibrations: validated when read; a mistyped field is a corrupt artefact naming the key and the field", async () => {
    const store = new MemoryBlobStore();
    const calibrations = new CalibrationRepository(store);
    const t = new Timings();
    expect(await calibrations.load(keys, t)).toBeNull();
    await calibrations.save(keys, calibration, t);
    expect((await calibrations.load(keys, t))!.calibration).toEqual(calibration);
    await store.put(keys.calibration, Buffer.from(JSON.stringify({ ...calibration, threshold: "0.5" })), { contentType: "application/json" });
    await expect(calibrations.load(keys, t)).rejects.toThrow(CorruptArtefactError);
    await expect(calibrations.load(keys, t)).rejects.toThrow(/_calib\.json cannot be read \(threshold: /);
    await store.put(keys.calibration, Buffer.from("{not json"), { contentType: "application/json" });
    await expect(calibrations.load(keys, t)).rejects.toThrow(/cannot be read/);
  });
});
