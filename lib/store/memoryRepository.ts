import { CorruptArtefactError } from "../errors";
import type { MemoryBank } from "../patchcore/memoryBank";
import type { Logger } from "../log";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import type { ModelKeys } from "./keys";
import { DIGEST_METADATA, sha256Hex, verifyDigest } from "./integrity";
import { decodeMemoryNpz, encodeMemoryNpz } from "./npz";

/** What a memory's object metadata says without reading it (S3 user metadata; the .npz holds the same). */
export interface MemoryHead {
  readonly etag: string;
  /** The fit that wrote it; absent for memories written by the old backend. */
  readonly fitId?: string;
  /** The mm_per_px the fit recorded, if any. */
  readonly mmPerPx?: number;
}

export interface StoredMemory {
  readonly bank: MemoryBank;
  readonly etag: string;
}

/** S3 user-metadata names: the only place they are spelled. */
const META = { fitId: "fit-id", mmPerPx: "mm-per-px", dim: "dim" } as const;

function headOf(etag: string, metadata: Readonly<Record<string, string>>): MemoryHead {
  const mmPerPx = Number(metadata[META.mmPerPx]);
  const fitId = metadata[META.fitId];
  return { etag, ...(fitId ? { fitId } : {}), ...(mmPerPx > 0 && Number.isFinite(mmPerPx) ? { mmPerPx } : {}) };
}

/**
 * Fitted memories (the PatchCore memory bank as the old backend's .npz) and their optional HNSW
 * index, under the keys of lib/store/keys.ts: one per fit, immutable, and the legacy one. Stage times go to `timings` (s3_get, s3_head,
 * s3_put, npz_decode).
 */
export class MemoryRepository {
  constructor(private readonly store: BlobStore) {}

  /** What the memory under `key` says of itself without reading it (for a model stored before versions: its legacyMemory). */
  async head(key: string, timings: Timings): Promise<MemoryHead | null> {
    const head = await timings.time("s3_head", () => this.store.head(key));
    return head ? headOf(head.etag, head.metadata) : null;
  }

  /**
   * The memory under `key`, or null if none is stored; CorruptArtefactError if it fails its digest
   * or cannot be decoded. `asStored`: its rows as the file holds them, not normalised again.
   */
  async load(key: string, timings: Timings, options: { asStored?: boolean } = {}): Promise<StoredMemory | null> {
    const object = await timings.time("s3_get", () => this.store.get(key));
    if (!object) return null;
    try {
      verifyDigest(key, object, "stored memory");
      return { bank: await timings.time("npz_decode", () => decodeMemoryNpz(object.body, options)), etag: object.etag };
    } catch (cause) {
      throw cause instanceof CorruptArtefactError ? cause : new CorruptArtefactError(key, cause);
    }
  }

  /**
   * The serialised HNSW index written by fit `fitId`, or null when there is none. An index that
   * fails its digest is a CorruptArtefactError (the caller scores exactly instead).
   */
  async loadHnswIndex(keys: ModelKeys, fitId: string, timings: Timings): Promise<Uint8Array | null> {
    if (fitId === "") return null;
    const key = keys.hnswIndexFor(fitId);
    const index = await timings.time("s3_get", () => this.store.get(key));
    if (!index) return null;
    verifyDigest(key, index, "stored HNSW index");
    // the key names the fit; the object says which fit wrote it: both must agree (an index copied or renamed by hand is not used)
    if (index.metadata[META.fitId] !== fitId) return null;
    return index.body;
  }

  /**
   * Stores one fit's memory (and its HNSW index, when the kNN policy wants one) under keys of its
   * own fit, written once (If-None-Match) and never changed: no object a reader uses changes, and
   * nothing reads them until the model's versions object names the fit (the caller's commit). If
   * the memory's PUT fails, the new index is removed (best effort). Every object carries the
   * SHA-256 of its bytes, checked when read back.
   */
  async saveFit(keys: ModelKeys, bank: MemoryBank, hnswIndex: Uint8Array | null, timings: Timings, log?: Logger): Promise<void> {
    const fitId = String(bank.metadata.fit_id ?? "");
    if (fitId === "") throw new Error("saveFit: the memory has no fit_id");
    const indexKey = keys.hnswIndexFor(fitId);
    if (hnswIndex) {
      await timings.time("s3_put", () =>
        this.store.put(indexKey, hnswIndex, {
          contentType: "application/octet-stream",
          metadata: { [META.fitId]: fitId, [META.dim]: String(bank.dim), [DIGEST_METADATA]: sha256Hex(hnswIndex) },
          ifNoneMatch: "*",
        }),
      );
    }
    const npz = encodeMemoryNpz(bank);
    const metadata: Record<string, string> = { [META.fitId]: fitId, [DIGEST_METADATA]: sha256Hex(npz) };
    if (bank.metadata.mm_per_px !== undefined) metadata[META.mmPerPx] = String(bank.metadata.mm_per_px);
    try {
      await timings.time("s3_put", () => this.store.put(keys.memoryFor(fitId), npz, { contentType: "application/octet-stream", metadata, ifNoneMatch: "*" }));
    } catch (error) {
      if (hnswIndex)
        await this.store.delete(indexKey).catch((cause: unknown) => log?.warn("could not remove the index of a failed fit", { key: indexKey, error: cause }));
      throw error;
    }
  }

  /** Removes a fit's memory and index (a deleted version's, or a fit that was never committed); best effort, logged. */
  async deleteFit(keys: ModelKeys, fitId: string, timings: Timings, log?: Logger): Promise<void> {
    for (const key of [keys.memoryFor(fitId), keys.hnswIndexFor(fitId)]) await this.deleteQuietly(key, timings, log);
  }

  /** Removes the memory stored before versions and its files (a deleted legacy version); best effort, logged. */
  async deleteLegacy(keys: ModelKeys, fitId: string | null, timings: Timings, log?: Logger): Promise<void> {
    const keysToRemove = [keys.legacyMemory, keys.legacyCalibration, keys.legacyHnswIndex, ...(fitId ? [keys.hnswIndexFor(fitId)] : [])];
    for (const key of keysToRemove) await this.deleteQuietly(key, timings, log);
  }

  private async deleteQuietly(key: string, timings: Timings, log?: Logger): Promise<void> {
    await timings
      .time("s3_delete", () => this.store.delete(key))
      .catch((cause: unknown) => log?.warn("could not remove an object no version names (never read again)", { key, error: cause }));
  }
}
