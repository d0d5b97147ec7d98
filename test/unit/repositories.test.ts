import { CorruptArtefactError } from "../../lib/errors";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { CalibrationRepository } from "../../lib/store/calibrationRepository";
import { modelIdentity, modelKeys } from "../../lib/store/keys";
import { MemoryBlobStore } from "../../lib/store/memoryBlobStore";
import { MemoryRepository } from "../../lib/store/memoryRepository";
import { VersionRepository, type ModelVersions } from "../../lib/store/versionRepository";
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
  it("memories: one immutable object per fit, typed head from the object metadata, index only from the same fit", async () => {
    const store = new MemoryBlobStore();
    const memories = new MemoryRepository(store);
    const t = new Timings();
    expect(await memories.head(keys.memoryFor("fit-1"), t)).toBeNull();
    await memories.saveFit(keys, bank("fit-1"), Uint8Array.from([1, 2, 3]), t);
    expect(await memories.head(keys.memoryFor("fit-1"), t)).toEqual({ etag: expect.stringMatching(/^"[0-9a-f]{32}"$/), fitId: "fit-1", mmPerPx: 0.25 });
    expect((await memories.load(keys.memoryFor("fit-1"), t))!.bank).toMatchObject({ count: 2, dim: 2, tokenH: 1, tokenW: 2, metadata: { fit_id: "fit-1" } });
    expect(await memories.loadHnswIndex(keys, "fit-1", t)).toEqual(Uint8Array.from([1, 2, 3]));
    expect(await memories.loadHnswIndex(keys, "fit-2", t)).toBeNull();
    await memories.saveFit(keys, bank("fit-2"), null, t); // another fit: another object, the first untouched
    expect(store.keys()).toEqual([keys.memoryFor("fit-1"), keys.memoryFor("fit-2"), keys.hnswIndexFor("fit-1")].sort());
    await expect(memories.saveFit(keys, bank("fit-2"), null, t)).rejects.toThrow(/changed since it was read/); // never overwritten
    await memories.deleteFit(keys, "fit-1", t);
    expect(store.keys()).toEqual([keys.memoryFor("fit-2")]);
    expect(Object.keys(t.toJSON()).sort()).toEqual(["npz_decode", "s3_delete", "s3_get", "s3_head", "s3_put"]);
  });

  it("a fit whose memory PUT fails leaves every other object as it was, and removes its own index", async () => {
    const store = new MemoryBlobStore();
    const memories = new MemoryRepository(store);
    const t = new Timings();
    await memories.saveFit(keys, bank("fit-1"), Uint8Array.from([1]), t);
    const before = await Promise.all(store.keys().map(async (k) => [k, (await store.get(k))!.etag]));
    const failing = Object.assign(Object.create(store) as MemoryBlobStore, {
      put: (key: string, body: Uint8Array, options: Parameters<MemoryBlobStore["put"]>[2]) =>
        key === keys.memoryFor("fit-2") ? Promise.reject(new Error("connection reset")) : store.put(key, body, options),
    });
    await expect(new MemoryRepository(failing).saveFit(keys, bank("fit-2"), Uint8Array.from([2]), t)).rejects.toThrow(/connection reset/);
    expect(await Promise.all(store.keys().map(async (k) => [k, (await store.get(k))!.etag]))).toEqual(before);
  });

  it("a memory or index whose bytes do not match their SHA-256 is corrupt", async () => {
    const store = new MemoryBlobStore();
    const memories = new MemoryRepository(store);
    const t = new Timings();
    await memories.saveFit(keys, bank("fit-1"), Uint8Array.from([1, 2, 3]), t);
    const key = keys.memoryFor("fit-1");
    const memory = (await store.get(key))!;
    await store.put(key, memory.body.subarray(0, memory.body.length - 1), { contentType: "x", metadata: memory.metadata });
    await expect(memories.load(key, t)).rejects.toThrow(/stored memory .*\.npz cannot be read \(its \d+ bytes do not match the SHA-256 written with it/);
    const index = (await store.get(keys.hnswIndexFor("fit-1")))!;
    await store.put(keys.hnswIndexFor("fit-1"), Uint8Array.from([9, 9, 9]), { contentType: "x", metadata: index.metadata });
    await expect(memories.loadHnswIndex(keys, "fit-1", t)).rejects.toThrow(CorruptArtefactError);
  });

  it("versions: created once, changed only by conditional writes; racing changes are each applied once, none lost", async () => {
    const store = new MemoryBlobStore();
    const versions = new VersionRepository(store);
    const t = new Timings();
    expect(await versions.load(keys, t)).toBeNull();
    const empty: ModelVersions = { format: 1, next_version: 1, active_version: null, previous_version: null, updated_at: "", versions: [] };
    const addOne = (current: ModelVersions | null) => {
      const v = current ?? empty;
      const entry = {
        version: v.next_version,
        fit_id: `f${v.next_version}`,
        created_at: "t",
        source: "images" as const,
        parent_version: null,
        n_images: 1,
        n_embeddings: 4,
        coreset_size: 2,
        memory_fit: false,
        covering_radius: 0.1,
        model: "m",
        mm_per_px: 0.2,
        calibration: null,
        calibration_inherited: false,
        calibration_from_version: null,
      };
      return { versions: { ...v, next_version: v.next_version + 1, versions: [...v.versions, entry] }, result: entry.version };
    };
    const numbers = await Promise.all(Array.from({ length: 8 }, () => versions.update(keys, t, addOne)));
    expect([...numbers].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const stored = (await versions.load(keys, t))!.versions;
    expect(stored.versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(stored.next_version).toBe(9);
    expect(await versions.update(keys, t, () => ({ versions: null, result: "unchanged" }))).toBe("unchanged");
    await store.put(keys.versions, Buffer.from("{}"), { contentType: "application/json" });
    await expect(versions.load(keys, t)).rejects.toThrow(/model versions .*_versions\.json cannot be read/);
  });

  it("calibrations: validated when read; a mistyped field is a corrupt artefact naming the key and the field", async () => {
    const store = new MemoryBlobStore();
    const calibrations = new CalibrationRepository(store);
    const t = new Timings();
    expect(await calibrations.load(keys, t)).toBeNull();
    await calibrations.save(keys, calibration, t);
    expect((await calibrations.load(keys, t))!.calibration).toEqual(calibration);
    await store.put(keys.legacyCalibration, Buffer.from(JSON.stringify({ ...calibration, threshold: "0.5" })), { contentType: "application/json" });
    await expect(calibrations.load(keys, t)).rejects.toThrow(CorruptArtefactError);
    await expect(calibrations.load(keys, t)).rejects.toThrow(/_calib\.json cannot be read \(threshold: /);
    await store.put(keys.legacyCalibration, Buffer.from("{not json"), { contentType: "application/json" });
    await expect(calibrations.load(keys, t)).rejects.toThrow(/cannot be read/);
  });
});
