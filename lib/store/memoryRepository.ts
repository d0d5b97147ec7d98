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
 * index, under the keys of lib/store/keys.ts. Stage times go to `timings` (s3_get, s3_head,
 * s3_put, npz_decode).
 */
export class MemoryRepository {
  constructor(private readonly store: BlobStore) {}

  async head(keys: ModelKeys, timings: Timings): Promise<MemoryHead | null> {
    const head = await timings.time("s3_head", () => this.store.head(keys.memory));
    return head ? headOf(head.etag, head.metadata) : null;
  }

  /** The memory, or null if none is stored; CorruptArtefactError if it fails its digest or cannot be decoded. */
  async load(keys: ModelKeys, timings: Timings): Promise<StoredMemory | null> {
    const object = await timings.time("s3_get", () => this.store.get(keys.memory));
    if (!object) return null;
    try {
      verifyDigest(keys.memory, object, "stored memory");
      return { bank: await timings.time("npz_decode", () => decodeMemoryNpz(object.body)), etag: object.etag };
    } catch (cause) {
      throw cause instanceof CorruptArtefactError ? cause : new CorruptArtefactError(keys.memory, cause);
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
   * Stores one fit so that a failure at any step changes nothing readers see:
   * 1. the index under a key of its own fit (`_index.<fit id>.hnsw`): no existing object changes;
   * 2. the memory, whose PUT is the commit point (S3 replaces an object atomically; the memory
   *    names its fit, which names its index). If it fails, the new index is removed (best effort)
   *    and the previous memory and its index are untouched;
   * 3. after the commit, the previous fit's index (and an index of the older key layout) is
   *    removed, best effort: a leftover is never read, since no memory names it.
   * Every object carries the SHA-256 of its bytes, checked when read back.
   */
  async saveFit(keys: ModelKeys, bank: MemoryBank, index: Uint8Array | null, timings: Timings, log?: Logger): Promise<string> {
    const fitId = String(bank.metadata.fit_id ?? "");
    if (fitId === "") throw new Error("saveFit: the memory has no fit_id");
    const previous = await this.head(keys, timings);
    const indexKey = keys.hnswIndexFor(fitId);
    if (index) {
      await timings.time("s3_put", () =>
        this.store.put(indexKey, index, {
          contentType: "application/octet-stream",
          metadata: { [META.fitId]: fitId, [META.dim]: String(bank.dim), [DIGEST_METADATA]: sha256Hex(index) },
        }),
      );
    }
    const npz = encodeMemoryNpz(bank);
    const metadata: Record<string, string> = { [META.fitId]: fitId, [DIGEST_METADATA]: sha256Hex(npz) };
    if (bank.metadata.mm_per_px !== undefined) metadata[META.mmPerPx] = String(bank.metadata.mm_per_px);
    let etag: string;
    try {
      etag = await timings.time("s3_put", () => this.store.put(keys.memory, npz, { contentType: "application/octet-stream", metadata }));
    } catch (error) {
      if (index)
        await this.store.delete(indexKey).catch((cause: unknown) => log?.warn("could not remove the index of a failed fit", { key: indexKey, error: cause }));
      throw error;
    }
    const stale = [keys.legacyHnswIndex, ...(previous?.fitId && previous.fitId !== fitId ? [keys.hnswIndexFor(previous.fitId)] : [])];
    for (const key of stale) {
      await timings
        .time("s3_put", () => this.store.delete(key))
        .catch((cause: unknown) => log?.warn("could not remove a previous fit's index (never read again)", { key, error: cause }));
    }
    return etag;
  }
}
