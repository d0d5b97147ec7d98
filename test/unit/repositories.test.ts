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
    expect(await memories.loadHnswIndex(keys, "fit-1", t)).toEqual(Uint8Array.from([1, 2, 3]));
    expect(await memories.loadHnswIndex(keys, "fit-2", t)).toBeNull();
    await memories.saveFit(keys, bank("fit-2"), null, t); // the new memory is in place: the old index goes
    expect(store.keys()).toEqual([keys.memory]);
    await memories.saveFit(keys, bank("fit-3"), Uint8Array.from([4]), t);
    expect(store.keys()).toEqual([keys.memory, keys.hnswIndexFor("fit-3")].sort());
    expect(Object.keys(t.toJSON()).sort()).toEqual(["npz_decode", "s3_get", "s3_head", "s3_put"]);
  });

  it("a fit whose memory PUT fails leaves the previous memory and its index exactly as they were, and removes its own index", async () => {
    const store = new MemoryBlobStore();
    const memories = new MemoryRepository(store);
    const t = new Timings();
    await memories.saveFit(keys, bank("fit-1"), Uint8Array.from([1]), t);
    const before = await Promise.all(store.keys().map(async (k) => [k, (await store.get(k))!.etag]));
    const failing = Object.assign(Object.create(store) as MemoryBlobStore, {
      put: (key: string, body: Uint8Array, options: Parameters<MemoryBlobStore["put"]>[2]) =>
        key === keys.memory ? Promise.reject(new Error("connection reset")) : store.put(key, body, options),
    });
    await expect(new MemoryRepository(failing).saveFit(keys, bank("fit-2"), Uint8Array.from([2]), t)).rejects.toThrow(/connection reset/);
    expect(await Promise.all(store.keys().map(async (k) => [k, (await store.get(k))!.etag]))).toEqual(before);
    expect((await memories.load(keys, t))!.bank.metadata.fit_id).toBe("fit-1");
  });

  it("a memory or index whose bytes do not match their SHA-256 is corrupt", async () => {
    const store = new MemoryBlobStore();
    const memories = new MemoryRepository(store);
    const t = new Timings();
    await memories.saveFit(keys, bank("fit-1"), Uint8Array.from([1, 2, 3]), t);
    const memory = (await store.get(keys.memory))!;
    await store.put(keys.memory, memory.body.subarray(0, memory.body.length - 1), { contentType: "x", metadata: memory.metadata });
    await expect(memories.load(keys, t)).rejects.toThrow(/stored memory .*\.npz cannot be read \(its \d+ bytes do not match the SHA-256 written with it/);
    const index = (await store.get(keys.hnswIndexFor("fit-1")))!;
    await store.put(keys.hnswIndexFor("fit-1"), Uint8Array.from([9, 9, 9]), { contentType: "x", metadata: index.metadata });
    await expect(memories.loadHnswIndex(keys, "fit-1", t)).rejects.toThrow(CorruptArtefactError);
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
